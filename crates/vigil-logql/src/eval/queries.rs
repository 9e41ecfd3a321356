//! Several log queries asked of the same lines "does it keep this one?", sharing their
//! work: equal queries are one, each is asked at most once per line, and queries of the
//! usual shape — line filters, one plain `| json`, label filters — share one walk of the
//! line that extracts every label any of them reads. Other shapes run their own
//! [`Pipeline`]. Either way the answer is the pipeline's: a test holds the two together.

use std::collections::BTreeSet;

use memchr::memmem::Finder;

use super::json::{extract, extract_spans, Names, Span, Wanted};
use super::pipeline::{convert, filter_view, implied_needles, line_filter, LabelView, Labels, Pipeline, ERROR_LABEL};
use crate::ast::{LabelFilter, LineFilter, LineFilterOp, LogExpr, Stage, Value};

/// A set of log queries.
#[derive(Debug, Default)]
pub struct QuerySet {
    queries: Vec<Query>,
    /// Every label a shared query reads after its `| json`.
    json_wanted: Names,
}

#[derive(Debug)]
struct Query {
    expr: LogExpr,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Line filters, then at most one plain `| json`, then label filters.
    Shared { line_filters: Vec<Substrings>, json: bool, needles: Vec<(String, Finder<'static>)>, label_filters: Vec<LabelFilter> },
    /// Any other pipeline.
    Own(Pipeline),
}

/// One query's answer for the line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Answer {
    #[default]
    NotAsked,
    /// Dropped before its `| json` (by a line filter or a missing implied needle).
    Dropped,
    Kept,
    /// Dropped by its label filters, after its `| json` if it has one.
    DroppedByLabels,
}

/// What one line has told so far: each query's answer, and the shared extraction.
#[derive(Debug, Default)]
pub struct LineState {
    /// Per query, its answer for the line.
    answers: Vec<Answer>,
    /// The usual line: wanted labels as spans of it, each with whether the stream has a
    /// label of its name (then it is `NAME_extracted`).
    spans: Vec<(Span, bool)>,
    found: Vec<Span>,
    /// Values of spans already converted for a comparison: (span, kind, value).
    converted: Vec<(usize, u8, Option<f64>)>,
    /// Per wanted name: whether the stream [`QuerySet::stream`] was last given has a
    /// label of that name (an extracted one is then `NAME_extracted`).
    renamed: Option<Vec<bool>>,
    /// Any other line, as serde's walk read it (renamed already).
    extracted: Vec<(String, String)>,
    parsed: Parsed,
    backslash: Option<bool>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Parsed {
    #[default]
    NotYet,
    Spans,
    Object,
    NotObject,
}

impl QuerySet {
    pub fn new() -> QuerySet {
        QuerySet::default()
    }

    /// Adds `expr`, unless an equal query is there already; its index either way.
    pub fn add(&mut self, expr: &LogExpr) -> usize {
        if let Some(index) = self.queries.iter().position(|query| query.expr == *expr) {
            return index;
        }
        let kind = match shared_shape(&expr.stages) {
            Some((line_filters, json, label_filters)) => {
                if json {
                    let mut wanted = self.json_wanted.set().clone();
                    for filter in &label_filters {
                        super::filter_labels(filter, &mut wanted);
                    }
                    self.json_wanted = Names::new(wanted);
                }
                let line_filters = line_filters.into_iter().map(Substrings::new).collect();
                Kind::Shared { line_filters, json, needles: implied_needles(&expr.stages), label_filters }
            }
            None => {
                // Only label filters read labels in a log query: its parsers need extract
                // no others.
                let mut wanted = BTreeSet::new();
                for stage in &expr.stages {
                    if let Stage::LabelFilter(filter) = stage {
                        super::filter_labels(filter, &mut wanted);
                    }
                }
                Kind::Own(Pipeline::extracting(expr, Some(wanted)))
            }
        };
        self.queries.push(Query { expr: expr.clone(), kind });
        self.queries.len() - 1
    }

    pub fn len(&self) -> usize {
        self.queries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// Whether query `index` selects a stream with these labels.
    pub fn selects(&self, index: usize, stream: &Labels) -> bool {
        self.queries[index].expr.selector.iter().all(|matcher| matcher.matches(stream.get(&matcher.name).map_or("", String::as_str)))
    }

    /// Starts the lines of a stream with these labels: what its labels mean for the
    /// extracted ones is worked out once, not on every line.
    pub fn stream(&self, state: &mut LineState, stream: &Labels) {
        state.renamed = Some(self.json_wanted.list().iter().map(|name| stream.contains_key(name.as_str())).collect());
    }

    /// Starts a new line: the answers of the line before are forgotten.
    pub fn begin(&self, state: &mut LineState) {
        state.answers.clear();
        state.answers.resize(self.queries.len(), Answer::NotAsked);
        state.extracted.clear();
        state.spans.clear();
        state.converted.clear();
        state.parsed = Parsed::NotYet;
        state.backslash = None;
    }

    /// Whether query `index` reads the line with the shared walk (line filters, a plain
    /// `| json`, label filters) rather than a pipeline of its own.
    pub fn is_shared_json(&self, index: usize) -> bool {
        matches!(self.queries[index].kind, Kind::Shared { json: true, .. })
    }

    /// After [`QuerySet::keeps`] dropped the line for query `index`: whether it got as far
    /// as the query's `| json` and came out of it with an `__error__` label, which is
    /// when [`Pipeline::process_with`] reports a parse error. `None` when that depends on
    /// labels the set did not extract: the line has a key that could be `__error__`
    /// once sanitized (its text holds `error`), and a pipeline extracting more would add it.
    pub fn parse_error(&self, state: &mut LineState, index: usize, stream: &Labels, line: &str) -> Option<bool> {
        if state.answers.get(index) != Some(&Answer::DroppedByLabels) || !self.is_shared_json(index) || state.parsed == Parsed::NotYet {
            return Some(false);
        }
        static ERROR: std::sync::LazyLock<Finder<'static>> = std::sync::LazyLock::new(|| Finder::new("error"));
        if ERROR.find(line.as_bytes()).is_some() {
            return None;
        }
        let view = View {
            stream,
            line,
            names: self.json_wanted.list(),
            spans: if state.parsed == Parsed::Spans { &state.spans } else { &[] },
            extracted: &state.extracted,
            json_error: state.parsed == Parsed::NotObject,
            filter_error: false,
            converted: &mut state.converted,
        };
        Some(view.label(ERROR_LABEL).is_some())
    }

    /// Whether query `index` keeps `line`, of a stream it selects ([`QuerySet::selects`]),
    /// since [`QuerySet::begin`].
    pub fn keeps(&self, state: &mut LineState, index: usize, stream: &Labels, line: &str) -> bool {
        match state.answers[index] {
            Answer::Dropped | Answer::DroppedByLabels => return false,
            Answer::Kept => return true,
            Answer::NotAsked => {}
        }
        let answer = match &self.queries[index].kind {
            Kind::Own(pipeline) => {
                if pipeline.process(stream, line).is_some() {
                    Answer::Kept
                } else {
                    Answer::Dropped
                }
            }
            Kind::Shared { line_filters, json, needles, label_filters } => {
                self.keeps_shared(state, stream, line, line_filters, *json, needles, label_filters)
            }
        };
        state.answers[index] = answer;
        answer == Answer::Kept
    }

    /// Its answer for the line (never [`Answer::NotAsked`]).
    #[allow(clippy::too_many_arguments, reason = "the parts of one shared query, borrowed apart from the state")]
    fn keeps_shared(
        &self,
        state: &mut LineState,
        stream: &Labels,
        line: &str,
        line_filters: &[Substrings],
        json: bool,
        needles: &[(String, Finder<'static>)],
        label_filters: &[LabelFilter],
    ) -> Answer {
        if !line_filters.iter().all(|filter| filter.holds(line)) {
            return Answer::Dropped;
        }
        // As Pipeline::process: without a backslash, a quoted value is in the text verbatim.
        let needle_missing = |state: &mut LineState| {
            let backslash = *state.backslash.get_or_insert_with(|| memchr::memchr(b'\\', line.as_bytes()).is_some());
            let absent = |(name, needle): &(String, Finder<'static>)| !stream.contains_key(name) && needle.find(line.as_bytes()).is_none();
            !backslash && needles.iter().any(absent)
        };
        // The implied needles only spare a JSON read; once the line is read they are moot.
        if !needles.is_empty() && state.parsed == Parsed::NotYet && needle_missing(state) {
            return Answer::Dropped;
        }
        if json && state.parsed == Parsed::NotYet {
            state.found.clear();
            if extract_spans(line, &self.json_wanted, &mut state.found).is_some() {
                let names = self.json_wanted.list();
                for span in &state.found {
                    let renamed = match &state.renamed {
                        Some(renamed) => renamed[span.name],
                        None => stream.contains_key(names[span.name].as_str()),
                    };
                    state.spans.push((*span, renamed));
                }
                state.parsed = Parsed::Spans;
            } else {
                let object = extract(line, Wanted::Names(&self.json_wanted), &mut state.extracted);
                for (name, _) in &mut state.extracted {
                    if stream.contains_key(name.as_str()) {
                        name.push_str("_extracted");
                    }
                }
                state.parsed = if object { Parsed::Object } else { Parsed::NotObject };
            }
        }
        let mut view = View {
            stream,
            line,
            names: self.json_wanted.list(),
            spans: if json && state.parsed == Parsed::Spans { &state.spans } else { &[] },
            extracted: if json { &state.extracted } else { &[] },
            json_error: json && state.parsed == Parsed::NotObject,
            filter_error: false,
            converted: &mut state.converted,
        };
        if label_filters.iter().all(|filter| filter_view(filter, &mut view)) {
            Answer::Kept
        } else if state.parsed == Parsed::NotObject && !needles.is_empty() && needle_missing(state) {
            // Read by another query first; this one's pipeline would have dropped it
            // before its `| json`, without a parse error.
            Answer::Dropped
        } else {
            Answer::DroppedByLabels
        }
    }
}

/// A line filter with its `|=` and `!=` patterns' searchers built once, not on every line.
#[derive(Debug)]
struct Substrings {
    filter: LineFilter,
    finders: Vec<Finder<'static>>,
}

impl Substrings {
    fn new(filter: LineFilter) -> Substrings {
        let finders = filter.patterns.iter().map(|pattern| Finder::new(pattern.as_bytes()).into_owned()).collect();
        Substrings { filter, finders }
    }

    /// What [`line_filter`] answers.
    #[inline]
    fn holds(&self, line: &str) -> bool {
        let found = || self.finders.iter().any(|finder| finder.find(line.as_bytes()).is_some());
        match self.filter.op {
            LineFilterOp::Contains => found(),
            LineFilterOp::NotContains => !found(),
            LineFilterOp::Matches | LineFilterOp::NotMatches => line_filter(&self.filter, line),
        }
    }
}

/// `stages` as line filters, an optional plain `| json`, then label filters.
fn shared_shape(stages: &[Stage]) -> Option<(Vec<LineFilter>, bool, Vec<LabelFilter>)> {
    let mut line_filters = Vec::new();
    let mut label_filters = Vec::new();
    let mut json = false;
    for stage in stages {
        match stage {
            Stage::LineFilter(filter) if !json && label_filters.is_empty() => line_filters.push(filter.clone()),
            Stage::Json { params } if params.is_empty() && !json && label_filters.is_empty() => json = true,
            Stage::LabelFilter(filter) => label_filters.push(filter.clone()),
            _ => return None,
        }
    }
    Some((line_filters, json, label_filters))
}

/// A line's labels as the pipeline would hold them, without building the map: the
/// stream's, then `__error__` if the line is not JSON, then the extracted ones in order
/// (renamed `_extracted` where the stream has the name), then a filter's conversion
/// error; each later one over the earlier.
struct View<'a> {
    stream: &'a Labels,
    line: &'a str,
    names: &'a [String],
    spans: &'a [(Span, bool)],
    extracted: &'a [(String, String)],
    json_error: bool,
    filter_error: bool,
    converted: &'a mut Vec<(usize, u8, Option<f64>)>,
}

impl View<'_> {
    /// The span that holds label `name`, if one does.
    fn span(&self, name: &str) -> Option<usize> {
        self.spans.iter().rposition(|(span, renamed)| {
            let wanted = self.names[span.name].as_str();
            if *renamed {
                name.strip_suffix("_extracted") == Some(wanted)
            } else {
                name == wanted
            }
        })
    }
}

impl LabelView for View<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        if self.filter_error && name == ERROR_LABEL {
            return Some("LabelFilterErr");
        }
        if let Some(index) = self.span(name) {
            let (span, _) = self.spans[index];
            return Some(&self.line[span.start..span.end]);
        }
        if let Some((_, value)) = self.extracted.iter().rev().find(|(extracted, _)| extracted == name) {
            return Some(value);
        }
        if self.json_error && name == ERROR_LABEL {
            return Some("JSONParserErr");
        }
        self.stream.get(name).map(String::as_str)
    }

    fn set_filter_error(&mut self) {
        self.filter_error = true;
    }

    /// Several SLIs compare the same label (`status >= 500`): each span is converted once
    /// per kind.
    fn converted(&mut self, name: &str, value: &Value) -> Option<Option<f64>> {
        let kind = match value {
            Value::Number(_) => 0,
            Value::Duration(_) => 1,
            Value::Bytes(_) => 2,
        };
        let index = match self.span(name) {
            Some(index) if !(self.filter_error && name == ERROR_LABEL) => index,
            _ => return self.label(name).map(|text| convert(text, value)),
        };
        if let Some((_, _, known)) = self.converted.iter().find(|(span, known_kind, _)| *span == index && *known_kind == kind) {
            return Some(*known);
        }
        let (span, _) = self.spans[index];
        let known = convert(&self.line[span.start..span.end], value);
        self.converted.push((index, kind, known));
        Some(known)
    }
}

#[cfg(test)]
mod tests;
