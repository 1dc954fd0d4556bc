//! End-to-end scenarios of the real Locket window (see tests/e2e/src/lib.rs for the harness).

use locket_e2e::{ensure, Result, Scenario};

/// The window opens, shows the bundled UI, and the harness can read it and take a screenshot.
#[test]
fn window_opens() -> Result<()> {
    Scenario::new("window_opens").run(|d| {
        let title = d.title()?;
        ensure!(title == "Locket", "window title is {title:?}, expected \"Locket\"");
        let shot = d.shot("window")?;
        ensure!(
            std::fs::metadata(&shot).map(|m| m.len() > 1000).unwrap_or(false),
            "screenshot is empty"
        );
        Ok(())
    })
}
