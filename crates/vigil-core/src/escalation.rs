//! When an escalation pages whom: a policy's steps, each notifying its targets and then
//! waiting, the whole list `repeat` more times, then the fallback. Pages are numbered in
//! order from 0; page `n` is due when the waits of every page before it have passed
//! since the escalation started. Acknowledging stops the pages (the caller stops
//! asking); with `renotify`, an acknowledged incident nobody touches for that long starts
//! the escalation again. Pure: the caller keeps how many pages went out and asks what is
//! due at a time.

/// Whom a step notifies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Person(String),
    /// Whoever the schedule has on call when the page goes out.
    Schedule(String),
    /// A configured notifier (a team's channel, a pager service).
    Notifier(String),
}

impl Target {
    /// `person:NAME`, `schedule:NAME`, or a notifier's name.
    pub fn parse(text: &str) -> Target {
        match text.split_once(':') {
            Some(("person", name)) => Target::Person(name.to_owned()),
            Some(("schedule", name)) => Target::Schedule(name.to_owned()),
            _ => Target::Notifier(text.to_owned()),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Person(name) => write!(formatter, "person:{name}"),
            Target::Schedule(name) => write!(formatter, "schedule:{name}"),
            Target::Notifier(name) => formatter.write_str(name),
        }
    }
}

/// One step: whom to notify, then how long to wait (milliseconds) before the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub notify: Vec<Target>,
    pub wait: i64,
}

/// An escalation policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub steps: Vec<Step>,
    /// How many more times the steps run after the first time through.
    pub repeat: u32,
    /// Notified once, when the last step's wait has passed without an acknowledgement.
    pub fallback: Vec<Target>,
    /// After an acknowledgement, start again if the incident is not touched for this
    /// long (milliseconds).
    pub renotify: Option<i64>,
}

/// One page of an escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<'a> {
    /// From 0, in order.
    pub number: u32,
    /// When it is due, milliseconds.
    pub at: i64,
    /// Which time through the steps (0 the first), and which step; `None` for the
    /// fallback.
    pub round: u32,
    pub step: Option<usize>,
    pub notify: &'a [Target],
}

impl Policy {
    /// Pages before the fallback.
    fn step_pages(&self) -> u32 {
        u32::try_from(self.steps.len()).unwrap_or(u32::MAX).saturating_mul(self.repeat.saturating_add(1))
    }

    /// How many pages it sends if nobody acknowledges: its steps, repeated, and the
    /// fallback if it has one.
    pub fn pages(&self) -> u32 {
        self.step_pages() + u32::from(!self.fallback.is_empty())
    }

    /// Page `number` of an escalation that started at `started`, if the policy has one.
    pub fn page(&self, started: i64, number: u32) -> Option<Page<'_>> {
        let steps = u32::try_from(self.steps.len()).ok().filter(|steps| *steps > 0);
        let round_wait: i64 = self.steps.iter().map(|step| step.wait.max(0)).sum();
        if number < self.step_pages() {
            let steps = steps?;
            let (round, step) = (number / steps, (number % steps) as usize);
            let before: i64 = self.steps[..step].iter().map(|step| step.wait.max(0)).sum();
            let at = started.saturating_add(round_wait.saturating_mul(i64::from(round))).saturating_add(before);
            return Some(Page { number, at, round, step: Some(step), notify: &self.steps[step].notify });
        }
        if number == self.step_pages() && !self.fallback.is_empty() {
            let rounds = i64::from(self.repeat) + 1;
            let at = started.saturating_add(round_wait.saturating_mul(rounds));
            return Some(Page { number, at, round: self.repeat + 1, step: None, notify: &self.fallback });
        }
        None
    }

    /// The pages due at `now` that have not gone out (`sent` have), in order.
    pub fn due(&self, started: i64, sent: u32, now: i64) -> Vec<Page<'_>> {
        (sent..self.pages()).map_while(|number| self.page(started, number).filter(|page| page.at <= now)).collect()
    }

    /// When the next page is due, if one is left.
    pub fn next_due(&self, started: i64, sent: u32) -> Option<i64> {
        self.page(started, sent).map(|page| page.at)
    }

    /// After an acknowledgement: when the escalation starts again, if the policy says so,
    /// given the last time anything happened to the incident.
    pub fn renotify_at(&self, last_activity: i64) -> Option<i64> {
        self.renotify.map(|after| last_activity.saturating_add(after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn policy() -> Policy {
        Policy {
            steps: vec![
                Step { notify: vec![Target::parse("schedule:primary")], wait: 5 * MINUTE },
                Step { notify: vec![Target::parse("person:bob"), Target::parse("team-chat")], wait: 10 * MINUTE },
            ],
            repeat: 1,
            fallback: vec![Target::parse("person:manager")],
            renotify: Some(30 * MINUTE),
        }
    }

    /// Page by page: number, due minute, round, step.
    #[test]
    fn pages_come_after_the_waits_before_them() {
        let policy = policy();
        let expected: Vec<(u32, i64, u32, Option<usize>)> =
            vec![(0, 0, 0, Some(0)), (1, 5, 0, Some(1)), (2, 15, 1, Some(0)), (3, 20, 1, Some(1)), (4, 30, 2, None)];
        let pages: Vec<(u32, i64, u32, Option<usize>)> = (0..policy.pages())
            .map(|number| policy.page(1_000, number).expect("page"))
            .map(|page| (page.number, (page.at - 1_000) / MINUTE, page.round, page.step))
            .collect();
        assert_eq!(pages, expected);
        assert_eq!(policy.page(1_000, 5), None, "nothing after the fallback");
        assert_eq!(policy.page(1_000, 4).expect("fallback").notify, [Target::Person("manager".into())]);
        assert_eq!(Target::parse("team-chat"), Target::Notifier("team-chat".into()));
        assert_eq!(Target::parse("schedule:primary").to_string(), "schedule:primary");
    }

    /// What is due at a time, given how many pages went out: a late check sends every
    /// page whose time has come, in order, and nothing twice.
    #[test]
    fn what_is_due_depends_on_what_was_sent() {
        let policy = policy();
        let numbers =
            |sent: u32, minute: i64| -> Vec<u32> { policy.due(0, sent, minute * MINUTE).iter().map(|page| page.number).collect() };
        assert_eq!(numbers(0, 0), [0]);
        assert_eq!(numbers(1, 4), Vec::<u32>::new());
        assert_eq!(numbers(1, 5), [1]);
        assert_eq!(numbers(1, 21), [1, 2, 3], "a node down for a while catches up in order");
        assert_eq!(numbers(4, 29), Vec::<u32>::new());
        assert_eq!(numbers(4, 30), [4]);
        assert_eq!(numbers(5, 1_000), Vec::<u32>::new());
        assert_eq!(policy.next_due(0, 2), Some(15 * MINUTE));
        assert_eq!(policy.next_due(0, 5), None);
        assert_eq!(policy.renotify_at(7 * MINUTE), Some(37 * MINUTE));
        let empty = Policy::default();
        assert_eq!((empty.pages(), empty.next_due(0, 0)), (0, None));
        let no_fallback = Policy { fallback: Vec::new(), repeat: 0, ..policy.clone() };
        assert_eq!(no_fallback.pages(), 2);
    }
}
