//! Other tools' configs into Vigil's YAML: `vigil import openslo` (in `openslo.rs`),
//! and here `vigil import alertmanager FILE`: an Alertmanager config in, Vigil's YAML
//! out — the global SMTP settings, the route tree, receivers with their email, webhook, Slack,
//! PagerDuty and SNS configs (as notifiers), inhibit rules and time intervals — and a
//! list of what could not be carried over. Secrets are never copied: each becomes a
//! `${VAR}` reference, and the list says which variables to set.

use marked_yaml::types::{MarkedMappingNode, MarkedSequenceNode};
use marked_yaml::Node;

mod openslo;

pub use openslo::openslo;

/// A YAML value as written out, in order.
#[derive(Debug, Clone)]
enum Y {
    Map(Vec<(String, Y)>),
    List(Vec<Y>),
    /// Written as a JSON string (valid YAML, every character escaped as needed).
    Str(String),
    /// Written as is: numbers and booleans.
    Raw(String),
}

impl Y {
    fn write(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        match self {
            Y::Map(entries) => {
                for (key, value) in entries {
                    match value {
                        Y::Map(inner) if inner.is_empty() => out.push_str(&format!("{pad}{key}: {{}}\n")),
                        Y::List(items) if items.is_empty() => out.push_str(&format!("{pad}{key}: []\n")),
                        Y::Map(_) | Y::List(_) => {
                            out.push_str(&format!("{pad}{key}:\n"));
                            value.write(out, indent + 2);
                        }
                        scalar => out.push_str(&format!("{pad}{key}: {}\n", scalar.scalar())),
                    }
                }
            }
            Y::List(items) => {
                for item in items {
                    match item {
                        Y::Map(entries) if !entries.is_empty() => {
                            let mut inner = String::new();
                            item.write(&mut inner, indent + 2);
                            let trimmed = inner.trim_start_matches(' ');
                            out.push_str(&format!("{pad}- {trimmed}"));
                        }
                        Y::List(_) => {
                            out.push_str(&format!("{pad}-\n"));
                            item.write(out, indent + 2);
                        }
                        Y::Map(_) => out.push_str(&format!("{pad}- {{}}\n")),
                        scalar => out.push_str(&format!("{pad}- {}\n", scalar.scalar())),
                    }
                }
            }
            scalar => out.push_str(&format!("{pad}{}\n", scalar.scalar())),
        }
    }

    fn scalar(&self) -> String {
        match self {
            Y::Str(text) => serde_json::to_string(text).unwrap_or_default(),
            Y::Raw(text) => text.clone(),
            _ => String::new(),
        }
    }
}

/// What the translation produced.
#[derive(Debug)]
pub struct Imported {
    /// Vigil's YAML.
    pub yaml: String,
    /// What was not carried over, and the variables to set; one line each.
    pub notes: Vec<String>,
}

struct Importer {
    notes: Vec<String>,
    notifiers: Vec<(String, Y)>,
    /// Environment variables the output refers to, with what each must hold.
    secrets: Vec<(String, String)>,
}

fn text(node: Option<&Node>) -> Option<String> {
    node.and_then(Node::as_scalar).map(|scalar| scalar.as_str().to_owned())
}

fn strings(node: Option<&Node>) -> Vec<String> {
    match node {
        Some(Node::Sequence(items)) => items.iter().filter_map(|item| text(Some(item))).collect(),
        Some(Node::Scalar(scalar)) => vec![scalar.as_str().to_owned()],
        _ => Vec::new(),
    }
}

fn list(items: Vec<String>) -> Y {
    Y::List(items.into_iter().map(Y::Str).collect())
}

/// A Prometheus duration (`1w`, `2y`, `90s`) in Vigil's units (no `w` or `y`).
fn duration(value: &str) -> String {
    let mut total_ms: u128 = 0;
    let mut rest = value.trim();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].bytes().take_while(u8::is_ascii_alphabetic).count();
        let (Ok(number), true) = (rest[..digits].parse::<u128>(), digits > 0) else { return value.to_owned() };
        let ms = match &rest[digits..digits + unit] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return value.to_owned(),
        };
        total_ms += number * ms;
        rest = &rest[digits + unit..];
    }
    let units: [(u128, &str); 5] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    let mut out = String::new();
    let mut left = total_ms;
    for (size, unit) in units {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if out.is_empty() {
        "0s".to_owned()
    } else {
        out
    }
}

/// An environment variable name from parts: `ONCALL_EMAIL_PASSWORD`.
fn variable(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|part| part.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect::<String>())
        .collect::<Vec<_>>()
        .join("_")
}

impl Importer {
    fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    fn secret(&mut self, name: String, what: String) -> Y {
        let reference = format!("${{{name}}}");
        self.secrets.push((name, what));
        Y::Str(reference)
    }

    /// Keys of `map` not in `known`, noted as not carried over.
    fn unknown(&mut self, map: &MarkedMappingNode, known: &[&str], context: &str) {
        for (key, _) in map.iter() {
            if !known.contains(&key.as_str()) {
                self.note(format!("{context}: `{}` is not carried over", key.as_str()));
            }
        }
    }

    fn matchers(&mut self, map: &MarkedMappingNode, prefix: &str, out: &mut Vec<(String, Y)>) {
        let key = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}_{name}") };
        let dashed = |name: &str| key(name).replace('_', "-");
        let matchers = strings(map.get_node(&key("matchers")));
        if !matchers.is_empty() {
            out.push((dashed("matchers"), list(matchers)));
        }
        for kind in ["match", "match_re"] {
            if let Some(inner) = map.get_mapping(&key(kind)) {
                let entries =
                    inner.iter().map(|(name, value)| (name.as_str().to_owned(), Y::Str(text(Some(value)).unwrap_or_default()))).collect();
                out.push((dashed(kind), Y::Map(entries)));
            }
        }
    }

    fn route(&mut self, map: &MarkedMappingNode, depth: usize) -> Y {
        let mut out = Vec::new();
        if let Some(receiver) = text(map.get_node("receiver")) {
            out.push(("receiver".to_owned(), Y::Str(receiver)));
        }
        self.matchers(map, "", &mut out);
        if text(map.get_node("continue")).as_deref() == Some("true") {
            out.push(("continue".to_owned(), Y::Raw("true".to_owned())));
        }
        if map.get_node("group_by").is_some() {
            out.push(("group-by".to_owned(), list(strings(map.get_node("group_by")))));
        }
        for timer in ["group_wait", "group_interval", "repeat_interval"] {
            if let Some(value) = text(map.get_node(timer)) {
                out.push((timer.replace('_', "-"), Y::Str(duration(&value))));
            }
        }
        for intervals in ["mute_time_intervals", "active_time_intervals"] {
            let names = strings(map.get_node(intervals));
            if !names.is_empty() {
                out.push((intervals.replace('_', "-"), list(names)));
            }
        }
        if let Some(routes) = map.get_sequence("routes") {
            let children: Vec<Y> = routes.iter().filter_map(Node::as_mapping).map(|child| self.route(child, depth + 1)).collect();
            out.push(("routes".to_owned(), Y::List(children)));
        }
        let known = [
            "receiver",
            "matchers",
            "match",
            "match_re",
            "continue",
            "group_by",
            "group_wait",
            "group_interval",
            "repeat_interval",
            "mute_time_intervals",
            "active_time_intervals",
            "routes",
        ];
        self.unknown(map, &known, &format!("route (depth {depth})"));
        Y::Map(out)
    }

    fn notifier(&mut self, name: String, body: Vec<(String, Y)>) -> String {
        self.notifiers.push((name.clone(), Y::Map(body)));
        name
    }

    fn receiver(&mut self, map: &MarkedMappingNode, global: Option<&MarkedMappingNode>) -> Y {
        let name = text(map.get_node("name")).unwrap_or_default();
        let global_text = |key: &str| global.and_then(|global| text(global.get_node(key)));
        let mut notify = Vec::new();
        let configs = |key: &str| {
            map.get_sequence(key).map(|items| items.iter().filter_map(Node::as_mapping).cloned().collect::<Vec<_>>()).unwrap_or_default()
        };
        let suffix = |kind: &str, index: usize, count: usize| {
            if count > 1 {
                format!("{name}-{kind}-{}", index + 1)
            } else {
                format!("{name}-{kind}")
            }
        };

        let emails = configs("email_configs");
        for (index, config) in emails.iter().enumerate() {
            let notifier = suffix("email", index, emails.len());
            let smarthost = text(config.get_node("smarthost")).or_else(|| global_text("smtp_smarthost")).unwrap_or_default();
            let (host, port) =
                smarthost.rsplit_once(':').map_or((smarthost.clone(), None), |(host, port)| (host.to_owned(), Some(port.to_owned())));
            let mut body = vec![("type".to_owned(), Y::Str("email".to_owned())), ("smtp-host".to_owned(), Y::Str(host))];
            if let Some(port) = &port {
                body.push(("smtp-port".to_owned(), Y::Raw(port.clone())));
            }
            let require_tls =
                text(config.get_node("require_tls")).or_else(|| global_text("smtp_require_tls")).unwrap_or_else(|| "true".to_owned());
            let tls = match (port.as_deref(), require_tls.as_str()) {
                (Some("465"), _) => "tls",
                (_, "false") => "none",
                _ => "starttls",
            };
            body.push(("tls".to_owned(), Y::Str(tls.to_owned())));
            if let Some(username) = text(config.get_node("auth_username")).or_else(|| global_text("smtp_auth_username")) {
                body.push(("username".to_owned(), Y::Str(username)));
                let has_password = config.get_node("auth_password").is_some() || global_text("smtp_auth_password").is_some();
                let variable = variable(&[&notifier, "password"]);
                body.push(("password".to_owned(), self.secret(variable, format!("the SMTP password of `{notifier}`"))));
                if !has_password {
                    self.note(format!("{notifier}: no auth_password in the file (auth_password_file?); set the variable anyway"));
                }
            }
            let from = text(config.get_node("from")).or_else(|| global_text("smtp_from")).unwrap_or_default();
            body.push(("from".to_owned(), Y::Str(from)));
            let to: Vec<String> = text(config.get_node("to"))
                .unwrap_or_default()
                .split(',')
                .map(|to| to.trim().to_owned())
                .filter(|to| !to.is_empty())
                .collect();
            body.push(("to".to_owned(), list(to)));
            if text(config.get_node("send_resolved")).as_deref() != Some("true") {
                self.note(format!(
                    "{notifier}: Alertmanager sends e-mail no resolved notice by default; Vigil's notifiers always send one"
                ));
            }
            self.unknown(
                config,
                &["to", "from", "smarthost", "auth_username", "auth_password", "require_tls", "send_resolved"],
                &format!("receiver `{name}` email_configs"),
            );
            notify.push(self.notifier(notifier, body));
        }
        let webhooks = configs("webhook_configs");
        for (index, config) in webhooks.iter().enumerate() {
            let notifier = suffix("webhook", index, webhooks.len());
            let url = text(config.get_node("url")).unwrap_or_default();
            let mut body = vec![("type".to_owned(), Y::Str("webhook".to_owned())), ("url".to_owned(), Y::Str(url))];
            if let Some(http) = config.get_mapping("http_config") {
                let bearer = http.get_mapping("authorization").and_then(|auth| auth.get_node("credentials")).is_some()
                    || http.get_node("bearer_token").is_some();
                if bearer {
                    let variable = variable(&[&notifier, "token"]);
                    let value = self.secret(variable, format!("the bearer token of `{notifier}`"));
                    let header = match value {
                        Y::Str(reference) => Y::Str(format!("Bearer {reference}")),
                        other => other,
                    };
                    body.push(("headers".to_owned(), Y::Map(vec![("Authorization".to_owned(), header)])));
                }
                self.unknown(http, &["authorization", "bearer_token"], &format!("receiver `{name}` webhook http_config"));
            }
            if config.get_node("url_file").is_some() {
                self.note(format!("{notifier}: url_file is not carried over; put the URL in the config"));
            }
            self.unknown(
                config,
                &["url", "url_file", "send_resolved", "http_config", "max_alerts"],
                &format!("receiver `{name}` webhook_configs"),
            );
            notify.push(self.notifier(notifier, body));
        }
        let slacks = configs("slack_configs");
        for (index, _config) in slacks.iter().enumerate() {
            let notifier = suffix("slack", index, slacks.len());
            let variable = variable(&[&notifier, "webhook_url"]);
            let url = self.secret(variable, format!("the Slack incoming-webhook URL of `{notifier}`"));
            let body = vec![("type".to_owned(), Y::Str("slack".to_owned())), ("webhook-url".to_owned(), url)];
            self.note(format!("{notifier}: the channel, title and text templates are not carried over (Vigil writes its own message)"));
            notify.push(self.notifier(notifier, body));
        }
        let pagers = configs("pagerduty_configs");
        for (index, config) in pagers.iter().enumerate() {
            let notifier = suffix("pagerduty", index, pagers.len());
            let variable = variable(&[&notifier, "routing_key"]);
            let key = self.secret(variable, format!("the PagerDuty routing key of `{notifier}`"));
            let mut body = vec![("type".to_owned(), Y::Str("pagerduty".to_owned())), ("routing-key".to_owned(), key)];
            if let Some(url) = text(config.get_node("url")) {
                body.push(("url".to_owned(), Y::Str(url)));
            }
            if config.get_node("service_key").is_some() {
                self.note(format!("{notifier}: service_key (Events API v1) becomes routing-key (Events API v2)"));
            }
            notify.push(self.notifier(notifier, body));
        }
        let sns = configs("sns_configs");
        for (index, config) in sns.iter().enumerate() {
            let notifier = suffix("sns", index, sns.len());
            let mut body = vec![("type".to_owned(), Y::Str("sns".to_owned()))];
            body.push(("topic-arn".to_owned(), Y::Str(text(config.get_node("topic_arn")).unwrap_or_default())));
            if let Some(region) = config.get_mapping("sigv4").and_then(|sigv4| text(sigv4.get_node("region"))) {
                body.push(("region".to_owned(), Y::Str(region)));
            }
            notify.push(self.notifier(notifier, body));
        }
        let known = ["name", "email_configs", "webhook_configs", "slack_configs", "pagerduty_configs", "sns_configs"];
        self.unknown(map, &known, &format!("receiver `{name}`"));
        let mut out = vec![("name".to_owned(), Y::Str(name))];
        out.push(("notify".to_owned(), list(notify)));
        Y::Map(out)
    }

    fn inhibit(&mut self, map: &MarkedMappingNode) -> Y {
        let mut out = Vec::new();
        self.matchers(map, "source", &mut out);
        self.matchers(map, "target", &mut out);
        let equal = strings(map.get_node("equal"));
        if !equal.is_empty() {
            out.push(("equal".to_owned(), list(equal)));
        }
        let known =
            ["source_matchers", "target_matchers", "source_match", "source_match_re", "target_match", "target_match_re", "equal", "name"];
        self.unknown(map, &known, "inhibit rule");
        Y::Map(out)
    }

    fn intervals(&mut self, entries: &MarkedSequenceNode) -> Vec<Y> {
        let mut out = Vec::new();
        for entry in entries.iter().filter_map(Node::as_mapping) {
            let mut named = vec![("name".to_owned(), Y::Str(text(entry.get_node("name")).unwrap_or_default()))];
            let mut list_out = Vec::new();
            for interval in entry
                .get_sequence("time_intervals")
                .map(|items| items.iter().filter_map(Node::as_mapping).collect::<Vec<_>>())
                .unwrap_or_default()
            {
                let mut fields = Vec::new();
                if let Some(times) = interval.get_sequence("times") {
                    let ranges = times
                        .iter()
                        .filter_map(Node::as_mapping)
                        .map(|range| {
                            Y::Map(vec![
                                ("start-time".to_owned(), Y::Str(text(range.get_node("start_time")).unwrap_or_default())),
                                ("end-time".to_owned(), Y::Str(text(range.get_node("end_time")).unwrap_or_default())),
                            ])
                        })
                        .collect();
                    fields.push(("times".to_owned(), Y::List(ranges)));
                }
                for key in ["weekdays", "days_of_month", "months", "years"] {
                    if interval.get_node(key).is_some() {
                        fields.push((key.replace('_', "-"), list(strings(interval.get_node(key)))));
                    }
                }
                if let Some(location) = text(interval.get_node("location")) {
                    fields.push(("location".to_owned(), Y::Str(location)));
                }
                self.unknown(interval, &["times", "weekdays", "days_of_month", "months", "years", "location"], "time interval");
                list_out.push(Y::Map(fields));
            }
            named.push(("time-intervals".to_owned(), Y::List(list_out)));
            out.push(Y::Map(named));
        }
        out
    }
}

/// Translates Alertmanager's `alertmanager.yml`.
pub fn alertmanager(source: &str) -> Result<Imported, String> {
    let root = marked_yaml::parse_yaml(0, source).map_err(|error| format!("not YAML: {error}"))?;
    let root = root.as_mapping().ok_or("expected a mapping at the top (route:, receivers:, ...)")?;
    let mut importer = Importer { notes: Vec::new(), notifiers: Vec::new(), secrets: Vec::new() };
    let global = root.get_mapping("global");
    if let Some(global) = global {
        let known = [
            "smtp_smarthost",
            "smtp_from",
            "smtp_auth_username",
            "smtp_auth_password",
            "smtp_require_tls",
            "smtp_hello",
            "slack_api_url",
            "pagerduty_url",
        ];
        importer.unknown(global, &known, "global");
    }
    let receivers: Vec<Y> = root
        .get_sequence("receivers")
        .map(|items| items.iter().filter_map(Node::as_mapping).map(|receiver| importer.receiver(receiver, global)).collect())
        .unwrap_or_default();
    let route = root.get_mapping("route").map(|route| importer.route(route, 0));
    let inhibit: Vec<Y> = root
        .get_sequence("inhibit_rules")
        .map(|items| items.iter().filter_map(Node::as_mapping).map(|rule| importer.inhibit(rule)).collect())
        .unwrap_or_default();
    let mut intervals = Vec::new();
    for key in ["time_intervals", "mute_time_intervals"] {
        if let Some(entries) = root.get_sequence(key) {
            intervals.extend(importer.intervals(entries));
        }
    }
    importer.unknown(
        root,
        &["global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals", "templates"],
        "top level",
    );
    if root.get_node("templates").is_some() {
        importer.note("templates: not carried over; Vigil's messages are its own".to_owned());
    }

    let mut document = vec![("storage".to_owned(), Y::Str("sqlite://vigil.db".to_owned()))];
    if !importer.notifiers.is_empty() {
        document.push(("notifiers".to_owned(), Y::Map(importer.notifiers.clone())));
    }
    document.push(("receivers".to_owned(), Y::List(receivers)));
    if let Some(route) = route {
        document.push(("route".to_owned(), route));
    }
    if !inhibit.is_empty() {
        document.push(("inhibit-rules".to_owned(), Y::List(inhibit)));
    }
    if !intervals.is_empty() {
        document.push(("time-intervals".to_owned(), Y::List(intervals)));
    }
    let mut yaml = String::from("# Translated from an Alertmanager config by `vigil import alertmanager`.\n");
    Y::Map(document).write(&mut yaml, 0);
    let mut notes = importer.notes;
    for (name, what) in importer.secrets {
        notes.push(format!("set {name}: {what} (secrets are not copied)"));
    }
    Ok(Imported { yaml, notes })
}
