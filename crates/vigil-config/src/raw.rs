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
    /// Log sources Vigil reads itself, besides lines pushed to `listen`; each has a
    /// `type` (`file` or `stdin`). Read node by node.
    #[serde(rename = "sources")]
    pub _sources: Option<serde::de::IgnoredAny>,
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
    /// Gatus-style conditions; all must hold. Default `[STATUS] == 200` (HTTP),
    /// `[CONNECTED] == true` (TCP).
    #[serde(default)]
    pub conditions: Vec<Spanned<String>>,
    /// Failures in a row before DOWN. Default 2.
    pub failure_threshold: Option<Spanned<i64>>,
    /// Successes in a row before UP. Default 2.
    pub success_threshold: Option<Spanned<i64>>,
    /// Follow HTTP redirects. Default true.
    pub follow_redirects: Option<bool>,
    /// Verify TLS certificates. Default true.
    pub verify_tls: Option<bool>,
    /// Names of notifiers told about outages and recoveries.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
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
    pub username: Option<String>,
    /// Use `${VAR}`; never written in the file.
    pub password: Option<String>,
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
