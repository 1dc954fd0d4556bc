#![forbid(unsafe_code)]
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
fn main() {
    locket_desktop_lib::run();
}
