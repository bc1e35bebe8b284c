//! Differences between two registered versions of a policy (`parmana_policy_diff`): signals,
//! rules, conditions and outcomes, with what shadow evaluation of the pair recorded.

use crate::error::{required, OrRaise};
use crate::jsonb::JsonbText;
use crate::policy::document;
use parmana_core::canonical::parse_json;
use parmana_core::policy::compile;
use parmana_core::policy_diff::diff;
use pgrx::prelude::*;
use serde_json::Value;

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
                      - 'policy_version' - 'candidate_version' \
                      ORDER BY d.executions DESC, d.rule_id, d.candidate_rule_id) \
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
