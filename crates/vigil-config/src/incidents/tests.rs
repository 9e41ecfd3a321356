//! The incident sections: a valid set read into schedules, policies and routes, and
//! broken ones refused with located errors.

use std::path::Path;
use std::time::Duration;

use vigil_core::escalation::Target;
use vigil_core::incident::{IncidentSetting, Severity};

use crate::*;

fn load(text: &str) -> Result<Config, String> {
    load_str(Path::new("vigil.yaml"), text, &|_| None).map_err(|errors| errors.to_string())
}

const NOTIFIERS: &str = "notifiers:
  oncall:
    type: email
    smtp-host: 127.0.0.1
    from: vigil@example.com
    to: [oncall@example.com]
  status:
    type: webhook
    url: http://127.0.0.1:9000/status
";

const VALID: &str = r#"
people:
  alice: {email: alice@example.com, time-zone: Europe/Berlin}
  bob: {email: bob@example.com}
  carol: {webhook: "http://127.0.0.1:9000/carol"}
schedules:
  primary:
    time-zone: UTC
    layers:
      - rotation: weekly
        handoff: "mon 09:00"
        members: [alice, bob]
        start: 2026-12-02
      - rotation: daily
        handoff: "08:30"
        members: [carol]
        time-zone: America/New_York
        restrictions: ["sat-sun 08:00-20:00"]
    overrides:
      - {person: bob, from: "2026-12-24T00:00:00Z", to: "2026-12-27 00:00"}
escalation-policies:
  api-oncall:
    steps:
      - notify: ["schedule:primary"]
        wait: 5m
      - notify: ["person:bob", status]
        wait: 10m
    repeat: 1
    fallback: ["person:carol"]
    renotify: 30m
incidents:
  email-via: oncall
  external-url: https://vigil.example.com/
  stakeholders: [status]
  updates:
    SEV-2: {first: 10m, every: 1h}
  auto-resolve: [SEV-3, SEV-2]
  default-escalation: api-oncall
receivers:
  - name: oncall
    notify: [oncall]
    incident: {severity: SEV-3}
route:
  receiver: oncall
  routes:
    - matchers: ['severity="page"']
      receiver: oncall
      incident: {severity: SEV-1, service: api, escalation: api-oncall}
      routes:
        - matchers: ['team="web"']
          receiver: oncall
    - matchers: ['severity="info"']
      receiver: oncall
      incident: {open: false}
"#;

#[test]
fn people_schedules_policies_and_incidents_load() {
    let config = load(&format!("{NOTIFIERS}{VALID}")).expect("valid");
    let on_call = &config.on_call;
    assert_eq!(on_call.people.len(), 3);
    assert_eq!(on_call.people["alice"].time_zone, "Europe/Berlin");
    let primary = &on_call.schedules["primary"].schedule;
    assert_eq!(primary.layers.len(), 2);
    // The weekly layer's first turn: the first Monday 09:00 UTC on or after 2 December.
    assert_eq!(primary.layers[0].start, 1_796_634_000_000, "2026-12-07T09:00:00Z");
    assert_eq!(primary.layers[1].restrictions.len(), 2, "Saturday and Sunday");
    assert_eq!(primary.overrides[0].to, 1_798_329_600_000, "a local time in the schedule's zone (UTC)");
    let policy = &on_call.escalation_policies["api-oncall"];
    assert_eq!(policy.steps[1].notify, [Target::Person("bob".into()), Target::Notifier("status".into())]);
    assert_eq!((policy.repeat, policy.renotify), (1, Some(1_800_000)));
    assert_eq!(policy.fallback, [Target::Person("carol".into())]);
    let incidents = &on_call.incidents;
    assert_eq!(incidents.external_url.as_deref(), Some("https://vigil.example.com"));
    assert_eq!(incidents.cadences[&Severity::Sev2].every, Some(3_600_000));
    assert_eq!(incidents.cadences[&Severity::Sev1].every, Some(900_000), "defaults stay");
    assert!(incidents.auto_resolve.contains(&Severity::Sev2));
    assert_eq!(incidents.resolve_reminder, Duration::from_secs(1_800));
    let Some(IncidentSetting::Open(receiver_rule)) = &config.receivers["oncall"].incident else { panic!("the receiver's rule") };
    assert_eq!((receiver_rule.severity, receiver_rule.escalation.as_deref()), (Severity::Sev3, None));
    let route = config.route.as_ref().expect("route");
    let Some(IncidentSetting::Open(rule)) = &route.routes[0].incident else { panic!("an incident rule") };
    assert_eq!((rule.severity, rule.service.as_deref(), rule.escalation.as_deref()), (Severity::Sev1, Some("api"), Some("api-oncall")));
    assert_eq!(route.routes[1].incident, Some(IncidentSetting::Off));
    // Children inherit it.
    let tree = vigil_alerts::Route::new(route);
    assert_eq!(tree.routes[0].routes[0].options.incident, route.routes[0].incident);
}

#[test]
fn incident_config_errors_are_located() {
    let base = format!("{NOTIFIERS}people:\n  alice: {{email: alice@example.com}}\n");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{base}escalation-policies:\n  p:\n    steps:\n      - notify: [\"person:zed\"]\n"),
            "vigil.yaml:15:18: unknown person `zed`",
        ),
        (
            format!("{base}escalation-policies:\n  p:\n    steps:\n      - notify: [\"schedule:none\"]\n"),
            "vigil.yaml:15:18: unknown schedule `none`",
        ),
        (
            format!("{base}escalation-policies:\n  p:\n    steps:\n      - notify: [pager]\n"),
            "vigil.yaml:15:18: unknown notifier `pager` (or write person:NAME, schedule:NAME)",
        ),
        (
            format!("{base}schedules:\n  s:\n    layers:\n      - rotation: weekly\n        members: []\n"),
            "vigil.yaml:15:19: a rotation of schedule `s` has no members",
        ),
        (
            format!("{base}schedules:\n  s:\n    layers:\n      - rotation: weekly\n        members: [bob]\n"),
            "vigil.yaml:16:19: unknown person `bob`",
        ),
        (
            format!(
                "{base}schedules:\n  s:\n    layers:\n      - {{rotation: daily, members: [alice]}}\n    overrides:\n\
                 \x20     - {{person: alice, from: 2026-12-24T00:00:00Z, to: 2026-12-25T00:00:00Z}}\n\
                 \x20     - {{person: alice, from: 2026-12-24T12:00:00Z, to: 2026-12-26T00:00:00Z}}\n"
            ),
            "vigil.yaml:18:31: this override of schedule `s` overlaps an earlier one",
        ),
        (
            format!("{base}schedules:\n  s:\n    layers:\n      - {{rotation: fortnightly, members: [alice]}}\n"),
            "vigil.yaml:15:20: invalid rotation `fortnightly`, expected daily, weekly or a length of at least a minute such as 12h",
        ),
        (
            format!("{base}schedules:\n  s:\n    layers:\n      - {{rotation: weekly, handoff: \"mon 9\", members: [alice]}}\n"),
            "vigil.yaml:15:37: invalid handoff `mon 9`, expected `09:00` or `mon 09:00`",
        ),
        (
            format!(
                "{base}schedules:\n  s:\n    layers:\n      - {{rotation: daily, restrictions: [\"weekdays 9-5\"], members: [alice]}}\n"
            ),
            "vigil.yaml:15:42: invalid restriction `weekdays 9-5`",
        ),
        (
            format!("{base}schedules:\n  s:\n    time-zone: Mars/Olympus\n    layers:\n      - {{rotation: daily, members: [alice]}}\n"),
            "vigil.yaml:14:16: unknown time zone `Mars/Olympus`",
        ),
        (
            format!("{base}incidents:\n  email-via: status\n"),
            "vigil.yaml:13:14: email-via `status` is a webhook notifier, not an email one",
        ),
        (format!("{base}incidents:\n  default-escalation: nope\n"), "vigil.yaml:13:23: unknown escalation policy `nope`"),
        (
            format!("{base}route:\n  receiver: r\n  incident: {{severity: SEV-5}}\nreceivers:\n  - name: r\n"),
            "vigil.yaml:14:24: unknown severity `SEV-5`, expected SEV-1, SEV-2 or SEV-3",
        ),
        (
            format!("{base}escalation-policies:\n  p:\n    steps:\n      - notify: [\"person:alice\"]\n"),
            "vigil.yaml:11:3: alice can be paged but not reached: set incidents.email-via (an email notifier)",
        ),
        (format!("{NOTIFIERS}people:\n  nobody: {{time-zone: UTC}}\n"), "vigil.yaml:11:3: person `nobody` has no way to be paged"),
        (
            format!("{NOTIFIERS}people:\n  x: {{email: not-an-address}}\n"),
            "vigil.yaml:11:14: invalid e-mail address `not-an-address` for x",
        ),
    ];
    for (text, expected) in cases {
        let errors = load(&text).expect_err(&text);
        assert!(errors.contains(expected), "expected `{expected}` in:\n{errors}\n--- for:\n{text}");
    }
}

#[test]
fn restrictions_read_as_spans_of_the_week() {
    use vigil_core::oncall::Restriction;
    let span = |start: u32, end: u32| Restriction { start, end };
    let cases: Vec<(&str, Vec<Restriction>)> = vec![
        ("mon-fri 09:00-17:00", (0..5).map(|day| span(day * 1_440 + 540, day * 1_440 + 1_020)).collect()),
        ("sun 22:00-06:00", vec![span(6 * 1_440 + 1_320, 360)]),
        ("fri 18:00-mon 09:00", vec![span(4 * 1_440 + 1_080, 540)]),
        ("sat-mon 00:00-24:00", vec![span(5 * 1_440, 6 * 1_440), span(6 * 1_440, 0), span(0, 1_440)]),
        ("12:00-13:00", (0..7).map(|day| span(day * 1_440 + 720, day * 1_440 + 780)).collect()),
    ];
    for (text, expected) in cases {
        assert_eq!(super::restrictions(text), Ok(expected), "{text}");
    }
    for text in ["mon-fri", "09:00-09:00", "mon 25:00-26:00", "someday 09:00-10:00", "mon 09:00-tue"] {
        assert!(super::restrictions(text).is_err(), "{text}");
    }
}
