//! The command line: every subcommand, its flags and its help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Vigil watches services, decides when something is really wrong, tells people, and
/// keeps the record.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "VIGIL_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(short = 'c', long = "config", default_value = "vigil.yaml", env = "VIGIL_CONFIG")]
    pub path: PathBuf,
}

/// A log file replayed on its event times (`backtest`, `slo backtest`).
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Log file, one line per entry; `-` reads standard input.
    pub input: String,
    /// JSON field holding the event time (default: whichever of ts, time, timestamp,
    /// @timestamp comes first in the line).
    #[arg(long)]
    pub timestamp_field: Option<String>,
    /// Stream labels of every line, e.g. app=api,env=prod (default: filename=INPUT).
    #[arg(long)]
    pub labels: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch the configured monitors until SIGINT or SIGTERM, then finish checks in
    /// flight, make a last delivery pass and exit 0.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Run every action's guards and record what would run, but call nothing
        /// (no reboot, no request, no program).
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the config; print every error as FILE:LINE:COLUMN: message and exit 2.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Probe one URL now. Exit 0 when every condition holds, 1 when not, 2 on bad usage.
    ///
    /// Example: vigil probe http://127.0.0.1:8000/health --condition '[STATUS] == 200'
    /// --condition '[BODY].status == OK'
    Probe {
        /// http://, https:// or tcp://HOST:PORT.
        url: String,
        /// A Gatus-style condition; repeat for several. Default: [STATUS] == 200 (HTTP),
        /// [CONNECTED] == true (TCP).
        #[arg(long = "condition", short = 'C')]
        conditions: Vec<String>,
        /// Time allowed for the whole check, e.g. 500ms, 5s.
        #[arg(long, default_value = "10s")]
        timeout: String,
        /// HTTP method.
        #[arg(long, short = 'X', default_value = "GET")]
        method: String,
        /// Request header as NAME:VALUE; repeat for several.
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// Request body.
        #[arg(long, short = 'd')]
        body: Option<String>,
        /// Do not follow redirects.
        #[arg(long)]
        no_follow: bool,
        /// Skip TLS certificate verification (the expiry is still read).
        #[arg(long, short = 'k')]
        insecure: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Walk a connection layer by layer (DNS, TCP, TLS, HTTP, the health route) and say
    /// which layer breaks it, the likely cause and one fix, with the evidence. Exit 0
    /// healthy, 1 a problem found, 2 bad usage. The whole walk keeps to --timeout.
    ///
    /// Examples:
    ///   vigil diagnose http://10.0.1.5:5000/
    ///   vigil diagnose http://10.0.1.5:5000/ --as-lb alb --health /health
    ///   vigil diagnose https://api.internal/ --ca-file corp-ca.pem --json
    Diagnose(DiagnoseArgs),
    /// Show a monitor's stored transitions, newest first.
    History {
        /// Monitor name.
        monitor: String,
        #[command(flatten)]
        config: ConfigArg,
        /// How many transitions to show.
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: i64,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Time-weighted uptime per monitor over the past days; time Vigil was not running
    /// counts as unknown, not as up or down.
    Uptime {
        /// Only this monitor.
        monitor: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
        /// Window length in days.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Everything on one machine with no set-up: a local fake API that fails on a
    /// schedule (or on demand), Vigil watching it, transitions and notifications shown
    /// as they happen.
    Demo(DemoArgs),
    /// Log rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Translate another tool's config into Vigil's.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The routing tree of `route:`: where an alert goes.
    #[command(subcommand)]
    Routes(RoutesCommand),
    /// Check infrastructure code for what breaks a load-balanced service.
    #[command(subcommand)]
    Lint(LintCommand),
    /// Replay a log file (or `-` for stdin) through the configured rules on event time;
    /// print every firing and resolution, then how often each rule fired.
    ///
    /// The event time comes from a JSON field (RFC 3339 or Unix seconds); lines without
    /// one take the time of the line before them.
    Backtest {
        #[command(flatten)]
        replay: ReplayArgs,
        #[command(flatten)]
        config: ConfigArg,
        /// Only this rule.
        #[arg(long)]
        rule: Option<String>,
        /// One JSON object per firing or resolution: rule, state, at, labels, value.
        #[arg(long)]
        json: bool,
    },
    /// Service level objectives and their burn-rate alerts: what is configured, and
    /// when each alert would have fired over a past log.
    #[command(subcommand)]
    Slo(SloCommand),
    /// Remediation: what ran, pausing everything, approving, resetting breakers.
    #[command(subcommand)]
    Actions(ActionsCommand),
    /// Silences: while one matches an alert's labels, its actions are suppressed.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Alert episodes (monitors DOWN, rules firing, alerts sent to Vigil) and every
    /// decision about each: routed to, grouped into, notified, silenced, inhibited,
    /// flapping.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Incidents: list them and their statistics (MTTA, MTTR, MTTD).
    #[command(subcommand)]
    Incidents(IncidentsCommand),
    /// One incident: open, show, acknowledge, resolve, assign roles, notes, stakeholder
    /// updates, severity, and its postmortem's action items.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// On-call schedules: who is on call at any moment, and overrides.
    #[command(subcommand)]
    Oncall(OncallCommand),
    /// Draft a blameless postmortem of an incident from the record: dates, impact
    /// (downtime per monitor, SLO budget), detection, response, the timeline,
    /// remediation, action items, and headings for what only people can write.
    Postmortem {
        /// The incident's id.
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, value_enum, default_value_t = PostmortemFormat::Md)]
        format: PostmortemFormat,
    },
    /// Print the OpenAPI 3.0 document of Vigil's own API (`/api/v1`), as served at
    /// `/api/v1/openapi.json` and committed as `docs/openapi.json`.
    Openapi,
    /// API tokens: `Authorization: Bearer TOKEN` on every /api route. Stored hashed;
    /// shown once.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the least-privilege IAM policy (JSON) for the configured AWS actions,
    /// notifiers and audit sink: named actions only, on the configured resources.
    IamPolicy {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Benchmarks; each prints its figures and the command that reproduces them.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Each SLO: objective, window, SLI, and every burn alert with its windows and the
    /// burn rate it fires above.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// One JSON object per SLO.
        #[arg(long)]
        json: bool,
    },
    /// Each SLO now: objective, window, SLI, error budget left (negative when overspent),
    /// burn rate per alert window, time to exhaustion, status; from the windows the
    /// running nodes stored (updated once a second).
    Report {
        #[command(flatten)]
        config: ConfigArg,
        /// One JSON object per SLO.
        #[arg(long)]
        json: bool,
    },
    /// One SLO's error budget over time: the budget left and the SLI over its window as
    /// sampled on every hour (of the SLO's own time, so a replayed log has its history
    /// too), ending with the budget as the nodes' stored windows hold it now.
    ///
    /// Example: vigil slo history api-availability --since 7d --every 6h
    History {
        /// The SLO's name.
        name: String,
        #[command(flatten)]
        config: ConfigArg,
        /// How far back from the newest sample [default: the SLO's window].
        #[arg(long)]
        since: Option<String>,
        /// One line per this long [default: about thirty lines, at least 1h].
        #[arg(long)]
        every: Option<String>,
        /// One JSON object per line: at, sli, budget_remaining (negative when
        /// overspent), budget_consumed, events, bad.
        #[arg(long)]
        json: bool,
    },
    /// Replay a log file (or stdin) through the log SLOs on event time, and the monitor
    /// SLOs over their stored history: prints each burn alert's firing and resolution,
    /// then each SLO's SLI, budget left and firings.
    ///
    /// Every window is kept in buckets (1 s up to an hour, 10 s up to six hours, 1 min
    /// beyond), the same resolution the README states for burn alerts.
    ///
    /// Monitor SLOs need no log: they replay the checks their monitors' stored
    /// transitions imply (a check each interval, failing while DOWN and before each
    /// outage as the failure threshold says, passing while UP); failures that never made
    /// an outage are not stored, so they are not replayed.
    Backtest {
        /// Log file for the log SLOs, one line per entry; `-` reads standard input.
        input: Option<String>,
        /// JSON field holding the event time (default: whichever of ts, time, timestamp,
        /// @timestamp comes first in the line).
        #[arg(long)]
        timestamp_field: Option<String>,
        /// Stream labels of every line, e.g. app=api,env=prod (default: filename=INPUT).
        #[arg(long)]
        labels: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
        /// Only this SLO.
        #[arg(long)]
        slo: Option<String>,
        /// For monitor SLOs: replay this far back, e.g. 30d (default: everything stored).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per firing: slo, severity, long, short, burn-rate, fired-at,
        /// resolved-at (null while still firing at the end of the log).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// The configured actions, whether actions are paused, and open circuit breakers.
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// Executions, newest first, with the guard that stopped each; with --id, one
    /// execution and its whole audit trail.
    History {
        /// Only this action.
        action: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
        /// One execution with every guard decision and step.
        #[arg(long)]
        id: Option<i64>,
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: i64,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Kill switch: suppress every action on every node sharing the store.
    Pause {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Lift the kill switch.
    Resume {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Approve an execution waiting for approval (`approval: required`).
    Approve {
        /// The execution id, from the notification or `vigil actions history`.
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
        /// Refuse instead: the execution is denied.
        #[arg(long)]
        refuse: bool,
    },
    /// Close an action's open circuit breakers after a person has looked; earlier failed
    /// attempts stop counting.
    Reset {
        /// The action's name.
        name: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it (once: only its hash is kept). Roles: viewer reads;
    /// responder also silences, acknowledges, approves and runs actions; admin also
    /// manages tokens.
    ///
    /// Example: vigil token create grafana --role viewer
    Create {
        /// A name for the audit trail: letters, digits, `-`, `_`, `.`, `@`.
        name: String,
        #[arg(long, value_parser = ["viewer", "responder", "admin"])]
        role: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Every token: name, role, created, last used, revoked (never the secret).
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token now; requests with it get 401.
    Revoke {
        name: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// The audit trail (the latest --limit rows, oldest first): token changes and every
    /// remediation event.
    Audit {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Silence alerts whose labels match: their notifications and their actions, e.g.
    /// `vigil silence add 'service=~"api|web"' --duration 2h --comment deploy`. Prints the
    /// new silence's id.
    Add {
        /// Alertmanager matchers (`=`, `!=`, `=~`, `!~`; regexes match whole values), one
        /// per argument or a list such as `{service="api",env!="dev"}`; every one must
        /// match. At least one must not match the empty string.
        #[arg(required = true)]
        matchers: Vec<String>,
        #[command(flatten)]
        config: ConfigArg,
        /// How long, e.g. 30m, 2h.
        #[arg(long, default_value = "1h")]
        duration: String,
        /// Why, for the audit trail and messages.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Silences not yet over (with --all, the expired ones too).
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// End a silence now (or, if it has not started, cancel it); it is kept as history.
    Expire {
        /// Its id, or the start of it (at least 4 characters).
        id: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Firing alerts, newest first, with what mutes each now; --all for every state.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Resolved episodes too.
        #[arg(long)]
        all: bool,
        /// Only this alert name.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: i64,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One episode: labels, annotations, its groups (receiver, group key, timers), what
    /// mutes it now, and every stored decision, oldest first.
    Show {
        /// The episode's id (from `vigil alerts list`).
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Translate an Alertmanager config (global SMTP settings, route tree, receivers
    /// with email, webhook, Slack, PagerDuty and SNS configs, inhibit rules, time
    /// intervals) into Vigil's YAML on standard output; what could not be carried over,
    /// and the environment variables to set for secrets, go to standard error.
    ///
    /// Example: vigil import alertmanager alertmanager.yml > vigil.yaml && vigil check -c vigil.yaml
    Alertmanager {
        /// alertmanager.yml
        file: std::path::PathBuf,
    },
    /// Translate OpenSLO v1 documents (SLO, with the SLI and DataSource documents they
    /// refer to) into Vigil's `slos:` on standard output, one SLO per objective; what
    /// could not be mapped goes to standard error. A ratio SLI maps when its sources are
    /// Loki log queries (or a count or rate over one) or a `Vigil` source with
    /// `monitor: NAME`.
    ///
    /// Example: vigil import openslo slos.yaml >> vigil.yaml && vigil check -c vigil.yaml
    Openslo {
        /// OpenSLO YAML, one or several documents.
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoutesCommand {
    /// Print the receivers an alert with these labels reaches, as `amtool config routes
    /// test` does (comma-separated, in order); exit 1 when --verify-receivers differs.
    ///
    /// Example: vigil routes test severity=page service=api -c vigil.yaml
    Test {
        /// LABEL=VALUE pairs: the alert's labels.
        labels: Vec<String>,
        #[command(flatten)]
        config: ConfigArg,
        /// Also print the tree.
        #[arg(long)]
        tree: bool,
        /// Each matched route's receiver, key, group-by and timers as JSON.
        #[arg(long)]
        json: bool,
        /// The receivers expected, comma-separated; exit 1 when they differ.
        #[arg(long, value_name = "A,B")]
        verify_receivers: Option<String>,
    },
    /// Print the routing tree.
    Show {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum LintCommand {
    /// Cross-check the Terraform resources of a load-balanced service on AWS (no
    /// terraform binary needed): the instances' security groups admit the target
    /// group's port from the load balancer; listener, target group and attachment
    /// agree; the health check is complete; no shared security group, no public
    /// instance, no app port open to 0.0.0.0/0; something starts the app. Each finding
    /// is FILE:LINE:COLUMN, severity, what, why and the fix. Exit 0 clean (notes only),
    /// 1 with errors or warnings, 2 when the directory cannot be read.
    ///
    /// Example: vigil lint terraform examples/terraform/broken
    Terraform {
        /// A directory of .tf files (not recursive, as terraform reads a module).
        dir: std::path::PathBuf,
        /// The findings as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check a LogQL expression: exit 0 when Vigil can evaluate it, 1 with the column
    /// and the reason when not (including features outside Vigil's LogQL subset).
    ///
    /// Example: vigil rules lint 'sum(count_over_time({app="api"} | json | path="/api/data" | duration > 3s [10m])) > 5'
    Lint {
        /// The expression; `-` reads it from standard input.
        expr: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Many HTTP monitors against a local target server: share of checks on time,
    /// schedule lag p50/p99, CPU per 1,000 checks, peak RSS.
    Probes {
        /// Number of monitors.
        #[arg(long, default_value_t = 1000)]
        monitors: usize,
        /// Interval of every monitor.
        #[arg(long, default_value = "5s")]
        interval: String,
        /// How long to measure, after a warm-up of two intervals.
        #[arg(long, default_value = "30s")]
        duration: String,
        /// Probe threads for Vigil's side (each a single-threaded runtime with its share of
        /// the monitors; `vigil run` starts one per core).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Checks in flight at most.
        #[arg(long, default_value_t = 1000)]
        max_concurrent: usize,
        /// Pin the bench target (the HTTP server the monitors check) to these CPUs, as
        /// `taskset -c` reads them (e.g. `1`), so its load can be told from Vigil's; its
        /// CPU time is reported either way.
        #[arg(long)]
        target_cpus: Option<String>,
    },
    /// Loki push throughput over HTTP on loopback into the rule engine (the seed rule,
    /// and with --slos the SLOs on the same stream): lines/s accepted and evaluated.
    Loki {
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        /// Lines per push.
        #[arg(long, default_value_t = 1000)]
        batch: u64,
        /// Concurrent pushing clients.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Also run this many of the ten SLOs of examples/slos-access-log.yaml on the
        /// stream (at most 10), in the same engine as the rule.
        #[arg(long, default_value_t = 0)]
        slos: usize,
    },
    /// Line → alert enqueued latency (p50/p99) through the rule engine and store, and
    /// memory for many label groups in one rule.
    Rules {
        /// Alerts to fire, one latency sample each.
        #[arg(long, default_value_t = 1000)]
        alerts: usize,
        /// Label groups for the memory figure.
        #[arg(long, default_value_t = 100_000)]
        groups: usize,
    },
    /// Rule firing → remediation started (p50/p99), through the rule engine, store,
    /// action worker, guards and lease to an HTTP action's request at a local target.
    Actions {
        /// Alerts to fire, one sample each.
        #[arg(long, default_value_t = 1000)]
        alerts: usize,
    },
    /// Vigil as an Alertmanager: 10,000 alerts in 1,000 groups with 100 silences and 20
    /// inhibit rules posted to API v2 one per request (latency p50/p99), all of them
    /// read back (latency), CPU seconds and peak RSS; beside Debian's Alertmanager
    /// (`prometheus-alertmanager`) on the same workload when it is installed.
    Alerts {
        #[arg(long, default_value_t = 10_000)]
        alerts: usize,
        /// Reads of each list.
        #[arg(long, default_value_t = 10)]
        reads: usize,
        /// SQLite's `synchronous` for Vigil's store: `normal` (the default) or `full`
        /// (an fsync per commit).
        #[arg(long, default_value = "normal")]
        synchronous: String,
    },
    /// Log SLOs with 30-day windows full of events: the memory they take, how long
    /// storing and rebuilding them at a restart takes; and ten SLOs on one stream of
    /// access-log lines through the SLO detector on one thread (lines/s).
    Slos {
        /// Number of SLOs.
        #[arg(long, default_value_t = 1000)]
        slos: usize,
        /// Days of events in each SLO's windows.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// The escalator with many open incidents on the wall clock (how late pages go out
    /// after their steps fall due), and `oncall who` over a year of a 10-layer schedule.
    Incidents {
        /// Open incidents, each escalating.
        #[arg(long, default_value_t = 1000)]
        incidents: usize,
        /// Schedules (and policies, one each).
        #[arg(long, default_value_t = 100)]
        schedules: usize,
    },
    /// The public status page with many components and 90 days of history: reading its
    /// summary from the store and rendering it.
    Status {
        #[arg(long, default_value_t = 50)]
        components: usize,
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
    /// The signed-in UI over many monitors with 90 days of history: the overview (time
    /// through the router, HTML and gzipped sizes), a monitor's page, the alerts page.
    Ui {
        #[arg(long, default_value_t = 10_000)]
        monitors: usize,
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// Requests of each page.
        #[arg(long, default_value_t = 11)]
        reads: usize,
    },
    /// API reads at a steady rate while `vigil run` probes many monitors (a local target
    /// in a child process): latency p50/p99/max per route, from each request's planned
    /// start, and the checks done meanwhile.
    Api {
        #[arg(long, default_value_t = 10_000)]
        monitors: usize,
        /// Requests per second.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// How long to measure, after a warm-up of 10 s.
        #[arg(long, default_value = "30s")]
        duration: String,
    },
    /// The target server `bench probes` starts in a child process.
    #[command(hide = true)]
    Target {
        #[arg(long)]
        port: u16,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where Vigil's HTTP server (/metrics, /healthz) listens [default: 127.0.0.1:8080,
    /// or a free port when 8080 is taken].
    #[arg(long)]
    pub listen: Option<String>,
    /// Seconds the fake API stays healthy, then failing, in a loop.
    #[arg(long, default_value_t = 20)]
    pub cycle: u64,
    /// Directory for the demo's config and SQLite store (default: a temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// `vigil diagnose`'s options.
#[derive(Debug, clap::Args)]
pub struct DiagnoseArgs {
    /// http:// or https:// URL.
    pub url: String,
    /// Time allowed for the whole walk, e.g. 2s.
    #[arg(long, default_value = "5s")]
    pub timeout: String,
    /// The health route to try beside the URL; `none` skips it.
    #[arg(long, default_value = "/health")]
    pub health: String,
    /// Ask this DNS server directly (IP:PORT, port 53 if left out) instead of the
    /// system resolver, to tell NXDOMAIN from SERVFAIL.
    #[arg(long, value_name = "IP:PORT")]
    pub resolver: Option<String>,
    /// Only IPv4 addresses.
    #[arg(long = "ipv4", short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Only IPv6 addresses.
    #[arg(long = "ipv6", short = '6')]
    pub ipv6: bool,
    /// Connect to every address the name has, not only the first.
    #[arg(long)]
    pub all_addresses: bool,
    /// A port of the same host that should answer (e.g. 22), to tell a filtered port
    /// from a host that is off; without it 22, 80 and 443 are tried briefly.
    #[arg(long, value_name = "PORT")]
    pub control_port: Option<u16>,
    /// A PEM file of CA certificates to trust besides the system's (a private CA).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Report a certificate that expires within this long.
    #[arg(long, default_value = "14d")]
    pub cert_warn: String,
    /// Report a first byte later than this.
    #[arg(long, default_value = "1s")]
    pub slow: String,
    /// Ask the health route exactly as this checker does: alb (Host: IP:PORT,
    /// ELB-HealthChecker/2.0, no redirects, matcher 200), nlb (TCP connect), k8s
    /// (kube-probe, 200-399).
    #[arg(long, value_name = "alb|nlb|k8s")]
    pub as_lb: Option<String>,
    /// Statuses the health route must answer, e.g. 200-399 or 200-299,302.
    #[arg(long)]
    pub matcher: Option<String>,
    /// One JSON object per layer: layer, status, code, evidence, cause, likely_cause, fix.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PostmortemFormat {
    Md,
    Json,
}

/// Who does it, for the timeline: `--as`, else `$VIGIL_USER`, else `$USER`.
#[derive(Debug, Clone, Args)]
pub struct Actor {
    /// Your name as the timeline records it (default: $VIGIL_USER, else $USER).
    #[arg(long = "as", value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Open incidents, and those opened in the last --days (newest first).
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Only open ones.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Counts by severity and service; MTTA (trigger to first acknowledgement), MTTR
    /// (trigger to resolved), MTTD (first failed check to alert) as median and p90;
    /// resolved by remediation, by a human, or on their own; escalations that reached
    /// their last step. See the README for the definitions.
    Stats {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident by hand, e.g. `vigil incident open "checkout errors" --severity
    /// SEV-1 --service api`. Its escalation (--escalation, else
    /// incidents.default-escalation) starts paging at once. Prints its id.
    Open {
        title: String,
        #[command(flatten)]
        config: ConfigArg,
        /// SEV-1 (critical), SEV-2 (major) or SEV-3 (minor).
        #[arg(long, default_value = "SEV-2")]
        severity: String,
        /// Alerts of this service join it while it is open.
        #[arg(long)]
        service: Option<String>,
        /// The escalation policy that pages for it.
        #[arg(long)]
        escalation: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// The incident, its alerts, roles, escalation, action items and whole timeline.
    Show {
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge: stops the escalation; the first to acknowledge becomes commander.
    #[command(alias = "acknowledge")]
    Ack {
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        actor: Actor,
    },
    /// Resolve it (its alerts may still fire; the timeline says so).
    Resolve {
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        actor: Actor,
    },
    /// Put someone in a role: commander, communicator, scribe or responder (responders
    /// add up; the other roles have one holder).
    Assign {
        id: i64,
        role: String,
        person: String,
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        actor: Actor,
    },
    /// Add a note to the timeline, e.g. `vigil incident note 12 "rolled back 1.4.2"`.
    Note {
        id: i64,
        text: String,
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        actor: Actor,
    },
    /// Send a stakeholder update to incidents.stakeholders and keep it on the timeline;
    /// --public keeps it for the status page too.
    Update {
        id: i64,
        text: String,
        #[command(flatten)]
        config: ConfigArg,
        /// The status it moves to: investigating, identified, monitoring, resolved.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        actor: Actor,
    },
    /// Change its severity (the change goes on the timeline).
    Severity {
        id: i64,
        severity: String,
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        actor: Actor,
    },
    /// Postmortem action items: add, list, done.
    #[command(subcommand)]
    ActionItem(ActionItemCommand),
}

#[derive(Debug, Subcommand)]
pub enum ActionItemCommand {
    /// Add one, e.g. `vigil incident action-item add 12 "add the /health route" --owner
    /// alice --due 2026-12-15`. An overdue item reminds its owner once a day.
    Add {
        id: i64,
        text: String,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        owner: String,
        /// A date (YYYY-MM-DD: due by the end of that day, UTC) or an RFC 3339 time.
        #[arg(long)]
        due: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Action items of every incident (or --incident ID); --open for those not done.
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        incident: Option<i64>,
        #[arg(long)]
        open: bool,
        #[arg(long)]
        json: bool,
    },
    /// Mark item N done.
    Done {
        item: i64,
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        actor: Actor,
    },
}

#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Who is on call for every schedule (or one), now or --at any past or future time;
    /// computed from the config and the stored overrides.
    Who {
        schedule: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
        /// RFC 3339, `YYYY-MM-DD HH:MM` (UTC), or relative to now such as +3d, -12h.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Put someone on call for a schedule from --from to --to, e.g. `vigil oncall
    /// override primary --person bob --from "2026-12-24 09:00" --to "2026-12-27 09:00"`.
    /// Refused when it overlaps another override of the schedule.
    Override {
        schedule: String,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        person: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Overrides that have not ended (of one schedule, or all), with their ids.
    Overrides {
        schedule: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// Remove an override by its id.
    RemoveOverride {
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Each shift of a schedule between --from and --to (the final schedule, overrides
    /// included).
    Shifts {
        schedule: String,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, default_value = "now")]
        from: String,
        #[arg(long, default_value = "+7d")]
        to: String,
        #[arg(long)]
        json: bool,
    },
}
