//! Policy test suites in PostgreSQL (`parmana_policy_test`): cases run against a registered
//! version, with coverage of its rules and conditions; nothing is claimed, signed or stored.

use crate::error::{required, OrRaise};
use crate::jsonb::JsonbText;
use crate::policy::find;
use crate::settings::signal_limits;
use parmana_core::canonical::parse_json;
use parmana_core::policy_test::run_suite;
use parmana_core::ParmanaError;
use pgrx::prelude::*;
use serde_json::Value;

/// Run a test suite (a JSON array of cases) against a registered policy version: per-case results
/// and coverage of its rules and conditions. Nothing is claimed, signed or stored.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_policy_test(
    policy_id: Option<String>,
    policy_version: Option<String>,
    cases: Option<JsonbText>,
) -> JsonbText {
    let policy_id = required(policy_id, "policy_id");
    let policy_version = required(policy_version, "policy_version");
    let cases = required(cases, "cases");
    let policy = find(&policy_id, &policy_version)
        .unwrap_or_else(|| crate::error::raise(ParmanaError::unknown_policy(&policy_id, &policy_version)));
    let cases: Value = parse_json(&cases.0).unwrap_or(Value::Null);
    JsonbText::from_value(&run_suite(&policy, &cases, signal_limits()).or_raise())
}
