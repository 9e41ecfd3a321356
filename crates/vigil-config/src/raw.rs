//! The config as written: serde structs whose doc comments are the user documentation.
//! Values that need checking stay [`Spanned`] so validation can point at them.

use std::collections::BTreeMap;

use marked_yaml::Spanned;
use serde::Deserialize;

/// Top level of `vigil.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawConfig {
    /// `sqlite://vigil.db` (default: `vigil.db` beside the config) or `postgres://user@host/db`.
    pub storage: Option<Spanned<String>>,
    /// Address for `/healthz`, `/readyz`, `/metrics`. Default `127.0.0.1:8080`.
    pub listen: Option<Spanned<String>>,
    /// Upper bound on checks in flight at once. Default 1000.
    pub max_concurrent_checks: Option<Spanned<i64>>,
    /// Threads that run checks, each with its share of the monitors and of
    /// `max-concurrent-checks`. Default: one per core.
    pub probe_threads: Option<Spanned<i64>>,
    /// This node's name among nodes sharing a store (leases, runs, audit). Default:
    /// `HOST:PORT` and a suffix from this boot and network namespace, so cloned machines
    /// with one host name still differ, and a restarted process is the same node.
    pub node_id: Option<Spanned<String>>,
    /// Retry policy of the notification outbox.
    pub delivery: Option<RawDelivery>,
    /// Named notifiers; each has a `type` (`email` or `webhook`). Read node by node.
    #[serde(rename = "notifiers")]
    pub _notifiers: Option<serde::de::IgnoredAny>,
    /// The monitors.
    #[serde(default)]
    pub monitors: Vec<RawMonitor>,
    /// Log rules: LogQL metric expressions evaluated on every line as it arrives.
    #[serde(default)]
    pub rules: Vec<RawRule>,
    /// Service level objectives, with burn-rate alerts, from a monitor's checks or from
    /// log lines.
    #[serde(default)]
    pub slos: Vec<RawSlo>,
    /// Log sources Vigil reads itself, besides lines pushed to `listen`; each has a
    /// `type` (`file` or `stdin`). Read node by node.
    #[serde(rename = "sources")]
    pub _sources: Option<serde::de::IgnoredAny>,
    /// Named remediation actions; each has a `type` (`aws-ec2-reboot`, `http`, `exec`).
    /// Read node by node.
    #[serde(rename = "actions")]
    pub _actions: Option<serde::de::IgnoredAny>,
    /// Guards over every action together.
    pub remediation: Option<RawRemediation>,
    /// Alerts other systems send to Vigil.
    pub inbound: Option<RawInbound>,
    /// Where remediation decisions are written besides the store.
    pub audit: Option<RawAudit>,
    /// The routing tree, as Alertmanager's `route:`.
    pub route: Option<RawTreeRoute>,
    /// Who a route sends to: named sets of notifiers and actions.
    #[serde(default)]
    pub receivers: Vec<RawReceiver>,
    /// Named time intervals for routes' `mute-time-intervals`/`active-time-intervals`.
    #[serde(default)]
    pub time_intervals: Vec<RawNamedInterval>,
    /// Alerts that mute others while they fire (Alertmanager's `inhibit_rules`).
    #[serde(default)]
    pub inhibit_rules: Vec<RawInhibitRule>,
    /// Who may use the HTTP API.
    pub api: Option<RawApi>,
    /// When an alert that keeps firing and resolving is held as flapping.
    pub flapping: Option<RawFlapping>,
    /// People who can be paged, by name.
    #[serde(default)]
    pub people: std::collections::HashMap<Spanned<String>, crate::incidents::RawPerson>,
    /// On-call schedules, by name.
    #[serde(default)]
    pub schedules: std::collections::HashMap<Spanned<String>, crate::incidents::RawSchedule>,
    /// How pages escalate, by name.
    #[serde(default)]
    pub escalation_policies: std::collections::HashMap<Spanned<String>, crate::incidents::RawPolicy>,
    /// What incidents do: how people are paged, stakeholder updates, resolving.
    pub incidents: Option<crate::incidents::RawIncidents>,
    /// The public status page: components over monitors.
    pub status_page: Option<crate::status_page::RawStatusPage>,
    /// Vigil's own traces.
    pub telemetry: Option<RawTelemetry>,
}

/// `telemetry:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTelemetry {
    /// An OTLP/HTTP endpoint (a collector's base URL, e.g. `http://127.0.0.1:4318`):
    /// Vigil's spans go to its `/v1/traces`.
    pub otlp_endpoint: Option<Spanned<String>>,
    /// `service.name` of the spans; default `vigil`.
    pub service_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawFlapping {
    /// `false` turns flap detection off.
    pub enabled: Option<bool>,
    /// More state changes than this within `window` make an alert flap. Default 5.
    pub changes: Option<Spanned<u64>>,
    /// Default `30m`, at most `24h`.
    pub window: Option<Spanned<String>>,
    /// A flapping alert settles once it has held one state this long. Default `10m`.
    pub settle: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawApi {
    /// `token` (default) or `none`: Alertmanager's endpoints (`/api/v2/...`) without a
    /// token, allowed only when `listen` is a loopback address.
    pub alertmanager_auth: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawNamedInterval {
    pub name: Spanned<String>,
    #[serde(default)]
    pub time_intervals: Vec<RawInterval>,
}

/// One interval: every field given must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawInterval {
    pub times: Option<Vec<RawTimes>>,
    pub weekdays: Option<Vec<Spanned<String>>>,
    pub days_of_month: Option<Vec<Spanned<String>>>,
    pub months: Option<Vec<Spanned<String>>>,
    pub years: Option<Vec<Spanned<String>>>,
    pub location: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTimes {
    pub start_time: Option<Spanned<String>>,
    pub end_time: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawInhibitRule {
    pub name: Option<String>,
    #[serde(default)]
    pub source_matchers: Vec<Spanned<String>>,
    #[serde(default)]
    pub target_matchers: Vec<Spanned<String>>,
    #[serde(default)]
    pub source_match: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub source_match_re: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub target_match: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub target_match_re: BTreeMap<String, Spanned<String>>,
    /// Labels whose values the source and the target must share.
    #[serde(default)]
    pub equal: Vec<Spanned<String>>,
}

/// One route of the tree (Alertmanager's `route`, in kebab-case).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTreeRoute {
    pub receiver: Option<Spanned<String>>,
    /// Alertmanager matchers, each entry one or more: `severity="page"`, `{a=~"x.*"}`.
    #[serde(default)]
    pub matchers: Vec<Spanned<String>>,
    /// The older syntax: label = value.
    #[serde(default, rename = "match")]
    pub match_equal: BTreeMap<String, Spanned<String>>,
    /// The older syntax: label =~ regex.
    #[serde(default)]
    pub match_re: BTreeMap<String, Spanned<String>>,
    /// Go on to the next sibling after this route matches.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Labels to group by; `[...]` groups by every label.
    pub group_by: Option<Vec<Spanned<String>>>,
    pub group_wait: Option<Spanned<String>>,
    pub group_interval: Option<Spanned<String>>,
    pub repeat_interval: Option<Spanned<String>>,
    /// Named time intervals during which this route sends nothing.
    #[serde(default)]
    pub mute_time_intervals: Vec<Spanned<String>>,
    /// Named time intervals outside which this route sends nothing.
    #[serde(default)]
    pub active_time_intervals: Vec<Spanned<String>>,
    /// Whether the alerts it takes open incidents, and how: `{severity: SEV-2, service:
    /// api, escalation: api-oncall}`, or `{open: false}`. Child routes inherit it.
    pub incident: Option<crate::incidents::RawIncidentRule>,
    #[serde(default)]
    pub routes: Vec<RawTreeRoute>,
}

/// `receivers:` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawReceiver {
    pub name: Spanned<String>,
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
    /// Tell the receiver when a group's alerts resolve. Default true.
    pub send_resolved: Option<bool>,
    /// Resolved notifications for alerts that were muted when they resolved, if the
    /// receiver heard of them firing. Default true.
    pub resolved_when_muted: Option<bool>,
    /// Whether the alerts it receives open incidents (when their route does not say).
    pub incident: Option<crate::incidents::RawIncidentRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRemediation {
    /// Blast-radius budget: at most this many executions by all actions together per
    /// `budget-window`. Default 20.
    pub budget: Option<Spanned<i64>>,
    /// Default `1h`.
    pub budget_window: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawInbound {
    /// `POST /api/v1/alertmanager`: Alertmanager's webhook (version 4).
    pub alertmanager: Option<RawAlertmanager>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAlertmanager {
    /// When set, requests need `Authorization: Bearer TOKEN`; use `${VAR}`.
    pub token: Option<String>,
    /// Checked in order; the first whose `match` labels all equal the alert's is used.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRoute {
    /// Labels the alert must have, e.g. `{alertname: HighLatency}`. Empty matches all.
    #[serde(rename = "match", default)]
    pub matchers: std::collections::HashMap<Spanned<String>, String>,
    /// Actions to run while it fires.
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
    /// Notifiers told when it fires and resolves, and of its actions' outcomes.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAudit {
    /// Every remediation decision and execution is also written to CloudWatch Logs.
    pub cloudwatch_logs: Option<RawCloudWatchLogs>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCloudWatchLogs {
    /// The log group; it must exist.
    pub log_group: Spanned<String>,
    /// Created if missing. Default `vigil`.
    pub log_stream: Option<String>,
    pub region: Spanned<String>,
    /// An AWS-compatible endpoint instead of AWS's, e.g. `http://127.0.0.1:5000`.
    pub endpoint: Option<Spanned<String>>,
}

/// One action, read node by node: the fields of every type are listed here, and those
/// not of the action's `type` are rejected by validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAction {
    /// `aws-ec2-reboot`, `http` or `exec`.
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// aws-ec2-reboot: the region, e.g. `us-east-1` (or `${AWS_REGION}`).
    pub region: Option<Spanned<String>>,
    /// aws-ec2-reboot: instance ids; `{{ $labels.NAME }}` takes one from the alert.
    pub instances: Option<Vec<Spanned<String>>>,
    /// aws-ec2-reboot: an AWS-compatible endpoint instead of AWS's.
    pub endpoint: Option<Spanned<String>>,
    /// aws-ec2-reboot: the AWS account, for `vigil iam-policy`'s resource ARNs.
    pub account_id: Option<Spanned<String>>,
    /// http: the method. Default `POST`.
    pub method: Option<Spanned<String>>,
    /// http: the URL; `{{ $labels.NAME }}` is filled in.
    pub url: Option<Spanned<String>>,
    /// http: request headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// http: the request body; `{{ $labels.NAME }}` is filled in.
    pub body: Option<String>,
    /// http: statuses that mean success. Default any 2xx.
    pub expected_status: Option<Vec<Spanned<i64>>>,
    /// exec: the program and its arguments, run without a shell. The alert reaches it as
    /// environment variables (`VIGIL_LABEL_<NAME>`, `VIGIL_TARGET`, ...), never in argv.
    pub command: Option<Vec<Spanned<String>>>,
    /// exec: extra environment variables.
    pub env: Option<BTreeMap<String, String>>,
    /// Time allowed for one run. Default `30s`.
    pub timeout: Option<Spanned<String>>,
    /// Not again on the same target within this long. Default `10m`.
    pub cooldown: Option<Spanned<String>>,
    /// The trigger must clear within this long after the run, else the attempt failed.
    /// Default: not verified.
    pub verify: Option<Spanned<String>>,
    /// Circuit breaker: after this many failed attempts on a target within
    /// `breaker-window`, stop and ask for a human. Default 3.
    pub max_attempts: Option<Spanned<i64>>,
    /// Default `1h`.
    pub breaker_window: Option<Spanned<String>>,
    /// `none` (default) or `required`: wait for `vigil actions approve ID`.
    pub approval: Option<Spanned<String>>,
    /// Denied when not approved within this long. Default `15m`.
    pub approval_timeout: Option<Spanned<String>>,
    /// Run every guard, record what would run, call nothing. Default false.
    pub dry_run: Option<bool>,
    /// More targets than this in one alert is an error, not a mass action. Default 10.
    pub max_targets: Option<Spanned<i64>>,
    /// This action's own budget: at most this many runs per `budget-window`.
    pub budget: Option<Spanned<i64>>,
    /// Default `1h`.
    pub budget_window: Option<Spanned<String>>,
}

/// `type: sns`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSns {
    #[serde(rename = "type")]
    pub _type: String,
    /// `arn:aws:sns:REGION:ACCOUNT:NAME`.
    pub topic_arn: Spanned<String>,
    /// Default: the topic's region.
    pub region: Option<String>,
    /// An AWS-compatible endpoint instead of AWS's.
    pub endpoint: Option<Spanned<String>>,
}

/// `type: slack`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSlack {
    #[serde(rename = "type")]
    pub _type: String,
    /// The incoming webhook URL; use `${VAR}`: it is a secret.
    pub webhook_url: Spanned<String>,
    /// Default `10s`.
    pub timeout: Option<Spanned<String>>,
}

/// `type: pagerduty`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPagerDuty {
    #[serde(rename = "type")]
    pub _type: String,
    /// The Events API v2 integration key; use `${VAR}`.
    pub routing_key: String,
    /// Default `https://events.pagerduty.com/v2/enqueue`.
    pub url: Option<Spanned<String>>,
    /// Default `10s`.
    pub timeout: Option<Spanned<String>>,
}

/// `type: file`: follows one file as `tail -F` does, across rotation by rename
/// (logrotate's default) and by copytruncate, and resumes where it stopped after a
/// restart (offsets are kept in the store).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawFileSource {
    #[serde(rename = "type")]
    pub _type: String,
    /// The file; relative paths are read from the config file's directory.
    pub path: Spanned<String>,
    /// Stream labels of its lines, which rules select on, e.g. `{app: api}`. Default
    /// `{filename: PATH}`.
    #[serde(default)]
    pub labels: std::collections::HashMap<Spanned<String>, String>,
    /// JSON field holding the event time (RFC 3339 or Unix seconds). Default: the first
    /// of `ts`, `time`, `timestamp`, `@timestamp`; lines without one take the time they
    /// are read.
    pub timestamp_field: Option<String>,
    /// Where to begin a file Vigil has not read before: `end` (default: old lines are not
    /// replayed as new alerts) or `beginning`. Afterwards Vigil resumes at its offset.
    pub start_at: Option<Spanned<String>>,
    /// How often to look for new lines and for rotation. Default `250ms`.
    pub poll_interval: Option<Spanned<String>>,
}

/// `type: stdin`: lines from standard input, e.g. `tail -F app.log | vigil run`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawStdinSource {
    #[serde(rename = "type")]
    pub _type: String,
    /// Stream labels of its lines. Default `{source: stdin}`.
    #[serde(default)]
    pub labels: std::collections::HashMap<Spanned<String>, String>,
    /// As for `file`.
    pub timestamp_field: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRule {
    /// Unique name: letters, digits, `-`, `_`, `.`.
    pub name: Spanned<String>,
    /// A LogQL metric expression; it fires for every label set in its result, e.g.
    /// `sum(count_over_time({app="api"} | json | path="/api/data" | duration > 3s [10m])) > 5`.
    pub expr: Spanned<String>,
    /// How long the condition must hold before firing. Default `0s`.
    #[serde(rename = "for")]
    pub for_: Option<Spanned<String>>,
    /// `page`, `ticket` or `log`. Default `page`.
    pub severity: Option<Spanned<String>>,
    /// Labels added to the alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// One line for people; `{{ $labels.NAME }}` and `{{ $value }}` are filled in.
    pub summary: Option<String>,
    /// Names of notifiers told when it fires and resolves.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    /// How late (behind the newest line) a line may arrive and still count. Default `1m`.
    pub lateness: Option<Spanned<String>>,
    /// Groups kept per range aggregation; lines for more are counted and dropped. Default 10000.
    pub max_groups: Option<Spanned<i64>>,
    /// Names of actions run when it fires.
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSlo {
    /// Unique name: letters, digits, `-`, `_`, `.`.
    pub name: Spanned<String>,
    /// The service it is about (the alert's `service` label).
    pub service: Option<String>,
    /// One line for people.
    pub description: Option<String>,
    /// The share of good events: `99.9%`, `99.9` or `0.999`, to a billionth.
    pub objective: Spanned<String>,
    /// The rolling window the budget is spent over: `30d` (default), `28d`, `7d`; whole
    /// days from 1d to 90d.
    pub window: Option<Spanned<String>>,
    /// SLI from a monitor: good checks over all checks.
    pub monitor: Option<Spanned<String>>,
    /// SLI from a monitor, time-weighted: the share of time it was up (unknown time
    /// left out).
    pub monitor_time: Option<Spanned<String>>,
    /// SLI from logs: a LogQL log query (a stream selector and a pipeline, no range, no
    /// aggregation) keeping the bad lines, e.g. `{app="api"} | json | status >= 500`.
    pub errors: Option<Spanned<String>>,
    /// Instead of `errors`: a log query keeping the good lines.
    pub good: Option<Spanned<String>>,
    /// With `errors` or `good`: the log query keeping every line that counts.
    pub total: Option<Spanned<String>>,
    /// Labels added to its burn alerts.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations of its burn alerts (`summary`, `description`, `runbook_url`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `default` (the SRE Workbook's four, as Sloth generates them) or a list of burn
    /// alerts. Read node by node.
    #[serde(rename = "alerts")]
    pub _alerts: Option<serde::de::IgnoredAny>,
}

/// An SLO's `alerts:`, read from its node.
#[derive(Debug)]
pub(crate) enum RawSloAlerts {
    Named(Spanned<String>),
    List(Vec<RawBurnAlert>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawBurnAlert {
    /// `page` or `ticket`.
    pub severity: Spanned<String>,
    /// The long window, e.g. `1h`.
    pub long: Spanned<String>,
    /// The short window, e.g. `5m`; shorter than `long`.
    pub short: Spanned<String>,
    /// Fires above this burn rate over both windows, e.g. `14.4`.
    pub burn_rate: Option<Spanned<String>>,
    /// Instead of `burn-rate`: the share of the window's budget the long window may
    /// consume, e.g. `2%` (2% of 30d in 1h is a burn rate of 14.4).
    pub budget: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawDelivery {
    /// First retry delay; doubles each attempt. Default `1s`.
    pub initial_backoff: Option<Spanned<String>>,
    /// Longest delay between retries. Default `5m`.
    pub max_backoff: Option<Spanned<String>>,
    /// Give up (mark failed) this long after queueing. Default `24h`.
    pub give_up_after: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawMonitor {
    /// Unique name: letters, digits, `-`, `_`, `.`.
    pub name: Spanned<String>,
    /// `http://`, `https://` or `tcp://host:port`.
    pub url: Spanned<String>,
    /// HTTP method. Default `GET`.
    pub method: Option<Spanned<String>>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body.
    pub body: Option<String>,
    /// Time between checks. Default `60s`.
    pub interval: Option<Spanned<String>>,
    /// Time allowed for one check, at most `interval`. Default `10s`.
    pub timeout: Option<Spanned<String>>,
    /// Re-check at this pace, shorter than `interval`, from a check that disagrees with
    /// the monitor's state until the threshold is reached or a check agrees again (a
    /// failure while UP, a success while DOWN); then back to `interval`. Default: off.
    pub retry_interval: Option<Spanned<String>>,
    /// Gatus-style conditions; all must hold. Default `[STATUS] == 200` (HTTP),
    /// `[CONNECTED] == true` (TCP).
    #[serde(default)]
    pub conditions: Vec<Spanned<String>>,
    /// Failures in a row before DOWN. Default 2.
    pub failure_threshold: Option<Spanned<i64>>,
    /// Successes in a row before UP. Default 2.
    pub success_threshold: Option<Spanned<i64>>,
    /// Behave as this health checker: `alb`, `nlb`, `k8s-readiness` or `haproxy`
    /// (its interval, timeout, thresholds, matcher, Host and redirects as defaults).
    pub health_check: Option<Spanned<String>>,
    /// Statuses that pass, e.g. `200`, `200-399`, `200-299,302`.
    pub matcher: Option<Spanned<String>>,
    /// Follow HTTP redirects. Default true.
    pub follow_redirects: Option<bool>,
    /// Verify TLS certificates. Default true.
    pub verify_tls: Option<bool>,
    /// Names of notifiers told about outages and recoveries.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    /// Names of actions run when it goes DOWN.
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
    /// Labels of its alert (for routing, silences and the UI's filter), e.g. `team: payments`.
    #[serde(default)]
    pub labels: std::collections::HashMap<Spanned<String>, String>,
}

/// `type: email`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawEmail {
    #[serde(rename = "type")]
    pub _type: String,
    pub smtp_host: String,
    /// Default: 25 with `tls: none`, 587 with `starttls`, 465 with `tls`.
    pub smtp_port: Option<Spanned<i64>>,
    /// `none`, `starttls` (default) or `tls`.
    pub tls: Option<Spanned<String>>,
    /// Together with `password`: one without the other is an error.
    pub username: Option<Spanned<String>>,
    /// Use `${VAR}`; never written in the file.
    pub password: Option<Spanned<String>>,
    pub from: Spanned<String>,
    pub to: Vec<Spanned<String>>,
    /// Default `30s`.
    pub timeout: Option<Spanned<String>>,
}

/// `type: webhook`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawWebhook {
    #[serde(rename = "type")]
    pub _type: String,
    pub url: Spanned<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// HMAC-SHA256 key for the `X-Vigil-Signature` header; use `${VAR}`.
    pub secret: Option<String>,
    /// Default `10s`.
    pub timeout: Option<Spanned<String>>,
}
