//! Vigil's API through `vigil run`: tokens made with `vigil token create`, refused with
//! a reason when missing, malformed, unknown or revoked, and never stored in clear.

use std::collections::BTreeMap;
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

/// Whether `value` fits `schema` (resolving `$ref`s in `document`): every required
/// property present, no property the schema does not name, types as documented.
fn fits(document: &serde_json::Value, schema: &serde_json::Value, value: &serde_json::Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return fits(document, &document["components"]["schemas"][name], value, at);
    }
    if value.is_null() {
        return if schema["nullable"] == true || schema.get("type").is_none() { Ok(()) } else { Err(format!("{at}: null")) };
    }
    if let Some(any) = schema["anyOf"].as_array().or_else(|| schema["oneOf"].as_array()) {
        return if any.iter().any(|schema| fits(document, schema, value, at).is_ok()) { Ok(()) } else { Err(format!("{at}: {value}")) };
    }
    let kind = schema["type"].as_str().unwrap_or_default();
    let ok = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    };
    if !ok {
        return Err(format!("{at}: expected {kind}, got {value}"));
    }
    if let (Some(object), "object") = (value.as_object(), kind) {
        let properties = schema["properties"].as_object();
        for required in schema["required"].as_array().into_iter().flatten().filter_map(|name| name.as_str()) {
            if !object.contains_key(required) {
                return Err(format!("{at}: `{required}` missing"));
            }
        }
        for (name, item) in object {
            match properties.and_then(|properties| properties.get(name)) {
                Some(schema) => fits(document, schema, item, &format!("{at}.{name}"))?,
                None if schema.get("additionalProperties").is_some() => {
                    fits(document, &schema["additionalProperties"], item, &format!("{at}.{name}"))?;
                }
                None => return Err(format!("{at}: `{name}` is not documented")),
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (index, item) in items.iter().enumerate() {
            fits(document, &schema["items"], item, &format!("{at}[{index}]"))?;
        }
    }
    Ok(())
}

/// The committed OpenAPI document is what the code generates; every documented route
/// answers, in the documented shape; undocumented paths are 404; bad parameters 400.
/// Alert episodes carry their decisions, through the API and `vigil alerts show`.
#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_the_codes_and_alert_decisions_are_shown() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json")).expect("docs/openapi.json");
    let (code, generated, stderr) = vigil_command(&["openapi"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        committed.trim() == generated.trim(),
        "docs/openapi.json is stale: run `cargo run -p vigil -- openapi > docs/openapi.json` and commit it"
    );
    let document: serde_json::Value = serde_json::from_str(&committed).expect("json");

    let vigil = Vigil::start(|port, dir| {
        format!(
            "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{port}\n\
             notifiers:\n  hook:\n    type: webhook\n    url: http://127.0.0.1:9/hook\n\
             receivers:\n  - name: oncall\n    notify: [hook]\n\
             route:\n  receiver: oncall\n  group-by: [alertname]\n  group-wait: 1s\n  group-interval: 1s\n",
            dir.display()
        )
    });
    let token = |role: &str| {
        let (code, token, stderr) = vigil.command(&["token", "create", role, "--role", role]);
        assert_eq!(code, Some(0), "{stderr}");
        token.trim().to_owned()
    };
    let (viewer, responder) = (token("viewer"), token("responder"));
    let bearer = |token: &str| [("Authorization".to_owned(), format!("Bearer {token}"))].into_iter().collect();
    let alerts = r#"[{"labels":{"alertname":"Errors","service":"api"},"annotations":{"summary":"api errors"}},
                     {"labels":{"alertname":"Errors","service":"web"}}]"#;
    let posted = request(vigil.port, http::Method::POST, "/api/v2/alerts", bearer(&responder), Some(alerts.to_owned())).await;
    assert_eq!(posted.status, Some(200), "{}", String::from_utf8_lossy(&posted.body));
    let (code, silence, stderr) = vigil.command(&["silence", "add", "service=web", "--comment", "deploy"]);
    assert_eq!(code, Some(0), "{stderr}");
    let silence = silence.trim().to_owned();

    // Both alerts listed, the web one suppressed by the silence.
    let listed = get(vigil.port, "/api/v1/alerts", Some(&viewer)).await;
    assert_eq!(listed.status, Some(200));
    let listed: serde_json::Value = serde_json::from_slice(&listed.body).expect("json");
    let web = listed["alerts"].as_array().and_then(|alerts| alerts.iter().find(|alert| alert["labels"]["service"] == "web")).expect("web");
    assert_eq!(web["status"]["state"], "suppressed", "{listed}");
    assert_eq!(web["status"]["silenced_by"][0], silence.as_str());
    let id = web["id"].as_i64().expect("id");

    // The dispatcher's decisions: the api alert notified, the web one silenced.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let detail = loop {
        let detail = get(vigil.port, &format!("/api/v1/alerts/{id}"), Some(&viewer)).await;
        let detail: serde_json::Value = serde_json::from_slice(&detail.body).expect("json");
        if detail["decisions"].as_array().is_some_and(|decisions| !decisions.is_empty()) {
            break detail;
        }
        assert!(std::time::Instant::now() < deadline, "no decision stored: {detail}\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(detail["decisions"][0]["kind"], "silenced", "{detail}");
    assert_eq!(detail["decisions"][0]["detail"], format!("by {silence}"));
    assert_eq!(detail["groups"][0]["group_key"], "{}:{alertname=\"Errors\"}", "{detail}");
    let (code, shown, stderr) = vigil.command(&["alerts", "show", &id.to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(shown.contains(&format!("silenced by {silence}")) && shown.contains("grouped:     oncall in"), "{shown}");
    let (code, list, _) = vigil.command(&["alerts", "list"]);
    assert_eq!(code, Some(0));
    assert_eq!(list.lines().count(), 2, "{list}");

    let (code, incident, stderr) = vigil.command(&["incident", "open", "checkout errors", "--severity", "SEV-1", "--service", "api"]);
    assert_eq!(code, Some(0), "{stderr}");
    let incident = incident.trim().to_owned();

    // Every documented route answers in its documented shape, and refuses without a token.
    let paths = document["paths"].as_object().expect("paths");
    for (path, operations) in paths {
        if operations.get("get").is_none() {
            continue;
        }
        let path =
            if path.starts_with("/api/v1/incidents/") { path.replace("{id}", &incident) } else { path.replace("{id}", &id.to_string()) };
        let schema = &operations["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        let answer = get(vigil.port, &path, Some(&viewer)).await;
        assert_eq!(answer.status, Some(200), "{path}: {}", String::from_utf8_lossy(&answer.body));
        let body: serde_json::Value = serde_json::from_slice(&answer.body).expect("json");
        fits(&document, schema, &body, &path).unwrap_or_else(|error| panic!("{path} differs from docs/openapi.json: {error}"));
        if operations["get"]["security"].as_array().is_some_and(|security| !security.is_empty()) {
            assert_eq!(get(vigil.port, &path, None).await.status, Some(401), "{path} without a token");
        }
    }
    let served = get(vigil.port, "/api/v1/openapi.json", None).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&served.body).expect("json"), document, "the served document");

    for (path, status, say) in [
        ("/api/v1/nothing-here", 404, "no such API route"),
        ("/api/v1/alerts?limit=0", 400, "`limit` must be"),
        ("/api/v1/alerts?all=maybe", 400, "`all` must be true or false"),
        ("/api/v1/alerts/abc", 400, "not an episode id"),
        ("/api/v1/alerts/999999", 404, "no alert episode 999999"),
        ("/api/v1/incidents/abc", 400, "not an incident id"),
        ("/api/v1/incidents/999999", 404, "no incident #999999"),
        ("/api/v1/incidents?days=0", 400, "`days` must be"),
        ("/api/v1/oncall?at=yesterday", 400, "`at` must be an RFC 3339 time"),
        ("/api/v1/oncall?schedule=nope", 400, "unknown schedule `nope`"),
    ] {
        let answer = get(vigil.port, path, Some(&viewer)).await;
        assert_eq!(answer.status, Some(status), "{path}");
        assert!(error_of(&answer).contains(say), "{path}: {}", error_of(&answer));
    }

    // Acting on an incident takes a responder; each refusal says why.
    let act = |path: String, token: String, body: Option<String>| async move {
        let mut headers: BTreeMap<String, String> = bearer(&token);
        headers.insert("content-type".to_owned(), "application/json".to_owned());
        request(vigil.port, http::Method::POST, &path, headers, body).await
    };
    let acknowledge = format!("/api/v1/incidents/{incident}/acknowledge");
    for (path, token, body, status, says) in [
        (acknowledge.clone(), viewer.clone(), None, 403, "this needs responder"),
        (acknowledge.clone(), responder.clone(), None, 200, ""),
        (acknowledge.clone(), responder.clone(), None, 409, "was acknowledged by responder"),
        (format!("/api/v1/incidents/{incident}/notes"), responder.clone(), Some("{}".to_owned()), 400, "the body needs `text`"),
        (format!("/api/v1/incidents/{incident}/notes"), responder.clone(), Some("{\"text\": 1}".to_owned()), 400, "invalid body"),
        (
            format!("/api/v1/incidents/{incident}/notes"),
            responder.clone(),
            Some(format!("{{\"text\": \"{}\"}}", "x".repeat(20_000))),
            413,
            "limit",
        ),
        (
            format!("/api/v1/incidents/{incident}/severity"),
            responder.clone(),
            Some("{\"severity\": \"SEV-9\"}".to_owned()),
            400,
            "unknown severity",
        ),
        (
            format!("/api/v1/incidents/{incident}/roles"),
            responder.clone(),
            Some("{\"role\": \"boss\", \"person\": \"x\"}".to_owned()),
            400,
            "unknown role",
        ),
        (format!("/api/v1/incidents/{incident}/explode"), responder.clone(), None, 404, "no incident action"),
        (
            "/api/v1/incidents".to_owned(),
            responder.clone(),
            Some("{\"title\": \"again\", \"severity\": \"SEV-2\", \"service\": \"api\"}".to_owned()),
            409,
            "is open for service api",
        ),
        (format!("/api/v1/incidents/{incident}/resolve"), responder.clone(), None, 200, ""),
        (format!("/api/v1/incidents/{incident}/resolve"), responder.clone(), None, 409, "is resolved"),
    ] {
        let answer = act(path.clone(), token, body).await;
        assert_eq!(answer.status, Some(status), "{path}: {}", String::from_utf8_lossy(&answer.body));
        if !says.is_empty() {
            assert!(error_of(&answer).contains(says), "{path}: {}", error_of(&answer));
        }
    }
}
