//! The public status page through the real binary: components follow their monitors;
//! an incident shows only once someone writes a public update, and only what they wrote;
//! a maintenance silence puts its components under maintenance; the Statuspage JSON, the
//! Atom feed and the badges say the same; nothing internal (monitor names, URLs,
//! hostnames, error texts, private updates) leaks; the page's own listener serves the
//! page and nothing else.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::helpers::{body, fake_api, get, subject, subjects, Vigil, WAIT};

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("json")
}

async fn summary(port: u16) -> serde_json::Value {
    let answer = get(port, "/status/api/v2/summary.json", BTreeMap::new()).await;
    assert_eq!(answer.status, Some(200), "{}", String::from_utf8_lossy(&answer.body));
    json(&answer.body)
}

/// Waits until the summary satisfies `check` (the page is read again every 2 s).
async fn summary_until(vigil: &Vigil, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let body = summary(vigil.port).await;
        if check(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "waited in vain for {what}: {body:#}\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn component<'a>(body: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    body["components"].as_array().and_then(|all| all.iter().find(|component| component["name"] == name)).expect("component")
}

/// The response head of `GET PATH`, lowercased.
fn raw_head(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: status\r\nConnection: close\r\n\r\n").expect("write");
    let mut buffer = vec![0u8; 1 << 20];
    let mut length = 0;
    while length < buffer.len() {
        match stream.read(&mut buffer[length..]).expect("read") {
            0 => break,
            read => length += read,
        }
    }
    let answer = String::from_utf8_lossy(&buffer[..length]).into_owned();
    answer.split("\r\n\r\n").next().unwrap_or_default().to_lowercase()
}

/// Nothing internal in a public answer: monitor names and addresses, error texts,
/// private updates, people.
fn leaks_nothing(text: &str, what: &str, internal: &[String]) {
    let fixed = ["int-api-7", "int-web-3", "/health", "[STATUS]", "db host 10.1.2.3", "alice", "severity"];
    for secret in fixed.iter().copied().chain(internal.iter().map(String::as_str)) {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_follows_monitors_public_updates_and_maintenance() {
    let (api, api_address) = fake_api().await;
    let (_web, web_address) = fake_api().await;
    let own_port = vigil_testkit::free_port();
    let vigil = Vigil::start(|port, dir| {
        format!(
            "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{port}\n\
             monitors:\n  - name: int-api-7\n    url: http://{api_address}/health\n    interval: 200ms\n    timeout: 150ms\n\
             \x20   conditions: [\"[STATUS] == 200\"]\n    failure-threshold: 2\n    success-threshold: 2\n\
             \x20 - name: int-web-3\n    url: http://{web_address}/health\n    interval: 200ms\n    timeout: 150ms\n\
             status-page:\n  title: Example Inc. status\n  listen: 127.0.0.1:{own_port}\n  components:\n\
             \x20   - name: Public API\n      monitors: [int-api-7]\n    - name: Website\n      description: The shop\n      monitors: [int-web-3]\n",
            dir.display()
        )
    });

    let body = summary_until(&vigil, "both components operational", |body| {
        body["status"]["indicator"] == "none"
            && body["components"].as_array().is_some_and(|all| all.iter().all(|component| component["status"] == "operational"))
            && component(body, "Public API")["updated_at"].is_string()
    })
    .await;
    assert_eq!(body["status"]["description"], "All Systems Operational");
    assert_eq!(body["page"]["name"], "Example Inc. status");
    for key in ["page", "components", "incidents", "scheduled_maintenances", "status"] {
        assert!(body.get(key).is_some(), "Statuspage's summary has `{key}`: {body:#}");
    }
    assert_eq!(component(&body, "Website")["description"], "The shop");
    assert_eq!(component(&body, "Public API")["id"], "public-api");

    // An outage: the component and the page say so; the incident stays internal.
    api.set_failing(true);
    let body = summary_until(&vigil, "a major outage", |body| component(body, "Public API")["status"] == "major_outage").await;
    assert_eq!(
        (body["status"]["indicator"].as_str(), body["status"]["description"].as_str()),
        (Some("critical"), Some("Major System Outage"))
    );
    assert_eq!(body["incidents"], serde_json::json!([]), "no public update, no public incident");
    let (code, out, err) = vigil.command(&["incidents", "list", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let id = serde_json::from_str::<serde_json::Value>(out.lines().next().expect("an incident")).expect("json")["id"].as_i64().expect("id");

    // Updates: a private one stays inside, a public one is published as written.
    let (code, _, err) =
        vigil.command(&["incident", "update", &id.to_string(), "internal: db host 10.1.2.3 is out of disk", "--as", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    let public = "We are investigating elevated error rates on the API.";
    let (code, _, err) =
        vigil.command(&["incident", "update", &id.to_string(), public, "--public", "--status", "identified", "--as", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    let body = summary_until(&vigil, "the public incident", |body| body["incidents"].as_array().is_some_and(|all| !all.is_empty())).await;
    let incident = &body["incidents"][0];
    assert_eq!((incident["status"].as_str(), incident["impact"].as_str()), (Some("identified"), Some("major")), "{incident:#}");
    assert_eq!(incident["name"], "Public API: partial outage");
    assert_eq!(incident["incident_updates"].as_array().map(Vec::len), Some(1), "only the public update");
    assert_eq!(incident["incident_updates"][0]["body"], public);
    assert_eq!(incident["components"][0]["name"], "Public API");

    // Maintenance: a silence whose comment starts with `maintenance`.
    let (code, _, err) =
        vigil.command(&["silence", "add", "monitor=int-web-3", "--comment", "maintenance: Database upgrade", "--duration", "1h"]);
    assert_eq!(code, Some(0), "{err}");
    let body = summary_until(&vigil, "maintenance", |body| component(body, "Website")["status"] == "under_maintenance").await;
    let window = &body["scheduled_maintenances"][0];
    assert_eq!((window["name"].as_str(), window["status"].as_str()), (Some("Database upgrade"), Some("in_progress")), "{window:#}");
    assert_eq!(window["components"][0]["name"], "Website");

    // The page, the feed and the badges; nothing internal anywhere.
    let internal = [api_address.to_string(), web_address.to_string()];
    leaks_nothing(&body.to_string(), "summary.json", &internal);
    let page = get(vigil.port, "/status", BTreeMap::new()).await;
    assert_eq!(page.status, Some(200));
    let html = String::from_utf8_lossy(&page.body).into_owned();
    for says in [
        "Example Inc. status",
        "Major System Outage",
        "Public API",
        "Major outage",
        "Under maintenance",
        public,
        "Database upgrade",
        "Uptime is the share of time",
    ] {
        assert!(html.contains(says), "the page says `{says}`:\n{html}");
    }
    assert!(!html.contains("<script"), "no script");
    leaks_nothing(&html, "the page", &internal);
    let head = raw_head(vigil.port, "/status");
    assert!(head.contains("content-security-policy: default-src 'none'") && head.contains("frame-ancestors 'none'"), "{head}");
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    let feed = get(vigil.port, "/status/history.atom", BTreeMap::new()).await;
    let feed = String::from_utf8_lossy(&feed.body).into_owned();
    assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">") && feed.contains(public), "{feed}");
    leaks_nothing(&feed, "the feed", &internal);

    let badge = get(vigil.port, "/badge/int-api-7/uptime/30d.svg", BTreeMap::new()).await;
    assert_eq!(badge.status, Some(200));
    let svg = String::from_utf8_lossy(&badge.body).into_owned();
    assert!(svg.starts_with("<svg") && svg.contains("uptime 30d"), "{svg}");
    let state = get(vigil.port, "/badge/int-api-7/state.svg", BTreeMap::new()).await;
    assert!(String::from_utf8_lossy(&state.body).contains(">down<"));
    // The response time comes from the hourly sums stored each heartbeat (10 s).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let timing = loop {
        let badge = get(vigil.port, "/badge/int-api-7/response-time.svg", BTreeMap::new()).await;
        assert_eq!(badge.status, Some(200));
        let svg = String::from_utf8_lossy(&badge.body).into_owned();
        if svg.contains(" ms<") || std::time::Instant::now() > deadline {
            break svg;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(timing.contains("response time 24h") && timing.contains(" ms<"), "{timing}");
    assert_eq!(get(vigil.port, "/badge/secret-db/state.svg", BTreeMap::new()).await.status, Some(404), "only the page's monitors");
    assert_eq!(get(vigil.port, "/badge/secret-db/response-time.svg", BTreeMap::new()).await.status, Some(404));
    assert_eq!(get(vigil.port, "/badge/int-api-7/uptime/5y.svg", BTreeMap::new()).await.status, Some(400));

    // Its own listener: the page, and nothing else.
    assert_eq!(get(own_port, "/status/api/v2/status.json", BTreeMap::new()).await.status, Some(200));
    assert_eq!(get(own_port, "/api/v1/monitors", BTreeMap::new()).await.status, Some(404));
    assert_eq!(get(own_port, "/metrics", BTreeMap::new()).await.status, Some(404));

    // Recovery: partial outage while its public incident is open, operational once resolved.
    api.set_failing(false);
    summary_until(&vigil, "the incident's partial outage", |body| component(body, "Public API")["status"] == "partial_outage").await;
    let (code, _, err) = vigil.command(&["incident", "resolve", &id.to_string(), "--as", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    let body = summary_until(&vigil, "the API operational", |body| component(body, "Public API")["status"] == "operational").await;
    assert_eq!(body["incidents"], serde_json::json!([]), "resolved incidents are past ones");
    let html = String::from_utf8_lossy(&get(vigil.port, "/status", BTreeMap::new()).await.body).into_owned();
    assert!(html.contains("Past incidents") && html.contains(public), "{html}");
}

/// The link path in a mail that starts with `marker`.
fn link_in(message: &str, marker: &str) -> String {
    let text = body(message);
    let at = text.find(marker).unwrap_or_else(|| panic!("no `{marker}` link in:\n{text}"));
    text[at..].split_whitespace().next().unwrap_or_default().to_owned()
}

/// A config on SQLite in `dir` with an e-mail notifier `mail` to the SMTP server on
/// `smtp_port`, then `rest` (monitors and the status page).
fn with_mail(port: u16, dir: &std::path::Path, smtp_port: u16, rest: &str) -> String {
    format!(
        "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{port}\n\
         notifiers:\n  mail:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {smtp_port}\n    tls: none\n\
         \x20   from: status@example.com\n    to: [team@example.com]\n{rest}",
        dir.display()
    )
}

/// E-mail subscriptions through aiosmtpd: a confirmation mail first (a GET of its link
/// only asks; the POST confirms), then every public update, each with its own one-click
/// unsubscribe link (`List-Unsubscribe` and `List-Unsubscribe-Post`); a forged link is
/// refused; nothing is sent before confirmation or after unsubscribing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_confirm_get_public_updates_and_unsubscribe_in_one_click() {
    let Some(smtp) = vigil_testkit::SmtpServer::start() else { return };
    let (api, api_address) = fake_api().await;
    let smtp_port = smtp.port();
    let vigil = Vigil::start(|port, dir| {
        with_mail(
            port,
            dir,
            smtp_port,
            &format!(
                "monitors:\n  - name: int-api-7\n    url: http://{api_address}/health\n    interval: 200ms\n    timeout: 150ms\n\
                 \x20   failure-threshold: 2\n\
                 status-page:\n  title: Example status\n  subscriptions:\n    email-via: mail\n  components:\n\
                 \x20   - name: Public API\n      monitors: [int-api-7]\n"
            ),
        )
    });
    vigil_testkit::wait_for_port(vigil.port, WAIT);
    let page = get(vigil.port, "/status", BTreeMap::new()).await;
    assert!(String::from_utf8_lossy(&page.body).contains("action=\"/status/subscribe\""), "the page offers the form");

    let form = |email: &str| Some(format!("email={}", form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>()));
    let headers = || BTreeMap::from([("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())]);
    let bad = crate::helpers::request(vigil.port, http::Method::POST, "/status/subscribe", headers(), form("not-an-address")).await;
    assert_eq!(bad.status, Some(400));
    let ok = crate::helpers::request(vigil.port, http::Method::POST, "/status/subscribe", headers(), form("Reader@Example.com")).await;
    assert_eq!(ok.status, Some(200));
    assert!(String::from_utf8_lossy(&ok.body).contains("Check your inbox"));
    // Asking again within ten minutes sends nothing more, and says the same.
    let again = crate::helpers::request(vigil.port, http::Method::POST, "/status/subscribe", headers(), form("reader@example.com")).await;
    assert_eq!(again.status, Some(200));

    let mails = smtp.wait_for_messages(1, WAIT);
    assert_eq!(mails.len(), 1, "one confirmation mail");
    assert!(mails[0].contains("To: reader@example.com"), "{}", mails[0]);
    assert!(body(&mails[0]).contains(&format!("http://127.0.0.1:{}/status/subscribe/confirm/", vigil.port)), "{}", mails[0]);
    let path = link_in(&mails[0], "/status/subscribe/confirm/");

    // An update before confirmation is not mailed.
    api.set_failing(true);
    let id = loop {
        let (_, out, _) = vigil.command(&["incidents", "list", "--json"]);
        if let Some(line) = out.lines().next() {
            break serde_json::from_str::<serde_json::Value>(line).expect("json")["id"].as_i64().expect("id");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let update = |text: &'static str| {
        let vigil = &vigil;
        move || vigil.command(&["incident", "update", &id.to_string(), text, "--public", "--as", "alice"])
    };
    assert_eq!(update("We are looking into errors on the API.")().0, Some(0));

    // A forged or cut link is refused; a GET only asks; the POST confirms.
    let flipped = if path.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{flipped}", &path[..path.len() - 1]);
    assert_eq!(get(vigil.port, &forged, BTreeMap::new()).await.status, Some(403));
    assert_eq!(crate::helpers::request(vigil.port, http::Method::POST, &forged, BTreeMap::new(), None).await.status, Some(403));
    let asked = get(vigil.port, &path, BTreeMap::new()).await;
    assert!(asked.status == Some(200) && String::from_utf8_lossy(&asked.body).contains("Confirm"));
    let confirmed = crate::helpers::request(vigil.port, http::Method::POST, &path, BTreeMap::new(), None).await;
    assert!(String::from_utf8_lossy(&confirmed.body).contains("Subscribed"), "{}", String::from_utf8_lossy(&confirmed.body));

    let (code, _, err) = update("We found the cause and are fixing it.")();
    assert_eq!(code, Some(0), "{err}");
    let mails = smtp.wait_for_messages(2, WAIT);
    assert_eq!(mails.len(), 2, "the update after confirmation, and only it: {:?}", subjects(&mails));
    let mail = &mails[1];
    assert!(body(mail).contains("We found the cause and are fixing it."), "{mail}");
    assert!(!body(mail).contains("looking into"), "the earlier update was not mailed");
    assert!(subject(mail).contains("Example status"), "{mail}");
    assert!(mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{mail}");
    assert!(body(mail).contains(&format!("http://127.0.0.1:{}/status/unsubscribe/", vigil.port)), "{mail}");
    let unsubscribe = link_in(mail, "/status/unsubscribe/");
    leaks_nothing(&body(mail), "the update mail", &[api_address.to_string()]);

    // One click, as a mail client sends it (RFC 8058).
    let one_click =
        crate::helpers::request(vigil.port, http::Method::POST, &unsubscribe, headers(), Some("List-Unsubscribe=One-Click".to_owned()))
            .await;
    assert_eq!(one_click.status, Some(200));
    assert_eq!(update("Fixed; we are watching.")().0, Some(0));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 2, "nothing after unsubscribing");
}

/// `POST /status/subscribe` over a plain socket, so the answer's headers can be read:
/// the raw response (status line, headers, body).
async fn raw_subscribe(port: u16, email: &str, forwarded_for: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = format!("email={}", form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>());
    let forwarded = forwarded_for.map(|value| format!("X-Forwarded-For: {value}\r\n")).unwrap_or_default();
    let request = format!(
        "POST /status/subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{forwarded}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

/// The subscribe form is rate limited per client (behind a proxy, the address it names
/// in `X-Forwarded-For`) and for the page: past either limit the answer is 429 with
/// `Retry-After`, and no mail goes out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_requests_are_limited_per_client_and_per_page() {
    let Some(smtp) = vigil_testkit::SmtpServer::start() else { return };
    let (_api, api_address) = fake_api().await;
    let smtp_port = smtp.port();
    let vigil = Vigil::start(|port, dir| {
        with_mail(
            port,
            dir,
            smtp_port,
            &format!(
                "monitors:\n  - name: api\n    url: http://{api_address}/health\n    interval: 1s\n\
                 status-page:\n  subscriptions:\n    email-via: mail\n    per-client: 2/1h\n    per-page: 3/1h\n\
                 \x20   client-ip-header: X-Forwarded-For\n  components:\n    - name: API\n      monitors: [api]\n"
            ),
        )
    });
    vigil_testkit::wait_for_port(vigil.port, WAIT);
    let status = |response: &str| response.split(' ').nth(1).unwrap_or_default().to_owned();
    let first = Some("203.0.113.5");
    assert_eq!(status(&raw_subscribe(vigil.port, "a1@example.com", first).await), "200");
    assert_eq!(status(&raw_subscribe(vigil.port, "a2@example.com", first).await), "200");
    let refused = raw_subscribe(vigil.port, "a3@example.com", first).await;
    assert_eq!(status(&refused), "429", "{refused}");
    // One request comes back every half hour (less the moments since the first).
    let retry_after: u64 = refused
        .lines()
        .find_map(|line| line.to_lowercase().strip_prefix("retry-after: ").map(str::to_owned))
        .and_then(|seconds| seconds.trim().parse().ok())
        .expect("a Retry-After");
    assert!((1740..=1800).contains(&retry_after), "{refused}");
    assert!(refused.contains("try again in 30 minutes"), "{refused}");

    // The proxy's own address comes last: this is another client.
    assert_eq!(status(&raw_subscribe(vigil.port, "b1@example.com", Some("198.51.100.1, 203.0.113.9")).await), "200");
    // The page has taken its three.
    let refused = raw_subscribe(vigil.port, "c1@example.com", Some("192.0.2.44")).await;
    assert_eq!(status(&refused), "429", "{refused}");

    let mails = smtp.wait_for_messages(3, WAIT);
    let mut to: Vec<&str> = mails.iter().filter_map(|mail| mail.lines().find_map(|line| line.strip_prefix("To: "))).collect();
    to.sort_unstable();
    assert_eq!(to, ["a1@example.com", "a2@example.com", "b1@example.com"], "a mail for each request let through, none for the others");
    let logs = vigil.logs();
    assert!(logs.contains("over status-page.subscriptions.per-page"), "{logs}");
    assert!(!logs.contains("c1@example.com"), "a refused address is not logged");
}
