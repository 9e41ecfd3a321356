//! The remediation guard pipeline: whether an action may run on a target now.
//!
//! Guards run in a fixed order — kill switch → silence → target sanity → blast-radius
//! budget → cooldown → circuit breaker → approval — and every one that is reached
//! records its decision with a reason. The first that does not pass decides the outcome:
//! the execution is suppressed (kill switch, silence, sanity, budget, breaker), held until
//! a time (cooldown), waits for a person (approval) or is denied (approval timed out or
//! refused). When all pass, the caller takes the per-target lease (in the store), runs
//! the action and verifies it. Nothing here does IO: the inputs are what the store said.

use std::time::Duration;

use crate::Timestamp;

/// One step of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guard {
    KillSwitch,
    Silence,
    TargetSanity,
    Budget,
    Cooldown,
    CircuitBreaker,
    Approval,
    /// Taken by the caller after the pure guards pass.
    Lease,
}

impl Guard {
    pub fn as_str(self) -> &'static str {
        match self {
            Guard::KillSwitch => "kill-switch",
            Guard::Silence => "silence",
            Guard::TargetSanity => "target-sanity",
            Guard::Budget => "budget",
            Guard::Cooldown => "cooldown",
            Guard::CircuitBreaker => "circuit-breaker",
            Guard::Approval => "approval",
            Guard::Lease => "lease",
        }
    }
}

/// A guard's decision and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    pub guard: Guard,
    pub passed: bool,
    pub reason: String,
}

/// How the pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every guard passed: take the lease, run, verify.
    Proceed,
    /// Not run, and not to be tried again for this execution.
    Suppressed { guard: Guard, reason: String },
    /// Not yet: try again at `until` (the cooldown ends).
    Held { guard: Guard, until: Timestamp, reason: String },
    /// Waiting for `vigil actions approve`, until `deadline`.
    AwaitingApproval { deadline: Timestamp },
    /// Approval was refused or timed out.
    Denied { reason: String },
}

/// Executions started in a window, and the most allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub used: u32,
    pub max: u32,
    pub window: Duration,
}

/// Where an approval stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    NotRequired,
    /// Required; asked for at `requested_at` (`None`: not asked yet).
    Required {
        requested_at: Option<Timestamp>,
        timeout: Duration,
    },
    Approved {
        by: String,
    },
    Refused {
        by: String,
    },
}

/// Everything the guards look at, read from the store by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardInputs {
    pub now: Timestamp,
    /// The kill switch (`vigil actions pause`) is on.
    pub paused: bool,
    /// The silence or maintenance window that covers this alert, if any.
    pub silenced_by: Option<String>,
    /// The target, or why the action's target set was rejected (empty, oversized).
    pub target: Result<String, String>,
    /// Global, and this action's own when it has one.
    pub budgets: Vec<(String, Budget)>,
    pub cooldown: Duration,
    /// When this action last started on this target (not counting dry runs).
    pub last_started: Option<Timestamp>,
    pub breaker: Breaker,
    pub approval: Approval,
}

/// The circuit breaker of one (action, target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    /// Opened after `max_attempts` attempts that did not cure, until `vigil actions reset`.
    pub open: bool,
    pub failures: u32,
    pub max_attempts: u32,
    pub window: Duration,
}

impl Breaker {
    /// Whether one more failed attempt opens it.
    pub fn opens_after_failure(self) -> bool {
        self.failures + 1 >= self.max_attempts
    }
}

/// Runs the guards in order; returns each decision reached and the outcome.
pub fn evaluate(inputs: &GuardInputs) -> (Vec<Decision>, Outcome) {
    let mut decisions = Vec::new();
    let mut pass = |guard: Guard, reason: String| decisions.push(Decision { guard, passed: true, reason });
    let blocked = |guard: Guard, reason: String| Decision { guard, passed: false, reason };

    if inputs.paused {
        let decision = blocked(Guard::KillSwitch, "actions are paused (vigil actions resume)".to_owned());
        return finish(decisions, decision, |reason| Outcome::Suppressed { guard: Guard::KillSwitch, reason });
    }
    pass(Guard::KillSwitch, "actions are enabled".to_owned());

    if let Some(silence) = &inputs.silenced_by {
        let decision = blocked(Guard::Silence, format!("silenced by {silence}"));
        return finish(decisions, decision, |reason| Outcome::Suppressed { guard: Guard::Silence, reason });
    }
    pass(Guard::Silence, "no silence or maintenance window matches".to_owned());

    let target = match &inputs.target {
        Ok(target) => target,
        Err(error) => {
            let decision = blocked(Guard::TargetSanity, error.clone());
            return finish(decisions, decision, |reason| Outcome::Suppressed { guard: Guard::TargetSanity, reason });
        }
    };
    pass(Guard::TargetSanity, format!("target {target}"));

    for (scope, budget) in &inputs.budgets {
        if budget.used >= budget.max {
            let reason = format!(
                "{scope} budget spent: {} executions in the last {} (at most {})",
                budget.used,
                crate::time::format_duration(budget.window),
                budget.max
            );
            return finish(decisions, blocked(Guard::Budget, reason), |reason| Outcome::Suppressed { guard: Guard::Budget, reason });
        }
    }
    let budget_text: Vec<String> = inputs.budgets.iter().map(|(scope, budget)| format!("{scope} {}/{}", budget.used, budget.max)).collect();
    pass(Guard::Budget, format!("within budget ({})", budget_text.join(", ")));

    if let Some(last) = inputs.last_started {
        let until = last.saturating_add(inputs.cooldown);
        if inputs.now < until {
            let reason = format!(
                "held by the cooldown: last run on {target} at {last}, next allowed at {until} (cooldown {})",
                crate::time::format_duration(inputs.cooldown)
            );
            return finish(decisions, blocked(Guard::Cooldown, reason), |reason| Outcome::Held { guard: Guard::Cooldown, until, reason });
        }
    }
    pass(Guard::Cooldown, "not run on this target within the cooldown".to_owned());

    let breaker = inputs.breaker;
    if breaker.open {
        let reason = format!(
            "circuit breaker open: {} attempts in {} did not cure {target}; a human is needed (vigil actions reset)",
            breaker.failures.max(breaker.max_attempts),
            crate::time::format_duration(breaker.window)
        );
        return finish(decisions, blocked(Guard::CircuitBreaker, reason), |reason| Outcome::Suppressed {
            guard: Guard::CircuitBreaker,
            reason,
        });
    }
    pass(Guard::CircuitBreaker, format!("closed ({} of {} failed attempts)", breaker.failures, breaker.max_attempts));

    match &inputs.approval {
        Approval::NotRequired => pass(Guard::Approval, "not required".to_owned()),
        Approval::Approved { by } => pass(Guard::Approval, format!("approved by {by}")),
        Approval::Refused { by } => {
            let decision = blocked(Guard::Approval, format!("refused by {by}"));
            return finish(decisions, decision, |reason| Outcome::Denied { reason });
        }
        Approval::Required { requested_at, timeout } => {
            let requested_at = requested_at.unwrap_or(inputs.now);
            let deadline = requested_at.saturating_add(*timeout);
            if inputs.now >= deadline {
                let reason = format!("no approval within {}", crate::time::format_duration(*timeout));
                return finish(decisions, blocked(Guard::Approval, reason), |reason| Outcome::Denied { reason });
            }
            let reason = format!("waiting for approval until {deadline}");
            return finish(decisions, blocked(Guard::Approval, reason), |_| Outcome::AwaitingApproval { deadline });
        }
    }
    (decisions, Outcome::Proceed)
}

fn finish(mut decisions: Vec<Decision>, decision: Decision, outcome: impl FnOnce(String) -> Outcome) -> (Vec<Decision>, Outcome) {
    let outcome = outcome(decision.reason.clone());
    decisions.push(decision);
    (decisions, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn open_inputs() -> GuardInputs {
        GuardInputs {
            now: Timestamp(100 * 60_000),
            paused: false,
            silenced_by: None,
            target: Ok("ec2:us-east-1:i-1".to_owned()),
            budgets: vec![("global".to_owned(), Budget { used: 0, max: 20, window: 60 * MIN })],
            cooldown: 30 * MIN,
            last_started: None,
            breaker: Breaker { open: false, failures: 0, max_attempts: 3, window: 360 * MIN },
            approval: Approval::NotRequired,
        }
    }

    fn outcome_of(change: impl FnOnce(&mut GuardInputs)) -> (Vec<Guard>, Outcome) {
        let mut inputs = open_inputs();
        change(&mut inputs);
        let (decisions, outcome) = evaluate(&inputs);
        let passed: Vec<bool> = decisions.iter().map(|decision| decision.passed).collect();
        // Every decision but the last passed; the last passed only when proceeding.
        assert!(passed.iter().rev().skip(1).all(|passed| *passed), "{decisions:?}");
        (decisions.iter().map(|decision| decision.guard).collect(), outcome)
    }

    #[test]
    fn all_guards_pass_in_order() {
        let (guards, outcome) = outcome_of(|_| {});
        use Guard::*;
        assert_eq!(guards, [KillSwitch, Silence, TargetSanity, Budget, Cooldown, CircuitBreaker, Approval]);
        assert_eq!(outcome, Outcome::Proceed);
    }

    #[test]
    fn the_first_guard_that_blocks_decides() {
        let suppressed_by = |change: fn(&mut GuardInputs)| match outcome_of(change) {
            (guards, Outcome::Suppressed { guard, .. }) => {
                assert_eq!(guards.last(), Some(&guard));
                guard
            }
            other => panic!("expected suppression, got {other:?}"),
        };
        assert_eq!(suppressed_by(|inputs| inputs.paused = true), Guard::KillSwitch);
        // The kill switch comes first even when everything else would block too.
        assert_eq!(
            suppressed_by(|inputs| {
                inputs.paused = true;
                inputs.silenced_by = Some("silence 3".into());
                inputs.target = Err("empty".into());
            }),
            Guard::KillSwitch
        );
        assert_eq!(suppressed_by(|inputs| inputs.silenced_by = Some("silence 3 (deploy)".into())), Guard::Silence);
        assert_eq!(suppressed_by(|inputs| inputs.target = Err("empty target set: no instance matched".into())), Guard::TargetSanity);
        assert_eq!(suppressed_by(|inputs| inputs.budgets[0].1.used = 20), Guard::Budget);
        assert_eq!(
            suppressed_by(|inputs| inputs.budgets.push(("action reboot".into(), Budget { used: 2, max: 2, window: 60 * MIN }))),
            Guard::Budget
        );
        assert_eq!(suppressed_by(|inputs| inputs.breaker.open = true), Guard::CircuitBreaker);
    }

    #[test]
    fn the_cooldown_holds_until_it_ends() {
        let (_, outcome) = outcome_of(|inputs| inputs.last_started = Some(Timestamp(90 * 60_000)));
        match outcome {
            Outcome::Held { guard: Guard::Cooldown, until, reason } => {
                assert_eq!(until, Timestamp(120 * 60_000));
                assert!(reason.starts_with("held by the cooldown"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let (_, outcome) = outcome_of(|inputs| inputs.last_started = Some(Timestamp(70 * 60_000)));
        assert_eq!(outcome, Outcome::Proceed, "exactly at the end of the cooldown it may run");
    }

    #[test]
    fn approval_waits_then_times_out() {
        let required = |requested_at| Approval::Required { requested_at, timeout: 15 * MIN };
        let (_, outcome) = outcome_of(|inputs| inputs.approval = required(None));
        assert_eq!(outcome, Outcome::AwaitingApproval { deadline: Timestamp(115 * 60_000) });
        let (_, outcome) = outcome_of(|inputs| inputs.approval = required(Some(Timestamp(80 * 60_000))));
        assert!(matches!(outcome, Outcome::Denied { reason } if reason == "no approval within 15m"));
        let (_, outcome) = outcome_of(|inputs| inputs.approval = Approval::Approved { by: "alice".into() });
        assert_eq!(outcome, Outcome::Proceed);
        let (_, outcome) = outcome_of(|inputs| inputs.approval = Approval::Refused { by: "bob".into() });
        assert!(matches!(outcome, Outcome::Denied { .. }));
    }

    #[test]
    fn the_breaker_opens_on_the_last_allowed_failure() {
        let breaker = Breaker { open: false, failures: 2, max_attempts: 3, window: MIN };
        assert!(breaker.opens_after_failure());
        assert!(!Breaker { failures: 1, ..breaker }.opens_after_failure());
    }
}
