//! Incidents through the real binary and a real SMTP server: an outage opens an
//! incident and pages whoever is on call; nobody acknowledges, so the next step pages
//! the next person; the link in the first page acknowledges (a GET only asks, a POST
//! acts; forged and reused links are refused); the recovery asks for a confirmation;
//! the postmortem and the statistics tell the story. A restart in the middle of an
//! escalation neither skips nor repeats a page, and two nodes on PostgreSQL page once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use vigil_testkit::SmtpServer;

use crate::helpers::{body, fake_api, get, request, subject, Vigil, WAIT};

/// One fast monitor of the fake API whose outage opens a SEV-2 incident for `api`,
/// paged by `api-oncall`: the primary schedule (alice), then after `step` bob, then
/// after an hour carol as the fallback. Its remediation calls a route the fake API
/// lacks, so it fails and a human must act.
fn config(storage: &str, port: u16, api: SocketAddr, smtp: u16, step: &str) -> String {
    format!(
        "storage: {storage}\n\
         listen: 127.0.0.1:{port}\n\
         delivery:\n  initial-backoff: 200ms\n  max-backoff: 1s\n\
         notifiers:\n  oncall:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {smtp}\n    tls: none\n\
         \x20   from: vigil@example.com\n    to: [team@example.com]\n    timeout: 5s\n\
         actions:\n  restart-api:\n    type: http\n    method: POST\n    url: http://{api}/no-such-route\n    cooldown: 1h\n\
         monitors:\n  - name: api\n    url: http://{api}/health\n    interval: 200ms\n    timeout: 150ms\n\
         \x20   conditions: [\"[STATUS] == 200\"]\n    failure-threshold: 2\n    success-threshold: 2\n\
         \x20   actions: [restart-api]\n\
         people:\n  alice: {{email: alice@example.com, time-zone: Europe/Berlin}}\n  bob: {{email: bob@example.com}}\n\
         \x20 carol: {{email: carol@example.com}}\n\
         schedules:\n  primary:\n    time-zone: UTC\n    layers:\n      - rotation: weekly\n        handoff: \"mon 09:00\"\n\
         \x20       members: [alice]\n\
         escalation-policies:\n  api-oncall:\n    steps:\n      - notify: [\"schedule:primary\"]\n        wait: {step}\n\
         \x20     - notify: [\"person:bob\"]\n        wait: 1h\n    fallback: [\"person:carol\"]\n\
         incidents:\n  email-via: oncall\n  external-url: http://127.0.0.1:{port}\n\
         receivers:\n  - name: team\n\
         route:\n  receiver: team\n  routes:\n    - matchers: ['severity=\"page\"']\n      receiver: team\n\
         \x20     incident: {{severity: SEV-2, service: api, escalation: api-oncall}}\n"
    )
}

fn to(message: &str) -> String {
    message.lines().find_map(|line| line.strip_prefix("To: ")).unwrap_or_default().to_owned()
}

/// Mails to `address`, waiting until there are `count`.
fn mails_to(smtp: &SmtpServer, address: &str, count: usize, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let mails: Vec<String> = smtp.messages().into_iter().filter(|message| to(message).contains(address)).collect();
        if mails.len() >= count || Instant::now() >= deadline {
            return mails;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The link path (`/incidents/link/TOKEN`) after `label` in a mail.
fn link(message: &str, label: &str) -> String {
    let text = body(message);
    let line = text.lines().find(|line| line.starts_with(label)).unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"));
    let at = line.find("/incidents/link/").unwrap_or_else(|| panic!("no link in `{line}`"));
    line[at..].trim().to_owned()
}

fn show(vigil: &Vigil, id: i64) -> serde_json::Value {
    let (code, out, err) = vigil.command(&["incident", "show", &id.to_string(), "--json"]);
    assert_eq!(code, Some(0), "{err}");
    serde_json::from_str(&out).expect("json")
}

fn open_incidents(vigil: &Vigil) -> Vec<serde_json::Value> {
    let (code, out, err) = vigil.command(&["incidents", "list", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    out.lines().map(|line| serde_json::from_str(line).expect("json")).collect()
}

fn millis(value: &serde_json::Value) -> i64 {
    vigil_core::Timestamp::parse_rfc3339(value.as_str().expect("a time")).expect("rfc3339").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_pages_escalates_is_acknowledged_by_link_and_leaves_a_postmortem() {
    let Some(smtp) = SmtpServer::start() else { return };
    let (api, address) = fake_api().await;
    let vigil = Vigil::start(|port, dir| config(&format!("sqlite://{}/vigil.db", dir.display()), port, address, smtp.port(), "3s"));

    api.set_failing(true);
    let alice = mails_to(&smtp, "alice@example.com", 1, WAIT);
    assert_eq!(alice.len(), 1, "alice is on call and paged\n{}", vigil.logs());
    assert!(subject(&alice[0]).contains("SEV-2 incident #1"), "{}", subject(&alice[0]));
    assert!(subject(&alice[0]).contains("PAGE"), "{}", subject(&alice[0]));
    let incidents = open_incidents(&vigil);
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let id = incidents[0]["id"].as_i64().expect("id");
    assert_eq!((incidents[0]["service"].as_str(), incidents[0]["severity"].as_str()), (Some("api"), Some("SEV-2")));

    // Nobody acknowledges: after the step's 3 s, bob is paged.
    let bob = mails_to(&smtp, "bob@example.com", 1, WAIT);
    assert_eq!(bob.len(), 1, "bob is paged by the second step\n{}", vigil.logs());
    let detail = show(&vigil, id);
    let opened = millis(&detail["incident"]["opened_at"]);
    let pages: Vec<&serde_json::Value> =
        detail["timeline"].as_array().expect("timeline").iter().filter(|entry| entry["kind"] == "page").collect();
    assert_eq!(pages.len(), 2, "{detail:#}");
    let second = millis(&pages[1]["at"]) - opened;
    assert!((3_000..6_000).contains(&second), "the second page {second} ms after the opening, after the 3 s wait");

    // The link: a GET only asks; forged links are refused; the POST acknowledges, once.
    let path = link(&alice[0], "Acknowledge:");
    let asked = get(vigil.port, &path, BTreeMap::new()).await;
    assert_eq!(asked.status, Some(200));
    let page = String::from_utf8_lossy(&asked.body).into_owned();
    assert!(page.contains("<form method=\"post\">") && page.contains("alice"), "{page}");
    assert!(show(&vigil, id)["incident"]["acknowledged_at"].is_null(), "a GET changes nothing");
    let forged = format!("/incidents/link/{}", "ab".repeat(32));
    assert_eq!(request(vigil.port, http::Method::POST, &forged, BTreeMap::new(), None).await.status, Some(403));
    let acted = request(vigil.port, http::Method::POST, &path, BTreeMap::new(), None).await;
    assert_eq!(acted.status, Some(200), "{}", String::from_utf8_lossy(&acted.body));
    let reused = request(vigil.port, http::Method::POST, &path, BTreeMap::new(), None).await;
    assert_eq!(reused.status, Some(403), "a link works once");
    assert!(String::from_utf8_lossy(&reused.body).contains("already used"));
    let detail = show(&vigil, id);
    assert_eq!(detail["incident"]["acknowledged_by"], "alice", "{detail:#}");
    assert_eq!(detail["escalation"]["state"], "stopped");
    assert_eq!(detail["roles"][0]["role"], "commander", "the first to acknowledge commands");

    // The recovery: a SEV-2 asks its commander to confirm, and stays open until then.
    api.set_failing(false);
    let reminder = mails_to(&smtp, "alice@example.com", 2, WAIT);
    assert_eq!(reminder.len(), 2, "alice is asked to confirm\n{}", vigil.logs());
    assert!(body(&reminder[1]).contains("have resolved"), "{}", body(&reminder[1]));
    assert_eq!(show(&vigil, id)["incident"]["status"], "investigating");
    let (code, _, err) = vigil.command(&["incident", "note", &id.to_string(), "restarted by hand", "--as", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = vigil.command(&["incident", "resolve", &id.to_string(), "--as", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    let detail = show(&vigil, id);
    assert_eq!(detail["incident"]["status"], "resolved");
    // No page went out after the acknowledgement (carol, the fallback, never).
    assert!(mails_to(&smtp, "carol@example.com", 1, Duration::from_millis(500)).is_empty());
    assert_eq!(mails_to(&smtp, "bob@example.com", 2, Duration::from_millis(100)).len(), 1);

    let kinds: Vec<&str> = detail["timeline"].as_array().expect("timeline").iter().filter_map(|entry| entry["kind"].as_str()).collect();
    for kind in [
        "opened",
        "alert-joined",
        "page",
        "delivered",
        "acknowledged",
        "role",
        "alert-resolved",
        "reminder",
        "note",
        "resolved",
        "remediation",
    ] {
        assert!(kinds.contains(&kind), "`{kind}` on the timeline: {kinds:?}");
    }

    let (code, draft, err) = vigil.command(&["postmortem", &id.to_string()]);
    assert_eq!(code, Some(0), "{err}");
    for says in [
        "# Postmortem: api is DOWN",
        "## Impact",
        "Monitor api was DOWN for",
        "First alert: **api**",
        "alice by e-mail",
        "bob by e-mail",
        "Acknowledged by alice",
        "restart-api on http://",
        "failed",
        "## Root cause and trigger",
        "## Action items",
    ] {
        assert!(draft.contains(says), "the postmortem says `{says}`:\n{draft}");
    }
    let (code, item, err) = vigil.command(&[
        "incident",
        "action-item",
        "add",
        &id.to_string(),
        "add a /recover route",
        "--owner",
        "bob",
        "--due",
        "2026-12-15",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (_, open_items, _) = vigil.command(&["incident", "action-item", "list", "--open"]);
    assert!(open_items.contains("add a /recover route"), "{open_items}");
    let (code, _, err) = vigil.command(&["incident", "action-item", "done", item.trim()]);
    assert_eq!(code, Some(0), "{err}");

    let (code, stats, err) = vigil.command(&["incidents", "stats", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let stats: serde_json::Value = serde_json::from_str(&stats).expect("json");
    let incident = &detail["incident"];
    let trigger = millis(&incident["triggered_at"]);
    assert_eq!(stats["mtta"]["median_ms"].as_i64(), Some(millis(&incident["acknowledged_at"]) - trigger), "{stats:#}");
    assert_eq!(stats["mttr"]["median_ms"].as_i64(), Some(millis(&incident["resolved_at"]) - trigger), "{stats:#}");
    let mttd = stats["mttd"]["median_ms"].as_i64().expect("mttd");
    assert!((150..1_000).contains(&mttd), "from the first failed check to the alert: {mttd} ms");
    assert_eq!(stats["resolved_by"]["human"], 1, "the remediation failed: a human resolved it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_escalation_neither_skips_nor_repeats_a_page() {
    let Some(smtp) = SmtpServer::start() else { return };
    let (api, address) = fake_api().await;
    let mut vigil = Vigil::start(|port, dir| config(&format!("sqlite://{}/vigil.db", dir.display()), port, address, smtp.port(), "4s"));
    api.set_failing(true);
    assert_eq!(mails_to(&smtp, "alice@example.com", 1, WAIT).len(), 1, "{}", vigil.logs());
    // Killed once the page is recorded as delivered: a kill between the SMTP server's
    // yes and that record would send it again (at least once, one Message-ID), which is
    // not what this test is about.
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let delivered =
            open_incidents(&vigil).first().and_then(|incident| incident["id"].as_i64()).map(|id| show(&vigil, id)).is_some_and(|detail| {
                detail["timeline"].as_array().is_some_and(|all| all.iter().any(|entry| entry["kind"] == "delivered"))
            });
        if delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    vigil.kill_9();
    tokio::time::sleep(Duration::from_secs(1)).await;
    vigil.restart();
    let bob = mails_to(&smtp, "bob@example.com", 1, WAIT);
    assert_eq!(bob.len(), 1, "the step due during the restart goes out after it\n{}", vigil.logs());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mails_to(&smtp, "alice@example.com", 2, Duration::from_millis(100)).len(), 1, "the first page is not repeated");
    assert_eq!(mails_to(&smtp, "bob@example.com", 2, Duration::from_millis(100)).len(), 1, "the second page once");
    let id = open_incidents(&vigil)[0]["id"].as_i64().expect("id");
    let detail = show(&vigil, id);
    assert_eq!(detail["escalation"]["sent"], 2, "{detail:#}");
    let (code, _, err) = vigil.command(&["incident", "ack", &id.to_string(), "--as", "bob"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = vigil.command(&["incident", "ack", &id.to_string(), "--as", "alice"]);
    assert_eq!(code, Some(1), "a second acknowledgement is refused");
    assert!(err.contains("was acknowledged by bob"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_page_once() {
    let Some(smtp) = SmtpServer::start() else { return };
    let Some(cluster) = vigil_testkit::PostgresCluster::start() else { return };
    let url = cluster.database("vigil");
    let (api, address) = fake_api().await;
    let first = Vigil::start(|port, _| config(&url, port, address, smtp.port(), "2s"));
    let second = Vigil::start(|port, _| config(&url, port, address, smtp.port(), "2s"));
    api.set_failing(true);
    assert_eq!(mails_to(&smtp, "bob@example.com", 1, WAIT).len(), 1, "{}\n{}", first.logs(), second.logs());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mails_to(&smtp, "alice@example.com", 2, Duration::from_millis(100)).len(), 1, "one page to alice from two nodes");
    assert_eq!(mails_to(&smtp, "bob@example.com", 2, Duration::from_millis(100)).len(), 1, "one page to bob from two nodes");
    assert_eq!(open_incidents(&first).len(), 1, "one incident from two nodes");
}
