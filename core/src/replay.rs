//! The replay state machine as a pure transition function. Storage applies it under a
//! row lock; TTL lapses are folded in before a step is decided ("effective" state).

use crate::error::{codes, ParmanaError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayState {
    Reserved,
    Executing,
    Confirmed,
    Overridden,
    Failed,
    Expired,
    Rejected,
}

pub const ALL_STATES: [ReplayState; 7] = [
    ReplayState::Reserved,
    ReplayState::Executing,
    ReplayState::Confirmed,
    ReplayState::Overridden,
    ReplayState::Failed,
    ReplayState::Expired,
    ReplayState::Rejected,
];

impl ReplayState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayState::Reserved => "RESERVED",
            ReplayState::Executing => "EXECUTING",
            ReplayState::Confirmed => "CONFIRMED",
            ReplayState::Overridden => "OVERRIDDEN",
            ReplayState::Failed => "FAILED",
            ReplayState::Expired => "EXPIRED",
            ReplayState::Rejected => "REJECTED",
        }
    }

    pub fn parse(s: &str) -> Option<ReplayState> {
        ALL_STATES.iter().copied().find(|st| st.as_str() == s)
    }

    /// Decided for good: never claimable again.
    pub fn is_terminal(self) -> bool {
        matches!(self, ReplayState::Confirmed | ReplayState::Overridden | ReplayState::Rejected)
    }

    /// `has_executed`: the business action was authorized.
    pub fn has_executed(self) -> bool {
        matches!(self, ReplayState::Confirmed | ReplayState::Overridden)
    }

    /// RESERVED and FAILED lapse after their TTL.
    pub fn has_ttl(self) -> bool {
        matches!(self, ReplayState::Reserved | ReplayState::Failed)
    }

    /// The state with TTLs applied: a lapsed RESERVED or FAILED is EXPIRED.
    pub fn effective(self, lapsed: bool) -> ReplayState {
        if lapsed && self.has_ttl() {
            ReplayState::Expired
        } else {
            self
        }
    }
}

/// The steps of the replay state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Reserve,
    Start,
    Confirm,
    Override,
    Fail,
    Expire,
    MarkExecuted,
}

pub const ALL_STEPS: [Step; 7] =
    [Step::Reserve, Step::Start, Step::Confirm, Step::Override, Step::Fail, Step::Expire, Step::MarkExecuted];

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Reserve => "reserve",
            Step::Start => "start",
            Step::Confirm => "confirm",
            Step::Override => "override",
            Step::Fail => "fail",
            Step::Expire => "expire",
            Step::MarkExecuted => "mark_executed",
        }
    }

    /// Only reserve claims an id; every other step moves a row that someone reserved.
    pub fn claims(self) -> bool {
        self == Step::Reserve
    }
}

/// A current row as the transition function sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    /// Effective state (TTLs applied).
    pub state: ReplayState,
    /// Parked by `parmana_execute` for a pending override: only `parmana_override` moves it.
    pub parked: bool,
}

/// True when an id may be claimed (by a step or by `parmana_execute`).
pub fn claimable(current: Option<Current>) -> bool {
    matches!(current, None | Some(Current { state: ReplayState::Expired, .. }))
}

/// Human words for a blocking row, used in replay messages.
pub fn describe(current: Current) -> String {
    let state = current.state.as_str();
    if current.parked {
        format!("{state} (pending override)")
    } else if current.state.is_terminal() {
        format!("{state} (already executed)")
    } else {
        format!("{state} (in flight)")
    }
}

/// The state after `step`, or why it is refused: claiming a non-claimable id, or marking a
/// decided one executed, is a replay (`INV-013`); any other step not allowed from the current
/// state is `SYS-027`. Marking executed needs a reservation first, so an id nobody reserved can
/// never read as executed.
pub fn next(execution_id: &str, current: Option<Current>, step: Step) -> Result<ReplayState, ParmanaError> {
    use ReplayState::*;
    let replay = |c: Current| ParmanaError::replay(execution_id, &describe(c));
    if step.claims() {
        return match current {
            c if claimable(c) => Ok(Reserved),
            Some(c) => Err(replay(c)),
            None => unreachable!("unseen ids are claimable"),
        };
    }
    let illegal = |from: &str| {
        let error = ParmanaError::new(
            &codes::SYS_027,
            format!("Illegal replay transition: {} is not allowed from {from}", step.name()),
        )
        .with_detail(format!("executionId {execution_id:?}"));
        match (step, from) {
            (Step::MarkExecuted, _) => {
                error.with_hint("Reserve the id first: parmana_replay_reserve, then mark it executed.")
            }
            (_, "unseen") => error.with_hint("Reserve the id first with parmana_replay_reserve."),
            _ => error,
        }
    };
    let Some(current) = current else { return Err(illegal("unseen")) };
    if current.parked {
        return Err(illegal(&format!("{} (pending override)", current.state.as_str()))
            .with_hint("An id parked by parmana_execute is resolved only by parmana_override."));
    }
    match (current.state, step) {
        (Reserved, Step::Start) => Ok(Executing),
        (Executing, Step::Confirm) => Ok(Confirmed),
        (Executing, Step::Override) => Ok(Overridden),
        (Reserved | Executing, Step::Fail) => Ok(Failed),
        (Reserved | Failed, Step::Expire) => Ok(Expired),
        (Reserved, Step::MarkExecuted) => Ok(Confirmed),
        (from, Step::MarkExecuted) if from.is_terminal() => Err(replay(current)),
        (from, _) => Err(illegal(from.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReplayState::*;

    fn at(state: ReplayState) -> Option<Current> {
        Some(Current { state, parked: false })
    }

    /// The whole table: every (state, step) pair is either the listed transition or refused.
    #[test]
    fn every_transition_legal_or_refused() {
        let legal: &[(Option<ReplayState>, Step, ReplayState)] = &[
            (None, Step::Reserve, Reserved),
            (Some(Expired), Step::Reserve, Reserved),
            (Some(Reserved), Step::MarkExecuted, Confirmed),
            (Some(Reserved), Step::Start, Executing),
            (Some(Executing), Step::Confirm, Confirmed),
            (Some(Executing), Step::Override, Overridden),
            (Some(Reserved), Step::Fail, Failed),
            (Some(Executing), Step::Fail, Failed),
            (Some(Reserved), Step::Expire, Expired),
            (Some(Failed), Step::Expire, Expired),
        ];
        let states: Vec<Option<ReplayState>> =
            std::iter::once(None).chain(ALL_STATES.iter().copied().map(Some)).collect();
        for from in &states {
            for step in ALL_STEPS {
                let current = from.map(|s| Current { state: s, parked: false });
                let result = next("id", current, step);
                match legal.iter().find(|(f, s, _)| f == from && *s == step) {
                    Some((_, _, to)) => assert_eq!(result, Ok(*to), "{from:?} --{step:?}"),
                    None => {
                        let err = result.expect_err(&format!("{from:?} --{step:?} must be refused"));
                        let replay =
                            step.claims() || (step == Step::MarkExecuted && from.is_some_and(|s| s.is_terminal()));
                        let expected = if replay { "INV-013@replay" } else { "SYS-027" };
                        assert_eq!(err.code(), expected, "{from:?} --{step:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn parked_ids_only_move_through_parmana_override() {
        let parked = Current { state: Executing, parked: true };
        for step in ALL_STEPS {
            let err = next("id", Some(parked), step).unwrap_err();
            assert_eq!(err.code(), if step.claims() { "INV-013@replay" } else { "SYS-027" }, "{step:?}");
        }
        assert!(describe(parked).contains("pending override"));
    }

    #[test]
    fn ttl_lapse_makes_reserved_and_failed_expired() {
        assert_eq!(Reserved.effective(true), Expired);
        assert_eq!(Failed.effective(true), Expired);
        assert_eq!(Executing.effective(true), Executing);
        assert_eq!(Reserved.effective(false), Reserved);
        assert_eq!(next("id", at(Reserved.effective(true)), Step::Reserve), Ok(Reserved));
        assert_eq!(next("id", at(Failed.effective(true)), Step::Start).unwrap_err().code(), "SYS-027");
    }

    #[test]
    fn names_round_trip() {
        for s in ALL_STATES {
            assert_eq!(ReplayState::parse(s.as_str()), Some(s));
        }
        assert!(Confirmed.has_executed() && Overridden.has_executed() && !Rejected.has_executed());
        assert!(Rejected.is_terminal());
    }
}
