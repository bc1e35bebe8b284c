//! Raising errors: the core's `ParmanaError` carries its catalogue code, message, detail and hint;
//! this only translates the SQLSTATE and reports it.

use parmana_core::error::codes;
use parmana_core::{ParmanaError, SqlState};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

fn pg_code(state: SqlState) -> PgSqlErrorCode {
    match state {
        SqlState::UniqueViolation => PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
        SqlState::CheckViolation => PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
        SqlState::UndefinedObject => PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
        SqlState::InvalidParameterValue => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        SqlState::ProgramLimitExceeded => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        SqlState::DataException => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        SqlState::NoDataFound => PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
        SqlState::ObjectNotInPrerequisiteState => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        SqlState::InsufficientPrivilege => PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        SqlState::NullValueNotAllowed => PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        SqlState::InternalError => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        SqlState::Warning => PgSqlErrorCode::ERRCODE_WARNING,
    }
}

/// Raise `err` as a PostgreSQL ERROR; the transaction aborts.
pub fn raise(err: ParmanaError) -> ! {
    let mut report = ErrorReport::new(pg_code(err.sqlstate()), err.to_string(), "parmana");
    if let Some(detail) = err.detail() {
        report = report.set_detail(detail);
    }
    if let Some(hint) = err.hint() {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// Raise an internal failure (a broken invariant, never user input) as `[SYS-000]`, XX000.
pub fn internal(context: &str, err: impl std::fmt::Display) -> ! {
    raise(ParmanaError::new(&codes::SYS_000, format!("parmana internal error: {context}")).with_detail(err.to_string()))
}

pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, ParmanaError> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| raise(e))
    }
}

impl<T> OrRaise<T> for Result<T, pgrx::spi::SpiError> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| internal("SPI", e))
    }
}

/// A required argument: NULL is an error naming the argument.
pub fn required<T>(value: Option<T>, argument: &str) -> T {
    value.unwrap_or_else(|| raise(ParmanaError::null_argument(argument)))
}
