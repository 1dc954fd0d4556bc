//! The smallest Tauri 2 app with a window: one static page and nothing else (no commands, no plugins, no tray).
//! The footprint bench starts it the way it starts Locket and measures both in the same run.
#![forbid(unsafe_code)]

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("hello-tauri could not start: {e}");
        std::process::exit(1);
    }
}
