//! Delivery under faults, through the real binary: a mail server that accepts TCP and
//! never answers, a mail server that refuses the credentials, and the order of one
//! monitor's mails after an outage of the mail server.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_testkit::SmtpServer;

use crate::helpers::*;
use crate::webhook::receiver;

/// A TCP server that accepts every connection and never says a word, like an SMTP
/// server stalled before its greeting; counts the connections.
fn black_hole() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (port, connections)
}

fn mail_and_hook(port: u16, api: std::net::SocketAddr, smtp_port: u16, mail_timeout: &str, hook: std::net::SocketAddr) -> String {
    format!(
        "listen: 127.0.0.1:{port}\n\
         delivery:\n  initial-backoff: 100ms\n  max-backoff: 500ms\n\
         notifiers:\n  mail:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {smtp_port}\n    tls: none\n\
         \x20   from: vigil@example.com\n    to: [oncall@example.com]\n    timeout: {mail_timeout}\n\
         \x20 hook:\n    type: webhook\n    url: http://{hook}/hook\n\
         monitors:\n  - name: api\n    url: http://{api}/health\n    interval: 200ms\n    timeout: 150ms\n\
         \x20   failure-threshold: 1\n    success-threshold: 1\n    notify: [mail, hook]\n"
    )
}

/// Regression: an e-mail notifier whose server accepted TCP and never answered got no
/// attempt result until the server hung up (83 s), a webhook of the next transition
/// waited behind it, `vigil_outbox_backlog` read 0, and SIGINT did not end the run.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_mail_server_holds_up_only_its_own_mail() {
    let (api, address) = fake_api().await;
    let (hole, connections) = black_hole();
    let (received, hook) = receiver().await;
    let mut vigil = Vigil::start(|port, _| mail_and_hook(port, address, hole, "60s", hook));
    vigil.wait_for_metric("vigil_checks_total{result=\"success\"}", 1.0).await;
    api.set_failing(true);
    let deadline = Instant::now() + WAIT;
    while received.lock().expect("lock").is_empty() {
        assert!(Instant::now() < deadline, "the webhook waited behind the stalled mail:\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    api.set_failing(false);
    let deadline = Instant::now() + WAIT;
    while received.lock().expect("lock").len() < 2 {
        assert!(Instant::now() < deadline, "the recovery webhook waited behind the stalled mail:\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(connections.load(Ordering::SeqCst) >= 1, "the mail is being attempted");
    assert_eq!(vigil.metric("vigil_notification_attempts_total{notifier=\"mail\",result=\"retry\"}").await, 0.0, "still in flight");
    assert!(vigil.metric("vigil_outbox_backlog").await >= 2.0, "the DOWN mail in flight and the UP mail behind it are backlog");

    let asked_to_stop = Instant::now();
    assert_eq!(vigil.terminate().code(), Some(0), "{}", vigil.logs());
    assert!(asked_to_stop.elapsed() < Duration::from_secs(15), "shutdown waited {:?} for the stalled mail", asked_to_stop.elapsed());
    assert!(vigil.logs().contains("left for the next start"), "{}", vigil.logs());
    // The next start takes the abandoned mail again at once.
    let before = connections.load(Ordering::SeqCst);
    vigil.restart();
    let deadline = Instant::now() + WAIT;
    while connections.load(Ordering::SeqCst) == before {
        assert!(Instant::now() < deadline, "the abandoned mail was not attempted again:\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The notifier's `timeout` bounds a whole attempt, connect to DATA, not only the
/// connect.
#[tokio::test(flavor = "multi_thread")]
async fn a_mail_attempt_ends_at_the_notifiers_timeout() {
    let (api, address) = fake_api().await;
    let (hole, _) = black_hole();
    let (_, hook) = receiver().await;
    let vigil = Vigil::start(|port, _| mail_and_hook(port, address, hole, "300ms", hook));
    api.set_failing(true);
    vigil.wait_for_metric("vigil_notification_attempts_total{notifier=\"mail\",result=\"retry\"}", 2.0).await;
    assert!(vigil.logs().contains("no answer within the notifier's timeout of 300ms"), "{}", vigil.logs());
}

/// Regression: an SMTP 535 (authentication refused) failed the mail for good after one
/// attempt. It is retried, said loudly, and delivered once the password is fixed.
#[tokio::test(flavor = "multi_thread")]
async fn refused_credentials_are_retried_loudly_until_fixed() {
    let Some(smtp) = SmtpServer::start_with_password("right") else { return };
    let (api, address) = fake_api().await;
    let config = |port: u16, _: &std::path::Path| {
        format!(
            "listen: 127.0.0.1:{port}\n\
             delivery:\n  initial-backoff: 100ms\n  max-backoff: 200ms\n\
             notifiers:\n  mail:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {smtp}\n    tls: none\n\
             \x20   username: vigil\n    password: ${{SMTP_PASSWORD}}\n    from: vigil@example.com\n    to: [oncall@example.com]\n\
             monitors:\n  - name: api\n    url: http://{address}/health\n    interval: 200ms\n    timeout: 150ms\n\
             \x20   failure-threshold: 1\n    notify: [mail]\n",
            smtp = smtp.port()
        )
    };
    api.set_failing(true);
    let mut vigil = Vigil::start_with(config, &[("SMTP_PASSWORD", "wrong")], &[]);
    vigil.wait_for_metric("vigil_notification_attempts_total{notifier=\"mail\",result=\"refused\"}", 2.0).await;
    assert_eq!(vigil.metric("vigil_notifier_refusing{notifier=\"mail\"}").await, 1.0);
    assert!(vigil.logs().contains("refuses Vigil's credentials"), "{}", vigil.logs());
    assert!(!vigil.logs().contains("wrong"), "the password never prints:\n{}", vigil.logs());
    assert!(smtp.messages().is_empty());
    assert_eq!(vigil.terminate().code(), Some(0));

    vigil.set_env("SMTP_PASSWORD", "right");
    vigil.restart();
    let messages = smtp.wait_for_messages(1, WAIT);
    assert_eq!(subjects(&messages), ["[Vigil] api is DOWN"], "{}", vigil.logs());
    vigil.wait_for_metric("vigil_notification_attempts_total{notifier=\"mail\",result=\"delivered\"}", 1.0).await;
    assert_eq!(vigil.metric("vigil_notifier_refusing{notifier=\"mail\"}").await, 0.0);
}

/// Regression: after an outage of the mail server, the UP mail arrived before the DOWN
/// mail (which was waiting out its backoff).
#[tokio::test(flavor = "multi_thread")]
async fn after_a_mail_outage_down_arrives_before_up() {
    let Some(mut smtp) = SmtpServer::start() else { return };
    let (api, address) = fake_api().await;
    let vigil = Vigil::start(|port, dir| {
        let config = config(&format!("sqlite://{}", dir.join("vigil.db").display()), port, address, smtp.port());
        config.replace("max-backoff: 1s", "max-backoff: 3s")
    });
    vigil.wait_for_metric("vigil_checks_total{result=\"success\"}", 2.0).await;
    smtp.stop();
    api.set_failing(true);
    vigil.wait_for_metric("vigil_notification_attempts_total{notifier=\"oncall\",result=\"retry\"}", 3.0).await;
    api.set_failing(false);
    vigil.wait_for_metric("vigil_transitions_total{state=\"up\"}", 2.0).await;
    smtp.resume();
    let messages = smtp.wait_for_messages(2, WAIT);
    assert_eq!(subjects(&messages), ["[Vigil] fitpay-api is DOWN", "[Vigil] fitpay-api is UP"], "{}", vigil.logs());
}
