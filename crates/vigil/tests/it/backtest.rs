//! `vigil backtest` as a user runs it: the seed rule over a JSON access log.

use crate::helpers::vigil_command;

const CONFIG: &str = r#"
rules:
  - name: slow-api-data
    expr: sum(count_over_time({app="api"} | json | path = "/api/data" | duration > 3s [10m])) > 5
    severity: page
"#;

fn line(minute: u32, second: u32, path: &str, duration: &str) -> String {
    format!(r#"{{"ts":"2026-11-22T10:{minute:02}:{second:02}Z","path":"{path}","duration":"{duration}","status":200}}"#)
}

#[test]
fn backtest_fires_on_the_sixth_slow_request_and_resolves_when_the_window_empties() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("vigil.yaml");
    std::fs::write(&config, CONFIG).expect("write config");
    let mut lines = vec![line(0, 0, "/api/other", "9s"), line(0, 1, "/api/data", "1s")];
    for second in 0..6 {
        lines.push(line(1, second * 10, "/api/data", "3.5s"));
    }
    lines.push("not json, no timestamp".to_owned());
    lines.push(line(30, 0, "/api/data", "0.2s"));
    let log = dir.path().join("access.log");
    std::fs::write(&log, lines.join("\n")).expect("write log");

    let (code, stdout, stderr) =
        vigil_command(&["backtest", log.to_str().expect("utf-8"), "-c", config.to_str().expect("utf-8"), "--labels", "app=api", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let events: Vec<serde_json::Value> = stdout.lines().map(|line| serde_json::from_str(line).expect("json")).collect();
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|event| (event["state"].as_str().unwrap_or_default().to_owned(), event["at"].as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(
        summary,
        [
            ("firing".to_owned(), "2026-11-22T10:01:50.000Z".to_owned()),
            // The first slow request (10:01:00) leaves the 10-minute window at 10:11:00.
            ("resolved".to_owned(), "2026-11-22T10:11:00.000Z".to_owned()),
        ]
    );
    assert_eq!(events[0]["rule"], "slow-api-data");
    assert_eq!(events[0]["value"], 6.0);
    assert!(stderr.contains("slow-api-data: fired 1 times, resolved 1"), "{stderr}");
    assert!(stderr.contains("1 without a timestamp"), "{stderr}");

    // Without the stream label the selector matches nothing, and the summary says why.
    let (code, stdout, _) = vigil_command(&["backtest", log.to_str().expect("utf-8"), "-c", config.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("no line matched: check --labels"), "{stdout}");
}
