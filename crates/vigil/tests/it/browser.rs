//! The UI and the status page in real headless Chromium (Debian's `chromium`), driven
//! by playwright-core from `tests/browser/ui.mjs`: sign in; watch a monitor go down and
//! come back on the overview; silence the firing alert with a preview; acknowledge the
//! incident and add a note; see the status page and its JSON change; keyboard and
//! 320 px checks; no console error and nothing blocked by the CSP. Screenshots of the
//! main pages land in `crates/vigil/tests/browser/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::helpers::*;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Chromium and playwright-core, if both are installed.
fn tools() -> Option<PathBuf> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().map(PathBuf::from).find(|path| path.exists());
    let playwright = browser_dir().join("node_modules/playwright-core/package.json");
    let node = Command::new("node").arg("--version").output().is_ok_and(|output| output.status.success());
    match (chromium, playwright.exists(), node) {
        (Some(chromium), true, true) => Some(chromium),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_a_real_browser() {
    let Some(chromium) = tools() else {
        vigil_testkit::skip_or_fail("chromium, node and playwright-core (npm ci in crates/vigil/tests/browser)");
        return;
    };
    let (_api, api_address) = fake_api().await;
    let vigil = Vigil::start(|port, dir| {
        format!(
            "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{port}\n\
             monitors:\n  - name: api\n    url: http://{api_address}/health\n    interval: 200ms\n    timeout: 150ms\n\
             \x20   conditions: [\"[STATUS] == 200\"]\n    failure-threshold: 2\n    success-threshold: 2\n\
             people:\n  alice: {{email: alice@example.com}}\n\
             schedules:\n  primary:\n    layers:\n      - {{rotation: weekly, handoff: \"mon 09:00\", members: [alice]}}\n\
             slos:\n  - name: api-availability\n    objective: 99.9%\n    monitor: api\n\
             status-page:\n  title: Example status\n  components:\n    - name: Public API\n      monitors: [api]\n",
            dir.display()
        )
    });
    assert!(vigil_testkit::wait_for_port(vigil.port, Duration::from_secs(10)), "vigil listens");
    let (code, token, stderr) = vigil.command(&["token", "create", "alice", "--role", "responder"]);
    assert_eq!(code, Some(0), "{stderr}");
    let shots = browser_dir().join("screenshots");
    let script = browser_dir().join("ui.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("VIGIL_URL", format!("http://127.0.0.1:{}", vigil.port))
            .env("TOKEN", token.trim())
            .env("API_URL", format!("http://{api_address}"))
            .env("SHOTS", &shots)
            .env("CHROMIUM", chromium)
            .output()
            .map(|output| (output, vigil))
    })
    .await
    .expect("join")
    .expect("run node");
    let (output, vigil) = output;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.trim_end().ends_with("ok"),
        "the browser flow failed:\n{stdout}\n{stderr}\nvigil's log:\n{}",
        vigil.logs()
    );
}
