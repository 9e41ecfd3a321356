//! The routing tree, with Alertmanager's semantics (`dispatch/route.go`): a route
//! matches when all its matchers do; its children are tried in order, the first match
//! stops the search unless that child has `continue`; when no child matches, the route
//! itself does. Receiver, grouping and timers are inherited from the parent unless set;
//! mute and active time intervals are not.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::matcher::{self, Matcher};

/// How alerts of a route are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// By these labels (none: one group for the route).
    Labels(BTreeSet<String>),
    /// `[...]`: by every label, so each alert is its own group.
    All,
}

/// One route as configured; `None` inherits.
#[derive(Debug, Clone, Default)]
pub struct RouteSpec {
    pub receiver: Option<String>,
    /// `matchers`, `match` (as `=`) and `match-re` (as `=~`) together.
    pub matchers: Vec<Matcher>,
    pub continue_matching: bool,
    pub group_by: Option<GroupBy>,
    pub group_wait: Option<Duration>,
    pub group_interval: Option<Duration>,
    pub repeat_interval: Option<Duration>,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    /// Whether the alerts it takes open incidents; children inherit it.
    pub incident: Option<vigil_core::incident::IncidentSetting>,
    pub routes: Vec<RouteSpec>,
}

/// A route's settings after inheritance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOptions {
    pub receiver: String,
    pub group_by: GroupBy,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    /// Inherited from the nearest route that says.
    pub incident: Option<vigil_core::incident::IncidentSetting>,
}

impl RouteOptions {
    /// Why this route sends nothing at `at_ms`, if it does not: inside one of its mute
    /// intervals, or outside all of its active ones. Unknown names hold never.
    pub fn muted_at(&self, intervals: &BTreeMap<String, Vec<crate::interval::TimeInterval>>, at_ms: i64) -> Option<String> {
        let holds = |name: &String| intervals.get(name).is_some_and(|list| crate::interval::any_contains(list, at_ms));
        if let Some(name) = self.mute_time_intervals.iter().find(|name| holds(name)) {
            return Some(format!("muted during `{name}`"));
        }
        if !self.active_time_intervals.is_empty() && !self.active_time_intervals.iter().any(holds) {
            return Some(format!("outside its active time intervals ({})", self.active_time_intervals.join(", ")));
        }
        None
    }
}

impl Default for RouteOptions {
    /// Alertmanager's defaults: group-wait 30s, group-interval 5m, repeat-interval 4h.
    fn default() -> RouteOptions {
        RouteOptions {
            receiver: String::new(),
            group_by: GroupBy::Labels(BTreeSet::new()),
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            incident: None,
        }
    }
}

/// A node of the built tree.
#[derive(Debug, Clone)]
pub struct Route {
    pub options: RouteOptions,
    /// Sorted as Alertmanager sorts them (name, value, type), for stable keys.
    pub matchers: Vec<Matcher>,
    pub continue_matching: bool,
    pub routes: Vec<Route>,
    /// `{}/{owner="team-A"}/...`: identifies the route in group keys.
    pub key: String,
}

impl Route {
    /// Builds the tree; the root's matchers are usually empty.
    pub fn new(spec: &RouteSpec) -> Route {
        Route::build(spec, &RouteOptions::default(), None)
    }

    fn build(spec: &RouteSpec, parent: &RouteOptions, parent_key: Option<&str>) -> Route {
        let mut options = parent.clone();
        if let Some(receiver) = &spec.receiver {
            options.receiver = receiver.clone();
        }
        if let Some(group_by) = &spec.group_by {
            options.group_by = group_by.clone();
        }
        options.group_wait = spec.group_wait.unwrap_or(parent.group_wait);
        options.group_interval = spec.group_interval.unwrap_or(parent.group_interval);
        options.repeat_interval = spec.repeat_interval.unwrap_or(parent.repeat_interval);
        options.mute_time_intervals = spec.mute_time_intervals.clone();
        options.active_time_intervals = spec.active_time_intervals.clone();
        if spec.incident.is_some() {
            options.incident = spec.incident.clone();
        }
        let mut matchers = spec.matchers.clone();
        matcher::sort(&mut matchers);
        let own = matcher::to_string(&matchers);
        let key = match parent_key {
            Some(parent) => format!("{parent}/{own}"),
            None => own,
        };
        let routes = spec.routes.iter().map(|child| Route::build(child, &options, Some(&key))).collect();
        Route { options, matchers, continue_matching: spec.continue_matching, routes, key }
    }

    /// The routes an alert with `labels` goes to, in order (empty when the root itself
    /// does not match).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> Vec<&Route> {
        if !matcher::all_match(&self.matchers, labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let found = child.matches(labels);
            let matched = !found.is_empty();
            all.extend(found);
            if matched && !child.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// Every route, depth first, the parent before its children.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Route)) {
        visit(self);
        for child in &self.routes {
            child.walk(visit);
        }
    }

    /// The labels an alert is grouped by on this route.
    pub fn group_labels(&self, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        match &self.options.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => {
                labels.iter().filter(|(name, _)| names.contains(*name)).map(|(name, value)| (name.clone(), value.clone())).collect()
            }
        }
    }

    /// The group an alert joins on this route: the route's key and the group labels.
    pub fn group_key(&self, labels: &BTreeMap<String, String>) -> String {
        let group: Vec<String> = self.group_labels(labels).iter().map(|(name, value)| format!("{name}={value:?}")).collect();
        format!("{}:{{{}}}", self.key, group.join(", "))
    }

    /// The tree as `amtool config routes show` draws it.
    pub fn tree_text(&self) -> String {
        let mut out = String::from("Routing tree:\n.\n");
        self.draw(&mut out, "", true, true);
        out.push('\n');
        out
    }

    fn draw(&self, out: &mut String, prefix: &str, last: bool, root: bool) {
        let label = if root { "default-route".to_owned() } else { matcher::to_string(&self.matchers) };
        let continued = if self.continue_matching { "  continue: true" } else { "" };
        let branch = if last { "└── " } else { "├── " };
        out.push_str(&format!("{prefix}{branch}{label}{continued}  receiver: {}\n", self.options.receiver));
        // amtool's tree library pads the bar with no-break spaces.
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│\u{a0}\u{a0} " });
        for (index, child) in self.routes.iter().enumerate() {
            child.draw(out, &child_prefix, index + 1 == self.routes.len(), false);
        }
    }
}
