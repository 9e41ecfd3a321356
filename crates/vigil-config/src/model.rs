//! The validated, typed config that the rest of Vigil uses.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use vigil_core::condition::Condition;
use vigil_core::hysteresis::Thresholds;
use vigil_core::MonitorName;

use crate::error::ConfigError;

/// The whole config file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// `sqlite://PATH` or `postgres://...`.
    pub storage: String,
    /// Address of the HTTP server: `/healthz`, `/readyz`, `/metrics`.
    pub listen: SocketAddr,
    /// At most this many checks run at once across all monitors.
    pub max_concurrent_checks: usize,
    /// `probe-threads`: threads that run checks; `None`: one per core.
    pub probe_threads: Option<usize>,
    /// `node-id`, when set; otherwise the node finds its own.
    pub node_id: Option<String>,
    pub delivery: DeliveryConfig,
    pub notifiers: BTreeMap<String, NotifierConfig>,
    pub monitors: Vec<MonitorConfig>,
    pub rules: Vec<RuleConfig>,
    pub slos: Vec<SloConfig>,
    pub sources: Vec<SourceConfig>,
    pub actions: BTreeMap<String, ActionConfig>,
    pub remediation: RemediationConfig,
    pub inbound: InboundConfig,
    pub audit: AuditConfig,
    /// The routing tree (`route:`), when configured; without it, each monitor's and
    /// rule's `notify:` and `actions:` say where its alerts go.
    pub route: Option<vigil_alerts::RouteSpec>,
    /// Named receivers the routes send to.
    pub receivers: BTreeMap<String, ReceiverConfig>,
    /// Named time intervals (`time-intervals:`).
    pub time_intervals: BTreeMap<String, Vec<vigil_alerts::interval::TimeInterval>>,
    /// `inhibit-rules:`.
    pub inhibit_rules: Vec<vigil_alerts::inhibit::InhibitRule>,
    pub api: ApiConfig,
    /// Flap detection (`flapping:`); `None` when turned off.
    pub flapping: Option<vigil_alerts::Flapping>,
    /// `people:`, `schedules:`, `escalation-policies:` and `incidents:`.
    pub on_call: crate::incidents::OnCallConfig,
    /// `status-page:`, if any.
    pub status_page: Option<crate::status_page::StatusPageConfig>,
    /// `telemetry:`: where Vigil's own spans go.
    pub telemetry: TelemetryConfig,
    /// Valid but probably not what was meant (`vigil check` prints them, `vigil run`
    /// logs them): each located like an error.
    pub warnings: Vec<ConfigError>,
}

/// Who may use the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApiConfig {
    /// `api.alertmanager-auth: none`: Alertmanager's endpoints take no token (loopback
    /// listeners only).
    pub alertmanager_auth_none: bool,
}

/// A receiver: the notifiers told and the actions run for the alerts routed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    pub notify: Vec<String>,
    pub actions: Vec<String>,
    /// Tell it when alerts resolve (Alertmanager's `send_resolved`).
    pub send_resolved: bool,
    /// Tell it an alert resolved even if a silence or inhibition mutes it by then, when
    /// it was told of the alert firing (Alertmanager drops those).
    pub resolved_when_muted: bool,
    /// Whether the alerts it receives open incidents, when their route does not say.
    pub incident: Option<vigil_core::incident::IncidentSetting>,
}

impl Default for ReceiverConfig {
    fn default() -> ReceiverConfig {
        ReceiverConfig { notify: Vec::new(), actions: Vec::new(), send_resolved: true, resolved_when_muted: true, incident: None }
    }
}

/// Guards over all actions together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemediationConfig {
    /// At most this many executions by all actions per `budget_window`.
    pub budget: u32,
    pub budget_window: Duration,
    /// `vigil run --dry-run`: every action as if `dry-run: true`.
    pub dry_run: bool,
}

impl Default for RemediationConfig {
    fn default() -> Self {
        RemediationConfig { budget: 20, budget_window: Duration::from_secs(3600), dry_run: false }
    }
}

/// One named remediation action.
#[derive(Debug, Clone)]
pub struct ActionConfig {
    pub name: String,
    pub kind: ActionKind,
    pub timeout: Duration,
    pub cooldown: Duration,
    pub verify: Option<Duration>,
    pub max_attempts: u32,
    pub breaker_window: Duration,
    pub approval: bool,
    pub approval_timeout: Duration,
    pub dry_run: bool,
    pub max_targets: usize,
    /// This action's own budget: runs per window.
    pub budget: Option<(u32, Duration)>,
}

/// What an action does.
#[derive(Debug, Clone)]
pub enum ActionKind {
    /// EC2 `RebootInstances`, one call per instance (each is a target).
    Ec2Reboot {
        region: String,
        /// Instance ids; may hold `{{ $labels.NAME }}`.
        instances: Vec<String>,
        endpoint: Option<String>,
        account_id: Option<String>,
    },
    /// An HTTP request; the URL is the target.
    Http {
        method: http::Method,
        /// May hold `{{ $labels.NAME }}`, as may the body.
        url: String,
        headers: BTreeMap<String, String>,
        body: Option<String>,
        /// Empty: any 2xx.
        expected_status: Vec<u16>,
    },
    /// A program, run without a shell; the action's name is the target.
    Exec { command: Vec<String>, env: BTreeMap<String, String> },
}

impl ActionKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ActionKind::Ec2Reboot { .. } => "aws-ec2-reboot",
            ActionKind::Http { .. } => "http",
            ActionKind::Exec { .. } => "exec",
        }
    }
}

/// Alerts other systems send to Vigil.
#[derive(Debug, Clone, Default)]
pub struct InboundConfig {
    pub alertmanager: Option<AlertmanagerConfig>,
}

#[derive(Debug, Clone)]
pub struct AlertmanagerConfig {
    pub token: Option<Secret>,
    pub routes: Vec<RouteConfig>,
}

#[derive(Debug, Clone)]
pub struct RouteConfig {
    pub matchers: BTreeMap<String, String>,
    pub actions: Vec<String>,
    pub notify: Vec<String>,
}

impl RouteConfig {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|(name, value)| labels.get(name) == Some(value))
    }
}

/// Where remediation decisions are written besides the store.
#[derive(Debug, Clone, Default)]
pub struct AuditConfig {
    pub cloudwatch_logs: Option<CloudWatchLogsConfig>,
}

#[derive(Debug, Clone)]
pub struct CloudWatchLogsConfig {
    pub log_group: String,
    pub log_stream: String,
    pub region: String,
    pub endpoint: Option<String>,
}

/// A log source Vigil reads itself.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    File(FileSourceConfig),
    Stdin(StdinSourceConfig),
}

/// Where a file Vigil has not read before is begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Beginning,
    End,
}

#[derive(Debug, Clone)]
pub struct FileSourceConfig {
    /// Absolute, or relative to the working directory when the config's was unknown.
    pub path: PathBuf,
    pub labels: BTreeMap<String, String>,
    pub timestamp_field: Option<String>,
    pub start_at: StartAt,
    pub poll_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct StdinSourceConfig {
    pub labels: BTreeMap<String, String>,
    pub timestamp_field: Option<String>,
}

/// How loudly a rule's alert is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Wake someone up.
    Page,
    /// Needs attention in working hours.
    Ticket,
    /// Recorded only.
    Log,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
            Severity::Log => "log",
        }
    }
}

/// One log rule.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    pub name: MonitorName,
    /// The expression as written.
    pub expr_text: String,
    pub expr: vigil_logql::MetricExpr,
    pub for_: Duration,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
    pub summary: Option<String>,
    pub notify: Vec<String>,
    pub lateness: Duration,
    pub max_groups: usize,
    pub actions: Vec<String>,
}

/// A service level objective (`slos:`).
#[derive(Debug, Clone)]
pub struct SloConfig {
    pub name: MonitorName,
    pub service: Option<String>,
    pub description: Option<String>,
    pub objective: vigil_core::slo::Objective,
    /// The rolling window its budget is spent over.
    pub window: Duration,
    pub sli: Sli,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub alerts: Vec<vigil_core::slo::BurnAlert>,
}

/// Where an SLO's good and bad events come from.
#[derive(Debug, Clone)]
pub enum Sli {
    /// A monitor's checks; `time_weighted`: the share of time it was up instead.
    Monitor { monitor: String, time_weighted: bool },
    /// Lines: those `total` keeps count, and of them those `bad` keeps (or, with
    /// `good_query`, those it does not keep) are bad.
    Logs { bad: LogQuery, good_query: bool, total: LogQuery },
}

/// A LogQL log query: a stream selector and a pipeline.
#[derive(Debug, Clone)]
pub struct LogQuery {
    pub text: String,
    pub expr: vigil_logql::LogExpr,
}

/// How the outbox retries a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// After this long since it was queued, a notification is marked failed.
    pub give_up_after: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// A secret from the environment. It never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One notifier, referred to by name from monitors' `notify`.
#[derive(Debug, Clone)]
pub enum NotifierConfig {
    Email(EmailConfig),
    Webhook(WebhookConfig),
    Sns(SnsConfig),
    Slack(SlackConfig),
    PagerDuty(PagerDutyConfig),
}

impl NotifierConfig {
    /// Its `type:`.
    pub fn kind(&self) -> &'static str {
        match self {
            NotifierConfig::Email(_) => "email",
            NotifierConfig::Webhook(_) => "webhook",
            NotifierConfig::Sns(_) => "sns",
            NotifierConfig::Slack(_) => "slack",
            NotifierConfig::PagerDuty(_) => "pagerduty",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SnsConfig {
    pub topic_arn: String,
    pub region: String,
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// The incoming webhook's URL is its credential.
    pub webhook_url: Secret,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct PagerDutyConfig {
    pub routing_key: Secret,
    pub url: http::Uri,
    pub timeout: Duration,
}

/// How to reach the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text; only for local relays and tests.
    None,
    /// Plain connection upgraded with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: http::Uri,
    pub headers: BTreeMap<String, String>,
    /// When set, the body is signed with HMAC-SHA256 into `X-Vigil-Signature: sha256=HEX`.
    pub secret: Option<Secret>,
    pub timeout: Duration,
}

/// One watched endpoint.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    pub name: MonitorName,
    pub target: Target,
    pub interval: Duration,
    pub timeout: Duration,
    /// The pace of checks while the monitor's state is being confirmed or recovered.
    pub retry_interval: Option<Duration>,
    pub conditions: Vec<Condition>,
    /// Statuses that pass, besides the conditions (`matcher:`, or the health checker's).
    pub matcher: Option<vigil_core::healthcheck::StatusMatcher>,
    /// The health checker this monitor behaves as (`health-check:`), for its
    /// vocabulary (`initial`, `healthy`, `unhealthy`, `Target.*` reasons).
    pub health_check: Option<vigil_core::healthcheck::Checker>,
    pub thresholds: Thresholds,
    pub notify: Vec<String>,
    pub actions: Vec<String>,
    /// Labels its alert carries besides `alertname`, `monitor` and `severity` (which
    /// Vigil sets, and which win over these).
    pub labels: BTreeMap<String, String>,
}

/// What a monitor probes.
#[derive(Debug, Clone)]
pub enum Target {
    Http(HttpTarget),
    /// `tcp://host:port`: a TCP connect.
    Tcp {
        host: String,
        port: u16,
    },
}

#[derive(Debug, Clone)]
pub struct HttpTarget {
    pub url: http::Uri,
    pub method: http::Method,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub follow_redirects: bool,
    pub verify_tls: bool,
    /// `Host: IP:PORT` of the address connected to, as a load balancer's checker sends.
    pub host_from_address: bool,
}

impl Target {
    /// The URL to show people: credentials in it are `***`.
    pub fn url(&self) -> String {
        match self {
            Target::Http(http) => vigil_core::redact::url(&http.url.to_string()),
            Target::Tcp { host, port } => format!("tcp://{host}:{port}"),
        }
    }
}

/// `telemetry:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP endpoint's base URL, without `/v1/traces`; `None`: no traces.
    pub otlp_endpoint: Option<String>,
    pub service_name: String,
}
