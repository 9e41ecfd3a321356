//! Vigil's API through `vigil run`: tokens made with `vigil token create`, refused with
//! a reason when missing, malformed, unknown or revoked, and never stored in clear.

use std::time::Duration;

use vigil::probes::ProbeResult;

use crate::helpers::*;

async fn get(port: u16, path: &str, token: Option<&str>) -> ProbeResult {
    let headers = token.map(|token| ("Authorization".to_owned(), format!("Bearer {token}"))).into_iter().collect();
    crate::helpers::get(port, path, headers).await
}

fn error_of(result: &ProbeResult) -> String {
    serde_json::from_slice::<serde_json::Value>(&result.body)
        .ok()
        .and_then(|body| body["error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_guard_the_api_and_monitors_speak_a_load_balancers_words() {
    let (_api, api) = fake_api().await;
    let vigil = Vigil::start(|port, dir| {
        format!(
            "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{port}\nmonitors:\n  - name: web\n    url: http://{api}/health\n\
             \x20   health-check: alb\n    interval: 200ms\n    timeout: 150ms\n",
            dir.display()
        )
    });
    vigil_testkit::wait_for_port(vigil.port, Duration::from_secs(10));
    let (code, token, stderr) = vigil.command(&["token", "create", "grafana", "--role", "viewer"]);
    assert_eq!(code, Some(0), "{stderr}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("vgl_"), "{token}");
    let (code, _, stderr) = vigil.command(&["token", "create", "grafana", "--role", "admin"]);
    assert_eq!(code, Some(1), "names are not reused: {stderr}");

    let cases: [(Option<&str>, &str); 3] = [
        (None, "missing `Authorization: Bearer TOKEN`"),
        (Some("nonsense"), "not a Vigil token"),
        (Some(&format!("vgl_{}_{}", "0".repeat(16), "1".repeat(64))), "unknown token"),
    ];
    for (presented, says) in cases {
        let result = get(vigil.port, "/api/v1/monitors", presented).await;
        assert_eq!(result.status, Some(401), "{presented:?}");
        assert!(error_of(&result).contains(says), "{presented:?}: {}", error_of(&result));
    }

    // The viewer reads the monitors; the ALB-style one in a target group's words.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let monitors = loop {
        let result = get(vigil.port, "/api/v1/monitors", Some(&token)).await;
        assert_eq!(result.status, Some(200), "{}", String::from_utf8_lossy(&result.body));
        let body: serde_json::Value = serde_json::from_slice(&result.body).expect("json");
        if body["monitors"][0]["state"] == "up" || std::time::Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let web = &monitors["monitors"][0];
    assert_eq!(
        (web["name"].as_str(), web["checker"].as_str(), web["target_state"].as_str()),
        (Some("web"), Some("alb"), Some("healthy")),
        "{monitors}"
    );
    assert_eq!(get(vigil.port, "/api/v1/nothing-here", Some(&token)).await.status, Some(404));

    // Only a hash is stored; list shows no secret; a revoked token is refused.
    let database = std::fs::read(vigil.dir.path().join("vigil.db")).expect("database");
    let secret = token.rsplit('_').next().expect("secret");
    assert!(!database.windows(secret.len()).any(|window| window == secret.as_bytes()), "the secret is not in the store");
    let (_, listed, _) = vigil.command(&["token", "list", "--json"]);
    assert!(listed.contains("\"grafana\"") && !listed.contains(secret), "{listed}");
    let (code, _, stderr) = vigil.command(&["token", "revoke", "grafana"]);
    assert_eq!(code, Some(0), "{stderr}");
    let result = get(vigil.port, "/api/v1/monitors", Some(&token)).await;
    assert_eq!((result.status, error_of(&result).as_str()), (Some(401), "the token was revoked"));
    let (code, audit, stderr) = vigil.command(&["token", "audit", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let events: Vec<String> = audit
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("json"))
        .map(|entry| {
            format!(
                "{} {} {}",
                entry["action"].as_str().unwrap_or_default(),
                entry["target"].as_str().unwrap_or_default(),
                entry["event"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(events, ["token grafana create", "token grafana revoke"], "{audit}");
}
