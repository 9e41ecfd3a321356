//! Config loading: one valid file, and a table of broken ones with their located errors.

use std::path::Path;
use std::time::Duration;

use crate::*;

fn lookup(name: &str) -> Option<String> {
    (name == "SMTP_PASSWORD").then(|| "hunter2".to_owned())
}

fn load(text: &str) -> Result<Config, String> {
    load_str(Path::new("vigil.yaml"), text, &lookup).map_err(|errors| errors.to_string())
}

const VALID: &str = r#"
storage: sqlite://vigil.db
listen: 127.0.0.1:9090
notifiers:
  oncall:
    type: email
    smtp-host: 127.0.0.1
    smtp-port: 2525
    tls: none
    username: vigil
    password: ${SMTP_PASSWORD}
    from: vigil@example.com
    to: [oncall@example.com]
  hook:
    type: webhook
    url: http://127.0.0.1:9000/hook
monitors:
  - name: fitpay-api
    url: http://127.0.0.1:8000/health
    interval: 5s
    timeout: 2s
    conditions: ["[STATUS] == 200", "[BODY].status == OK"]
    failure-threshold: 2
    success-threshold: 3
    notify: [oncall, hook]
  - name: db
    url: tcp://127.0.0.1:5432
"#;

#[test]
fn a_valid_config_loads_with_defaults() {
    let config = load(VALID).expect("valid config");
    assert_eq!(config.listen.to_string(), "127.0.0.1:9090");
    assert_eq!((config.max_concurrent_checks, config.probe_threads), (1000, None), "1,000 checks at once, one probe thread per core");
    assert_eq!(load(&format!("probe-threads: 3\n{VALID}")).expect("valid").probe_threads, Some(3));
    assert_eq!(config.monitors.len(), 2);
    let api = &config.monitors[0];
    assert_eq!(api.name.as_str(), "fitpay-api");
    assert_eq!(api.interval, Duration::from_secs(5));
    assert_eq!(api.timeout, Duration::from_secs(2));
    assert_eq!(api.conditions.len(), 2);
    assert_eq!(api.thresholds.success.get(), 3);
    assert_eq!(api.notify, ["oncall", "hook"]);
    let db = &config.monitors[1];
    assert!(matches!(&db.target, Target::Tcp { host, port: 5432 } if host == "127.0.0.1"));
    assert_eq!(db.interval, Duration::from_secs(60));
    assert_eq!(db.conditions[0].as_str(), "[CONNECTED] == true");
    assert_eq!(db.thresholds.failure.get(), 2);
    let Some(NotifierConfig::Email(email)) = config.notifiers.get("oncall") else { panic!("email notifier") };
    assert_eq!(email.password.as_ref().map(Secret::expose), Some("hunter2"));
    assert_eq!(email.tls, SmtpTls::None);
    assert!(!format!("{email:?}").contains("hunter2"), "secrets never print");
    assert_eq!(config.delivery, DeliveryConfig::default());
}

#[test]
fn default_storage_is_sqlite_beside_the_config() {
    let config = load_str(Path::new("/etc/vigil/vigil.yaml"), "monitors: []", &lookup).expect("valid");
    assert_eq!(config.storage, "sqlite:///etc/vigil/vigil.db");
    let config = load("").expect("an empty file is a valid config");
    assert_eq!(config.storage, "sqlite://./vigil.db");
}

#[test]
fn config_errors_are_located() {
    let monitor = "monitors:\n  - name: api\n    url: http://127.0.0.1/\n";
    let cases: &[(&str, &str)] = &[
        ("colour: red\n", "vigil.yaml:1:1: unknown key `colour`, expected one of `storage`, `listen`, `max-concurrent-checks`, `probe-threads`, `node-id`, `delivery`, `notifiers`, `monitors`"),
        (&format!("{monitor}    intervall: 5s\n"), "vigil.yaml:4:5: unknown key `intervall`"),
        (&format!("{monitor}    interval: 5 seconds\n"), "vigil.yaml:4:15: invalid duration `5 seconds`, expected a whole number and a unit (ms, s, m, h, d), e.g. `5s`"),
        (&format!("{monitor}    interval: 0s\n"), "vigil.yaml:4:15: duration must be greater than zero"),
        (&format!("{monitor}    interval: 99999999999d\n"), "vigil.yaml:4:15: duration must be at most 3650d"),
        (&format!("{monitor}    interval: 99999999999999999999s\n"), "vigil.yaml:4:15: duration `99999999999999999999s` is too large"),
        (&format!("{monitor}    conditions: [\"[STATUS] < abc\"]\n"), "vigil.yaml:4:18: `<` needs a number or a duration on the other side, got `abc`"),
        (&format!("{monitor}    conditions:\n      - \"[STATUS] == 200\"\n      - \"[STATUS] 200\"\n"), "vigil.yaml:6:9: condition `[STATUS] 200` has no operator"),
        (&format!("{monitor}    conditions: [\"[STATUS] === 200\"]\n"), "vigil.yaml:4:18: condition `[STATUS] === 200`: `===` is not an operator, expected one of == != <= >= > <"),
        (&format!("{monitor}    conditions: [\"[STATUS] => 200\"]\n"), "vigil.yaml:4:18: condition `[STATUS] => 200`: `=>` is not an operator"),
        (&format!("{monitor}    notify: [pager]\n"), "vigil.yaml:4:14: unknown notifier `pager` (no notifiers are defined)"),
        (&format!("{monitor}  - name: api\n    url: http://127.0.0.1/\n"), "vigil.yaml:4:11: duplicate monitor name `api`"),
        (&format!("{monitor}    failure-threshold: 0\n"), "vigil.yaml:4:24: threshold must be at least 1, got 0"),
        (&format!("{monitor}    success-threshold: -1\n"), "vigil.yaml:4:24: threshold must be at least 1, got -1"),
        (&format!("{monitor}    timeout: 10s\n    interval: 5s\n"), "vigil.yaml:4:14: timeout must not be longer than interval"),
        (&format!("{monitor}    interval: 5s\n    retry-interval: 5s\n"), "vigil.yaml:5:21: retry-interval must be shorter than interval"),
        ("monitors:\n  - name: bad name\n    url: http://x/\n", "vigil.yaml:2:11: invalid monitor name `bad name`"),
        ("monitors:\n  - name: api\n    url: ftp://x/\n", "vigil.yaml:3:10: invalid URL `ftp://x/`"),
        ("monitors:\n  - name: api\n    url: tcp://host\n", "vigil.yaml:3:10: invalid TCP address `tcp://host`"),
        ("monitors:\n  - name: api\n", "vigil.yaml:2:5: missing field `url`"),
        ("listen: nowhere\n", "vigil.yaml:1:9: invalid listen address `nowhere`"),
        ("probe-threads: 0\n", "vigil.yaml:1:16: probe-threads must be from 1 to 256"),
        ("probe-threads: 1000\n", "vigil.yaml:1:16: probe-threads must be from 1 to 256"),
        ("storage: mysql://x\n", "vigil.yaml:1:10: unsupported storage `mysql://x`"),
        ("storage: mysql://root:toor@db/x\n", "vigil.yaml:1:10: unsupported storage `mysql://root:***@db/x`"),
        ("monitors:\n  - name: api\n    url: htp://u:pw@x/\n", "vigil.yaml:3:10: invalid URL `htp://u:***@x/`"),
        ("notifiers:\n  s:\n    type: slack\n    webhook-url: hooks.slack.com/services/T0/B0/SECRET\n", "vigil.yaml:4:18: invalid Slack webhook-url (not shown: it is a secret)"),
        ("notifiers:\n  x:\n    type: email\n    smtp-host: h\n    password: ${NOPE}\n    from: a@b\n    to: [c@d]\n", "vigil.yaml:5:15: environment variable `NOPE` is not set"),
        ("notifiers:\n  x:\n    type: pigeon\n", "vigil.yaml:3:11: unknown notifier type `pigeon`"),
        ("notifiers:\n  x:\n    type: webhook\n    url: http://h/\n    smtp-host: h\n", "vigil.yaml:5:5: unknown key `smtp-host`"),
        ("notifiers:\n  x:\n    type: email\n    smtp-host: h\n    tls: ssl\n    from: a@b\n    to: [c@d]\n", "vigil.yaml:5:10: unknown tls mode `ssl`"),
        ("notifiers:\n  x:\n    type: email\n    smtp-host: h\n    from: nobody\n    to: [c@d]\n", "vigil.yaml:5:11: invalid e-mail address `nobody`"),
        ("notifiers:\n  x:\n    type: email\n    smtp-host: h\n    password: p\n    from: a@b\n    to: [c@d]\n", "vigil.yaml:5:15: `password` needs a `username` to log in with"),
        ("notifiers:\n  x:\n    type: email\n    smtp-host: h\n    username: u\n    from: a@b\n    to: [c@d]\n", "vigil.yaml:5:15: `username` needs a `password`"),
        ("a: [1, 2\n", "vigil.yaml:2:1: invalid YAML"),
        ("listen: a\nlisten: b\n", "vigil.yaml:2:1: duplicate key `listen`"),
        ("rules:\n  - name: r\n    expr: '{app=\"api\"} | line_format \"x\"'\n", "vigil.yaml:3:11: invalid rule expression: column 15: `line_format` is not supported"),
        ("rules:\n  - name: r\n    expr: '{app=\"api\"}'\n", "vigil.yaml:3:11: a rule needs a metric expression"),
        ("rules:\n  - name: r\n    expr: rate({a=\"b\"}[1m]) > 1\n    severity: urgent\n", "vigil.yaml:4:15: unknown severity `urgent`"),
        ("rules:\n  - name: r\n    expr: rate({a=\"b\"}[1m]) > 1\n    for: soon\n", "vigil.yaml:4:10: invalid duration `soon`"),
        ("rules:\n  - name: r\n    expr: rate({a=\"b\"}[1m]) > 1\n    notify: [pager]\n", "vigil.yaml:4:14: unknown notifier `pager`"),
        ("rules:\n  - name: r\n    expr: rate({a=\"b\"}[1m])\n  - name: r\n    expr: rate({a=\"b\"}[1m])\n", "vigil.yaml:4:11: duplicate rule name `r`"),
        ("actions:\n  a:\n    type: teleport\n", "vigil.yaml:3:11: unknown action type `teleport`"),
        ("actions:\n  a:\n    type: http\n    url: http://x/\n    instances: [i-1]\n", "vigil.yaml:3:11: `instances` is not a setting of `http` actions"),
        ("actions:\n  a:\n    type: aws-ec2-reboot\n    instances: [i-1]\n", "vigil.yaml:3:11: action `a` needs a `region`"),
        ("actions:\n  a:\n    type: aws-ec2-reboot\n    region: us-east-1\n    instances: [web-1]\n", "vigil.yaml:5:17: invalid instance id `web-1`"),
        ("actions:\n  a:\n    type: exec\n    command: [/bin/restart, \"{{ $labels.host }}\"]\n", "vigil.yaml:4:29: templates are not filled into exec arguments"),
        ("actions:\n  a:\n    type: exec\n    command: [x]\n    max-attempts: 0\n", "vigil.yaml:5:19: max-attempts must be at least 1, got 0"),
        ("actions:\n  a:\n    type: exec\n    command: [x]\n    approval: maybe\n", "vigil.yaml:5:15: unknown approval `maybe`"),
        (&format!("{monitor}    actions: [reboot]\n"), "vigil.yaml:4:15: unknown action `reboot` (no actions are defined)"),
        ("notifiers:\n  t:\n    type: sns\n    topic-arn: ops\n", "vigil.yaml:4:16: invalid topic ARN `ops`"),
        ("inbound:\n  alertmanager:\n    routes:\n      - match: {alertname: X}\n        actions: [nope]\n", "vigil.yaml:5:19: unknown action `nope`"),
        ("sources:\n  - type: kafka\n", "vigil.yaml:2:11: unknown source type `kafka`, expected `file` or `stdin`"),
        ("sources:\n  - path: a.log\n", "vigil.yaml:2:5: a source needs a `type`"),
        ("sources:\n  - type: file\n    path: a.log\n    follow: true\n", "vigil.yaml:4:5: unknown key `follow`"),
        ("sources:\n  - type: file\n", "vigil.yaml:2:5: missing field `path`"),
        ("sources:\n  - type: file\n    path: a.log\n    start-at: middle\n", "vigil.yaml:4:15: unknown start-at `middle`"),
        ("sources:\n  - type: file\n    path: a.log\n    labels: {1app: x}\n", "vigil.yaml:4:14: invalid label name `1app`"),
        ("sources:\n  - type: file\n    path: a.log\n  - type: file\n    path: a.log\n", "vigil.yaml:4:11: file `a.log` is read by two sources"),
        ("sources:\n  - type: stdin\n  - type: stdin\n", "vigil.yaml:3:11: standard input can be read by one source only"),
        ("sources: {type: file}\n", "vigil.yaml:1:10: `sources` must be a list"),
    ];
    for (text, expected) in cases {
        let error = load(text).expect_err(text);
        assert!(error.starts_with(expected), "config:\n{text}\nexpected: {expected}\nactual:   {error}");
    }
}

#[test]
fn all_errors_are_reported_at_once() {
    let text = "monitors:\n  - name: a\n    url: http://x/\n    interval: nope\n    notify: [ghost]\n";
    let errors = load(text).expect_err("two errors");
    assert_eq!(errors.lines().count(), 2, "{errors}");
}

#[test]
fn rules_load_with_defaults() {
    let text = "rules:\n  - name: slow-api-data\n    expr: sum(count_over_time({app=\"api\"} | json | path=\"/api/data\" | duration > 3s [10m])) > 5\n    severity: ticket\n    for: 1m\n";
    let config = load(text).expect("valid");
    let rule = &config.rules[0];
    assert_eq!(rule.name.as_str(), "slow-api-data");
    assert_eq!(rule.severity, Severity::Ticket);
    assert_eq!(rule.for_, Duration::from_secs(60));
    assert_eq!(rule.lateness, Duration::from_secs(60));
    assert_eq!(rule.max_groups, 10_000);
}

#[test]
fn sources_load_with_defaults() {
    let text = "sources:\n  - type: file\n    path: logs/api.log\n  - type: file\n    path: /var/log/b.log\n    labels: {app: api}\n    start-at: beginning\n    timestamp-field: at\n  - type: stdin\n";
    let config = load_str(Path::new("/etc/vigil/vigil.yaml"), text, &lookup).expect("valid");
    let [SourceConfig::File(relative), SourceConfig::File(absolute), SourceConfig::Stdin(stdin)] = &config.sources[..] else {
        panic!("three sources: {:?}", config.sources)
    };
    assert_eq!(relative.path, Path::new("/etc/vigil/logs/api.log"), "relative to the config");
    assert_eq!(relative.labels, [("filename".to_owned(), "logs/api.log".to_owned())].into());
    assert_eq!((relative.start_at, relative.poll_interval), (StartAt::End, Duration::from_millis(250)));
    assert_eq!(absolute.path, Path::new("/var/log/b.log"));
    assert_eq!(absolute.labels, [("app".to_owned(), "api".to_owned())].into());
    assert_eq!((absolute.start_at, absolute.timestamp_field.as_deref()), (StartAt::Beginning, Some("at")));
    assert_eq!(stdin.labels, [("source".to_owned(), "stdin".to_owned())].into());
}

#[test]
fn actions_inbound_and_new_notifiers_load() {
    let text = r#"
notifiers:
  ops-topic:
    type: sns
    topic-arn: arn:aws:sns:eu-west-1:123456789012:ops
    endpoint: http://127.0.0.1:5000
  chat:
    type: slack
    webhook-url: https://hooks.slack.com/services/T/B/${SMTP_PASSWORD}
  pager:
    type: pagerduty
    routing-key: ${SMTP_PASSWORD}
actions:
  reboot-api:
    type: aws-ec2-reboot
    region: us-east-1
    instances: [i-0123456789abcdef0, "{{ $labels.instance_id }}"]
    cooldown: 30m
    verify: 5m
    max-attempts: 3
    breaker-window: 6h
    approval: required
    budget: 2
  restart:
    type: exec
    command: [/usr/bin/systemctl, restart, api]
    dry-run: true
remediation:
  budget: 5
  budget-window: 2h
inbound:
  alertmanager:
    token: ${SMTP_PASSWORD}
    routes:
      - match: {alertname: ApiDown}
        actions: [reboot-api]
        notify: [ops-topic]
monitors:
  - name: api
    url: http://127.0.0.1:8000/health
    actions: [reboot-api, restart]
"#;
    let config = load(text).expect("valid");
    let reboot = &config.actions["reboot-api"];
    let ActionKind::Ec2Reboot { region, instances, .. } = &reboot.kind else { panic!("ec2") };
    assert_eq!((region.as_str(), instances.len()), ("us-east-1", 2));
    assert_eq!((reboot.cooldown, reboot.verify, reboot.max_attempts), (Duration::from_secs(1800), Some(Duration::from_secs(300)), 3));
    assert!(reboot.approval);
    assert_eq!(reboot.budget, Some((2, Duration::from_secs(3600))));
    assert!(config.actions["restart"].dry_run);
    assert_eq!(config.actions["restart"].cooldown, Duration::from_secs(600), "default cooldown");
    assert_eq!((config.remediation.budget, config.remediation.budget_window), (5, Duration::from_secs(7200)));
    assert_eq!(config.monitors[0].actions, ["reboot-api", "restart"]);
    let Some(NotifierConfig::Sns(sns)) = config.notifiers.get("ops-topic") else { panic!("sns") };
    assert_eq!(sns.region, "eu-west-1", "the topic's region");
    let alertmanager = config.inbound.alertmanager.as_ref().expect("alertmanager");
    assert_eq!(alertmanager.routes[0].actions, ["reboot-api"]);
    assert!(!format!("{config:?}").contains("hunter2"), "secrets never print");
}

#[test]
fn conditions_without_placeholders_are_warned_about() {
    let config =
        load("monitors:\n  - name: api\n    url: http://127.0.0.1/\n    conditions: [\"[STATUS] == 200\", \"1 == 2\"]\n").expect("valid");
    let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["vigil.yaml:4:37: condition `1 == 2` has no placeholder such as [STATUS] or [BODY], so it never depends on the response"]
    );
}

/// Regression: a config nested 30,000 levels deep (`- - - … x`) overflowed the stack
/// of `vigil check` and `thumbs check`.
#[test]
fn deep_nesting_is_a_located_error_not_a_crash() {
    let message = "nested too deeply: more than 64 levels of lists and mappings";
    let cases: Vec<(String, &str)> = vec![
        (format!("monitors:\n  {}x\n", "- ".repeat(30_000)), "vigil.yaml:2:"),
        (format!("a: {}{}\n", "[".repeat(30_000), "]".repeat(30_000)), "vigil.yaml:1:"),
        (format!("a: {}\n", "{b: ".repeat(30_000)), "vigil.yaml:1:"),
        ((0..30_000).map(|depth| format!("{}k{depth}:\n", " ".repeat(depth))).collect::<String>(), "vigil.yaml:65:"),
    ];
    for (text, location) in cases {
        let errors = load(&text).expect_err("too deep");
        let shown = errors.to_string();
        assert!(shown.starts_with(location) && shown.ends_with(message), "{shown}");
    }
    // Ordinary nesting, and brackets inside quotes and comments, are fine.
    let ok = "monitors:\n  - name: api # [[[[\n    url: http://127.0.0.1/\n    conditions: [\"[BODY] == [[[[[[\"]\n";
    load(ok).expect("valid");
}

/// `health-check:` presets: each checker's defaults, every one overridable, the NLB as a
/// TCP check, and located errors for an unknown checker or a bad matcher.
#[test]
fn health_check_presets_set_the_checkers_defaults() {
    let monitor =
        |extra: &str| format!("storage: sqlite://vigil.db\nmonitors:\n  - name: web\n    url: http://10.0.1.5:5000/health\n{extra}");
    // (preset, interval s, timeout s, healthy, unhealthy, matcher, follow redirects, host from address, first success is up)
    let cases = [
        ("alb", 30, 5, 5, 2, Some("200"), false, true, true),
        ("k8s-readiness", 10, 1, 1, 3, Some("200-399"), true, true, false),
        ("haproxy", 2, 2, 2, 3, Some("200-399"), false, true, true),
    ];
    for (preset, interval, timeout, healthy, unhealthy, matcher, follow, host_from_address, first_up) in cases {
        let config = load(&monitor(&format!("    health-check: {preset}\n"))).unwrap_or_else(|error| panic!("{preset}: {error}"));
        let web = &config.monitors[0];
        assert_eq!((web.interval.as_secs(), web.timeout.as_secs()), (interval, timeout), "{preset}");
        assert_eq!((web.thresholds.success.get(), web.thresholds.failure.get()), (healthy, unhealthy), "{preset}");
        assert_eq!(web.thresholds.first_success_is_up, first_up, "{preset}");
        assert_eq!(web.matcher.as_ref().map(ToString::to_string).as_deref(), matcher, "{preset}");
        assert!(web.conditions.is_empty(), "{preset}: the matcher replaces the default condition");
        let Target::Http(http) = &web.target else { panic!("{preset}: an HTTP check") };
        assert_eq!((http.follow_redirects, http.host_from_address), (follow, host_from_address), "{preset}");
    }
    let alb = load(&monitor("    health-check: alb\n")).expect("alb");
    let Target::Http(http) = &alb.monitors[0].target else { panic!("http") };
    assert_eq!(http.headers.get("User-Agent").map(String::as_str), Some("ELB-HealthChecker/2.0"));

    // Every value overridable.
    let custom = load(&monitor(
        "    health-check: alb\n    interval: 10s\n    timeout: 2s\n    failure-threshold: 3\n    matcher: 200-299,302\n    follow-redirects: true\n    headers: {Host: app.example.com}\n",
    ))
    .expect("overrides");
    let web = &custom.monitors[0];
    assert_eq!((web.interval.as_secs(), web.timeout.as_secs(), web.thresholds.failure.get(), web.thresholds.success.get()), (10, 2, 3, 5));
    assert_eq!(web.matcher.as_ref().map(ToString::to_string).as_deref(), Some("200-299,302"));
    let Target::Http(http) = &web.target else { panic!("http") };
    assert!(http.follow_redirects && !http.host_from_address, "a Host header of the user's wins");

    // An NLB checks TCP.
    let nlb = load(&monitor("    health-check: nlb\n")).expect("nlb");
    assert!(matches!(&nlb.monitors[0].target, Target::Tcp { host, port: 5000 } if host == "10.0.1.5"));
    assert_eq!((nlb.monitors[0].interval.as_secs(), nlb.monitors[0].timeout.as_secs()), (30, 10));

    for (extra, expected) in [
        ("    health-check: elb\n", "vigil.yaml:5:19: unknown health-check `elb`, expected alb, nlb, k8s-readiness or haproxy"),
        ("    matcher: 300-200\n", "vigil.yaml:5:14: invalid range `300-200` in matcher `300-200`: the low end is above the high end"),
        ("    matcher: ok\n", "vigil.yaml:5:14: invalid status `ok` in matcher `ok`: expected a code from 100 to 599"),
    ] {
        let error = load(&monitor(extra)).expect_err(extra);
        assert!(error.contains(expected), "{extra}: {error}");
    }
}

#[test]
fn slos_load_with_sloths_alerts_by_default() {
    let text = r#"
monitors:
  - name: api
    url: http://127.0.0.1/health
slos:
  - name: api-availability
    service: api
    objective: 99.9%
    errors: '{app="api"} | json | status >= 500'
    total: '{app="api"}'
    labels: {team: payments}
  - name: api-checks
    objective: "99.5"
    window: 28d
    monitor: api
  - name: api-uptime
    objective: 0.999
    window: 7d
    monitor-time: api
    alerts:
      - {severity: page, long: 1h, short: 5m, burn-rate: 14.4}
      - {severity: ticket, long: 1d, short: 2h, budget: 10%}
  - name: api-good
    objective: 99%
    good: '{app="api"} | json | status < 500'
    total: '{app="api"}'
    alerts: default
"#;
    let config = load(text).expect("valid");
    let [logs, checks, uptime, good] = &config.slos[..] else { panic!("four slos") };
    assert_eq!((logs.objective.good_ppb(), logs.window), (999_000_000, Duration::from_secs(30 * 86_400)));
    assert!(matches!(&logs.sli, Sli::Logs { good_query: false, total, .. } if total.text == r#"{app="api"}"#));
    assert_eq!(logs.alerts.iter().map(|alert| alert.factor.to_string()).collect::<Vec<_>>(), ["14.4", "6", "3", "1"]);
    assert_eq!(logs.labels.get("team").map(String::as_str), Some("payments"));
    assert_eq!(checks.objective.to_string(), "99.5%");
    assert!(matches!(&checks.sli, Sli::Monitor { monitor, time_weighted: false } if monitor == "api"));
    assert_eq!(checks.alerts.iter().map(|alert| alert.factor.to_string()).collect::<Vec<_>>(), ["13.44", "5.6", "2.8", "0.9333"]);
    assert!(matches!(&uptime.sli, Sli::Monitor { time_weighted: true, .. }));
    // 10% of a 7-day budget in a day is a burn rate of 0.7.
    assert_eq!(uptime.alerts.iter().map(|alert| alert.factor.to_string()).collect::<Vec<_>>(), ["14.4", "0.7"]);
    assert_eq!(uptime.alerts[1].tier, vigil_core::slo::Tier::Ticket);
    assert!(matches!(&good.sli, Sli::Logs { good_query: true, .. }));
    assert_eq!(good.alerts.len(), 4);
}

#[test]
fn slo_errors_are_located() {
    let slo = "slos:\n  - name: s\n";
    let logs = "    errors: '{app=\"api\"} |= \"error\"'\n    total: '{app=\"api\"}'\n";
    let cases: &[(String, &str)] = &[
        (format!("{slo}    objective: 100%\n{logs}"), "vigil.yaml:3:16: objective `100%` must be above 0% and below 100%"),
        (format!("{slo}    objective: ninety\n{logs}"), "vigil.yaml:3:16: invalid objective `ninety`"),
        (format!("{slo}    objective: 99.123456789%\n{logs}"), "vigil.yaml:3:16: objective `99.123456789%` is more precise than a billionth"),
        (format!("{slo}    objective: 99%\n    window: 12h\n{logs}"), "vigil.yaml:4:13: window must be whole days from 1d to 90d"),
        (format!("{slo}    objective: 99%\n    window: 91d\n{logs}"), "vigil.yaml:4:13: window must be whole days from 1d to 90d"),
        (format!("{slo}    objective: 99%\n"), "vigil.yaml:2:11: an slo needs an SLI"),
        (format!("{slo}    objective: 99%\n    monitor: ghost\n"), "vigil.yaml:4:14: unknown monitor `ghost`"),
        (format!("{slo}    objective: 99%\n    monitor: a\n{logs}"), "vigil.yaml:2:11: an slo takes one SLI"),
        (format!("{slo}    objective: 99%\n    errors: '{{app=\"api\"}}'\n"), "vigil.yaml:4:13: a log SLI needs `total:` too"),
        (format!("{slo}    objective: 99%\n    total: '{{app=\"api\"}}'\n"), "vigil.yaml:4:12: `total:` goes with `errors:` or `good:`"),
        (
            format!("{slo}    objective: 99%\n    errors: 'count_over_time({{app=\"a\"}}[5m])'\n    total: '{{app=\"a\"}}'\n"),
            "vigil.yaml:4:13: an SLI takes a log query",
        ),
        (format!("{slo}    objective: 99%\n    errors: '{{app=}}'\n    total: '{{app=\"a\"}}'\n"), "vigil.yaml:4:13: invalid log query"),
        (format!("{slo}    objective: 99%\n{logs}    alerts: fancy\n"), "vigil.yaml:6:13: unknown alerts `fancy`"),
        (
            format!("{slo}    objective: 99%\n{logs}    alerts:\n      - {{severity: urgent, long: 1h, short: 5m, burn-rate: 2}}\n"),
            "vigil.yaml:7:20: unknown severity `urgent`, expected `page` or `ticket`",
        ),
        (
            format!("{slo}    objective: 99%\n{logs}    alerts:\n      - {{severity: page, long: 5m, short: 1h, burn-rate: 2}}\n"),
            "vigil.yaml:7:43: the short window must be shorter than the long one",
        ),
        (
            format!("{slo}    objective: 99%\n    window: 1d\n{logs}    alerts:\n      - {{severity: page, long: 3d, short: 1h, burn-rate: 2}}\n"),
            "vigil.yaml:8:32: the long window must not be longer than the slo's window",
        ),
        (
            format!("{slo}    objective: 99%\n{logs}    alerts:\n      - {{severity: page, long: 1h, short: 5m}}\n"),
            "vigil.yaml:7:20: a burn alert takes `burn-rate:` or `budget:`",
        ),
        (
            format!("{slo}    objective: 99%\n{logs}    alerts:\n      - {{severity: page, long: 1h, short: 5m, budget: 2.5%}}\n"),
            "vigil.yaml:7:55: budget must be a whole percentage",
        ),
        (
            format!("{slo}    objective: 99%\n{logs}    alerts:\n      - {{severity: page, long: 1h, short: 5m, burn-rate: fast}}\n"),
            "vigil.yaml:7:58: invalid burn rate `fast`",
        ),
        (format!("{slo}    objective: 99%\n{logs}  - name: s\n    objective: 99%\n{logs}"), "vigil.yaml:6:11: duplicate slo name `s`"),
        (format!("{slo}    objective: 99%\n    windows: 30d\n{logs}"), "vigil.yaml:4:5: unknown key `windows`"),
    ];
    for (text, expected) in cases {
        let error = load(text).expect_err(text);
        assert!(error.starts_with(expected), "config:\n{text}\nexpected: {expected}\nactual:   {error}");
    }
}

const TELEMETRY_MONITORS: &str = "monitors:\n  - name: api\n    url: http://10.0.0.5/health\n";

#[test]
fn telemetry_names_an_otlp_http_endpoint() {
    let config = load(&format!("{TELEMETRY_MONITORS}telemetry:\n  otlp-endpoint: http://127.0.0.1:4318/v1/traces\n")).expect("valid");
    assert_eq!(config.telemetry.otlp_endpoint.as_deref(), Some("http://127.0.0.1:4318"), "the base URL, without /v1/traces");
    assert_eq!(config.telemetry.service_name, "vigil");
    assert_eq!(load(TELEMETRY_MONITORS).expect("valid").telemetry.otlp_endpoint, None, "no section, no traces");
    let error = load(&format!("{TELEMETRY_MONITORS}telemetry:\n  otlp-endpoint: grpc://collector:4317\n")).expect_err("not http");
    assert!(error.contains("5:18: invalid otlp-endpoint"), "{error}");
}

#[test]
fn monitor_labels_are_checked_like_prometheus_labels() {
    let config = load("monitors:\n  - name: api\n    url: http://10.0.0.5/\n    labels: {team: payments, tier: \"1\"}\n").expect("valid");
    assert_eq!(config.monitors[0].labels.get("team").map(String::as_str), Some("payments"));
    let error = load("monitors:\n  - name: api\n    url: http://10.0.0.5/\n    labels: {1team: x}\n").expect_err("bad name");
    assert!(error.contains("invalid label name `1team`"), "{error}");
}
