//! Vigil's own Prometheus metrics, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    pub notifier: String,
    pub result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    /// A failure code such as `tcp.refused` (README, "Failure codes").
    pub code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotifierLabels {
    pub notifier: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub event: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLineLabels {
    pub rule: String,
    /// `matched`, `late`, `over_group_limit`, `unwrap_error`, `parse_error`.
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    pub rule: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Which of a node's SLO detectors: `logs` or `monitors`.
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SloLabels {
    pub slo: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SloWindowLabels {
    pub slo: String,
    pub window: String,
}

/// A gauge of a ratio or a rate.
pub type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub action: String,
    /// `executed`, `verified`, `failed`, `held`, `suppressed`, `dry-run`, `breaker-open`, ...
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PageLabels {
    pub page: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route's pattern, e.g. `/api/v1/incidents/{id}`.
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteOnlyLabels {
    pub route: String,
}

/// A histogram family with a constructor that is a plain function.
pub type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// Every metric Vigil exports. Clones share the underlying values.
pub struct Metrics {
    registry: Registry,
    pub checks: Family<ResultLabels, Counter>,
    pub check_failures: Family<CodeLabels, Counter>,
    pub transitions: Family<StateLabels, Counter>,
    pub monitors: Family<StateLabels, Gauge>,
    pub notification_attempts: Family<AttemptLabels, Counter>,
    pub outbox_backlog: Gauge,
    pub notifier_refusing: Family<NotifierLabels, Gauge>,
    pub schedule_lag: Histogram,
    pub checks_skipped: Counter,
    pub log_lines: Counter,
    pub log_lines_evaluated: Counter,
    pub log_pushes_rejected: Counter,
    pub rule_alerts: Family<StateLabels, Counter>,
    pub log_file_events: Family<EventLabels, Counter>,
    pub rule_lines: Family<RuleLineLabels, Counter>,
    pub rule_groups: Family<RuleLabels, Gauge>,
    pub actions: Family<ActionLabels, Counter>,
    pub action_start_latency: Histogram,
    pub slo_budget_remaining: Family<SloLabels, FloatGauge>,
    pub slo_burn_rate: Family<SloWindowLabels, FloatGauge>,
    pub slo_sli: Family<SloLabels, FloatGauge>,
    pub slo_shared: Family<KindLabels, Gauge>,
    pub slo_leader: Family<KindLabels, Gauge>,
    pub page_render: HistogramFamily<PageLabels>,
    pub http_requests: Family<RouteLabels, Counter>,
    pub http_duration: HistogramFamily<RouteOnlyLabels>,
    /// Set when `/metrics` is scraped.
    pub alerts: Family<StateLabels, Gauge>,
    pub incidents: Family<StateLabels, Gauge>,
    pub escalations: Family<StateLabels, Gauge>,
    pub escalation_pages: Family<StateLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("vigil");
        let checks = Family::<ResultLabels, Counter>::default();
        registry.register("checks", "Checks completed, by result (success or failure)", checks.clone());
        let check_failures = Family::<CodeLabels, Counter>::default();
        registry.register(
            "check_failures",
            "Checks that got no usable response, by failure code (tcp.refused, tls.cert_expired, ...)",
            check_failures.clone(),
        );
        let transitions = Family::<StateLabels, Counter>::default();
        registry.register("transitions", "Monitor state transitions, by new state", transitions.clone());
        let monitors = Family::<StateLabels, Gauge>::default();
        registry.register("monitors", "Monitors by current state", monitors.clone());
        let notification_attempts = Family::<AttemptLabels, Counter>::default();
        registry.register("notification_attempts", "Notification delivery attempts, by notifier and result", notification_attempts.clone());
        let outbox_backlog = Gauge::default();
        registry.register(
            "outbox_backlog",
            "Notifications queued and not yet delivered or failed, those in flight included",
            outbox_backlog.clone(),
        );
        let notifier_refusing = Family::<NotifierLabels, Gauge>::default();
        registry.register(
            "notifier_refusing",
            "1 while a notifier's last attempt was refused for its credentials (SMTP 535, HTTP 401/403)",
            notifier_refusing.clone(),
        );
        let schedule_lag = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register("schedule_lag_seconds", "Delay between a check's scheduled and actual start", schedule_lag.clone());
        let checks_skipped = Counter::default();
        registry.register(
            "checks_skipped",
            "Checks skipped because the previous one of the monitor was still running",
            checks_skipped.clone(),
        );
        let log_lines = Counter::default();
        registry.register("log_lines", "Log lines accepted by intake", log_lines.clone());
        let log_lines_evaluated = Counter::default();
        registry.register("log_lines_evaluated", "Log lines the rule engine has run through every rule", log_lines_evaluated.clone());
        let log_pushes_rejected = Counter::default();
        registry.register("log_pushes_rejected", "Log pushes refused with 429 because intake was saturated", log_pushes_rejected.clone());
        let rule_alerts = Family::<StateLabels, Counter>::default();
        registry.register("rule_alerts", "Rule alerts, by state (firing, resolved)", rule_alerts.clone());
        let log_file_events = Family::<EventLabels, Counter>::default();
        registry.register(
            "log_file_events",
            "Tailed files: rotations (renamed, truncated), resumptions, over-long lines skipped",
            log_file_events.clone(),
        );
        let rule_lines = Family::<RuleLineLabels, Counter>::default();
        registry.register(
            "rule_lines",
            "Lines per rule by outcome: matched, late (older than window + lateness), over_group_limit, unwrap_error, parse_error",
            rule_lines.clone(),
        );
        let rule_groups = Family::<RuleLabels, Gauge>::default();
        registry.register("rule_groups", "Label groups a rule holds in its windows", rule_groups.clone());
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register("action_outcomes", "Remediation outcomes, by action and outcome", actions.clone());
        let action_start_latency = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "action_start_latency_seconds",
            "From an execution being queued (the alert firing) to the action starting",
            action_start_latency.clone(),
        );
        let slo_budget_remaining = Family::<SloLabels, FloatGauge>::default();
        registry.register(
            "slo_error_budget_remaining_ratio",
            "Share of an SLO's error budget left over its window; negative when overspent",
            slo_budget_remaining.clone(),
        );
        let slo_burn_rate = Family::<SloWindowLabels, FloatGauge>::default();
        registry.register("slo_burn_rate", "An SLO's burn rate over each of its alert windows", slo_burn_rate.clone());
        let slo_sli = Family::<SloLabels, FloatGauge>::default();
        registry.register("slo_sli_ratio", "Share of an SLO's events that were good over its window", slo_sli.clone());
        let slo_shared = Family::<KindLabels, Gauge>::default();
        registry.register(
            "slo_shared",
            "1 when other nodes sharing the store count the same SLOs and their counts are in this node's windows",
            slo_shared.clone(),
        );
        let slo_leader = Family::<KindLabels, Gauge>::default();
        registry.register(
            "slo_leader",
            "1 when this node says when burn alerts fire (it holds the lease, or counts alone)",
            slo_leader.clone(),
        );
        let page_render: HistogramFamily<PageLabels> = Family::new_with_constructor(latency_histogram);
        registry.register("ui_render_seconds", "Time to build a UI page's HTML, by page", page_render.clone());
        let http_requests = Family::<RouteLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by route pattern, method and status", http_requests.clone());
        let http_duration: HistogramFamily<RouteOnlyLabels> = Family::new_with_constructor(latency_histogram);
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request, by route pattern", http_duration.clone());
        let alerts = Family::<StateLabels, Gauge>::default();
        registry.register("alerts", "Alert episodes firing now, by state (active, suppressed)", alerts.clone());
        let incidents = Family::<StateLabels, Gauge>::default();
        registry.register("incidents", "Open incidents, by status (investigating, identified, monitoring)", incidents.clone());
        let escalations = Family::<StateLabels, Gauge>::default();
        registry.register("escalations", "Incident escalations, by state (active, stopped, exhausted)", escalations.clone());
        let escalation_pages = Family::<StateLabels, Gauge>::default();
        registry.register(
            "escalation_pages_sent",
            "Pages the escalations have sent (escalation steps taken), by the escalation's state",
            escalation_pages.clone(),
        );
        Metrics {
            escalations,
            escalation_pages,
            page_render,
            http_requests,
            http_duration,
            alerts,
            incidents,
            slo_shared,
            slo_leader,
            registry,
            slo_budget_remaining,
            slo_burn_rate,
            slo_sli,
            checks,
            check_failures,
            transitions,
            monitors,
            notification_attempts,
            outbox_backlog,
            notifier_refusing,
            schedule_lag,
            checks_skipped,
            log_lines,
            log_lines_evaluated,
            log_pushes_rejected,
            rule_alerts,
            log_file_events,
            rule_lines,
            rule_groups,
            actions,
            action_start_latency,
        }
    }

    /// Records how long a UI page took to build.
    pub fn observe_render(&self, page: &str, took: std::time::Duration) {
        self.page_render.get_or_create(&PageLabels { page: page.to_owned() }).observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "encoding metrics failed");
        }
        text
    }

    pub fn count_check(&self, healthy: bool) {
        let result = if healthy { "success" } else { "failure" };
        self.checks.get_or_create(&ResultLabels { result: result.to_owned() }).inc();
    }

    pub fn set_refusing(&self, notifier: &str, refusing: bool) {
        self.notifier_refusing.get_or_create(&NotifierLabels { notifier: notifier.to_owned() }).set(i64::from(refusing));
    }

    pub fn count_attempt(&self, notifier: &str, result: &str) {
        self.notification_attempts.get_or_create(&AttemptLabels { notifier: notifier.to_owned(), result: result.to_owned() }).inc();
    }
}
