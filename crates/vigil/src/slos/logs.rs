//! The log SLIs of several SLOs compiled together: each distinct query once, each asked at
//! most once per line, the usual `| json` queries sharing one walk of the line
//! ([`vigil_logql::eval::queries::QuerySet`]). `vigil run` and `vigil slo backtest` read
//! lines through the same one; in `vigil run` the rules' queries join the set, so rules
//! and SLOs read each line once.

use vigil_config::Sli;
use vigil_logql::eval::pipeline::Labels;
use vigil_logql::eval::queries::{LineState, QuerySet};
use vigil_logql::eval::Asked;
use vigil_logql::LogExpr;

/// Compiled log SLIs.
#[derive(Debug, Default)]
pub struct LogSlis {
    queries: QuerySet,
    slis: Vec<Compiled>,
    /// Per query: whether it selects the stream being read.
    selected: Vec<bool>,
    line: LineState,
}

#[derive(Debug, Clone, Copy)]
struct Compiled {
    total: usize,
    bad: usize,
    good_query: bool,
}

impl LogSlis {
    pub fn new() -> LogSlis {
        LogSlis::default()
    }

    /// Compiles `sli` if it reads logs; its index for [`LogSlis::classify`].
    pub fn add(&mut self, sli: &Sli) -> Option<usize> {
        let Sli::Logs { bad, good_query, total } = sli else { return None };
        let compiled = Compiled { total: self.queries.add(&total.expr), bad: self.queries.add(&bad.expr), good_query: *good_query };
        self.slis.push(compiled);
        Some(self.slis.len() - 1)
    }

    pub fn is_empty(&self) -> bool {
        self.slis.is_empty()
    }

    /// Adds a rule's range query, to be asked with the SLIs' and read with them (one JSON
    /// read of each line for all); its index for [`LogSlis::ask`], when it is of the
    /// usual shape the set answers for (else the rule's pipeline does).
    pub fn add_query(&mut self, expr: &LogExpr) -> Option<usize> {
        let index = self.queries.add(expr);
        self.queries.is_shared_json(index).then_some(index)
    }

    /// Whether query `index` (from [`LogSlis::add_query`]) keeps the line begun last.
    pub fn ask(&mut self, index: usize, stream: &Labels, line: &str) -> Asked {
        Asked::of(&self.queries, &mut self.line, index, stream, line)
    }

    /// Starts reading the lines of a stream with these labels.
    pub fn select(&mut self, stream: &Labels) {
        self.selected = (0..self.queries.len()).map(|query| self.queries.selects(query, stream)).collect();
        self.queries.stream(&mut self.line, stream);
    }

    /// Starts a line (of the stream selected last).
    pub fn begin_line(&mut self) {
        self.queries.begin(&mut self.line);
    }

    /// Whether SLI `index` counts the line, and if so whether it is bad.
    pub fn classify(&mut self, index: usize, stream: &Labels, line: &str) -> Option<bool> {
        let sli = self.slis[index];
        if !self.selected[sli.total] || !self.queries.keeps(&mut self.line, sli.total, stream, line) {
            return None;
        }
        let kept = self.selected[sli.bad] && self.queries.keeps(&mut self.line, sli.bad, stream, line);
        Some(kept != sli.good_query)
    }
}
