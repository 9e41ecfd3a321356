//! Reading, interpolating, deserializing and validating a config file.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use marked_yaml::loader::LoadError;
use marked_yaml::types::MarkedScalarNode;
use marked_yaml::{LoaderOptions, Node, Span, Spanned};
use vigil_core::condition::Condition;
use vigil_core::healthcheck::{Checker, InitialState, Preset, StatusMatcher};
use vigil_core::hysteresis::Thresholds;
use vigil_core::{parse_duration, MonitorName, Threshold};

use crate::env::interpolate;
use crate::error::{ConfigError, ConfigErrors, Location};
use crate::model::*;
use crate::raw::*;

/// Deeper nesting is refused before parsing: the YAML loader and the deserializer
/// recurse once per level, and a file of `- - - … x` would overflow the stack.
pub const MAX_NESTING: usize = 64;

/// Where `text` first nests more than `limit` levels deep, counted generously (each
/// increase of indentation, each `- ` that opens a list on a line, each `[` or `{`
/// outside quotes), so no YAML deeper than `limit` gets through.
fn too_deep(text: &str, limit: usize) -> Option<Location> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (index, line) in text.lines().enumerate() {
        let content = line.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if flow == 0 {
            while indents.last().is_some_and(|&last| last >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut depth = indents.len() + flow;
        let mut rest = content;
        while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix('-').filter(|after| after.is_empty())) {
            depth += 1;
            rest = after.trim_start_matches(' ');
        }
        let mut quote: Option<char> = None;
        for (column, character) in rest.char_indices() {
            match (quote, character) {
                (Some(open), close) if open == close => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(character),
                (None, '#') => break,
                (None, '[' | '{') => {
                    flow += 1;
                    depth += 1;
                }
                (None, ']' | '}') => {
                    flow = flow.saturating_sub(1);
                    depth = depth.saturating_sub(1);
                }
                _ => {}
            }
            if depth > limit {
                return Some(Location { line: index + 1, column: line.len() - rest.len() + column + 1 });
            }
        }
        if depth > limit {
            return Some(Location { line: index + 1, column: indent + 1 });
        }
    }
    None
}

/// `text` as an `http://` or `https://` URL with a host, or `None`.
pub fn parse_http_url(text: &str) -> Option<http::Uri> {
    text.parse::<http::Uri>().ok().filter(|uri| matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some())
}

/// Reads and validates the config at `path`, with `${VAR}` from the process environment.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    load_str(path, &read_file(path)?, &|name| std::env::var(name).ok())
}

/// A config file's text, or the error saying why it cannot be read.
pub fn read_file(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors(vec![ConfigError { file: path.to_owned(), location: None, message: format!("cannot read config: {error}") }])
    })
}

/// Validates config `text` as if read from `path`; `lookup` resolves `${VAR}`.
pub fn load_str(path: &Path, text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    let mut loader = Loader::new(path);
    let config = loader.load(text, lookup);
    let warnings = std::mem::take(&mut loader.warnings);
    loader.finish(config).map(|config| Config { warnings, ..config })
}

/// The located-YAML machinery, for other programs' config files (`thumbs.yaml`): parse
/// into marked nodes with `${VAR}` substituted ([`Loader::parse`]), deserialize
/// ([`Loader::deserialize`]), validate with [`Loader::error`] at a span, then
/// [`Loader::finish`] with every error in file order.
pub struct Loader {
    file: PathBuf,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
    /// Escalation policies, known before routes and receivers name them.
    policy_names: BTreeSet<String>,
}

impl Loader {
    pub fn new(file: &Path) -> Loader {
        Loader { file: file.to_owned(), errors: Vec::new(), warnings: Vec::new(), policy_names: BTreeSet::new() }
    }

    /// The file's directory (`.` when it has none), for paths relative to the config.
    pub fn dir(&self) -> PathBuf {
        self.file.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned()
    }

    /// Records an error at `span` (or for the whole file).
    pub fn error(&mut self, span: Option<&Span>, message: impl Into<String>) {
        let location = span.and_then(Location::of);
        self.errors.push(ConfigError { file: self.file.clone(), location, message: message.into() });
    }

    /// Records something valid but probably not what was meant, at `span`.
    pub fn warn(&mut self, span: Option<&Span>, message: impl Into<String>) {
        let location = span.and_then(Location::of);
        self.warnings.push(ConfigError { file: self.file.clone(), location, message: message.into() });
    }

    /// `value` when no error was recorded, else every error, in file order.
    pub fn finish<T>(mut self, value: Option<T>) -> Result<T, ConfigErrors> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => {
                self.errors.sort_by_key(|error| error.location.as_ref().map(|l| (l.line, l.column)));
                Err(ConfigErrors(self.errors))
            }
        }
    }

    /// Parses YAML into marked nodes and substitutes `${VAR}` in scalars.
    pub fn parse(&mut self, text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Node> {
        let text = if text.trim().is_empty() { "{}" } else { text };
        if let Some(location) = too_deep(text, MAX_NESTING) {
            let message = format!("nested too deeply: more than {MAX_NESTING} levels of lists and mappings");
            self.errors.push(ConfigError { file: self.file.clone(), location: Some(location), message });
            return None;
        }
        let options = LoaderOptions::default().error_on_duplicate_keys(true);
        let mut root = match marked_yaml::parse_yaml_with_options(0, text, options) {
            Ok(root) => root,
            Err(error) => {
                self.yaml_error(&error);
                return None;
            }
        };
        self.interpolate_env(&mut root, lookup);
        self.errors.is_empty().then_some(root)
    }

    fn load(&mut self, text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Config> {
        let root = self.parse(text, lookup)?;
        let raw: RawConfig = self.deserialize(&root)?;
        let notifiers = self.notifiers(&root);
        let sources = self.sources(&root);
        let actions = self.actions(&root);
        let slo_alerts = self.slo_alerts(&root);
        self.config(raw, notifiers, sources, actions, slo_alerts)
    }

    /// Each SLO's `alerts:` (a name or a list), by position; `None` where absent or broken.
    fn slo_alerts(&mut self, root: &Node) -> Vec<Option<RawSloAlerts>> {
        let Some(slos) = root.as_mapping().and_then(|map| map.get_node("slos")).and_then(Node::as_sequence) else {
            return Vec::new();
        };
        let mut all = Vec::new();
        for slo in slos.iter() {
            let alerts = slo.as_mapping().and_then(|map| map.get_node("alerts"));
            all.push(match alerts {
                None => None,
                Some(Node::Scalar(name)) => Some(RawSloAlerts::Named(Spanned::new(*name.span(), name.as_str().to_owned()))),
                Some(node @ Node::Sequence(_)) => self.deserialize::<Vec<RawBurnAlert>>(node).map(RawSloAlerts::List),
                Some(node) => {
                    self.error(Some(node.span()), "`alerts` must be `default` or a list of burn alerts");
                    None
                }
            });
        }
        all
    }

    fn yaml_error(&mut self, error: &LoadError) {
        let (marker, message) = match error {
            LoadError::TopLevelMustBeMapping(m) => (Some(*m), "the config must be a mapping of keys to values".to_owned()),
            LoadError::TopLevelMustBeSequence(m) => (Some(*m), "expected a sequence".to_owned()),
            LoadError::UnexpectedAnchor(m) => (Some(*m), "YAML anchors and aliases are not supported".to_owned()),
            LoadError::MappingKeyMustBeScalar(m) => (Some(*m), "mapping keys must be plain strings".to_owned()),
            LoadError::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported".to_owned()),
            LoadError::ScanError(m, scan) => (Some(*m), format!("invalid YAML: {}", scan.info())),
            LoadError::DuplicateKey(inner) => (inner.key.span().start().copied(), format!("duplicate key `{}`", inner.key.as_str())),
        };
        let location = marker.map(|m| Location { line: m.line(), column: m.column() });
        self.errors.push(ConfigError { file: self.file.clone(), location, message });
    }

    fn interpolate_env(&mut self, node: &mut Node, lookup: &dyn Fn(&str) -> Option<String>) {
        match node {
            Node::Scalar(scalar) => {
                if scalar.as_str().contains('$') {
                    match interpolate(scalar.as_str(), lookup) {
                        Ok(value) => *scalar = MarkedScalarNode::new(*scalar.span(), value),
                        Err(message) => self.error(Some(scalar.span()), message),
                    }
                }
            }
            Node::Sequence(items) => items.iter_mut().for_each(|item| self.interpolate_env(item, lookup)),
            Node::Mapping(entries) => entries.iter_mut().for_each(|(_, value)| self.interpolate_env(value, lookup)),
        }
    }

    /// Deserializes `node`; an error (an unknown key, a wrong type, a missing field) is
    /// recorded at the place it names.
    pub fn deserialize<'de, T: serde::Deserialize<'de>>(&mut self, node: &'de Node) -> Option<T> {
        match marked_yaml::from_node(node) {
            Ok(value) => Some(value),
            Err(error) => {
                let path_span = error.path().and_then(|path| span_of_path(node, path));
                let error = error.into_inner();
                let span = path_span.or_else(|| error.start_mark().map(Span::new_start)).map(|span| {
                    // An error about the whole mapping (a missing field) points at its first key.
                    match node.as_mapping().and_then(|mapping| mapping.keys().next()) {
                        Some(first) if span.start() == node.span().start() => *first.span(),
                        _ => span,
                    }
                });
                let message = match &error {
                    marked_yaml::Error::UnknownFieldError(field, expected, _) => {
                        let expected: Vec<String> = expected.iter().map(|key| format!("`{key}`")).collect();
                        format!("unknown key `{field}`, expected one of {}", expected.join(", "))
                    }
                    marked_yaml::Error::NotBoolean(_) => "expected `true` or `false`".to_owned(),
                    marked_yaml::Error::IntegerParseFailure(error, _) => format!("expected a whole number: {error}"),
                    other => other.to_string(),
                };
                self.error(span.as_ref(), message);
                None
            }
        }
    }

    fn notifiers(&mut self, root: &Node) -> BTreeMap<String, NotifierConfig> {
        let mut notifiers = BTreeMap::new();
        let Some(section) = root.as_mapping().and_then(|map| map.get_node("notifiers")) else {
            return notifiers;
        };
        let Some(entries) = section.as_mapping() else {
            self.error(Some(section.span()), "`notifiers` must map names to notifier settings");
            return notifiers;
        };
        for (name, node) in entries.iter() {
            const TYPES: &str = "`email`, `webhook`, `slack`, `pagerduty` or `sns`";
            let Some(kind) = node.as_mapping().and_then(|map| map.get_scalar("type")) else {
                self.error(Some(node.span()), format!("notifier `{}` needs a `type`: {TYPES}", name.as_str()));
                continue;
            };
            let notifier = match kind.as_str() {
                "email" => self.deserialize::<RawEmail>(node).and_then(|raw| self.email(raw)).map(NotifierConfig::Email),
                "webhook" => self.deserialize::<RawWebhook>(node).and_then(|raw| self.webhook(raw)).map(NotifierConfig::Webhook),
                "sns" => self.deserialize::<RawSns>(node).and_then(|raw| self.sns(raw)).map(NotifierConfig::Sns),
                "slack" => self.deserialize::<RawSlack>(node).and_then(|raw| self.slack(raw)).map(NotifierConfig::Slack),
                "pagerduty" => self.deserialize::<RawPagerDuty>(node).and_then(|raw| self.pagerduty(raw)).map(NotifierConfig::PagerDuty),
                other => {
                    self.error(Some(kind.span()), format!("unknown notifier type `{other}`, expected {TYPES}"));
                    None
                }
            };
            if let Some(notifier) = notifier {
                notifiers.insert(name.as_str().to_owned(), notifier);
            }
        }
        notifiers
    }

    fn sns(&mut self, raw: RawSns) -> Option<SnsConfig> {
        // arn:aws:sns:REGION:ACCOUNT:NAME
        let parts: Vec<&str> = raw.topic_arn.split(':').collect();
        let arn_region = match parts[..] {
            ["arn", _, "sns", region, _, name] if !region.is_empty() && !name.is_empty() => region.to_owned(),
            _ => {
                self.error(
                    Some(raw.topic_arn.span()),
                    format!("invalid topic ARN `{}`, expected arn:aws:sns:REGION:ACCOUNT:NAME", raw.topic_arn.as_str()),
                );
                return None;
            }
        };
        let endpoint = raw.endpoint.as_ref().and_then(|endpoint| self.http_url(endpoint)).map(|url| url.to_string());
        Some(SnsConfig { topic_arn: raw.topic_arn.as_str().to_owned(), region: raw.region.unwrap_or(arn_region), endpoint })
    }

    fn slack(&mut self, raw: RawSlack) -> Option<SlackConfig> {
        if parse_http_url(&raw.webhook_url).is_none() {
            // The URL is the credential: say what is wrong without repeating it.
            self.error(
                Some(raw.webhook_url.span()),
                "invalid Slack webhook-url (not shown: it is a secret), expected https://hooks.slack.com/services/...",
            );
            return None;
        }
        Some(SlackConfig {
            webhook_url: Secret::new(raw.webhook_url.as_str().to_owned()),
            timeout: self.duration(raw.timeout.as_ref(), Duration::from_secs(10)),
        })
    }

    fn pagerduty(&mut self, raw: RawPagerDuty) -> Option<PagerDutyConfig> {
        let url = match &raw.url {
            Some(url) => self.http_url(url)?,
            None => http::Uri::from_static("https://events.pagerduty.com/v2/enqueue"),
        };
        Some(PagerDutyConfig {
            routing_key: Secret::new(raw.routing_key),
            url,
            timeout: self.duration(raw.timeout.as_ref(), Duration::from_secs(10)),
        })
    }

    fn actions(&mut self, root: &Node) -> BTreeMap<String, ActionConfig> {
        let mut actions = BTreeMap::new();
        let Some(section) = root.as_mapping().and_then(|map| map.get_node("actions")) else {
            return actions;
        };
        let Some(entries) = section.as_mapping() else {
            self.error(Some(section.span()), "`actions` must map names to action settings");
            return actions;
        };
        for (name, node) in entries.iter() {
            if MonitorName::parse(name.as_str()).is_err() {
                self.error(Some(name.span()), format!("invalid action name `{}`: letters, digits, `-`, `_`, `.`", name.as_str()));
                continue;
            }
            if let Some(action) = self.deserialize::<RawAction>(node).and_then(|raw| self.action(name.as_str(), raw)) {
                actions.insert(name.as_str().to_owned(), action);
            }
        }
        actions
    }

    fn action(&mut self, name: &str, raw: RawAction) -> Option<ActionConfig> {
        let kind_span = *raw.kind.span();
        // Fields that belong to other types are errors, located at the `type`.
        let present: [(&str, bool, &[&str]); 11] = [
            ("region", raw.region.is_some(), &["aws-ec2-reboot"]),
            ("instances", raw.instances.is_some(), &["aws-ec2-reboot"]),
            ("endpoint", raw.endpoint.is_some(), &["aws-ec2-reboot"]),
            ("account-id", raw.account_id.is_some(), &["aws-ec2-reboot"]),
            ("method", raw.method.is_some(), &["http"]),
            ("url", raw.url.is_some(), &["http"]),
            ("headers", raw.headers.is_some(), &["http"]),
            ("body", raw.body.is_some(), &["http"]),
            ("expected-status", raw.expected_status.is_some(), &["http"]),
            ("command", raw.command.is_some(), &["exec"]),
            ("env", raw.env.is_some(), &["exec"]),
        ];
        let kind_name = raw.kind.as_str();
        if !matches!(kind_name, "aws-ec2-reboot" | "http" | "exec") {
            self.error(Some(&kind_span), format!("unknown action type `{kind_name}`, expected `aws-ec2-reboot`, `http` or `exec`"));
            return None;
        }
        for (field, is_present, types) in present {
            if is_present && !types.contains(&kind_name) {
                self.error(Some(&kind_span), format!("`{field}` is not a setting of `{kind_name}` actions"));
            }
        }
        let kind = match kind_name {
            "aws-ec2-reboot" => {
                let Some(region) = raw.region.as_ref() else {
                    self.error(Some(&kind_span), format!("action `{name}` needs a `region`"));
                    return None;
                };
                let instances: Vec<String> = raw.instances.iter().flatten().map(|instance| instance.as_str().trim().to_owned()).collect();
                if instances.is_empty() {
                    self.error(Some(&kind_span), format!("action `{name}` needs `instances`: ids such as i-0123456789abcdef0"));
                }
                for instance in raw.instances.iter().flatten() {
                    if !instance.contains("{{") && !instance.starts_with("i-") {
                        self.error(Some(instance.span()), format!("invalid instance id `{}`, expected i-...", instance.as_str()));
                    }
                }
                let endpoint = raw.endpoint.as_ref().and_then(|endpoint| self.http_url(endpoint)).map(|url| url.to_string());
                ActionKind::Ec2Reboot {
                    region: region.as_str().to_owned(),
                    instances,
                    endpoint,
                    account_id: raw.account_id.as_ref().map(|id| id.as_str().to_owned()),
                }
            }
            "http" => {
                let Some(url) = raw.url.as_ref() else {
                    self.error(Some(&kind_span), format!("action `{name}` needs a `url`"));
                    return None;
                };
                if !url.contains("{{") {
                    self.http_url(url);
                }
                let method = match &raw.method {
                    Some(method) => http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or_else(|_| {
                        self.error(Some(method.span()), format!("invalid HTTP method `{}`", method.as_str()));
                        http::Method::POST
                    }),
                    None => http::Method::POST,
                };
                let mut expected_status = Vec::new();
                for status in raw.expected_status.iter().flatten() {
                    match u16::try_from(**status).ok().filter(|status| (100..600).contains(status)) {
                        Some(status) => expected_status.push(status),
                        None => self.error(Some(status.span()), format!("invalid HTTP status {}", **status)),
                    }
                }
                ActionKind::Http {
                    method,
                    url: url.as_str().to_owned(),
                    headers: raw.headers.clone().unwrap_or_default(),
                    body: raw.body.clone(),
                    expected_status,
                }
            }
            _ => {
                let command: Vec<String> = raw.command.iter().flatten().map(|arg| arg.as_str().to_owned()).collect();
                if command.first().is_none_or(|program| program.trim().is_empty()) {
                    self.error(Some(&kind_span), format!("action `{name}` needs a `command`: the program and its arguments"));
                }
                for argument in raw.command.iter().flatten().filter(|argument| argument.contains("{{")) {
                    self.error(
                        Some(argument.span()),
                        "templates are not filled into exec arguments; read the alert from VIGIL_LABEL_<NAME> variables",
                    );
                }
                ActionKind::Exec { command, env: raw.env.clone().unwrap_or_default() }
            }
        };
        let approval = match raw.approval.as_ref().map(|approval| (approval.as_str(), approval.span())) {
            None | Some(("none", _)) => false,
            Some(("required", _)) => true,
            Some((other, span)) => {
                self.error(Some(span), format!("unknown approval `{other}`, expected `none` or `required`"));
                false
            }
        };
        let max_attempts = self.positive(raw.max_attempts.as_ref(), 3, "max-attempts");
        let max_targets = self.positive(raw.max_targets.as_ref(), 10, "max-targets");
        let budget = raw.budget.as_ref().map(|_| {
            let budget = self.positive(raw.budget.as_ref(), 1, "budget");
            (budget, self.duration(raw.budget_window.as_ref(), Duration::from_secs(3600)))
        });
        Some(ActionConfig {
            name: name.to_owned(),
            kind,
            timeout: self.duration(raw.timeout.as_ref(), Duration::from_secs(30)),
            cooldown: self.duration(raw.cooldown.as_ref(), Duration::from_secs(600)),
            verify: raw.verify.as_ref().map(|verify| self.duration(Some(verify), Duration::from_secs(300))),
            max_attempts,
            breaker_window: self.duration(raw.breaker_window.as_ref(), Duration::from_secs(3600)),
            approval,
            approval_timeout: self.duration(raw.approval_timeout.as_ref(), Duration::from_secs(900)),
            dry_run: raw.dry_run.unwrap_or(false),
            max_targets: usize::try_from(max_targets).unwrap_or(usize::MAX),
            budget,
        })
    }

    /// A whole number of at least 1.
    pub fn positive(&mut self, value: Option<&Spanned<i64>>, default: u32, what: &str) -> u32 {
        let Some(value) = value else { return default };
        match u32::try_from(**value) {
            Ok(number) if number >= 1 => number,
            _ => {
                self.error(Some(value.span()), format!("{what} must be at least 1, got {}", **value));
                default
            }
        }
    }

    /// An error for each of `names` not among `defined`: `unknown KIND `x` (defined: a, b)`.
    fn check_known<'a>(&mut self, names: &[Spanned<String>], defined: impl Iterator<Item = &'a String> + Clone, kind: &str, plural: &str) {
        for name in names {
            if !defined.clone().any(|known| known == name.as_str()) {
                let listed: Vec<&str> = defined.clone().map(String::as_str).collect();
                let known = if listed.is_empty() { format!("no {plural} are defined") } else { format!("defined: {}", listed.join(", ")) };
                self.error(Some(name.span()), format!("unknown {kind} `{}` ({known})", name.as_str()));
            }
        }
    }

    fn check_actions(&mut self, actions: &[Spanned<String>], defined: &BTreeSet<String>) {
        self.check_known(actions, defined.iter(), "action", "actions");
    }

    fn inbound(&mut self, raw: Option<RawInbound>, notifiers: &BTreeSet<String>, actions: &BTreeSet<String>) -> InboundConfig {
        let Some(alertmanager) = raw.and_then(|raw| raw.alertmanager) else { return InboundConfig::default() };
        let routes = alertmanager
            .routes
            .into_iter()
            .map(|route| {
                self.check_notify(&route.notify, notifiers);
                self.check_actions(&route.actions, actions);
                RouteConfig {
                    matchers: route.matchers.into_iter().map(|(name, value)| (name.as_str().to_owned(), value)).collect(),
                    actions: route.actions.iter().map(|action| action.as_str().to_owned()).collect(),
                    notify: route.notify.iter().map(|notifier| notifier.as_str().to_owned()).collect(),
                }
            })
            .collect();
        InboundConfig { alertmanager: Some(AlertmanagerConfig { token: alertmanager.token.map(Secret::new), routes }) }
    }

    fn audit(&mut self, raw: Option<RawAudit>) -> AuditConfig {
        let Some(cloudwatch) = raw.and_then(|raw| raw.cloudwatch_logs) else { return AuditConfig::default() };
        let endpoint = cloudwatch.endpoint.as_ref().and_then(|endpoint| self.http_url(endpoint)).map(|url| url.to_string());
        AuditConfig {
            cloudwatch_logs: Some(CloudWatchLogsConfig {
                log_group: cloudwatch.log_group.as_str().to_owned(),
                log_stream: cloudwatch.log_stream.unwrap_or_else(|| "vigil".to_owned()),
                region: cloudwatch.region.as_str().to_owned(),
                endpoint,
            }),
        }
    }

    fn sources(&mut self, root: &Node) -> Vec<SourceConfig> {
        let mut sources = Vec::new();
        let Some(section) = root.as_mapping().and_then(|map| map.get_node("sources")) else {
            return sources;
        };
        let Some(entries) = section.as_sequence() else {
            self.error(Some(section.span()), "`sources` must be a list, e.g. `- type: file`");
            return sources;
        };
        let mut paths = BTreeSet::new();
        let mut stdin_seen = false;
        for node in entries.iter() {
            let Some(kind) = node.as_mapping().and_then(|map| map.get_scalar("type")) else {
                // A mapping's own mark sits after its first key; its first key reads better.
                let span = node.as_mapping().and_then(|mapping| mapping.keys().next()).map_or(*node.span(), |key| *key.span());
                self.error(Some(&span), "a source needs a `type`: `file` or `stdin`");
                continue;
            };
            let source = match kind.as_str() {
                "file" => self.deserialize::<RawFileSource>(node).and_then(|raw| {
                    let source = self.file_source(raw)?;
                    if !paths.insert(source.path.clone()) {
                        self.error(Some(kind.span()), format!("file `{}` is read by two sources", source.path.display()));
                    }
                    Some(SourceConfig::File(source))
                }),
                "stdin" => self.deserialize::<RawStdinSource>(node).map(|raw| {
                    if std::mem::replace(&mut stdin_seen, true) {
                        self.error(Some(kind.span()), "standard input can be read by one source only");
                    }
                    let labels = self.stream_labels(raw.labels, ("source", "stdin"));
                    SourceConfig::Stdin(StdinSourceConfig { labels, timestamp_field: raw.timestamp_field })
                }),
                other => {
                    self.error(Some(kind.span()), format!("unknown source type `{other}`, expected `file` or `stdin`"));
                    None
                }
            };
            sources.extend(source);
        }
        sources
    }

    fn file_source(&mut self, raw: RawFileSource) -> Option<FileSourceConfig> {
        if raw.path.trim().is_empty() {
            self.error(Some(raw.path.span()), "a file source needs a `path`");
            return None;
        }
        let path = Path::new(raw.path.as_str());
        let path = match self.file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_owned(),
        };
        let start_at = match raw.start_at.as_ref().map(|start| (start.as_str(), start.span())) {
            None | Some(("end", _)) => StartAt::End,
            Some(("beginning", _)) => StartAt::Beginning,
            Some((other, span)) => {
                self.error(Some(span), format!("unknown start-at `{other}`, expected `end` or `beginning`"));
                StartAt::End
            }
        };
        let poll_interval = self.duration(raw.poll_interval.as_ref(), Duration::from_millis(250));
        let labels = self.stream_labels(raw.labels, ("filename", raw.path.as_str()));
        Some(FileSourceConfig { path, labels, timestamp_field: raw.timestamp_field, start_at, poll_interval })
    }

    /// Stream labels as written, names checked; `default` when none are given.
    fn stream_labels(
        &mut self,
        labels: std::collections::HashMap<Spanned<String>, String>,
        default: (&str, &str),
    ) -> BTreeMap<String, String> {
        if labels.is_empty() {
            return BTreeMap::from([(default.0.to_owned(), default.1.to_owned())]);
        }
        self.label_names(labels)
    }

    /// Labels as written, each name checked against Prometheus's rules.
    fn label_names(&mut self, labels: std::collections::HashMap<Spanned<String>, String>) -> BTreeMap<String, String> {
        let mut checked = BTreeMap::new();
        for (name, value) in labels {
            let valid = name.chars().next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with("__");
            if valid {
                checked.insert(name.as_str().to_owned(), value);
            } else {
                self.error(
                    Some(name.span()),
                    format!("invalid label name `{}`: letters, digits and `_`, not starting with a digit or `__`", name.as_str()),
                );
            }
        }
        checked
    }

    /// `flapping:`: on by default (more than 5 changes in 30m, settled after 10m).
    fn flapping(&mut self, raw: Option<&RawFlapping>) -> Option<vigil_alerts::Flapping> {
        const HORIZON: Duration = Duration::from_secs(24 * 3600);
        let millis = |duration: Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        if raw.and_then(|raw| raw.enabled) == Some(false) {
            return None;
        }
        let changes = match raw.and_then(|raw| raw.changes.as_ref()) {
            Some(changes) if **changes >= 1 => usize::try_from(**changes).unwrap_or(usize::MAX),
            Some(changes) => {
                self.error(Some(changes.span()), "flapping.changes must be at least 1 (or set enabled: false)");
                5
            }
            None => 5,
        };
        let window_value = raw.and_then(|raw| raw.window.as_ref());
        let window = self.duration(window_value, Duration::from_secs(30 * 60));
        if window > HORIZON {
            self.error(window_value.map(Spanned::span), "flapping.window must be at most 24h");
        }
        let settle = self.duration(raw.and_then(|raw| raw.settle.as_ref()), Duration::from_secs(10 * 60));
        Some(vigil_alerts::Flapping { max_changes: changes, window_ms: millis(window), settle_ms: millis(settle) })
    }

    /// A duration such as `5s`, greater than zero; `default` when absent.
    pub fn duration(&mut self, value: Option<&Spanned<String>>, default: Duration) -> Duration {
        /// Longer would overflow clocks and timers, and is never meant.
        const MAX: Duration = Duration::from_secs(3650 * 86_400);
        let Some(value) = value else { return default };
        match parse_duration(value) {
            Ok(duration) if duration > MAX => {
                self.error(Some(value.span()), "duration must be at most 3650d");
                default
            }
            Ok(duration) if !duration.is_zero() => duration,
            Ok(_) => {
                self.error(Some(value.span()), "duration must be greater than zero");
                default
            }
            Err(error) => {
                self.error(Some(value.span()), error.to_string());
                default
            }
        }
    }

    fn port(&mut self, value: Option<&Spanned<i64>>, default: u16) -> u16 {
        let Some(value) = value else { return default };
        match u16::try_from(**value) {
            Ok(port) if port > 0 => port,
            _ => {
                self.error(Some(value.span()), format!("invalid port {}, expected 1-65535", **value));
                default
            }
        }
    }

    fn email(&mut self, raw: RawEmail) -> Option<EmailConfig> {
        let tls = match raw.tls.as_ref().map(|tls| (tls.as_str(), tls.span())) {
            None | Some(("starttls", _)) => SmtpTls::StartTls,
            Some(("none", _)) => SmtpTls::None,
            Some(("tls", _)) => SmtpTls::Tls,
            Some((other, span)) => {
                self.error(Some(span), format!("unknown tls mode `{other}`, expected `none`, `starttls` or `tls`"));
                SmtpTls::StartTls
            }
        };
        let default_port = match tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        };
        let smtp_port = self.port(raw.smtp_port.as_ref(), default_port);
        for address in std::iter::once(&raw.from).chain(raw.to.iter()) {
            if !looks_like_address(address) {
                self.error(Some(address.span()), format!("invalid e-mail address `{}`", address.as_str()));
            }
        }
        if raw.to.is_empty() {
            self.error(Some(raw.from.span()), "an email notifier needs at least one `to` address");
        }
        match (&raw.username, &raw.password) {
            (None, Some(password)) => self.error(Some(password.span()), "`password` needs a `username` to log in with"),
            (Some(username), None) => {
                self.error(Some(username.span()), "`username` needs a `password` (from the environment: `${SMTP_PASSWORD}`)")
            }
            _ => {}
        }
        Some(EmailConfig {
            smtp_host: raw.smtp_host,
            smtp_port,
            tls,
            username: raw.username.map(|username| username.as_str().to_owned()),
            password: raw.password.map(|password| Secret::new(password.as_str().to_owned())),
            from: raw.from.as_str().to_owned(),
            to: raw.to.iter().map(|to| to.as_str().to_owned()).collect(),
            timeout: self.duration(raw.timeout.as_ref(), Duration::from_secs(30)),
        })
    }

    fn webhook(&mut self, raw: RawWebhook) -> Option<WebhookConfig> {
        let url = self.http_url(&raw.url)?;
        Some(WebhookConfig {
            url,
            headers: raw.headers,
            secret: raw.secret.map(Secret::new),
            timeout: self.duration(raw.timeout.as_ref(), Duration::from_secs(10)),
        })
    }

    pub fn http_url(&mut self, url: &Spanned<String>) -> Option<http::Uri> {
        match parse_http_url(url) {
            Some(uri) => Some(uri),
            None => {
                let shown = vigil_core::redact::url(url.as_str());
                self.error(Some(url.span()), format!("invalid URL `{shown}`, expected http://HOST/PATH or https://HOST/PATH"));
                None
            }
        }
    }

    fn config(
        &mut self,
        raw: RawConfig,
        notifiers: BTreeMap<String, NotifierConfig>,
        sources: Vec<SourceConfig>,
        actions: BTreeMap<String, ActionConfig>,
        slo_alerts: Vec<Option<RawSloAlerts>>,
    ) -> Option<Config> {
        let storage = match &raw.storage {
            Some(storage)
                if storage.starts_with("sqlite:") || storage.starts_with("postgres://") || storage.starts_with("postgresql://") =>
            {
                storage.as_str().to_owned()
            }
            Some(storage) => {
                self.error(
                    Some(storage.span()),
                    format!(
                        "unsupported storage `{}`, expected sqlite://PATH or postgres://...",
                        vigil_core::redact::url(storage.as_str())
                    ),
                );
                String::new()
            }
            None => {
                let dir = self.file.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
                format!("sqlite://{}", dir.join("vigil.db").display())
            }
        };
        let listen = match &raw.listen {
            Some(listen) => listen.parse::<SocketAddr>().unwrap_or_else(|_| {
                self.error(
                    Some(listen.span()),
                    format!("invalid listen address `{}`, expected IP:PORT such as 127.0.0.1:8080", listen.as_str()),
                );
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let mut api = ApiConfig::default();
        if let Some(auth) = raw.api.as_ref().and_then(|api| api.alertmanager_auth.as_ref()) {
            match auth.as_str() {
                "token" => {}
                "none" if listen.ip().is_loopback() => api.alertmanager_auth_none = true,
                "none" => self.error(
                    Some(auth.span()),
                    format!("api.alertmanager-auth: none is allowed only on a loopback listener; `listen` is {listen}"),
                ),
                other => self.error(Some(auth.span()), format!("unknown api.alertmanager-auth `{other}`, expected token or none")),
            }
        }
        let flapping = self.flapping(raw.flapping.as_ref());
        let max_concurrent_checks = match &raw.max_concurrent_checks {
            Some(value) if **value >= 1 => usize::try_from(**value).unwrap_or(usize::MAX),
            Some(value) => {
                self.error(Some(value.span()), "max-concurrent-checks must be at least 1");
                1
            }
            None => 1000,
        };
        let probe_threads = match &raw.probe_threads {
            Some(value) if (1..=256).contains(&**value) => usize::try_from(**value).ok(),
            Some(value) => {
                self.error(Some(value.span()), "probe-threads must be from 1 to 256");
                None
            }
            None => None,
        };
        let defaults = DeliveryConfig::default();
        let delivery = match &raw.delivery {
            Some(delivery) => DeliveryConfig {
                initial_backoff: self.duration(delivery.initial_backoff.as_ref(), defaults.initial_backoff),
                max_backoff: self.duration(delivery.max_backoff.as_ref(), defaults.max_backoff),
                give_up_after: self.duration(delivery.give_up_after.as_ref(), defaults.give_up_after),
            },
            None => defaults,
        };
        let notifier_names: BTreeSet<String> = notifiers.keys().cloned().collect();
        let action_names: BTreeSet<String> = actions.keys().cloned().collect();
        let remediation = match &raw.remediation {
            Some(remediation) => RemediationConfig {
                budget: self.positive(remediation.budget.as_ref(), 20, "budget"),
                budget_window: self.duration(remediation.budget_window.as_ref(), Duration::from_secs(3600)),
                dry_run: false,
            },
            None => RemediationConfig::default(),
        };
        let on_call = self.on_call(raw.people, raw.schedules, raw.escalation_policies, raw.incidents, &notifiers);
        self.policy_names = on_call.escalation_policies.keys().cloned().collect();
        let inbound = self.inbound(raw.inbound, &notifier_names, &action_names);
        let audit = self.audit(raw.audit);
        let receivers = self.receivers(&raw.receivers, &notifier_names, &action_names);
        let time_intervals = self.time_intervals(&raw.time_intervals);
        let inhibit_rules = raw.inhibit_rules.iter().map(|rule| self.inhibit_rule(rule)).collect();
        let route = raw.route.as_ref().and_then(|route| self.root_route(route, &receivers, &time_intervals));
        if route.is_none() && !raw.receivers.is_empty() && raw.route.is_none() {
            let span = raw.receivers.first().map(|receiver| *receiver.name.span());
            self.warn(span.as_ref(), "receivers are defined but no `route:` sends to them");
        }
        let mut seen_rules = BTreeSet::new();
        let rules = raw
            .rules
            .into_iter()
            .filter_map(|rule| {
                if !seen_rules.insert(rule.name.as_str().to_owned()) {
                    self.error(Some(rule.name.span()), format!("duplicate rule name `{}`", rule.name.as_str()));
                }
                self.rule(rule, &notifier_names, &action_names)
            })
            .collect();
        let mut seen = BTreeSet::new();
        let monitors: Vec<MonitorConfig> = raw
            .monitors
            .into_iter()
            .filter_map(|monitor| {
                if !seen.insert(monitor.name.as_str().to_owned()) {
                    self.error(Some(monitor.name.span()), format!("duplicate monitor name `{}`", monitor.name.as_str()));
                }
                self.monitor(monitor, &notifier_names, &action_names)
            })
            .collect();
        let monitor_names: BTreeSet<String> = monitors.iter().map(|monitor| monitor.name.as_str().to_owned()).collect();
        let mut seen_slos = BTreeSet::new();
        let mut slo_alerts = slo_alerts.into_iter();
        let slos = raw
            .slos
            .into_iter()
            .filter_map(|slo| {
                if !seen_slos.insert(slo.name.as_str().to_owned()) {
                    self.error(Some(slo.name.span()), format!("duplicate slo name `{}`", slo.name.as_str()));
                }
                self.slo(slo, slo_alerts.next().flatten(), &monitor_names)
            })
            .collect();
        let status_page = self.status_page(raw.status_page, &monitor_names, &notifiers);
        let telemetry = match raw.telemetry {
            None => TelemetryConfig { otlp_endpoint: None, service_name: "vigil".to_owned() },
            Some(telemetry) => {
                let otlp_endpoint = telemetry.otlp_endpoint.as_ref().and_then(|url| match parse_http_url(url) {
                    Some(_) => Some(url.trim_end_matches('/').trim_end_matches("/v1/traces").to_owned()),
                    None => {
                        self.error(Some(url.span()), format!("invalid otlp-endpoint `{}`, expected http:// or https://", url.as_str()));
                        None
                    }
                });
                TelemetryConfig { otlp_endpoint, service_name: telemetry.service_name.unwrap_or_else(|| "vigil".to_owned()) }
            }
        };
        Some(Config {
            path: self.file.clone(),
            storage,
            listen,
            max_concurrent_checks,
            probe_threads,
            node_id: raw.node_id.as_ref().and_then(|node_id| {
                let valid = !node_id.is_empty() && node_id.len() <= 200 && !node_id.chars().any(char::is_control);
                if !valid {
                    self.error(Some(node_id.span()), "node-id must be 1-200 printable characters");
                }
                valid.then(|| node_id.as_str().to_owned())
            }),
            delivery,
            notifiers,
            monitors,
            rules,
            slos,
            sources,
            actions,
            remediation,
            inbound,
            audit,
            route,
            receivers,
            time_intervals,
            inhibit_rules,
            api,
            flapping,
            on_call,
            status_page,
            telemetry,
            warnings: Vec::new(),
        })
    }

    fn receivers(
        &mut self,
        raw: &[RawReceiver],
        notifiers: &BTreeSet<String>,
        actions: &BTreeSet<String>,
    ) -> BTreeMap<String, ReceiverConfig> {
        let mut receivers = BTreeMap::new();
        for receiver in raw {
            self.check_notify(&receiver.notify, notifiers);
            self.check_actions(&receiver.actions, actions);
            let policies = self.policy_names.clone();
            let config = ReceiverConfig {
                notify: receiver.notify.iter().map(|name| name.as_str().to_owned()).collect(),
                actions: receiver.actions.iter().map(|name| name.as_str().to_owned()).collect(),
                send_resolved: receiver.send_resolved.unwrap_or(true),
                resolved_when_muted: receiver.resolved_when_muted.unwrap_or(true),
                incident: receiver.incident.as_ref().map(|incident| self.incident_setting(incident, &policies)),
            };
            if receiver.name.is_empty() {
                self.error(Some(receiver.name.span()), "a receiver needs a name");
            } else if receivers.insert(receiver.name.as_str().to_owned(), config).is_some() {
                self.error(Some(receiver.name.span()), format!("duplicate receiver `{}`", receiver.name.as_str()));
            }
        }
        receivers
    }

    fn matchers(
        &mut self,
        texts: &[Spanned<String>],
        equal: &BTreeMap<String, Spanned<String>>,
        regex: &BTreeMap<String, Spanned<String>>,
    ) -> Vec<vigil_alerts::Matcher> {
        use vigil_alerts::{MatchType, Matcher};
        let mut matchers = Vec::new();
        for text in texts {
            match vigil_alerts::matcher::parse(text) {
                Ok(parsed) => matchers.extend(parsed),
                Err(error) => self.error(Some(text.span()), format!("invalid matcher `{}`: {error}", text.as_str())),
            }
        }
        for (name, value) in equal {
            match Matcher::new(MatchType::Equal, name, value) {
                Ok(matcher) => matchers.push(matcher),
                Err(error) => self.error(Some(value.span()), error),
            }
        }
        for (name, value) in regex {
            match Matcher::match_re(name, value) {
                Ok(matcher) => matchers.push(matcher),
                Err(error) => self.error(Some(value.span()), error),
            }
        }
        matchers
    }

    fn inhibit_rule(&mut self, raw: &RawInhibitRule) -> vigil_alerts::inhibit::InhibitRule {
        let source = self.matchers(&raw.source_matchers, &raw.source_match, &raw.source_match_re);
        let target = self.matchers(&raw.target_matchers, &raw.target_match, &raw.target_match_re);
        vigil_alerts::inhibit::InhibitRule {
            name: raw.name.clone().unwrap_or_default(),
            source,
            target,
            equal: raw.equal.iter().map(|name| name.as_str().to_owned()).collect(),
        }
    }

    fn time_intervals(&mut self, raw: &[RawNamedInterval]) -> BTreeMap<String, Vec<vigil_alerts::interval::TimeInterval>> {
        use vigil_alerts::interval;
        let mut named = BTreeMap::new();
        for entry in raw {
            let mut intervals = Vec::new();
            for raw_interval in &entry.time_intervals {
                let mut parsed = interval::TimeInterval::default();
                let mut ranges = |values: &Option<Vec<Spanned<String>>>, parse: fn(&str) -> Result<(i32, i32), String>| {
                    values.as_ref().map(|values| {
                        values
                            .iter()
                            .filter_map(|value| parse(value).map_err(|error| self.error(Some(value.span()), error)).ok())
                            .collect::<Vec<_>>()
                    })
                };
                parsed.weekdays = ranges(&raw_interval.weekdays, interval::weekdays);
                parsed.days_of_month = ranges(&raw_interval.days_of_month, interval::days_of_month);
                parsed.months = ranges(&raw_interval.months, interval::months);
                parsed.years = ranges(&raw_interval.years, interval::years);
                parsed.times = raw_interval.times.as_ref().map(|times| {
                    times
                        .iter()
                        .filter_map(|range| {
                            let span = range.start_time.as_ref().or(range.end_time.as_ref()).map(|value| *value.span());
                            interval::time_range(
                                range.start_time.as_deref().map(String::as_str),
                                range.end_time.as_deref().map(String::as_str),
                            )
                            .map_err(|error| self.error(span.as_ref(), error))
                            .ok()
                        })
                        .collect()
                });
                parsed.location = raw_interval
                    .location
                    .as_ref()
                    .and_then(|name| interval::location(name).map_err(|error| self.error(Some(name.span()), error)).ok());
                intervals.push(parsed);
            }
            if named.insert(entry.name.as_str().to_owned(), intervals).is_some() {
                self.error(Some(entry.name.span()), format!("duplicate time interval `{}`", entry.name.as_str()));
            }
        }
        named
    }

    fn check_intervals(&mut self, names: &[Spanned<String>], defined: &BTreeMap<String, Vec<vigil_alerts::interval::TimeInterval>>) {
        self.check_known(names, defined.keys(), "time interval", "time-intervals");
    }

    fn root_route(
        &mut self,
        raw: &RawTreeRoute,
        receivers: &BTreeMap<String, ReceiverConfig>,
        intervals: &BTreeMap<String, Vec<vigil_alerts::interval::TimeInterval>>,
    ) -> Option<vigil_alerts::RouteSpec> {
        if raw.receiver.is_none() {
            self.error(None, "the root route needs a `receiver` (where alerts go when no child route matches)");
        }
        let spec = self.route(raw, receivers, intervals, 0)?;
        if !raw.mute_time_intervals.is_empty() || !raw.active_time_intervals.is_empty() {
            let span = raw.mute_time_intervals.first().or(raw.active_time_intervals.first()).map(|name| *name.span());
            self.error(span.as_ref(), "the root route cannot have time intervals (as in Alertmanager): put them on a child route");
        }
        if !spec.matchers.is_empty() {
            let span = raw.matchers.first().map(|matcher| *matcher.span());
            self.error(span.as_ref(), "the root route must not have matchers: every alert enters the tree there");
        }
        Some(spec)
    }

    fn route(
        &mut self,
        raw: &RawTreeRoute,
        receivers: &BTreeMap<String, ReceiverConfig>,
        intervals: &BTreeMap<String, Vec<vigil_alerts::interval::TimeInterval>>,
        depth: usize,
    ) -> Option<vigil_alerts::RouteSpec> {
        use vigil_alerts::GroupBy;
        const MAX_DEPTH: usize = 32;
        if depth > MAX_DEPTH {
            self.error(raw.receiver.as_ref().map(|receiver| receiver.span()), format!("routes nest deeper than {MAX_DEPTH}"));
            return None;
        }
        if let Some(receiver) = &raw.receiver {
            self.check_known(std::slice::from_ref(receiver), receivers.keys(), "receiver", "receivers");
        }
        let matchers = self.matchers(&raw.matchers, &raw.match_equal, &raw.match_re);
        self.check_intervals(&raw.mute_time_intervals, intervals);
        self.check_intervals(&raw.active_time_intervals, intervals);
        let group_by = raw.group_by.as_ref().map(|names| {
            if names.iter().any(|name| name.as_str() == "...") {
                if names.len() > 1 {
                    self.error(Some(names[0].span()), "group-by: `...` (every label) cannot be combined with other labels");
                }
                GroupBy::All
            } else {
                for name in names {
                    let valid = !name.is_empty()
                        && !name.chars().next().is_some_and(|c| c.is_ascii_digit())
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !valid {
                        self.error(Some(name.span()), format!("group-by: invalid label name `{}`", name.as_str()));
                    }
                }
                GroupBy::Labels(names.iter().map(|name| name.as_str().to_owned()).collect())
            }
        });
        let timer = |this: &mut Self, value: &Option<Spanned<String>>| {
            value.as_ref().map(|value| this.duration(Some(value), Duration::from_secs(1)))
        };
        let group_wait = timer(self, &raw.group_wait);
        let group_interval = timer(self, &raw.group_interval);
        let repeat_interval = timer(self, &raw.repeat_interval);
        if let (Some(group), Some(repeat)) = (group_interval, repeat_interval) {
            if repeat < group {
                self.warn(
                    raw.repeat_interval.as_ref().map(|value| value.span()),
                    "repeat-interval is shorter than group-interval, so it acts as group-interval",
                );
            }
        }
        let routes = raw.routes.iter().filter_map(|child| self.route(child, receivers, intervals, depth + 1)).collect();
        let policies = self.policy_names.clone();
        let incident = raw.incident.as_ref().map(|incident| self.incident_setting(incident, &policies));
        Some(vigil_alerts::RouteSpec {
            incident,
            receiver: raw.receiver.as_ref().map(|receiver| receiver.as_str().to_owned()),
            matchers,
            continue_matching: raw.continue_matching,
            group_by,
            group_wait,
            group_interval,
            repeat_interval,
            mute_time_intervals: raw.mute_time_intervals.iter().map(|name| name.as_str().to_owned()).collect(),
            active_time_intervals: raw.active_time_intervals.iter().map(|name| name.as_str().to_owned()).collect(),
            routes,
        })
    }

    fn check_notify(&mut self, notify: &[Spanned<String>], notifier_names: &BTreeSet<String>) {
        self.check_known(notify, notifier_names.iter(), "notifier", "notifiers");
    }

    fn rule(&mut self, raw: RawRule, notifier_names: &BTreeSet<String>, action_names: &BTreeSet<String>) -> Option<RuleConfig> {
        let name = MonitorName::parse(&raw.name)
            .map_err(|error| self.error(Some(raw.name.span()), error.to_string().replace("monitor", "rule")))
            .ok();
        let expr = match vigil_logql::parse(&raw.expr) {
            Ok(vigil_logql::Expr::Metric(expr)) => Some(expr),
            Ok(vigil_logql::Expr::Log(_)) => {
                self.error(
                    Some(raw.expr.span()),
                    "a rule needs a metric expression, e.g. count_over_time({app=\"api\"} |= \"error\" [5m]) > 10",
                );
                None
            }
            Err(error) => {
                self.error(Some(raw.expr.span()), format!("invalid rule expression: {error}"));
                None
            }
        };
        let severity = match raw.severity.as_ref().map(|s| (s.as_str(), s.span())) {
            None | Some(("page", _)) => Severity::Page,
            Some(("ticket", _)) => Severity::Ticket,
            Some(("log", _)) => Severity::Log,
            Some((other, span)) => {
                self.error(Some(span), format!("unknown severity `{other}`, expected `page`, `ticket` or `log`"));
                Severity::Page
            }
        };
        let for_ = match &raw.for_ {
            Some(text) if text.trim() == "0s" || text.trim() == "0" => Duration::ZERO,
            other => self.duration(other.as_ref(), Duration::ZERO),
        };
        let lateness = self.duration(raw.lateness.as_ref(), Duration::from_secs(60));
        let max_groups = match &raw.max_groups {
            Some(value) if **value >= 1 => usize::try_from(**value).unwrap_or(usize::MAX),
            Some(value) => {
                self.error(Some(value.span()), "max-groups must be at least 1");
                1
            }
            None => 10_000,
        };
        self.check_notify(&raw.notify, notifier_names);
        self.check_actions(&raw.actions, action_names);
        Some(RuleConfig {
            name: name?,
            expr_text: raw.expr.as_str().to_owned(),
            expr: expr?,
            for_,
            severity,
            labels: raw.labels,
            summary: raw.summary,
            notify: raw.notify.iter().map(|name| name.as_str().to_owned()).collect(),
            lateness,
            max_groups,
            actions: raw.actions.iter().map(|name| name.as_str().to_owned()).collect(),
        })
    }

    fn slo(&mut self, raw: RawSlo, alerts: Option<RawSloAlerts>, monitor_names: &BTreeSet<String>) -> Option<SloConfig> {
        const DAY: Duration = Duration::from_secs(86_400);
        let name = MonitorName::parse(&raw.name)
            .map_err(|error| self.error(Some(raw.name.span()), error.to_string().replace("monitor", "slo")))
            .ok();
        let objective =
            vigil_core::slo::Objective::parse(&raw.objective).map_err(|error| self.error(Some(raw.objective.span()), error)).ok();
        let window = self.duration(raw.window.as_ref(), 30 * DAY);
        if let Some(text) = &raw.window {
            if window.as_secs() % DAY.as_secs() != 0 || window < DAY || window > 90 * DAY {
                self.error(Some(text.span()), "window must be whole days from 1d to 90d, e.g. 30d, 28d or 7d");
            }
        }
        let period = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let sources = [raw.monitor.is_some(), raw.monitor_time.is_some(), raw.errors.is_some() || raw.good.is_some()];
        let sli = match (&raw.monitor, &raw.monitor_time, &raw.errors, &raw.good, &raw.total) {
            _ if sources.iter().filter(|&&given| given).count() > 1 || (raw.errors.is_some() && raw.good.is_some()) => {
                self.error(Some(raw.name.span()), "an slo takes one SLI: `monitor`, `monitor-time`, or `errors` (or `good`) with `total`");
                None
            }
            (Some(monitor), None, None, None, None) | (None, Some(monitor), None, None, None) => {
                if !monitor_names.contains(monitor.as_str()) {
                    self.error(Some(monitor.span()), format!("unknown monitor `{}`", monitor.as_str()));
                }
                Some(Sli::Monitor { monitor: monitor.as_str().to_owned(), time_weighted: raw.monitor_time.is_some() })
            }
            (None, None, errors, good, Some(total)) if errors.is_some() || good.is_some() => {
                let bad = errors.as_ref().or(good.as_ref()).and_then(|query| self.log_query(query));
                let total = self.log_query(total);
                Some(Sli::Logs { bad: bad?, good_query: good.is_some(), total: total? })
            }
            (None, None, Some(query), None, None) | (None, None, None, Some(query), None) => {
                self.error(Some(query.span()), "a log SLI needs `total:` too, the log query of every line that counts");
                None
            }
            (_, _, _, _, Some(total)) if raw.errors.is_none() && raw.good.is_none() => {
                self.error(Some(total.span()), "`total:` goes with `errors:` or `good:`");
                None
            }
            _ => {
                self.error(Some(raw.name.span()), "an slo needs an SLI: `monitor`, `monitor-time`, or `errors` (or `good`) with `total`");
                None
            }
        };
        let alerts = match &alerts {
            None => vigil_core::slo::default_alerts(period),
            Some(RawSloAlerts::Named(text)) if text.as_str() == "default" => vigil_core::slo::default_alerts(period),
            Some(RawSloAlerts::Named(text)) => {
                self.error(Some(text.span()), format!("unknown alerts `{}`, expected `default` or a list", text.as_str()));
                Vec::new()
            }
            Some(RawSloAlerts::List(list)) => list.iter().filter_map(|alert| self.burn_alert(alert, window, period)).collect(),
        };
        Some(SloConfig {
            name: name?,
            service: raw.service,
            description: raw.description,
            objective: objective?,
            window,
            sli: sli?,
            labels: raw.labels,
            annotations: raw.annotations,
            alerts,
        })
    }

    fn log_query(&mut self, text: &Spanned<String>) -> Option<LogQuery> {
        match vigil_logql::parse(text) {
            Ok(vigil_logql::Expr::Log(expr)) => Some(LogQuery { text: text.as_str().to_owned(), expr }),
            Ok(vigil_logql::Expr::Metric(_)) => {
                self.error(
                    Some(text.span()),
                    "an SLI takes a log query (a stream selector and a pipeline, no range or aggregation), e.g. {app=\"api\"} | json | status >= 500",
                );
                None
            }
            Err(error) => {
                self.error(Some(text.span()), format!("invalid log query: {error}"));
                None
            }
        }
    }

    fn burn_alert(&mut self, raw: &RawBurnAlert, window: Duration, period: i64) -> Option<vigil_core::slo::BurnAlert> {
        use vigil_core::slo::{BurnAlert, Factor, Tier};
        let tier = match raw.severity.as_str() {
            "page" => Some(Tier::Page),
            "ticket" => Some(Tier::Ticket),
            other => {
                self.error(Some(raw.severity.span()), format!("unknown severity `{other}`, expected `page` or `ticket`"));
                None
            }
        };
        let long = self.duration(Some(&raw.long), Duration::from_secs(3600));
        let short = self.duration(Some(&raw.short), Duration::from_secs(300));
        if short >= long {
            self.error(Some(raw.short.span()), "the short window must be shorter than the long one");
        }
        if long > window {
            self.error(Some(raw.long.span()), "the long window must not be longer than the slo's window");
        }
        let (long_ms, short_ms) =
            (i64::try_from(long.as_millis()).unwrap_or(i64::MAX), i64::try_from(short.as_millis()).unwrap_or(i64::MAX));
        let factor = match (&raw.burn_rate, &raw.budget) {
            (Some(rate), None) => Factor::parse(rate).map_err(|error| self.error(Some(rate.span()), error)).ok(),
            (None, Some(budget)) => {
                let share = budget.as_str().trim().strip_suffix('%').and_then(|number| number.trim().parse::<u32>().ok());
                match share {
                    Some(share) if (1..=100).contains(&share) => {
                        Some(BurnAlert::consuming(Tier::Page, long_ms, short_ms, share, period).factor)
                    }
                    _ => {
                        self.error(Some(budget.span()), "budget must be a whole percentage from 1% to 100%, e.g. 2%");
                        None
                    }
                }
            }
            _ => {
                self.error(Some(raw.severity.span()), "a burn alert takes `burn-rate:` or `budget:`, one of them");
                None
            }
        };
        Some(BurnAlert { tier: tier?, long: long_ms, short: short_ms, factor: factor? })
    }

    fn threshold_or(&mut self, value: Option<&Spanned<i64>>, default: Option<Threshold>) -> Threshold {
        match value {
            None => default.unwrap_or_default(),
            Some(_) => self.threshold(value),
        }
    }

    fn threshold(&mut self, value: Option<&Spanned<i64>>) -> Threshold {
        let Some(value) = value else { return Threshold::default() };
        Threshold::new(**value).unwrap_or_else(|error| {
            self.error(Some(value.span()), error.to_string());
            Threshold::default()
        })
    }

    fn monitor(&mut self, raw: RawMonitor, notifier_names: &BTreeSet<String>, action_names: &BTreeSet<String>) -> Option<MonitorConfig> {
        let name = MonitorName::parse(&raw.name).map_err(|error| self.error(Some(raw.name.span()), error.to_string())).ok();
        let checker = raw.health_check.as_ref().and_then(|text| {
            let checker = Checker::parse(text);
            if checker.is_none() {
                self.error(
                    Some(text.span()),
                    format!("unknown health-check `{}`, expected alb, nlb, k8s-readiness or haproxy", text.as_str()),
                );
            }
            checker
        });
        let preset = checker.map(Checker::preset);
        let target = self.target(&raw, preset.as_ref());
        let interval = self.duration(raw.interval.as_ref(), preset.as_ref().map_or(Duration::from_secs(60), |preset| preset.interval));
        let timeout =
            self.duration(raw.timeout.as_ref(), preset.as_ref().map_or(Duration::from_secs(10), |preset| preset.timeout).min(interval));
        if timeout > interval {
            let span = raw.timeout.as_ref().map(|timeout| *timeout.span());
            self.error(span.as_ref(), "timeout must not be longer than interval");
        }
        let retry_interval = raw.retry_interval.as_ref().map(|value| {
            let retry = self.duration(Some(value), interval);
            if retry >= interval {
                self.error(Some(value.span()), "retry-interval must be shorter than interval");
            }
            retry
        });
        let matcher = match &raw.matcher {
            Some(text) => StatusMatcher::parse(text).map_err(|error| self.error(Some(text.span()), error)).ok(),
            None => preset.as_ref().and_then(|preset| preset.matcher.clone()),
        };
        if matcher.is_some() && matches!(target, Some(Target::Tcp { .. })) && raw.matcher.is_some() {
            self.error(raw.matcher.as_ref().map(|text| text.span()), "matcher applies to HTTP monitors, not tcp://");
        }
        let mut conditions = Vec::new();
        for text in &raw.conditions {
            match Condition::parse(text) {
                Ok(condition) => {
                    if !condition.reads_response() {
                        self.warn(
                            Some(text.span()),
                            format!("condition `{condition}` has no placeholder such as [STATUS] or [BODY], so it never depends on the response"),
                        );
                    }
                    conditions.push(condition);
                }
                Err(error) => self.error(Some(text.span()), error.to_string()),
            }
        }
        if raw.conditions.is_empty() && !(matcher.is_some() && matches!(target, Some(Target::Http(_)))) {
            let default = match &target {
                Some(Target::Tcp { .. }) => "[CONNECTED] == true",
                _ => "[STATUS] == 200",
            };
            conditions.extend(Condition::parse(default).ok());
        }
        let is_http = matches!(target, Some(Target::Http(_)));
        let preset_threshold = |count: u32| Threshold::new(i64::from(count)).unwrap_or_default();
        let thresholds = Thresholds {
            failure: self
                .threshold_or(raw.failure_threshold.as_ref(), preset.as_ref().map(|preset| preset_threshold(preset.unhealthy_threshold))),
            success: self
                .threshold_or(raw.success_threshold.as_ref(), preset.as_ref().map(|preset| preset_threshold(preset.healthy_threshold))),
            first_success_is_up: preset.as_ref().is_some_and(|preset| preset.initial != InitialState::Unhealthy),
        };
        self.check_notify(&raw.notify, notifier_names);
        self.check_actions(&raw.actions, action_names);
        let labels = self.label_names(raw.labels);
        Some(MonitorConfig {
            labels,
            name: name?,
            target: target?,
            interval,
            timeout,
            retry_interval,
            conditions,
            matcher: matcher.filter(|_| is_http),
            health_check: checker,
            thresholds,
            notify: raw.notify.iter().map(|name| name.as_str().to_owned()).collect(),
            actions: raw.actions.iter().map(|name| name.as_str().to_owned()).collect(),
        })
    }

    fn target(&mut self, raw: &RawMonitor, preset: Option<&Preset>) -> Option<Target> {
        if let Some(address) = raw.url.strip_prefix("tcp://") {
            let parsed = address.rsplit_once(':').and_then(|(host, port)| {
                let port: u16 = port.parse().ok().filter(|&port| port > 0)?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                (!host.is_empty()).then(|| Target::Tcp { host: host.to_owned(), port })
            });
            if parsed.is_none() {
                let shown = vigil_core::redact::url(raw.url.as_str());
                self.error(Some(raw.url.span()), format!("invalid TCP address `{shown}`, expected tcp://HOST:PORT"));
            }
            return parsed;
        }
        let url = self.http_url(&raw.url)?;
        if preset.is_some_and(|preset| preset.matcher.is_none()) && raw.matcher.is_none() {
            // A TCP checker (an NLB's default) connects to the URL's host and port.
            let https = url.scheme_str() == Some("https");
            let host = url.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
            return Some(Target::Tcp { host, port: url.port_u16().unwrap_or(if https { 443 } else { 80 }) });
        }
        let method = match &raw.method {
            Some(method) => match http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()) {
                Ok(method) => method,
                Err(_) => {
                    self.error(Some(method.span()), format!("invalid HTTP method `{}`", method.as_str()));
                    return None;
                }
            },
            None => http::Method::GET,
        };
        let mut headers = raw.headers.clone();
        let has = |headers: &BTreeMap<String, String>, name: &str| headers.keys().any(|key| key.eq_ignore_ascii_case(name));
        if let Some(preset) = preset.filter(|preset| !preset.user_agent.is_empty()) {
            if !has(&headers, "user-agent") {
                headers.insert("User-Agent".to_owned(), preset.user_agent.to_owned());
            }
        }
        let host_from_address = preset.is_some_and(|preset| preset.host_is_address) && !has(&headers, "host");
        Some(Target::Http(HttpTarget {
            url,
            method,
            headers,
            body: raw.body.clone(),
            follow_redirects: raw.follow_redirects.unwrap_or(preset.is_none_or(|preset| preset.follow_redirects)),
            verify_tls: raw.verify_tls.unwrap_or(true),
            host_from_address,
        }))
    }
}

fn looks_like_address(address: &str) -> bool {
    let address = address.rsplit_once('<').map_or(address, |(_, inner)| inner.trim_end_matches('>'));
    address.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !address.contains(char::is_whitespace))
}

/// Finds the node a serde path such as `monitors[0].intervall` names; for a final key that
/// is not in the struct (an unknown key) this is the key itself.
fn span_of_path(root: &Node, path: &str) -> Option<Span> {
    let mut node = root;
    let mut span = root.as_mapping().and_then(|mapping| mapping.keys().next()).map_or(*root.span(), |key| *key.span());
    for part in path.split('.') {
        let (key, indices) = part.split_once('[').map_or((part, ""), |(key, rest)| (key, rest));
        if !key.is_empty() && key != "?" {
            let mapping = node.as_mapping()?;
            let (found_key, value) = mapping.iter().find(|(candidate, _)| candidate.as_str() == key)?;
            span = *found_key.span();
            node = value;
        }
        for index in indices.split('[').filter(|index| !index.is_empty()) {
            let index: usize = index.trim_end_matches(']').parse().ok()?;
            node = node.as_sequence()?.get(index)?;
            // A mapping's own mark sits after its first key; its first key reads better.
            span = node.as_mapping().and_then(|mapping| mapping.keys().next()).map_or(*node.span(), |key| *key.span());
        }
    }
    Some(span)
}
