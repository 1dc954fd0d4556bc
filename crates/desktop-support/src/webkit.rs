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
}
