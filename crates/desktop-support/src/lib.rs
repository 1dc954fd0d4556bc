//! The parts of the Locket desktop app that talk to the desktop session rather than to Tauri, kept out of the
//! shell so they build and test without a window: [`instance`], the single-instance preflight on the D-Bus
//! session bus (its tests start their own `dbus-daemon`), and [`webkit`], which ends WebKit's network process
//! once no web view is left.
//!
//! Architecture invariant: no Tauri and no Locket vault here — only what the desktop session needs; the
//! application's logic is `locket-app`'s (which must not depend on `zbus`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod instance;
pub mod webkit;
