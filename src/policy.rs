//! Policy registration and the per-backend cache of compiled policies.

use crate::error::{raise, required, OrRaise};
use crate::identity::acting_role;
use crate::jsonb::JsonbText;
use crate::spi::prepared;
use parmana_core::canonical::parse_json;
use parmana_core::error::codes;
use parmana_core::policy::{compile, CompiledPolicy};
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::TEXTOID;
use pgrx::prelude::*;
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    // Keyed by (policyId, policyVersion); an entry is used only while its policyHash equals the
    // hash stored in parmana.policies, which the caller reads on every execution.
    static COMPILED: RefCell<HashMap<(String, String), Rc<CompiledPolicy>>> = RefCell::new(HashMap::new());
}

/// A policy, the signer's key id, the execution id's namespace owner and the policy's shadow
/// candidate, read in one query on the hot path.
pub struct PolicyLookup {
    pub policy: Rc<CompiledPolicy>,
    pub active_key_id: Option<String>,
    /// The owner role of the longest execution namespace the id falls in, if any.
    pub namespace_owner: Option<String>,
    /// The candidate version evaluated in the shadow of this one, and its policyHash.
    pub shadow: Option<(String, String)>,
}

/// Load a registered policy (`POL-001` when unknown), compiling it at most once per backend.
/// With an execution id, also find the namespace it falls in.
pub fn load(policy_id: &str, policy_version: &str, execution_id: Option<&str>) -> PolicyLookup {
    type Row = (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
    let row: Option<Row> = Spi::connect(|client| {
        let plan = prepared(
            client,
            "SELECT p.policy_hash, (SELECT k.key_id FROM parmana.signing_keys k WHERE k.active), \
               (SELECT n.owner_role::pg_catalog.text FROM parmana.execution_namespaces n \
                WHERE $3 IS NOT NULL AND pg_catalog.starts_with($3, n.prefix) \
                ORDER BY pg_catalog.length(n.prefix) DESC LIMIT 1), \
               s.candidate_version, c.policy_hash \
             FROM parmana.policies p \
             LEFT JOIN parmana.shadow_evaluations s ON s.policy_id = p.policy_id \
               AND s.policy_version = p.policy_version \
             LEFT JOIN parmana.policies c ON c.policy_id = s.policy_id AND c.policy_version = s.candidate_version \
             WHERE p.policy_id = $1 AND p.policy_version = $2",
            &[TEXTOID, TEXTOID, TEXTOID],
        );
        let table = client.select(plan, Some(1), &[policy_id.into(), policy_version.into(), execution_id.into()])?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        let row = table.first();
        Ok(Some((row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)))
    })
    .or_raise();
    let Some((Some(hash), active_key_id, namespace_owner, candidate, candidate_hash)) = row else {
        raise(ParmanaError::unknown_policy(policy_id, policy_version))
    };
    let policy = compiled(policy_id, policy_version, &hash);
    PolicyLookup { policy, active_key_id, namespace_owner, shadow: candidate.zip(candidate_hash) }
}

/// A registered policy version compiled, from the cache while its policyHash is `hash`.
pub fn compiled(policy_id: &str, policy_version: &str, hash: &str) -> Rc<CompiledPolicy> {
    let key = (policy_id.to_owned(), policy_version.to_owned());
    if let Some(policy) = COMPILED.with(|c| c.borrow().get(&key).filter(|p| p.policy_hash == hash).cloned()) {
        return policy;
    }
    let doc = document(policy_id, policy_version);
    let policy = Rc::new(compile(&doc).or_raise());
    COMPILED.with(|c| c.borrow_mut().insert(key, policy.clone()));
    policy
}

/// A registered policy version compiled, or `None` when it is not registered.
pub fn find(policy_id: &str, policy_version: &str) -> Option<Rc<CompiledPolicy>> {
    let hash = Spi::connect(|client| {
        let plan = prepared(
            client,
            "SELECT policy_hash FROM parmana.policies WHERE policy_id = $1 AND policy_version = $2",
            &[TEXTOID, TEXTOID],
        );
        let rows = client.select(plan, Some(1), &[policy_id.into(), policy_version.into()])?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.first().get_one::<String>()
    })
    .or_raise()?;
    Some(compiled(policy_id, policy_version, &hash))
}

/// A registered policy document (`POL-001` when unknown).
pub fn document(policy_id: &str, policy_version: &str) -> serde_json::Value {
    let document: String = Spi::connect(|client| {
        client
            .select(
                "SELECT document::text FROM parmana.policies WHERE policy_id = $1 AND policy_version = $2",
                Some(1),
                &[policy_id.into(), policy_version.into()],
            )?
            .first()
            .get_one::<String>()
    })
    .or_raise()
    .unwrap_or_else(|| raise(ParmanaError::unknown_policy(policy_id, policy_version)));
    parse_json(&document).unwrap_or_else(|e| crate::error::internal("stored policy document", e))
}

/// Compile and store a policy version. Registering the identical document again is a no-op;
/// different content under a registered (policyId, policyVersion) is an error.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_register_policy(policy: Option<JsonbText>) -> JsonbText {
    let text = required(policy, "policy").0;
    let doc = parse_json(&text).unwrap_or_else(|e| {
        raise(ParmanaError::new(&codes::POL_002, format!("Policy document is not readable JSON: {e}")))
    });
    let compiled = compile(&doc).or_raise();
    let registered_hash: Option<String> = Spi::connect_mut(|client| {
        let inserted = client.update(
            "INSERT INTO parmana.policies (policy_id, policy_version, policy_hash, schema_version, document, \
               registered_by) \
             VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT (policy_id, policy_version) \
             DO NOTHING RETURNING policy_hash",
            None,
            &[
                compiled.policy_id.as_str().into(),
                compiled.policy_version.as_str().into(),
                compiled.policy_hash.as_str().into(),
                compiled.schema_version.as_str().into(),
                text.as_str().into(),
                acting_role().into(),
            ],
        )?;
        if !inserted.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        client
            .select(
                "SELECT policy_hash FROM parmana.policies WHERE policy_id = $1 AND policy_version = $2",
                Some(1),
                &[compiled.policy_id.as_str().into(), compiled.policy_version.as_str().into()],
            )?
            .first()
            .get_one::<String>()
    })
    .or_raise();
    if let Some(existing) = registered_hash {
        if existing != compiled.policy_hash {
            raise(
                ParmanaError::new(
                    &codes::POL_024,
                    format!(
                        "Policy {:?} version {:?} is already registered with different content",
                        compiled.policy_id, compiled.policy_version
                    ),
                )
                .with_detail(format!("The registered version has policyHash {existing}."))
                .with_hint("Registered versions are immutable: register a new policyVersion."),
            );
        }
    }
    JsonbText::from_value(&json!({
        "policyId": compiled.policy_id,
        "policyVersion": compiled.policy_version,
        "policyHash": compiled.policy_hash,
        "warnings": compiled.warnings_json(),
    }))
}
