//! The syntax tree of the LogQL subset.

use std::time::Duration;

/// A whole expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `{app="api"} |= "error" | json`: selects lines.
    Log(LogExpr),
    /// An expression that yields numbers over time.
    Metric(MetricExpr),
}

/// A stream selector followed by pipeline stages.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExpr {
    pub selector: Vec<Matcher>,
    pub stages: Vec<Stage>,
}

/// `name op "value"` in a stream selector or a string label filter.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// Compiled, anchored at both ends, for `=~` and `!~`.
    pub regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(regex)) => regex.is_match(value),
            (MatchOp::NotRegex, Some(regex)) => !regex.is_match(value),
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// One stage of a log pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `|= "a" or "b"`, `!= "a"`, `|~ "re"`, `!~ "re"`.
    LineFilter(LineFilter),
    /// `| json` or `| json label="path.to[0]"`.
    Json { params: Vec<(String, String)> },
    /// `| logfmt`, with `--strict`, `--keep-empty` and extraction params.
    Logfmt { strict: bool, keep_empty: bool, params: Vec<(String, String)> },
    /// `| pattern "<ip> - <_> \"<method> <path> <_>\" <status>"`.
    Pattern(String),
    /// `| regexp "(?P<status>\\d{3})"`.
    Regexp(String),
    /// `| status >= 500 and path = "/api/data"`.
    LabelFilter(LabelFilter),
}

#[derive(Debug, Clone)]
pub struct LineFilter {
    pub op: LineFilterOp,
    /// Alternatives joined with `or`: the filter holds if any holds (for `!=`/`!~`, if none).
    pub patterns: Vec<String>,
    /// Compiled patterns for `|~` and `!~`.
    pub regexes: Vec<regex::Regex>,
}

impl PartialEq for LineFilter {
    fn eq(&self, other: &Self) -> bool {
        self.op == other.op && self.patterns == other.patterns
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFilterOp {
    Contains,
    NotContains,
    Matches,
    NotMatches,
}

/// A label filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelFilter {
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    /// String comparison: `path = "/api/data"`, `level =~ "err.*"`.
    Match(Matcher),
    /// Numeric comparison; durations compare in seconds, byte sizes in bytes.
    Compare {
        name: String,
        op: CompareOp,
        value: Value,
    },
}

/// A literal in a numeric label filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Number(f64),
    /// Seconds.
    Duration(f64),
    Bytes(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// An expression over numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricExpr {
    /// `count_over_time({..} [10m])`, `quantile_over_time(0.99, {..} | unwrap x [5m]) by (a)`.
    Range(RangeAggregation),
    /// `sum by (path) (...)`, `topk(5, ...)`.
    Vector(VectorAggregation),
    /// Arithmetic or comparison between two expressions.
    Binary { op: BinaryOp, return_bool: bool, left: Box<MetricExpr>, right: Box<MetricExpr> },
    /// A scalar literal.
    Number(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RangeAggregation {
    pub function: RangeFunction,
    /// The φ of `quantile_over_time`.
    pub parameter: Option<f64>,
    pub log: LogExpr,
    pub unwrap: Option<Unwrap>,
    pub range: Duration,
    pub grouping: Option<Grouping>,
}

/// `| unwrap latency`, `| unwrap duration(latency)`, `| unwrap bytes(size)`, optionally
/// followed by label filters (typically `| __error__ = ""`).
#[derive(Debug, Clone, PartialEq)]
pub struct Unwrap {
    pub label: String,
    pub conversion: Conversion,
    pub filters: Vec<LabelFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// The label's value as a number.
    Number,
    /// A Go duration such as `250ms`, in seconds.
    Duration,
    /// A byte size such as `2.5KiB`, in bytes.
    Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFunction {
    CountOverTime,
    Rate,
    BytesOverTime,
    BytesRate,
    SumOverTime,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    FirstOverTime,
    LastOverTime,
    QuantileOverTime,
}

impl RangeFunction {
    pub fn parse(name: &str) -> Option<RangeFunction> {
        Some(match name {
            "count_over_time" => RangeFunction::CountOverTime,
            "rate" => RangeFunction::Rate,
            "bytes_over_time" => RangeFunction::BytesOverTime,
            "bytes_rate" => RangeFunction::BytesRate,
            "sum_over_time" => RangeFunction::SumOverTime,
            "avg_over_time" => RangeFunction::AvgOverTime,
            "min_over_time" => RangeFunction::MinOverTime,
            "max_over_time" => RangeFunction::MaxOverTime,
            "first_over_time" => RangeFunction::FirstOverTime,
            "last_over_time" => RangeFunction::LastOverTime,
            "quantile_over_time" => RangeFunction::QuantileOverTime,
            _ => return None,
        })
    }

    /// Functions over unwrapped values; the others count lines or bytes.
    pub fn needs_unwrap(self) -> bool {
        !matches!(self, RangeFunction::CountOverTime | RangeFunction::Rate | RangeFunction::BytesOverTime | RangeFunction::BytesRate)
    }

    /// `rate` also takes unwrapped values (their sum per second), as in Loki.
    pub fn allows_unwrap(self) -> bool {
        self.needs_unwrap() || self == RangeFunction::Rate
    }

    /// Loki allows `by`/`without` only on these: each group's value is not a sum, so it
    /// cannot be regrouped by a `sum` above.
    pub fn allows_grouping(self) -> bool {
        matches!(
            self,
            RangeFunction::AvgOverTime
                | RangeFunction::MinOverTime
                | RangeFunction::MaxOverTime
                | RangeFunction::FirstOverTime
                | RangeFunction::LastOverTime
                | RangeFunction::QuantileOverTime
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            RangeFunction::CountOverTime => "count_over_time",
            RangeFunction::Rate => "rate",
            RangeFunction::BytesOverTime => "bytes_over_time",
            RangeFunction::BytesRate => "bytes_rate",
            RangeFunction::SumOverTime => "sum_over_time",
            RangeFunction::AvgOverTime => "avg_over_time",
            RangeFunction::MinOverTime => "min_over_time",
            RangeFunction::MaxOverTime => "max_over_time",
            RangeFunction::FirstOverTime => "first_over_time",
            RangeFunction::LastOverTime => "last_over_time",
            RangeFunction::QuantileOverTime => "quantile_over_time",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VectorAggregation {
    pub op: VectorOp,
    /// The k of `topk`/`bottomk`.
    pub parameter: Option<f64>,
    pub grouping: Option<Grouping>,
    pub inner: Box<MetricExpr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Topk,
    Bottomk,
}

impl VectorOp {
    pub fn parse(name: &str) -> Option<VectorOp> {
        Some(match name {
            "sum" => VectorOp::Sum,
            "avg" => VectorOp::Avg,
            "min" => VectorOp::Min,
            "max" => VectorOp::Max,
            "count" => VectorOp::Count,
            "topk" => VectorOp::Topk,
            "bottomk" => VectorOp::Bottomk,
            _ => return None,
        })
    }
}

/// `by (a, b)` or `without (a)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Power,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Equal | BinaryOp::NotEqual | BinaryOp::Less | BinaryOp::LessOrEqual | BinaryOp::Greater | BinaryOp::GreaterOrEqual
        )
    }
}
