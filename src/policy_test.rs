//! Safe policy change, the PostgreSQL half: test suites with coverage (`parmana_policy_test`)
//! and differences between versions with what shadow evaluation saw (`parmana_policy_diff`).

use crate::errors::{required, OrRaise};
use crate::jsonb::JsonbText;
use crate::policies::{compiled, document};
use crate::settings::signal_limits;
use parmana_core::canonical::parse_json;
use parmana_core::policy::compile;
use parmana_core::policy_diff::diff;
use parmana_core::policy_test::run_suite;
use parmana_core::ParmanaError;
use pgrx::prelude::*;
use serde_json::Value;

fn registered_hash(policy_id: &str, policy_version: &str) -> String {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT policy_hash FROM parmana.policies WHERE policy_id = $1 AND policy_version = $2",
            Some(1),
            &[policy_id.into(), policy_version.into()],
        )?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.first().get_one::<String>()
    })
    .or_raise()
    .unwrap_or_else(|| crate::errors::raise(ParmanaError::unknown_policy(policy_id, policy_version)))
}

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
    let policy = compiled(&policy_id, &policy_version, &registered_hash(&policy_id, &policy_version));
    let cases: Value = parse_json(&cases.0).unwrap_or(Value::Null);
    JsonbText::from_value(&run_suite(&policy, &cases, signal_limits()).or_raise())
}

/// What changed from one registered version of a policy to another (signals, rules, conditions,
/// outcomes), and what shadow evaluation of the newer one recorded, by rule pair.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_policy_diff(
    policy_id: Option<String>,
    from_version: Option<String>,
    to_version: Option<String>,
) -> JsonbText {
    let policy_id = required(policy_id, "policy_id");
    let (from, to) = (required(from_version, "from_version"), required(to_version, "to_version"));
    let (old_doc, new_doc) = (document(&policy_id, &from), document(&policy_id, &to));
    let mut report = diff(&compile(&old_doc).or_raise(), &old_doc, &compile(&new_doc).or_raise(), &new_doc);
    let shadow: Option<Value> = Spi::connect(|client| {
        client
            .select(
                "SELECT pg_catalog.jsonb_build_object( \
                   'executionsShadowed', (SELECT pg_catalog.count(*) FROM parmana.attestations a \
                      WHERE a.policy_id = $1 AND a.policy_version = $2 AND a.kind = 'decision' \
                        AND EXISTS (SELECT FROM parmana.shadow_periods s \
                          WHERE s.policy_id = $1 AND s.policy_version = $2 AND s.candidate_version = $3 \
                            AND a.issued_at >= s.started_at \
                            AND (s.stopped_at IS NULL OR a.issued_at < s.stopped_at))), \
                   'divergences', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(d) - 'policy_id' \
                      - 'policy_version' - 'candidate_version' ORDER BY d.executions DESC, d.rule_id, d.candidate_rule_id) \
                      FROM parmana.shadow_divergence_summary d \
                      WHERE d.policy_id = $1 AND d.policy_version = $2 AND d.candidate_version = $3), '[]'))::text",
                Some(1),
                &[policy_id.as_str().into(), from.as_str().into(), to.as_str().into()],
            )?
            .first()
            .get_one::<String>()
            .map(|t| t.and_then(|t| parse_json(&t).ok()))
    })
    .or_raise();
    report["shadow"] = shadow.unwrap_or(Value::Null);
    JsonbText::from_value(&report)
}
