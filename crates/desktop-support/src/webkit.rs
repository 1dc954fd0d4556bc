//! WebKitGTK's network process outlives the last web view: Tauri keeps the web context for the life of the app
//! on Linux (tauri-apps/tauri#14626), and WebKit does not end the process itself. Locket closes its web view
//! when the window closes and runs on for hours without one, so [`stop_network_processes`] ends that process;
//! WebKit starts a new one when the next window loads.
use std::fs;
use std::process::Command;

/// This process's WebKit children still running with the given name prefix (`/proc`, Linux): their pids.
fn children_named(prefix: &str) -> Vec<u32> {
    let me = std::process::id().to_string();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid …" — comm may hold spaces: split after the last ')'.
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            let ppid = fields.next()?;
            (ppid == me && state != "Z" && comm.starts_with(prefix)).then_some(pid)
        })
        .collect()
}

/// Asks this process's WebKit network processes to end (SIGTERM, through `kill(1)`); call it only once no web
/// view exists. Returns how many were asked.
pub fn stop_network_processes() -> usize {
    let pids = children_named("WebKitNetworkPr");
    for pid in &pids {
        match Command::new("kill").arg("-TERM").arg(pid.to_string()).status() {
            Ok(s) if s.success() => tracing::info!(pid, "ended WebKit's network process (no web view left)"),
            Ok(s) => tracing::debug!(pid, status = %s, "kill refused"),
            Err(e) => tracing::debug!(pid, error = %e, "kill could not run"),
        }
    }
    pids.len()
}

/// How Locket sets up WebKitGTK for its one window, chosen by measurement (`cargo bench -p locket-e2e --bench
/// footprint`, figures in the README's performance section). `LOCKET_WEBKIT` overrides it for measuring only:
/// `webkit-defaults` (WebKit's own settings), or a comma list of [`Tuning`]'s names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// `no-gpu`: hardware acceleration policy "never" — no accelerated compositing, so no GL context and its
    /// buffers in the web process (a dashboard of text and forms gains nothing from it).
    pub no_gpu: bool,
    /// `document-viewer`: WebKit's cache model for a local document viewer (no memory or disk cache of pages and
    /// resources: every file comes from the app itself).
    pub document_viewer: bool,
    /// `no-page-cache`: no back/forward page cache (the app never navigates between pages).
    pub no_page_cache: bool,
}

/// The names `LOCKET_WEBKIT` accepts besides `webkit-defaults`.
pub const TUNING_NAMES: [&str; 3] = ["no-gpu", "document-viewer", "no-page-cache"];

impl Tuning {
    /// What Locket uses when `LOCKET_WEBKIT` is not set: WebKit's own settings until the footprint bench has
    /// measured each setting and checked the rendering (a first run lost its WebDriver session under one of them).
    pub const CHOSEN: Tuning = Tuning::WEBKIT_DEFAULTS;
    /// WebKit's own settings.
    pub const WEBKIT_DEFAULTS: Tuning = Tuning {
        no_gpu: false,
        document_viewer: false,
        no_page_cache: false,
    };

    /// The tuning for this process: `LOCKET_WEBKIT`, else [`Tuning::CHOSEN`].
    pub fn from_env() -> Tuning {
        match std::env::var("LOCKET_WEBKIT") {
            Ok(v) if !v.trim().is_empty() => Tuning::parse(&v).unwrap_or_else(|bad| {
                tracing::warn!(value = %bad, "LOCKET_WEBKIT: unknown setting ignored; using Locket's own");
                Tuning::CHOSEN
            }),
            _ => Tuning::CHOSEN,
        }
    }

    /// Parses `webkit-defaults` or a comma list of [`TUNING_NAMES`]; `Err` carries the first unknown name.
    pub fn parse(value: &str) -> Result<Tuning, String> {
        let mut t = Tuning::WEBKIT_DEFAULTS;
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "webkit-defaults" => {}
                "no-gpu" => t.no_gpu = true,
                "document-viewer" => t.document_viewer = true,
                "no-page-cache" => t.no_page_cache = true,
                other => return Err(other.to_owned()),
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn ends_its_own_webkit_network_children_and_nothing_else() {
        // One test (the two halves would race): none at first; then a child of ours running a binary named like
        // WebKit's network process, next to one named otherwise.
        assert_eq!(stop_network_processes(), 0);
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("WebKitNetworkProcess");
        fs::copy("/bin/sleep", &fake).expect("copy sleep");
        let mut named = Command::new(&fake).arg("30").spawn().expect("fake network process");
        let mut other = Command::new("sleep").arg("30").spawn().expect("sleep");
        let deadline = Instant::now() + Duration::from_secs(5);
        while children_named("WebKitNetworkPr").is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(children_named("WebKitNetworkPr"), vec![named.id()]);
        assert_eq!(stop_network_processes(), 1);
        assert!(
            !named.wait().expect("wait").success(),
            "the named child was ended by a signal"
        );
        assert!(
            other.try_wait().expect("try_wait").is_none(),
            "another child was touched"
        );
        let _ = other.kill();
        let _ = other.wait();
    }

    #[test]
    fn tuning_names_parse_and_unknown_ones_are_named() {
        assert_eq!(Tuning::parse("webkit-defaults"), Ok(Tuning::WEBKIT_DEFAULTS));
        assert_eq!(
            Tuning::parse(" no-gpu , document-viewer,no-page-cache "),
            Ok(Tuning {
                no_gpu: true,
                document_viewer: true,
                no_page_cache: true
            })
        );
        assert_eq!(
            Tuning::parse("document-viewer"),
            Ok(Tuning {
                document_viewer: true,
                ..Tuning::WEBKIT_DEFAULTS
            })
        );
        assert_eq!(Tuning::parse("no-gpu,turbo"), Err("turbo".to_owned()));
        for name in TUNING_NAMES {
            assert_ne!(
                Tuning::parse(name),
                Ok(Tuning::WEBKIT_DEFAULTS),
                "{name} changes nothing"
            );
        }
    }
}
