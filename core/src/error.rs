//! The one error type of parmana and its catalogue: every code a user can see, with its SQLSTATE
//! and meaning, is one line of [`CATALOGUE`] and nowhere else. Call sites name codes through the
//! typed constants in [`codes`]; the PostgreSQL layer only translates [`SqlState`] to pgrx.
//!
//! A message states the fact and starts with the code in brackets (`[VAL-004] Required signal ...`);
//! specifics go in the detail, advice in the hint. No message, detail or hint carries a signal's value.

use std::fmt;

/// The SQLSTATEs parmana raises. Applications use them to tell "never retry" from "retry".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlState {
    /// 23505 unique_violation: replay of a terminal, parked or in-flight execution id.
    UniqueViolation,
    /// 23514 check_violation: a governed row rejected by its policy.
    CheckViolation,
    /// 42704 undefined_object: unknown policy, configuration or role.
    UndefinedObject,
    /// 22023 invalid_parameter_value: invalid policy document, signals or argument.
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
    /// XX000 internal_error: a broken invariant, never user input.
    InternalError,
    /// 01000 warning: returned with a result, never raised.
    Warning,
}

impl SqlState {
    pub fn code(self) -> &'static str {
        match self {
            SqlState::UniqueViolation => "23505",
            SqlState::CheckViolation => "23514",
            SqlState::UndefinedObject => "42704",
            SqlState::InvalidParameterValue => "22023",
            SqlState::ProgramLimitExceeded => "54000",
            SqlState::DataException => "22000",
            SqlState::NoDataFound => "P0002",
            SqlState::ObjectNotInPrerequisiteState => "55000",
            SqlState::InsufficientPrivilege => "42501",
            SqlState::NullValueNotAllowed => "22004",
            SqlState::InternalError => "XX000",
            SqlState::Warning => "01000",
        }
    }
}

/// Where a code is raised: Rust functions, PL/pgSQL in the extension's SQL, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaisedFrom {
    Rust,
    Sql,
    Both,
}

/// One line of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub sqlstate: SqlState,
    pub raised_from: RaisedFrom,
    pub meaning: &'static str,
}

macro_rules! catalogue {
    ($($name:ident = $code:literal, $state:ident, $from:ident, $meaning:literal;)*) => {
        /// Typed constants for every code; `&codes::VAL_002` at a call site.
        pub mod codes {
            use super::{Code, RaisedFrom, SqlState};
            $(pub const $name: Code =
                Code { code: $code, sqlstate: SqlState::$state, raised_from: RaisedFrom::$from, meaning: $meaning };)*
        }
        /// Every code, in documentation order.
        pub const CATALOGUE: &[Code] = &[$(codes::$name),*];
    };
}

catalogue! {
    INV_013 = "INV-013@replay", UniqueViolation, Rust,
        "replay: the execution id is already decided, parked for review or in flight";
    POL_001 = "POL-001", UndefinedObject, Rust, "no registered policy with that id and version";
    POL_002 = "POL-002", InvalidParameterValue, Rust, "the policy document is not a readable JSON object";
    POL_003 = "POL-003", InvalidParameterValue, Rust, "policyId missing, empty, too long or with control characters";
    POL_004 = "POL-004", InvalidParameterValue, Rust,
        "policyVersion missing, empty, too long or with control characters";
    POL_005 = "POL-005", InvalidParameterValue, Rust,
        "schemaVersion missing, empty, too long or with control characters";
    POL_006 = "POL-006", InvalidParameterValue, Rust, "signalsSchema missing or not an object";
    POL_007 = "POL-007", InvalidParameterValue, Rust, "rules missing or not an array";
    POL_009 = "POL-009", InvalidParameterValue, Rust, "unsupported schemaVersion";
    POL_010 = "POL-010", InvalidParameterValue, Rust, "a signal is not declared as an object with a type";
    POL_011 = "POL-011", InvalidParameterValue, Rust, "a signal has an invalid type";
    POL_012 = "POL-012", InvalidParameterValue, Rust,
        "an enum signal without a non-empty list of distinct string values";
    POL_013 = "POL-013", InvalidParameterValue, Rust, "a rule is not an object with an id, a condition and an outcome";
    POL_014 = "POL-014", InvalidParameterValue, Rust,
        "a condition is malformed, uses an unknown operator or nests too deep";
    POL_015 = "POL-015", InvalidParameterValue, Rust, "a condition names an undeclared signal";
    POL_016 = "POL-016", InvalidParameterValue, Rust, "an operand or operator does not fit the signal's type";
    POL_017 = "POL-017", InvalidParameterValue, Rust, "a rule's outcome is malformed";
    POL_018 = "POL-018", Warning, Rust, "warning: an unknown top-level field is kept but ignored by evaluation";
    POL_019 = "POL-019", InvalidParameterValue, Rust, "a signal name is empty";
    POL_020 = "POL-020", InvalidParameterValue, Rust, "two rules have the same id";
    POL_021 = "POL-021", Warning, Rust, "warning: no catch-all rule, so some signals may match no rule (SYS-006)";
    POL_022 = "POL-022", Warning, Rust, "warning: policyVersion is not MAJOR.MINOR.PATCH";
    POL_023 = "POL-023", Warning, Rust, "warning: rules after the catch-all can never match";
    POL_024 = "POL-024", InvalidParameterValue, Rust, "the policy version is registered with different content";
    TST_001 = "TST-001", InvalidParameterValue, Rust,
        "a policy test suite is not a list of cases with signals and expectations";
    VAL_001 = "VAL-001", InvalidParameterValue, Rust, "signals are not a JSON object";
    VAL_002 = "VAL-002", InvalidParameterValue, Rust,
        "the execution id is empty, too long or not canonical text (NFC, no control, format or edge white space)";
    VAL_003 = "VAL-003", InvalidParameterValue, Rust, "a signal the policy does not declare";
    VAL_004 = "VAL-004", InvalidParameterValue, Rust, "a declared signal is missing";
    VAL_005 = "VAL-005", InvalidParameterValue, Rust, "a number signal is not a finite number";
    VAL_006 = "VAL-006", InvalidParameterValue, Rust, "a boolean signal is not a boolean";
    VAL_007 = "VAL-007", InvalidParameterValue, Rust, "an integer signal is not an integer within 2^53-1";
    VAL_008 = "VAL-008", InvalidParameterValue, Rust, "a string signal is not a string";
    VAL_009 = "VAL-009", InvalidParameterValue, Rust, "an enum signal is not a string";
    VAL_010 = "VAL-010", InvalidParameterValue, Rust,
        "signals are not representable: a number outside the IEEE-754 double range, or nesting too deep";
    VAL_011 = "VAL-011", InvalidParameterValue, Rust, "an enum signal is not one of the declared values";
    VAL_013 = "VAL-013", ProgramLimitExceeded, Rust, "canonical signals exceed parmana.max_signals_bytes";
    VAL_014 = "VAL-014", InvalidParameterValue, Rust,
        "a string signal looks like personal data (e-mail, SSN, card number)";
    VAL_015 = "VAL-015", InvalidParameterValue, Rust, "an execution fingerprint is not 64 lowercase hex characters";
    VAL_016 = "VAL-016", InvalidParameterValue, Rust,
        "a label argument is blank, too long or not printable canonical text";
    ARG_001 = "ARG-001", InvalidParameterValue, Rust, "the document is not a signed parmana document";
    SYS_000 = "SYS-000", InternalError, Rust, "internal error: a broken invariant, never caused by input; report it";
    SYS_001 = "SYS-001", NullValueNotAllowed, Rust, "a required argument is NULL";
    SYS_006 = "SYS-006", DataException, Rust, "no rule of the policy matched the signals";
    SYS_021 = "SYS-021", NoDataFound, Rust, "no pending override for the execution id";
    SYS_026 = "SYS-026", ObjectNotInPrerequisiteState, Rust, "the override was already resolved";
    SYS_027 = "SYS-027", ObjectNotInPrerequisiteState, Rust, "the replay state machine does not allow the step";
    SYS_030 = "SYS-030", ObjectNotInPrerequisiteState, Rust, "no usable signing key";
    SYS_031 = "SYS-031", ObjectNotInPrerequisiteState, Rust,
        "parmana_rotate_key refused: the key comes from parmana.signing_key_file";
    AUTH_001 = "AUTH-001", InsufficientPrivilege, Rust, "the caller is not a member of the parmana role the call needs";
    AUTH_002 = "AUTH-002", InsufficientPrivilege, Rust,
        "approver_role is not a role the login belongs to, or not one the policy's authorities list";
    AUTH_003 = "AUTH-003", InsufficientPrivilege, Rust,
    "separation of duties: the login that executed, or one with the governed table owner's rights, may not resolve it";
    AUTH_004 = "AUTH-004", InsufficientPrivilege, Rust,
        "the execution id was reserved by another login; only it, its namespace's group or parmana_admin may step it";
    AUTH_005 = "AUTH-005", InsufficientPrivilege, Rust,
        "the execution id lies in a namespace whose owner role the login does not belong to";
    AUTH_006 = "AUTH-006", InsufficientPrivilege, Rust,
        "a call that records who acted ran inside a security-restricted operation, where another role's code runs";
    AUTH_007 = "AUTH-007", InsufficientPrivilege, Rust,
        "reviews and replay steps are a person's or application's act and cannot run inside a trigger";
    AUD_001 = "AUD-001", InsufficientPrivilege, Sql, "governance records are append-only";
    AUD_002 = "AUD-002", ObjectNotInPrerequisiteState, Rust,
        "no proof: the attestation or tree size is not sealed by a checkpoint, or is out of range";
    WIT_001 = "WIT-001", InvalidParameterValue, Rust, "the note is not a checkpoint signed by the log's key";
    WIT_002 = "WIT-002", ObjectNotInPrerequisiteState, Rust,
        "the checkpoint is not consistent with the tree head the witness cosigned before";
    GOV_001 = "GOV-001", UndefinedObject, Both, "no governed-table configuration by that name or for that table";
    GOV_002 = "GOV-002", ObjectNotInPrerequisiteState, Sql, "a governed row's key or signal columns cannot change";
    GOV_003 = "GOV-003", CheckViolation, Sql, "the governed row was rejected by its policy (on_reject = block)";
    GOV_004 = "GOV-004", InvalidParameterValue, Sql,
        "parmana_govern is attached wrongly: it must be BEFORE INSERT OR UPDATE FOR EACH ROW with one argument";
    GOV_005 = "GOV-005", InvalidParameterValue, Rust,
        "the governed-table configuration does not fit the table (columns, key type, NULL key)";
    GOV_006 = "GOV-006", InsufficientPrivilege, Both,
        "the configuration governs another table, or the caller may not write the governed table";
    CFG_001 = "CFG-001", UndefinedObject, Sql, "a configuration row names a role or policy version that does not exist";
    CFG_002 = "CFG-002", InvalidParameterValue, Both, "a configuration value is invalid";
    CFG_003 = "CFG-003", UniqueViolation, Sql, "a configuration row with that key already exists";
}

/// The catalogue line for `code`, if there is one.
pub fn lookup(code: &str) -> Option<&'static Code> {
    CATALOGUE.iter().find(|c| c.code == code)
}

/// Every failure parmana reports: a catalogue code, the message, and optional detail and hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParmanaError {
    code: &'static Code,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
}

impl ParmanaError {
    pub fn new(code: &'static Code, message: impl Into<String>) -> Self {
        ParmanaError { code, message: message.into(), detail: None, hint: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `[INV-013@replay]`: the execution id is terminal, parked for review or in flight.
    pub fn replay(execution_id: &str, state: &str) -> Self {
        ParmanaError::new(
            &codes::INV_013,
            format!("Replay detected: executionId {execution_id:?} is {state} and cannot be executed again"),
        )
        .with_hint("Use a new executionId for a new business transaction; never retry a replay.")
    }

    pub fn unknown_policy(policy_id: &str, policy_version: &str) -> Self {
        ParmanaError::new(&codes::POL_001, format!("Policy not found: {policy_id:?} version {policy_version:?}"))
            .with_hint("Register it with parmana.parmana_register_policy(...) first.")
    }

    pub fn null_argument(argument: &str) -> Self {
        ParmanaError::new(&codes::SYS_001, format!("Argument {argument} must not be NULL"))
    }

    pub fn no_signing_key(message: impl Into<String>) -> Self {
        ParmanaError::new(&codes::SYS_030, message)
    }

    /// The code that prefixes the message, e.g. `INV-013@replay`.
    pub fn code(&self) -> &'static str {
        self.code.code
    }

    pub fn sqlstate(&self) -> SqlState {
        self.code.sqlstate
    }

    /// The primary message without the code prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for ParmanaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code.code, self.message)
    }
}

impl std::error::Error for ParmanaError {}

pub type Result<T> = std::result::Result<T, ParmanaError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn message_starts_with_code_in_brackets() {
        let e = ParmanaError::replay("claim-1", "CONFIRMED");
        assert!(e.to_string().starts_with("[INV-013@replay] "));
        assert_eq!(e.sqlstate().code(), "23505");
        assert!(e.hint().is_some_and(|h| h.contains("new executionId")));
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in CATALOGUE {
            assert!(seen.insert(c.code), "{} listed twice", c.code);
            let (family, number) = c.code.split_once('-').expect("FAMILY-NNN");
            assert!(
                ["INV", "POL", "VAL", "ARG", "SYS", "AUTH", "AUD", "GOV", "CFG", "WIT", "TST"].contains(&family),
                "{}",
                c.code
            );
            assert!(number.len() >= 3 && number[..3].bytes().all(|b| b.is_ascii_digit()), "{}", c.code);
            assert!(!c.meaning.is_empty() && !c.meaning.ends_with('.'), "{}: one line, no final period", c.code);
            assert_eq!(c.sqlstate == SqlState::Warning, c.meaning.starts_with("warning:"), "{}", c.code);
        }
    }

    /// The SQLSTATEs of the product contract's error table.
    #[test]
    fn contract_sqlstates() {
        let expected = [
            ("INV-013@replay", "23505"),
            ("POL-001", "42704"),
            ("POL-003", "22023"),
            ("VAL-004", "22023"),
            ("VAL-013", "54000"),
            ("SYS-006", "22000"),
            ("SYS-021", "P0002"),
            ("SYS-026", "55000"),
            ("SYS-027", "55000"),
            ("AUTH-001", "42501"),
            ("SYS-030", "55000"),
        ];
        for (code, state) in expected {
            assert_eq!(lookup(code).map(|c| c.sqlstate.code()), Some(state), "{code}");
        }
        for c in CATALOGUE.iter().filter(|c| c.code.starts_with("POL-") && c.sqlstate != SqlState::Warning) {
            if c.code != "POL-001" {
                assert_eq!(c.sqlstate.code(), "22023", "{}", c.code);
            }
        }
    }
}
