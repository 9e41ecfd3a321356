//! Every UI route through `Router::oneshot` on a temp store and a test clock: without a
//! session pages send to the sign-in form and forms are refused (401); a viewer sees no
//! buttons and is refused what needs a responder (403); a form without its CSRF token,
//! or from another site, is refused (403); a responder silences, acknowledges and notes;
//! revoking the token ends the session; no page has a script or an inline style.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;
use vigil_core::auth::Role;
use vigil_core::incident::Severity;
use vigil_core::{TestClock, Timestamp};
use vigil_store::Store;

use crate::http::AppState;

/// 2026-12-07T10:00:00Z.
const T0: Timestamp = Timestamp(1_796_637_600_000);

const YAML: &str = r#"
storage: sqlite://unused.db
notifiers:
  mail: {type: email, smtp-host: 127.0.0.1, smtp-port: 9, from: vigil@example.com, to: [team@example.com]}
incidents:
  email-via: mail
monitors:
  - name: api
    url: http://127.0.0.1:9/health
    labels: {team: payments}
  - name: web
    url: http://127.0.0.1:9/
people:
  alice: {email: alice@example.com}
schedules:
  primary:
    layers:
      - {rotation: daily, handoff: "09:00", members: [alice], start: "2026-12-07"}
escalation-policies:
  api:
    steps:
      - notify: ["schedule:primary"]
        wait: 5m
slos:
  - name: api-availability
    objective: 99.9%
    monitor: api
"#;

/// Every page, for the signed-out and signed-in sweeps.
const PAGES: &[&str] = &[
    "/ui",
    "/ui/monitors/api",
    "/ui/alerts",
    "/ui/silences",
    "/ui/silences/new",
    "/ui/slos",
    "/ui/incidents",
    "/ui/incidents/1",
    "/ui/incidents/1/postmortem",
    "/ui/incidents/1/postmortem.md",
    "/ui/oncall",
    "/ui/actions",
];

/// Every form.
const FORMS: &[&str] = &[
    "/ui/logout",
    "/ui/silences",
    "/ui/silences/00000000-0000-4000-8000-000000000000/expire",
    "/ui/incidents/1/acknowledge",
    "/ui/incidents/1/resolve",
    "/ui/incidents/1/notes",
    "/ui/actions/pause",
];

struct World {
    app: Router,
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let config = vigil_config::load_str(Path::new("vigil.yaml"), YAML, &|_| None).expect("config");
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&format!("sqlite://{}", dir.path().join("vigil.db").display())).await.expect("store");
    let clock: Arc<dyn vigil_core::Clock> = Arc::new(TestClock::at(T0));
    let state = AppState::standalone(&config, store, clock);
    state.incidents.open("API errors", Severity::Sev2, Some("api"), Some("api"), "test").await.expect("incident");
    World { app: crate::http::router(state.clone()), state, _dir: dir }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl World {
    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        // Our own router's answer, read within a real limit.
        #[allow(clippy::disallowed_methods)]
        let bytes = axum::body::to_bytes(response.into_body(), 4 << 20).await.expect("body");
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).expect("request")).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).expect("request")).await
    }

    async fn token(&self, name: &str, role: Role) -> String {
        let (record, token) = crate::auth::mint(name, role, T0).expect("mint");
        assert!(self.state.store.create_token(&record, "test").await.expect("create"));
        token
    }

    /// Signs in with `token`: the cookie to send and the CSRF token of its forms.
    async fn sign_in(&self, token: &str) -> (String, String) {
        let reply = self.post("/ui/login", None, &[("token", token), ("next", "/ui/alerts")]).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        assert_eq!(reply.headers[header::LOCATION], "/ui/alerts");
        let set = reply.headers[header::SET_COOKIE].to_str().expect("cookie").to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
        let cookie = set.split(';').next().expect("pair").to_owned();
        let page = self.get("/ui", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = page.body.split("name=\"csrf\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("csrf").to_owned();
        (cookie, csrf)
    }
}

#[tokio::test]
async fn signed_out_pages_send_to_the_sign_in_form_and_forms_are_refused() {
    let world = world().await;
    for page in PAGES {
        let reply = world.get(page, None).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{page}");
        let location = reply.headers[header::LOCATION].to_str().expect("location");
        assert!(location.starts_with("/ui/login?next=%2Fui"), "{page}: {location}");
    }
    for path in FORMS {
        let reply = world.post(path, None, &[("csrf", "x")]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}: {}", reply.body);
    }
    // A forged cookie, a well-formed unknown one and a garbled one are no session.
    for cookie in ["vigil_session=nonsense", &format!("vigil_session={}_{}", "a".repeat(16), "b".repeat(64)), "other=1"] {
        assert_eq!(world.get("/ui", Some(cookie)).await.status, StatusCode::SEE_OTHER, "{cookie}");
    }
    let login = world.get("/ui/login", None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("type=\"password\""), "{}", login.body);
}

#[tokio::test]
async fn sign_in_refuses_bad_tokens_and_never_redirects_off_site() {
    let world = world().await;
    for (token, says) in [("nonsense", "not a Vigil token"), (&format!("vgl_{}_{}", "0".repeat(16), "1".repeat(64)), "Unknown token")] {
        let reply = world.post("/ui/login", None, &[("token", token)]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.body.contains(says), "{}", reply.body);
        assert!(!reply.headers.contains_key(header::SET_COOKIE));
    }
    let token = world.token("alice", Role::Viewer).await;
    for next in ["//evil.example/", "https://evil.example/", "/\\evil.example", "/elsewhere"] {
        let reply = world.post("/ui/login", None, &[("token", &token), ("next", next)]).await;
        assert_eq!(reply.headers[header::LOCATION], "/ui", "{next}");
    }
    let cross = Request::post("/ui/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(format!("token={token}")))
        .expect("request");
    assert_eq!(world.send(cross).await.status, StatusCode::FORBIDDEN, "login CSRF");
}

#[tokio::test]
async fn every_page_renders_with_secure_headers_and_no_script() {
    let world = world().await;
    let token = world.token("alice", Role::Responder).await;
    let (cookie, _) = world.sign_in(&token).await;
    for page in PAGES {
        let reply = world.get(page, Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}: {}", reply.body);
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("csp");
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline") && !csp.contains("script-src"), "{csp}");
        assert_eq!(reply.headers[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
        for banned in ["<script", " style=", "javascript:", " onclick"] {
            assert!(!reply.body.contains(banned), "{page} has {banned}");
        }
        assert!(!reply.body.contains(&token), "{page} shows the token");
    }
    let markdown = world.get("/ui/incidents/1/postmortem.md", Some(&cookie)).await;
    assert!(markdown.headers[header::CONTENT_DISPOSITION].to_str().expect("disposition").starts_with("attachment"));
    assert_eq!(world.get("/ui/monitors/nope", Some(&cookie)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(world.get("/ui/incidents/99", Some(&cookie)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(world.get("/ui/incidents/abc", Some(&cookie)).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_viewer_sees_no_buttons_and_is_refused_what_needs_a_responder() {
    let world = world().await;
    let token = world.token("val", Role::Viewer).await;
    let (cookie, csrf) = world.sign_in(&token).await;
    let incident = world.get("/ui/incidents/1", Some(&cookie)).await;
    assert!(!incident.body.contains("/ui/incidents/1/acknowledge") && !incident.body.contains("Add note"), "{}", incident.body);
    assert!(!world.get("/ui/silences", Some(&cookie)).await.body.contains("New silence"));
    assert_eq!(world.get("/ui/silences/new", Some(&cookie)).await.status, StatusCode::FORBIDDEN);
    for (path, fields) in [
        ("/ui/incidents/1/acknowledge", vec![("csrf", csrf.as_str())]),
        ("/ui/incidents/1/notes", vec![("csrf", csrf.as_str()), ("text", "hi")]),
        ("/ui/silences", vec![("csrf", csrf.as_str()), ("matchers", "{alertname=\"api\"}"), ("duration", "1h"), ("comment", "x")]),
        ("/ui/actions/pause", vec![("csrf", csrf.as_str())]),
    ] {
        let reply = world.post(path, Some(&cookie), &fields).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}: {}", reply.body);
        assert!(reply.body.contains("this needs responder"), "{}", reply.body);
    }
    let record = world.state.store.incident(1).await.expect("read").expect("incident");
    assert!(record.acknowledged_at.is_none());
    assert!(world.state.store.silences(T0, true).await.expect("silences").is_empty());
    assert!(!world.state.store.paused().await.expect("paused"));
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_the_same_site() {
    let world = world().await;
    let token = world.token("alice", Role::Responder).await;
    let (cookie, csrf) = world.sign_in(&token).await;
    for fields in [vec![], vec![("csrf", "0".repeat(64))], vec![("csrf", csrf[..63].to_owned())]] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let reply = world.post("/ui/incidents/1/acknowledge", Some(&cookie), &fields).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(reply.body.contains("CSRF"), "{}", reply.body);
    }
    for (name, value) in [("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")] {
        let request = Request::post("/ui/incidents/1/acknowledge")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .header(header::HOST, "vigil.internal:8080")
            .header(name, value)
            .body(Body::from(format!("csrf={csrf}")))
            .expect("request");
        assert_eq!(world.send(request).await.status, StatusCode::FORBIDDEN, "{name}");
    }
    let same = Request::post("/ui/incidents/1/acknowledge")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &cookie)
        .header(header::HOST, "vigil.internal:8080")
        .header(header::ORIGIN, "http://vigil.internal:8080")
        .body(Body::from(format!("csrf={csrf}")))
        .expect("request");
    assert_eq!(world.send(same).await.status, StatusCode::SEE_OTHER);
    // Behind a proxy that rewrites Host: the browser's word, or the forwarded host, counts.
    for (name, value) in [("sec-fetch-site", "same-origin"), ("x-forwarded-host", "vigil.example.com")] {
        let proxied = Request::post("/ui/incidents/1/notes")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ORIGIN, "https://vigil.example.com")
            .header(name, value)
            .body(Body::from(format!("csrf={csrf}&text=proxied")))
            .expect("request");
        assert_eq!(world.send(proxied).await.status, StatusCode::SEE_OTHER, "{name}");
    }
    // Larger than a form may be.
    let big = "x".repeat(super::FORM_LIMIT + 1);
    let reply = world.post("/ui/incidents/1/notes", Some(&cookie), &[("csrf", &csrf), ("text", &big)]).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", reply.body);
}

#[tokio::test]
async fn a_responder_silences_acknowledges_and_notes_and_revoking_ends_the_session() {
    let world = world().await;
    let token = world.token("alice", Role::Responder).await;
    let (cookie, csrf) = world.sign_in(&token).await;

    let preview = world.get("/ui/silences/new?matchers=%7Balertname%3D%22api%22%7D", Some(&cookie)).await;
    assert!(preview.body.contains("Matches 0 firing alert(s) now"), "{}", preview.body);
    let bad = world.get("/ui/silences/new?matchers=%7Balertname%3D", Some(&cookie)).await;
    assert!(bad.body.contains("Bad matchers"), "{}", bad.body);
    let fields = [("csrf", csrf.as_str()), ("matchers", "{alertname=\"api\"}"), ("duration", "2h"), ("comment", "deploying")];
    let reply = world.post("/ui/silences", Some(&cookie), &fields).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let silences = world.state.store.silences(T0, true).await.expect("silences");
    assert_eq!(silences.len(), 1);
    assert_eq!((silences[0].created_by.as_str(), silences[0].ends_at), ("alice (ui)", Timestamp(T0.0 + 7_200_000)));
    let bad = world.post("/ui/silences", Some(&cookie), &[("csrf", &csrf), ("matchers", "{"), ("duration", "2h"), ("comment", "x")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let id = silences[0].id.clone();
    assert_eq!(world.post(&format!("/ui/silences/{id}/expire"), Some(&cookie), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(world.state.store.silences(T0, true).await.expect("silences")[0].ends_at, T0);

    assert_eq!(world.post("/ui/incidents/1/acknowledge", Some(&cookie), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    let reply = world.post("/ui/incidents/1/notes", Some(&cookie), &[("csrf", &csrf), ("text", "rolled back the deploy")]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let record = world.state.store.incident(1).await.expect("read").expect("incident");
    assert_eq!(record.acknowledged_by.as_deref(), Some("alice"));
    let page = world.get("/ui/incidents/1", Some(&cookie)).await;
    assert!(page.body.contains("rolled back the deploy"), "{}", page.body);
    let empty = world.post("/ui/incidents/1/notes", Some(&cookie), &[("csrf", &csrf), ("text", " ")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);

    world.state.store.revoke_token("alice", "test", T0).await.expect("revoke");
    assert_eq!(world.get("/ui", Some(&cookie)).await.status, StatusCode::SEE_OTHER, "a revoked token's session ends");
}

#[tokio::test]
async fn signing_out_ends_the_session_and_cookies_are_secure_behind_https() {
    let mut world = world().await;
    let token = world.token("alice", Role::Viewer).await;
    let (cookie, csrf) = world.sign_in(&token).await;
    let reply = world.post("/ui/logout", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.headers[header::SET_COOKIE].to_str().expect("cookie").contains("Max-Age=0"));
    assert_eq!(world.get("/ui", Some(&cookie)).await.status, StatusCode::SEE_OTHER);

    world.state.secure_cookies = true;
    world.app = crate::http::router(world.state.clone());
    let reply = world.post("/ui/login", None, &[("token", &token)]).await;
    assert!(reply.headers[header::SET_COOKIE].to_str().expect("cookie").contains("; Secure"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_open_incidents_by_status() {
    let world = world().await;
    let token = world.token("alice", Role::Viewer).await;
    let (cookie, _) = world.sign_in(&token).await;
    assert_eq!(world.get("/ui/incidents", Some(&cookie)).await.status, StatusCode::OK);
    let metrics = world.get("/metrics", None).await.body;
    for sample in [
        "vigil_incidents{state=\"investigating\"} 1",
        "vigil_escalations{state=\"active\"} 1",
        "vigil_escalation_pages_sent{state=\"active\"}",
        "vigil_alerts{state=\"active\"} 0",
        "vigil_http_requests_total{route=\"/ui/incidents\",method=\"GET\",status=\"200\"} 1",
        "vigil_http_requests_total{route=\"/ui/login\",method=\"POST\",status=\"303\"} 1",
        "vigil_ui_render_seconds_count{page=\"overview\"} 1",
    ] {
        assert!(metrics.contains(sample), "no `{sample}` in\n{metrics}");
    }
    assert!(metrics.contains("vigil_http_request_duration_seconds_count{route=\"/ui/incidents\"} 1"), "{metrics}");
}

#[tokio::test]
async fn the_overview_filters_by_label_state_kind_and_text() {
    let world = world().await;
    let token = world.token("val", Role::Viewer).await;
    let (cookie, _) = world.sign_in(&token).await;
    let shown = |body: &str| -> Vec<String> {
        body.split("<a href=\"/ui/monitors/").skip(1).filter_map(|rest| rest.split('"').next().map(str::to_owned)).collect()
    };
    for (query, expected) in [
        ("", vec!["api", "web"]),
        ("?label=team%3Dpayments", vec!["api"]),
        ("?label=team", vec!["api"]),
        ("?label=team%3Dsearch", vec![]),
        ("?q=WEB", vec!["web"]),
        ("?state=unknown&kind=http", vec!["api", "web"]),
        ("?state=down", vec![]),
    ] {
        let page = world.get(&format!("/ui{query}"), Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(shown(&page.body), expected, "{query}");
    }
    assert!(world.get("/ui/monitors/api", Some(&cookie)).await.body.contains("team=payments"));
}

#[tokio::test]
async fn pages_that_watch_reload_as_chosen_and_pages_with_forms_never_do() {
    let world = world().await;
    let token = world.token("alice", Role::Responder).await;
    let (cookie, _) = world.sign_in(&token).await;
    // Off until chosen: the choices are offered, nothing reloads.
    let page = world.get("/ui/alerts", Some(&cookie)).await;
    assert!(page.body.contains("href=\"/ui/refresh?every=30&amp;back=%2Fui%2Falerts\""), "{}", page.body);
    assert!(!page.body.contains("http-equiv"), "{}", page.body);

    // A choice is a cookie, and back to the page it was made on, filters and all.
    let chosen = world.get("/ui/refresh?every=30&back=%2Fui%3Fstate%3Ddown", Some(&cookie)).await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    assert_eq!(chosen.headers[header::LOCATION], "/ui?state=down");
    let set = chosen.headers[header::SET_COOKIE].to_str().expect("cookie");
    assert_eq!(set, "vigil_refresh=30; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=31536000");
    let with_refresh = format!("{cookie}; vigil_refresh=30");
    let watching = ["/ui", "/ui/monitors/api", "/ui/alerts", "/ui/silences", "/ui/slos", "/ui/incidents", "/ui/oncall", "/ui/actions"];
    for page in watching {
        let reply = world.get(page, Some(&with_refresh)).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}");
        assert!(reply.body.contains("<meta http-equiv=\"refresh\" content=\"30\">"), "{page} reloads every 30 s");
        assert!(reply.body.contains("aria-current=\"true\">30 s</a>"), "{page} shows the choice");
    }
    // Where something is typed, a reload would lose it.
    for page in ["/ui/silences/new", "/ui/incidents/1", "/ui/incidents/1/postmortem"] {
        let reply = world.get(page, Some(&with_refresh)).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}");
        assert!(!reply.body.contains("http-equiv"), "{page} never reloads");
    }
    let filtered = world.get("/ui?state=down&q=api", Some(&with_refresh)).await;
    assert!(filtered.body.contains("back=%2Fui%3Fstate%3Ddown%26q%3Dapi"), "{}", filtered.body);
    // A cookie that is not a choice is off.
    assert!(!world.get("/ui/alerts", Some(&format!("{cookie}; vigil_refresh=1"))).await.body.contains("http-equiv"));

    let off = world.get("/ui/refresh?every=0&back=%2Fui%2Falerts", Some(&cookie)).await;
    assert_eq!(off.headers[header::SET_COOKIE], "vigil_refresh=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    let bad = world.get("/ui/refresh?every=7&back=%2Fui", Some(&cookie)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("`every` must be one of 0, 10, 30, 60, 300"), "{}", bad.body);
    let away = world.get("/ui/refresh?every=10&back=https%3A%2F%2Fevil.example%2F", Some(&cookie)).await;
    assert_eq!(away.headers[header::LOCATION], "/ui", "never off-site");
    let signed_out = world.get("/ui/refresh?every=10&back=%2Fui%2Falerts", None).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(!signed_out.headers.contains_key(header::SET_COOKIE));
}
