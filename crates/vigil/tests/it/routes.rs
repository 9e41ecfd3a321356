//! `vigil routes test|show` against the real `amtool config routes test|show` (Debian's
//! prometheus-alertmanager): the tree of Alertmanager's own `route_test.go`, written
//! once for each, answers every label set alike and draws alike.

use crate::helpers::vigil_command;

const ALERTMANAGER: &str = r#"
route:
  receiver: 'notify-def'
  routes:
  - match: {owner: 'team-A'}
    receiver: 'notify-A'
    routes:
    - match: {env: 'testing'}
      receiver: 'notify-testing'
      group_by: [...]
    - match: {env: "production"}
      receiver: 'notify-productionA'
      group_wait: 1m
      continue: true
    - match_re: {env: "produ.*", job: ".*"}
      receiver: 'notify-productionB'
      group_wait: 30s
      group_interval: 5m
      repeat_interval: 1h
      group_by: ['job']
  - match_re: {owner: 'team-(B|C)'}
    group_by: ['foo', 'bar']
    group_wait: 2m
    receiver: 'notify-BC'
  - match: {group_by: 'role'}
    group_by: ['role']
    routes:
    - match: {env: 'testing'}
      receiver: 'notify-testing'
      routes:
      - match: {wait: 'long'}
        group_wait: 2m
  - matchers: ['severity="page"', 'service!="batch"']
    receiver: 'notify-pager'
    continue: true
  - matchers: ['severity=~"page|ticket"']
    receiver: 'notify-ticket'
receivers:
- name: notify-def
- name: notify-A
- name: notify-testing
- name: notify-productionA
- name: notify-productionB
- name: notify-BC
- name: notify-pager
- name: notify-ticket
"#;

/// The same tree in Vigil's words.
const VIGIL: &str = r#"
storage: sqlite://routes.db
notifiers:
  hook: {type: webhook, url: "http://127.0.0.1:9/hook"}
receivers:
  - {name: notify-def, notify: [hook]}
  - {name: notify-A, notify: [hook]}
  - {name: notify-testing, notify: [hook]}
  - {name: notify-productionA, notify: [hook]}
  - {name: notify-productionB, notify: [hook]}
  - {name: notify-BC, notify: [hook]}
  - {name: notify-pager, notify: [hook]}
  - {name: notify-ticket, notify: [hook]}
route:
  receiver: notify-def
  routes:
    - match: {owner: team-A}
      receiver: notify-A
      routes:
        - match: {env: testing}
          receiver: notify-testing
          group-by: ['...']
        - match: {env: production}
          receiver: notify-productionA
          group-wait: 1m
          continue: true
        - match-re: {env: "produ.*", job: ".*"}
          receiver: notify-productionB
          group-wait: 30s
          group-interval: 5m
          repeat-interval: 1h
          group-by: [job]
    - match-re: {owner: "team-(B|C)"}
      group-by: [foo, bar]
      group-wait: 2m
      receiver: notify-BC
    - match: {group_by: role}
      group-by: [role]
      routes:
        - match: {env: testing}
          receiver: notify-testing
          routes:
            - match: {wait: long}
              group-wait: 2m
    - matchers: ['severity="page"', 'service!="batch"']
      receiver: notify-pager
      continue: true
    - matchers: ['severity=~"page|ticket"']
      receiver: notify-ticket
"#;

const LABEL_SETS: &[&[&str]] = &[
    &["owner=team-A"],
    &["owner=team-A", "env=unset"],
    &["owner=team-C"],
    &["owner=team-B", "foo=1"],
    &["owner=team-D"],
    &["owner=team-A", "env=testing"],
    &["owner=team-A", "env=production"],
    &["owner=team-A", "env=production-eu", "job=api"],
    &["group_by=role"],
    &["env=testing", "group_by=role"],
    &["env=testing", "group_by=role", "wait=long"],
    &["severity=page"],
    &["severity=page", "service=batch"],
    &["severity=ticket"],
    &["severity=log"],
    &[],
];

fn amtool(args: &[&str]) -> Option<(Option<i32>, String)> {
    let output = std::process::Command::new("amtool").args(args).output().ok()?;
    Some((output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned()))
}

#[test]
fn routes_resolve_and_draw_as_amtool_does() {
    if amtool(&["--version"]).is_none() {
        vigil_testkit::skip_or_fail("amtool (Debian's prometheus-alertmanager package)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let am = dir.path().join("alertmanager.yml");
    let vigil = dir.path().join("vigil.yaml");
    std::fs::write(&am, ALERTMANAGER).expect("write");
    std::fs::write(&vigil, VIGIL).expect("write");
    let am_flag = format!("--config.file={}", am.display());
    let vigil_path = vigil.to_string_lossy().into_owned();
    for labels in LABEL_SETS {
        let mut args = vec!["config", "routes", "test", am_flag.as_str()];
        args.extend_from_slice(labels);
        let (am_code, expected) = amtool(&args).expect("amtool");
        assert_eq!(am_code, Some(0), "amtool {labels:?}");
        let mut args = vec!["routes", "test", "-c", vigil_path.as_str()];
        args.extend_from_slice(labels);
        let (code, stdout, stderr) = vigil_command(&args);
        assert_eq!(code, Some(0), "{labels:?}: {stderr}");
        assert_eq!(stdout, expected, "labels {labels:?}");
        // --verify-receivers agrees on a wrong expectation too.
        let (am_code, _) =
            amtool(&[&["config", "routes", "test", am_flag.as_str(), "--verify.receivers=nobody"][..], labels].concat()).expect("amtool");
        let (code, _, _) =
            vigil_command(&[&["routes", "test", "-c", vigil_path.as_str(), "--verify-receivers", "nobody"][..], labels].concat());
        assert_eq!(code, am_code, "verify {labels:?}");
    }
    let (_, expected) = amtool(&["config", "routes", "show", am_flag.as_str()]).expect("amtool");
    let (code, stdout, stderr) = vigil_command(&["routes", "show", "-c", &vigil_path]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, expected);
}

/// Routing mistakes are located errors.
#[test]
fn bad_routes_are_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vigil.yaml");
    let base = "storage: sqlite://r.db\nnotifiers:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/\"}\nreceivers:\n  - {name: team, notify: [hook]}\n";
    let cases = [
        ("route:\n  receiver: nobody\n", "vigil.yaml:7:13: unknown receiver `nobody` (defined: team)"),
        ("route:\n  group-by: [x]\n", "the root route needs a `receiver`"),
        ("route:\n  receiver: team\n  matchers: ['a=b']\n", "vigil.yaml:8:14: the root route must not have matchers"),
        (
            "route:\n  receiver: team\n  routes:\n    - matchers: ['a=~\"(\"']\n",
            "vigil.yaml:9:18: invalid matcher `a=~\"(\"`: failed to create matcher: invalid regular expression `(`: unclosed group",
        ),
        (
            "route:\n  receiver: team\n  routes:\n    - matchers: ['{a=b']\n",
            "vigil.yaml:9:18: invalid matcher `{a=b`: 0:4: end of input: expected close brace",
        ),
        (
            "route:\n  receiver: team\n  group-by: ['...', alertname]\n",
            "vigil.yaml:8:14: group-by: `...` (every label) cannot be combined with other labels",
        ),
        ("route:\n  receiver: team\n  group-wait: soon\n", "vigil.yaml:8:15:"),
        (
            "route:\n  receiver: team\n  routes:\n    - receivers: team\n",
            "vigil.yaml:9:7: unknown key `receivers`, expected one of `receiver`",
        ),
        ("receivers:\n  - {name: team, notify: [pager]}\n", "unknown notifier `pager`"),
        (
            "route:\n  receiver: team\n  routes:\n    - {receiver: team, mute-time-intervals: [nights]}\n",
            "vigil.yaml:9:46: unknown time interval `nights` (no time-intervals are defined)",
        ),
        (
            "route:\n  receiver: team\n  mute-time-intervals: [nights]\ntime-intervals:\n  - name: nights\n",
            "the root route cannot have time intervals",
        ),
        (
            "time-intervals:\n  - name: nights\n    time-intervals:\n      - weekdays: ['friday:monday']\n",
            "vigil.yaml:9:20: start day cannot be before end day",
        ),
        (
            "time-intervals:\n  - name: nights\n    time-intervals:\n      - times: [{start-time: '22:00'}]\n",
            "both start and end times must be provided",
        ),
        (
            "time-intervals:\n  - name: nights\n    time-intervals:\n      - location: Mars/Olympus\n",
            "vigil.yaml:9:19: unknown time zone Mars/Olympus",
        ),
        (
            "inhibit-rules:\n  - source-matchers: ['severity=\"critical\"']\n    target-matchers: ['{severity']\n",
            "vigil.yaml:8:23: invalid matcher `{severity`: end of input: expected an operator such as '=', '!=', '=~' or '!~'",
        ),
    ];
    for (extra, expected) in cases {
        let text = if extra.starts_with("receivers:") { format!("storage: sqlite://r.db\n{extra}") } else { format!("{base}{extra}") };
        std::fs::write(&path, &text).expect("write");
        let (code, stdout, stderr) = vigil_command(&["check", "-c", &path.to_string_lossy()]);
        assert_eq!(code, Some(2), "{extra}: {stdout}{stderr}");
        let shown = stderr.replace(&format!("{}", path.display()), "vigil.yaml");
        assert!(shown.contains(expected), "{extra}: expected {expected:?} in\n{shown}");
    }
}

/// `vigil import alertmanager`: the translated config passes `vigil check`, routes every
/// label set as amtool routes the original, and copies no secret.
#[test]
fn an_imported_alertmanager_config_routes_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let am = dir.path().join("alertmanager.yml");
    let original = format!(
        "{ALERTMANAGER}- name: mailer\n  email_configs:\n  - to: 'ops@example.com, dev@example.com'\n  pagerduty_configs:\n  - routing_key: pd-secret-key\n\
         global:\n  smtp_smarthost: 'smtp.example.com:587'\n  smtp_from: 'am@example.com'\n  smtp_auth_username: am\n  smtp_auth_password: hunter2\n  resolve_timeout: 5m\n\
         inhibit_rules:\n- source_matchers: ['severity=\"critical\"']\n  target_matchers: ['severity=\"warning\"']\n  equal: [alertname]\n\
         time_intervals:\n- name: offhours\n  time_intervals:\n  - times:\n    - start_time: '18:00'\n      end_time: '24:00'\n    weekdays: ['monday:friday']\n    location: Europe/Berlin\n"
    );
    std::fs::write(&am, &original).expect("write");
    let (code, yaml, notes) = vigil_command(&["import", "alertmanager", &am.to_string_lossy()]);
    assert_eq!(code, Some(0), "{notes}");
    assert!(!yaml.contains("hunter2") && !yaml.contains("pd-secret-key"), "no secret copied: {yaml}");
    assert!(notes.contains("set MAILER_EMAIL_PASSWORD") && notes.contains("resolve_timeout"), "{notes}");
    let vigil = dir.path().join("vigil.yaml");
    std::fs::write(&vigil, &yaml).expect("write");
    let env = [("MAILER_EMAIL_PASSWORD", "x"), ("MAILER_PAGERDUTY_ROUTING_KEY", "y")];
    let run = |args: &[&str]| {
        let output = std::process::Command::new(crate::helpers::vigil_binary()).args(args).envs(env).output().expect("vigil");
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let vigil_path = vigil.to_string_lossy().into_owned();
    let (code, stdout, stderr) = run(&["check", "-c", &vigil_path]);
    assert_eq!(code, Some(0), "vigil check accepts what import writes: {stdout}{stderr}\n{yaml}");
    if amtool(&["--version"]).is_none() {
        vigil_testkit::skip_or_fail("amtool (Debian's prometheus-alertmanager package)");
        return;
    }
    let am_flag = format!("--config.file={}", am.display());
    for labels in LABEL_SETS {
        let (_, expected) = amtool(&[&["config", "routes", "test", am_flag.as_str()][..], labels].concat()).expect("amtool");
        let (code, stdout, stderr) = run(&[&["routes", "test", "-c", vigil_path.as_str()][..], labels].concat());
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(stdout, expected, "labels {labels:?}");
    }
}
