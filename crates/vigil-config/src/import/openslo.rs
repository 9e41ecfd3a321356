//! `vigil import openslo FILE`: OpenSLO v1 documents in (`SLO`, and the `SLI` and
//! `DataSource` documents they refer to), Vigil's `slos:` out, and a list of what could
//! not be mapped.
//!
//! A ratio SLI maps where its metric sources say what Vigil can count itself: a Loki
//! source whose query is a LogQL log query, or a count or rate over one
//! (`sum(count_over_time({app="api"} | json | status >= 500 [5m]))`), becomes `errors:`
//! (from `bad`) or `good:`, and `total:`; a `Vigil` source with `monitor: NAME` becomes
//! `monitor: NAME` (`monitor-time:` with the Timeslices budgeting method). Each objective
//! becomes one SLO (target or targetPercent, exact to a billionth); a rolling window in
//! whole days (`28d`, `4w`) is kept, a calendar window becomes a rolling one of its
//! length. Threshold metrics, raw ratios, other sources, alert policies and what OpenSLO
//! has beyond that are listed as not mapped.

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::Node;

use super::{text, Imported, Y};

/// One way an SLI's numerator or denominator reads events.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A LogQL log query, as Vigil writes it.
    Logs(String),
    Monitor(String),
}

struct Documents<'a> {
    slis: Vec<(String, &'a MarkedMappingNode)>,
    sources: Vec<(String, String)>,
}

/// Translates OpenSLO v1 YAML (one or several documents).
pub fn openslo(source: &str) -> Result<Imported, String> {
    let mut roots = Vec::new();
    for (index, document) in split_documents(source).iter().enumerate() {
        if document.trim().is_empty() {
            continue;
        }
        let root = marked_yaml::parse_yaml(index, document).map_err(|error| format!("not YAML: {error}"))?;
        match root {
            Node::Sequence(items) => roots.extend(items.iter().cloned()),
            other => roots.push(other),
        }
    }
    let objects: Vec<&MarkedMappingNode> = roots.iter().filter_map(Node::as_mapping).collect();
    if objects.is_empty() {
        return Err("expected OpenSLO documents (apiVersion: openslo/v1, kind: SLO, ...)".to_owned());
    }
    let name_of = |object: &MarkedMappingNode| text(object.get_mapping("metadata").and_then(|metadata| metadata.get_node("name")));
    let kind_of = |object: &MarkedMappingNode| text(object.get_node("kind")).unwrap_or_default();
    let documents = Documents {
        slis: objects.iter().filter(|object| kind_of(object) == "SLI").filter_map(|object| Some((name_of(object)?, *object))).collect(),
        sources: objects
            .iter()
            .filter(|object| kind_of(object) == "DataSource")
            .filter_map(|object| Some((name_of(object)?, text(object.get_mapping("spec")?.get_node("type"))?)))
            .collect(),
    };
    let mut notes = Vec::new();
    let mut slos = Vec::new();
    for object in &objects {
        let kind = kind_of(object);
        let name = name_of(object).unwrap_or_else(|| "(unnamed)".to_owned());
        match text(object.get_node("apiVersion")).as_deref() {
            Some("openslo/v1") => {}
            other => notes.push(format!("{kind} {name}: apiVersion {} read as openslo/v1", other.unwrap_or("(none)"))),
        }
        match kind.as_str() {
            "SLO" => slos.extend(slo(object, &name, &documents, &mut notes)),
            "SLI" | "DataSource" => {}
            "Service" => notes.push(format!("Service {name}: Vigil has no service objects; an SLO's service becomes its `service:`")),
            other => notes.push(format!("{other} {name}: not mapped (Vigil's burn alerts are the multi-window ones of the SRE Workbook)")),
        }
    }
    let mut yaml = String::from("# Translated from OpenSLO by `vigil import openslo`.\n");
    Y::Map(vec![("slos".to_owned(), Y::List(slos))]).write(&mut yaml, 0);
    Ok(Imported { yaml, notes })
}

/// Splits YAML at its `---` document markers.
fn split_documents(source: &str) -> Vec<String> {
    let mut documents = vec![String::new()];
    for line in source.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            documents.push(String::new());
        } else if let Some(current) = documents.last_mut() {
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
}

/// The Vigil SLOs of one OpenSLO SLO: one per objective.
fn slo(object: &MarkedMappingNode, name: &str, documents: &Documents<'_>, notes: &mut Vec<String>) -> Vec<Y> {
    let context = format!("SLO {name}");
    let Some(spec) = object.get_mapping("spec") else {
        notes.push(format!("{context}: no spec; not mapped"));
        return Vec::new();
    };
    let budgeting = text(spec.get_node("budgetingMethod")).unwrap_or_else(|| "Occurrences".to_owned());
    // The SLI: inline, or by name.
    let indicator = match (spec.get_mapping("indicator"), text(spec.get_node("indicatorRef"))) {
        (Some(indicator), _) => indicator.get_mapping("spec"),
        (None, Some(reference)) => match documents.slis.iter().find(|(sli, _)| *sli == reference) {
            Some((_, sli)) => sli.get_mapping("spec"),
            None => {
                notes.push(format!("{context}: indicatorRef {reference} is not among the documents; not mapped"));
                return Vec::new();
            }
        },
        (None, None) => None,
    };
    let Some(indicator) = indicator else {
        notes.push(format!("{context}: no indicator; not mapped"));
        return Vec::new();
    };
    let Some(sli) = sli(indicator, &budgeting, documents, &context, notes) else { return Vec::new() };
    if budgeting != "Occurrences" && !matches!(sli.first(), Some((key, _)) if key == "monitor-time") {
        notes.push(format!("{context}: budgetingMethod {budgeting} budgeted as Occurrences (Vigil counts events)"));
    }
    let window =
        window(spec.get_sequence("timeWindow").and_then(|windows| windows.iter().next()).and_then(Node::as_mapping), &context, notes);
    let base = vigil_name(name);
    if base != name {
        notes.push(format!("{context}: named {base} (Vigil names take letters, digits, '-', '_' and '.')"));
    }
    let objectives: Vec<&MarkedMappingNode> =
        spec.get_sequence("objectives").map(|items| items.iter().filter_map(Node::as_mapping).collect()).unwrap_or_default();
    if objectives.is_empty() {
        notes.push(format!("{context}: no objectives; not mapped"));
    }
    let labels = labels(object, &context, notes);
    let mut out = Vec::new();
    for (index, objective) in objectives.iter().enumerate() {
        let target = match (text(objective.get_node("target")), text(objective.get_node("targetPercent"))) {
            (Some(ratio), None) => ratio,
            (None, Some(percent)) => format!("{percent}%"),
            _ => {
                notes.push(format!("{context}: objective {} has neither target nor targetPercent (or both); not mapped", index + 1));
                continue;
            }
        };
        if let Err(error) = vigil_core::slo::Objective::parse(&target) {
            notes.push(format!("{context}: objective {}: {error}; not mapped", index + 1));
            continue;
        }
        if objective.get_node("op").is_some() || objective.get_node("value").is_some() {
            notes.push(format!("{context}: objective {}: op and value belong to threshold metrics; not mapped", index + 1));
        }
        let suffix = match (objectives.len(), text(objective.get_node("name")).or_else(|| text(objective.get_node("displayName")))) {
            (1, _) => String::new(),
            (_, Some(label)) => format!("-{}", vigil_name(&label.to_lowercase())),
            (_, None) => format!("-{}", index + 1),
        };
        let mut entry = vec![("name".to_owned(), Y::Str(format!("{base}{suffix}")))];
        if let Some(service) = text(spec.get_node("service")) {
            entry.push(("service".to_owned(), Y::Str(service)));
        }
        let description = text(spec.get_node("description"))
            .or_else(|| text(object.get_mapping("metadata").and_then(|metadata| metadata.get_node("displayName"))));
        if let Some(description) = description {
            entry.push(("description".to_owned(), Y::Str(description)));
        }
        entry.push(("objective".to_owned(), Y::Str(target)));
        entry.push(("window".to_owned(), Y::Str(window.clone())));
        entry.extend(sli.iter().cloned());
        if let Some(labels) = &labels {
            entry.push(("labels".to_owned(), labels.clone()));
        }
        out.push(Y::Map(entry));
    }
    if spec.get_node("alertPolicies").is_some_and(|policies| policies.as_sequence().is_some_and(|items| !items.is_empty())) {
        notes.push(format!("{context}: alertPolicies not mapped; its SLOs take Vigil's default burn-rate alerts (`vigil slo list`)"));
    }
    out
}

/// The SLI keys (`errors:`/`good:` and `total:`, or `monitor:`/`monitor-time:`).
fn sli(
    indicator: &MarkedMappingNode,
    budgeting: &str,
    documents: &Documents<'_>,
    context: &str,
    notes: &mut Vec<String>,
) -> Option<Vec<(String, Y)>> {
    if indicator.get_node("thresholdMetric").is_some() {
        notes.push(format!(
            "{context}: a thresholdMetric SLI is not mapped (Vigil counts good and bad events; a latency threshold is an `errors:` query such as '... | duration > 300ms')"
        ));
        return None;
    }
    let Some(ratio) = indicator.get_mapping("ratioMetric") else {
        notes.push(format!("{context}: the indicator has no ratioMetric; not mapped"));
        return None;
    };
    if ratio.get_node("raw").is_some() {
        notes.push(format!("{context}: a raw (precomputed) ratio is not mapped: Vigil needs the events"));
        return None;
    }
    let side = |key: &str| ratio.get_mapping(key).and_then(|side| side.get_mapping("metricSource"));
    let (numerator_key, numerator) = match (side("good"), side("bad")) {
        (Some(good), None) => ("good", good),
        (None, Some(bad)) => ("errors", bad),
        _ => {
            notes.push(format!("{context}: the ratio needs good or bad (one of them); not mapped"));
            return None;
        }
    };
    let Some(total) = side("total") else {
        notes.push(format!("{context}: the ratio has no total; not mapped"));
        return None;
    };
    let numerator = metric_source(numerator, documents, context, notes)?;
    let total = metric_source(total, documents, context, notes)?;
    match (numerator, total) {
        (Source::Logs(numerator), Source::Logs(total)) => {
            Some(vec![(numerator_key.to_owned(), Y::Str(numerator)), ("total".to_owned(), Y::Str(total))])
        }
        (Source::Monitor(numerator), Source::Monitor(total)) if numerator == total => {
            let key = if budgeting == "Timeslices" { "monitor-time" } else { "monitor" };
            Some(vec![(key.to_owned(), Y::Str(numerator))])
        }
        _ => {
            notes.push(format!("{context}: good/bad and total read different things; not mapped"));
            None
        }
    }
}

/// What one metric source counts, if Vigil can count it.
fn metric_source(source: &MarkedMappingNode, documents: &Documents<'_>, context: &str, notes: &mut Vec<String>) -> Option<Source> {
    let kind = text(source.get_node("type")).or_else(|| {
        let reference = text(source.get_node("metricSourceRef"))?;
        documents.sources.iter().find(|(name, _)| *name == reference).map(|(_, kind)| kind.clone())
    });
    let spec = source.get_mapping("spec");
    let lower = kind.as_deref().map(str::to_ascii_lowercase);
    match (lower.as_deref(), kind.as_deref()) {
        (Some("loki"), _) => {
            let query = spec.and_then(|spec| text(spec.get_node("query")).or_else(|| text(spec.get_node("logql"))));
            let Some(query) = query else {
                notes.push(format!("{context}: a Loki source without a query; not mapped"));
                return None;
            };
            match log_query(&query) {
                Ok(log) => Some(Source::Logs(log)),
                Err(why) => {
                    notes.push(format!("{context}: Loki query `{query}`: {why}; not mapped"));
                    None
                }
            }
        }
        (Some("vigil"), _) => match spec.and_then(|spec| text(spec.get_node("monitor"))) {
            Some(monitor) => Some(Source::Monitor(monitor)),
            None => {
                notes.push(format!("{context}: a Vigil source needs `monitor: NAME`; not mapped"));
                None
            }
        },
        (_, Some(other)) => {
            let hint = if spec.and_then(|spec| text(spec.get_node("query"))).is_some_and(|query| query.contains("probe_success")) {
                " (a probe: watch it with a Vigil monitor and give the SLO `monitor: NAME`)"
            } else {
                ""
            };
            notes.push(format!("{context}: a {other} source is not mapped: Vigil counts its own checks and log lines{hint}"));
            None
        }
        _ => {
            notes.push(format!("{context}: a metric source without a type (nor a DataSource that gives one); not mapped"));
            None
        }
    }
}

/// The log query of a LogQL log query, or of a count or rate over one.
fn log_query(query: &str) -> Result<String, String> {
    use vigil_logql::{Expr, MetricExpr, RangeFunction};
    match vigil_logql::parse(query).map_err(|error| error.to_string())? {
        Expr::Log(_) => Ok(query.trim().to_owned()),
        Expr::Metric(metric) => {
            let mut expr = &metric;
            loop {
                match expr {
                    MetricExpr::Vector(vector) => expr = &vector.inner,
                    MetricExpr::Range(range)
                        if matches!(range.function, RangeFunction::CountOverTime | RangeFunction::Rate) && range.unwrap.is_none() =>
                    {
                        return inner_log_text(query, &range.log).ok_or_else(|| "its log query could not be read out".to_owned());
                    }
                    _ => return Err("not a log query, nor a count or rate over one".to_owned()),
                }
            }
        }
    }
}

/// The text of the one log query inside a range aggregation: from its selector's `{` to
/// the `[` of the range (outside quotes), checked by parsing it back to `expected`.
fn inner_log_text(query: &str, expected: &vigil_logql::LogExpr) -> Option<String> {
    let start = query.find('{')?;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut end = None;
    for (offset, c) in query[start..].char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some('"'), '\\') => escaped = true,
            (Some(open), c) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`') => quote = Some(c),
            (None, '[') => {
                end = Some(start + offset);
                break;
            }
            (None, _) => {}
        }
    }
    let text = query[start..end?].trim();
    match vigil_logql::parse(text) {
        Ok(vigil_logql::Expr::Log(log)) if log == *expected => Some(text.to_owned()),
        _ => None,
    }
}

/// A rolling window in whole days.
fn window(window: Option<&MarkedMappingNode>, context: &str, notes: &mut Vec<String>) -> String {
    let Some(window) = window else {
        notes.push(format!("{context}: no timeWindow; 30d"));
        return "30d".to_owned();
    };
    let duration = text(window.get_node("duration")).unwrap_or_default();
    let rolling = text(window.get_node("isRolling")).as_deref() == Some("true") && window.get_node("calendar").is_none();
    let (number, unit) = duration.split_at(duration.find(|c: char| !c.is_ascii_digit()).unwrap_or(duration.len()));
    let days = number.parse::<u64>().ok().and_then(|number| match unit {
        "d" => Some(number),
        "w" => Some(number * 7),
        "M" => Some(number * 30),
        "Q" => Some(number * 90),
        _ => None,
    });
    let days = match days {
        Some(days @ 1..=90) => days,
        _ => {
            notes.push(format!("{context}: timeWindow {duration} is not whole days from 1d to 90d; 30d"));
            30
        }
    };
    if matches!(unit, "M" | "Q") {
        notes.push(format!("{context}: timeWindow {duration} read as {days}d"));
    }
    if !rolling {
        notes.push(format!("{context}: a calendar-aligned window becomes a rolling {days}d one (Vigil's windows roll)"));
    }
    format!("{days}d")
}

fn labels(object: &MarkedMappingNode, context: &str, notes: &mut Vec<String>) -> Option<Y> {
    let labels = object.get_mapping("metadata")?.get_mapping("labels")?;
    let mut out = Vec::new();
    for (name, value) in labels.iter() {
        let value = match value {
            Node::Sequence(items) => {
                let values: Vec<String> = items.iter().filter_map(|item| text(Some(item))).collect();
                if values.len() > 1 {
                    notes.push(format!("{context}: label {} has several values, joined with ','", name.as_str()));
                }
                values.join(",")
            }
            other => text(Some(other)).unwrap_or_default(),
        };
        out.push((name.as_str().to_owned(), Y::Str(value)));
    }
    (!out.is_empty()).then_some(Y::Map(out))
}

/// A name Vigil accepts: letters, digits, `-`, `_`, `.`; anything else becomes `-`.
fn vigil_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests;
