//! The one error type of parmana. Each variant maps to its message code and SQLSTATE here
//! and nowhere else (SPEC §14); the PostgreSQL layer only translates `SqlState` to pgrx.

use std::fmt;

/// The SQLSTATEs parmana raises. Applications use them to tell "never retry" from "retry".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlState {
    /// 23505 unique_violation: replay of a terminal, parked or in-flight execution id.
    UniqueViolation,
    /// 42704 undefined_object: unknown policy or version.
    UndefinedObject,
    /// 22023 invalid_parameter_value: invalid policy document or signals.
    InvalidParameterValue,
    /// 54000 program_limit_exceeded: signals too large.
    ProgramLimitExceeded,
    /// 22000 data_exception: no rule matched.
    DataException,
    /// P0002 no_data_found: no pending override.
    NoDataFound,
    /// 55000 object_not_in_prerequisite_state: resolved override, illegal transition, no key.
    ObjectNotInPrerequisiteState,
    /// 42501 insufficient_privilege.
    InsufficientPrivilege,
    /// 22004 null_value_not_allowed: a required argument is NULL.
    NullValueNotAllowed,
}

impl SqlState {
    pub fn code(self) -> &'static str {
        match self {
            SqlState::UniqueViolation => "23505",
            SqlState::UndefinedObject => "42704",
            SqlState::InvalidParameterValue => "22023",
            SqlState::ProgramLimitExceeded => "54000",
            SqlState::DataException => "22000",
            SqlState::NoDataFound => "P0002",
            SqlState::ObjectNotInPrerequisiteState => "55000",
            SqlState::InsufficientPrivilege => "42501",
            SqlState::NullValueNotAllowed => "22004",
        }
    }
}

/// Every failure parmana reports. Messages never contain a signal's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParmanaError {
    /// `[INV-013@replay]`: the execution id is terminal, parked for review or in flight.
    Replay { execution_id: String, state: String },
    /// `[POL-001]`: no such policy id and version.
    UnknownPolicy { policy_id: String, policy_version: String },
    /// `[POL-0xx]`: the policy document does not compile.
    InvalidPolicy { code: &'static str, message: String },
    /// `[VAL-0xx]`: the signals or the execution id are invalid.
    InvalidInput { code: &'static str, message: String },
    /// `[VAL-013]`: canonical signals exceed `parmana.max_signals_bytes`.
    SignalsTooLarge { size: usize, limit: usize },
    /// `[SYS-006]`: no rule matched (policy without catch-all).
    NoRuleMatched { policy_id: String, policy_version: String },
    /// `[SYS-021]`: nothing pending for the execution id.
    NoPendingOverride { execution_id: String },
    /// `[SYS-026]`: the override was already resolved.
    OverrideAlreadyResolved { execution_id: String },
    /// `[SYS-027]`: the replay state machine refuses the step.
    IllegalTransition { execution_id: String, from: String, step: &'static str },
    /// `[AUTH-0xx]`: not authorized.
    NotAuthorized { code: &'static str, message: String },
    /// `[SYS-030]` and relatives: no usable signing key.
    NoSigningKey { code: &'static str, message: String },
    /// `[SYS-001]`: a required argument was NULL.
    NullArgument { argument: &'static str },
}

impl ParmanaError {
    pub fn invalid_policy(code: &'static str, message: impl Into<String>) -> Self {
        ParmanaError::InvalidPolicy { code, message: message.into() }
    }

    pub fn invalid_input(code: &'static str, message: impl Into<String>) -> Self {
        ParmanaError::InvalidInput { code, message: message.into() }
    }

    pub fn no_signing_key(message: impl Into<String>) -> Self {
        ParmanaError::NoSigningKey { code: "SYS-030", message: message.into() }
    }

    /// The code that prefixes the message, e.g. `INV-013@replay`.
    pub fn code(&self) -> &'static str {
        match self {
            ParmanaError::Replay { .. } => "INV-013@replay",
            ParmanaError::UnknownPolicy { .. } => "POL-001",
            ParmanaError::InvalidPolicy { code, .. } => code,
            ParmanaError::InvalidInput { code, .. } => code,
            ParmanaError::SignalsTooLarge { .. } => "VAL-013",
            ParmanaError::NoRuleMatched { .. } => "SYS-006",
            ParmanaError::NoPendingOverride { .. } => "SYS-021",
            ParmanaError::OverrideAlreadyResolved { .. } => "SYS-026",
            ParmanaError::IllegalTransition { .. } => "SYS-027",
            ParmanaError::NotAuthorized { code, .. } => code,
            ParmanaError::NoSigningKey { code, .. } => code,
            ParmanaError::NullArgument { .. } => "SYS-001",
        }
    }

    /// The SQLSTATE (SPEC §14).
    pub fn sqlstate(&self) -> SqlState {
        match self {
            ParmanaError::Replay { .. } => SqlState::UniqueViolation,
            ParmanaError::UnknownPolicy { .. } => SqlState::UndefinedObject,
            ParmanaError::InvalidPolicy { .. } => SqlState::InvalidParameterValue,
            ParmanaError::InvalidInput { .. } => SqlState::InvalidParameterValue,
            ParmanaError::SignalsTooLarge { .. } => SqlState::ProgramLimitExceeded,
            ParmanaError::NoRuleMatched { .. } => SqlState::DataException,
            ParmanaError::NoPendingOverride { .. } => SqlState::NoDataFound,
            ParmanaError::OverrideAlreadyResolved { .. } => SqlState::ObjectNotInPrerequisiteState,
            ParmanaError::IllegalTransition { .. } => SqlState::ObjectNotInPrerequisiteState,
            ParmanaError::NotAuthorized { .. } => SqlState::InsufficientPrivilege,
            ParmanaError::NoSigningKey { .. } => SqlState::ObjectNotInPrerequisiteState,
            ParmanaError::NullArgument { .. } => SqlState::NullValueNotAllowed,
        }
    }
}

impl fmt::Display for ParmanaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", self.code())?;
        match self {
            ParmanaError::Replay { execution_id, state } => write!(
                f,
                "Replay detected: executionId {execution_id:?} is {state} and cannot be executed again; use a new executionId"
            ),
            ParmanaError::UnknownPolicy { policy_id, policy_version } => {
                write!(f, "Policy not found: {policy_id:?} version {policy_version:?}")
            }
            ParmanaError::InvalidPolicy { message, .. } => f.write_str(message),
            ParmanaError::InvalidInput { message, .. } => f.write_str(message),
            ParmanaError::SignalsTooLarge { size, limit } => write!(
                f,
                "Signals too large: canonical signals are {size} bytes, parmana.max_signals_bytes is {limit}"
            ),
            ParmanaError::NoRuleMatched { policy_id, policy_version } => write!(
                f,
                "Policy evaluation returned undecided: no rule of {policy_id:?} version {policy_version:?} matched"
            ),
            ParmanaError::NoPendingOverride { execution_id } => {
                write!(f, "No pending execution found for executionId {execution_id:?}")
            }
            ParmanaError::OverrideAlreadyResolved { execution_id } => {
                write!(f, "Override already resolved for executionId {execution_id:?}")
            }
            ParmanaError::IllegalTransition { execution_id, from, step } => write!(
                f,
                "Illegal replay transition: {step} is not allowed from {from} for executionId {execution_id:?}"
            ),
            ParmanaError::NotAuthorized { message, .. } => f.write_str(message),
            ParmanaError::NoSigningKey { message, .. } => f.write_str(message),
            ParmanaError::NullArgument { argument } => write!(f, "Argument {argument} must not be NULL"),
        }
    }
}

impl std::error::Error for ParmanaError {}

pub type Result<T> = std::result::Result<T, ParmanaError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_starts_with_code_in_brackets() {
        let e = ParmanaError::Replay { execution_id: "claim-1".into(), state: "CONFIRMED".into() };
        assert!(e.to_string().starts_with("[INV-013@replay] "));
        assert_eq!(e.sqlstate().code(), "23505");
        let e = ParmanaError::SignalsTooLarge { size: 10, limit: 5 };
        assert!(e.to_string().starts_with("[VAL-013] "));
        assert_eq!(e.sqlstate().code(), "54000");
    }

    #[test]
    fn spec_table_sqlstates() {
        let cases: Vec<(ParmanaError, &str)> = vec![
            (ParmanaError::UnknownPolicy { policy_id: "p".into(), policy_version: "v".into() }, "42704"),
            (ParmanaError::invalid_policy("POL-003", "x"), "22023"),
            (ParmanaError::invalid_input("VAL-004", "x"), "22023"),
            (ParmanaError::NoRuleMatched { policy_id: "p".into(), policy_version: "v".into() }, "22000"),
            (ParmanaError::NoPendingOverride { execution_id: "e".into() }, "P0002"),
            (ParmanaError::OverrideAlreadyResolved { execution_id: "e".into() }, "55000"),
            (
                ParmanaError::IllegalTransition { execution_id: "e".into(), from: "CONFIRMED".into(), step: "start" },
                "55000",
            ),
            (ParmanaError::NotAuthorized { code: "AUTH-001", message: "x".into() }, "42501"),
            (ParmanaError::no_signing_key("x"), "55000"),
        ];
        for (e, state) in cases {
            assert_eq!(e.sqlstate().code(), state, "{e}");
            assert!(e.to_string().starts_with(&format!("[{}] ", e.code())));
        }
    }
}
