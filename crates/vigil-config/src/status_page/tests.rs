//! `status-page:` read into components, and broken ones refused with located errors.

use std::path::Path;

use crate::*;

fn load(text: &str) -> Result<Config, String> {
    load_str(Path::new("vigil.yaml"), text, &|_| None).map_err(|errors| errors.to_string())
}

const MONITORS: &str = "monitors:
  - name: api
    url: http://10.0.0.5/health
  - name: web
    url: http://10.0.0.6/
";

#[test]
fn components_are_public_names_over_monitors() {
    let config = load(&format!(
        "{MONITORS}status-page:\n  title: Example Inc. status\n  listen: 0.0.0.0:8081\n  history-days: 30\n  components:\n\
         \x20   - name: Public API\n      monitors: [api]\n    - name: Website\n      description: The shop\n      monitors: [web, api]\n"
    ))
    .expect("valid");
    let page = config.status_page.expect("a status page");
    assert_eq!((page.title.as_str(), page.history_days, page.listen.map(|listen| listen.port())), ("Example Inc. status", 30, Some(8081)));
    assert_eq!(page.components.len(), 2);
    assert_eq!(page.components[1].monitors, ["web", "api"]);
    assert_eq!(page.components[1].description.as_deref(), Some("The shop"));
    assert!(load(MONITORS).expect("valid").status_page.is_none(), "no section, no page");
}

#[test]
fn broken_pages_are_located_errors() {
    let cases = [
        ("  components:\n    - name: API\n      monitors: [nope]\n", "9:18: unknown monitor `nope` in component `API`"),
        ("  components:\n    - name: API\n      monitors: []\n", "8:13: component `API` has no monitors"),
        ("  components:\n    - {name: API, monitors: [api]}\n    - {name: api, monitors: [web]}\n", "9:14: duplicate component `api`"),
        ("  history-days: 400\n  components:\n    - {name: API, monitors: [api]}\n", "7:17: history-days must be from 1 to 366"),
        ("  url: ftp://status\n  components:\n    - {name: API, monitors: [api]}\n", "7:8: invalid status page url"),
        ("  listen: everywhere\n  components:\n    - {name: API, monitors: [api]}\n", "7:11: invalid listen address"),
        ("  title: Status\n  components: []\n", "7:10: status-page needs at least one component"),
        ("  colour: blue\n  components:\n    - {name: API, monitors: [api]}\n", "7:3: unknown key `colour`"),
    ];
    for (section, says) in cases {
        let error = load(&format!("{MONITORS}status-page:\n{section}")).expect_err(section);
        assert!(error.contains(says), "{section}\n{error}");
    }
}

#[test]
fn subscriptions_go_through_an_email_notifier() {
    let notifiers = "notifiers:\n  mail: {type: email, smtp-host: 127.0.0.1, from: s@example.com, to: [t@example.com]}\n\
                     \x20 hook: {type: webhook, url: \"http://127.0.0.1:9/\"}\n";
    let page = |via: &str| {
        format!("{notifiers}{MONITORS}status-page:\n  subscriptions: {{email-via: {via}}}\n  components:\n    - {{name: API, monitors: [api]}}\n")
    };
    let config = load(&page("mail")).expect("valid");
    let subscriptions = config.status_page.and_then(|page| page.subscriptions).expect("subscriptions");
    assert_eq!(
        subscriptions,
        SubscriptionsConfig { email_via: "mail".to_owned(), per_client: PER_CLIENT, per_page: PER_PAGE, client_ip_header: None },
        "defaults: 5/1h a client, 200/1h in all, the connection's peer"
    );
    let limited = format!(
        "{notifiers}{MONITORS}status-page:\n  subscriptions:\n    email-via: mail\n    per-client: 2/10m\n    per-page: 50/1h\n\
         \x20   client-ip-header: X-Forwarded-For\n  components:\n    - {{name: API, monitors: [api]}}\n"
    );
    let subscriptions = load(&limited).expect("valid").status_page.and_then(|page| page.subscriptions).expect("subscriptions");
    assert_eq!((subscriptions.per_client.to_string(), subscriptions.per_page.to_string()), ("2/10m".to_owned(), "50/1h".to_owned()));
    assert_eq!(subscriptions.client_ip_header.as_deref(), Some("x-forwarded-for"));
    for (line, says) in [
        ("per-client: 5 an hour", "12:17: invalid rate `5 an hour`, expected COUNT/DURATION such as 5/1h"),
        ("per-page: 0/1h", "12:15: rate `0/1h`: the count must be from 1 to 1000000"),
        ("client-ip-header: \"X Forwarded\"", "12:23: client-ip-header `X Forwarded` is not a header name"),
    ] {
        let text = format!(
            "{notifiers}{MONITORS}status-page:\n  subscriptions:\n    email-via: mail\n    {line}\n  components:\n    - {{name: API, monitors: [api]}}\n"
        );
        let error = load(&text).expect_err(line);
        assert!(error.contains(says), "{line}\n{error}");
    }
    let error = load(&page("hook")).expect_err("a webhook");
    assert!(error.contains("email-via `hook` is a webhook notifier, not an email one"), "{error}");
    let error = load(&page("nope")).expect_err("unknown");
    assert!(error.contains("unknown notifier `nope`"), "{error}");
}
