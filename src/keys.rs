//! Signing keys: the embedded key kept in an owner-only table, or `parmana.signing_key_file`;
//! rotation; public keys for verification. Parsed keys are cached per backend.

use crate::error::{raise, OrRaise};
use crate::jsonb::JsonbText;
use crate::settings::signing_key_file;
use crate::spi::prepared;
use parmana_core::error::codes;
use parmana_core::keys::{parse_public_key_pem, Ed25519VerifyingKey, KeyPair};
use parmana_core::ParmanaError;
use pgrx::pg_sys::BuiltinOid::TEXTOID;
use pgrx::prelude::*;
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::SystemTime;

struct FileKey {
    path: String,
    modified: Option<SystemTime>,
    len: u64,
    key: Rc<KeyPair>,
    registered: bool,
}

thread_local! {
    static EMBEDDED: RefCell<HashMap<String, Rc<KeyPair>>> = RefCell::new(HashMap::new());
    static FILE_KEY: RefCell<Option<FileKey>> = const { RefCell::new(None) };
    static PUBLIC: RefCell<HashMap<String, Ed25519VerifyingKey>> = RefCell::new(HashMap::new());
}

/// The key that signs now. `active_embedded` is the active row of `parmana.signing_keys`, read
/// by the caller in the same query as the policy so a rotation in another backend is seen.
pub fn signer(active_embedded: Option<&str>) -> Rc<KeyPair> {
    if let Some(path) = signing_key_file() {
        return file_key(&path);
    }
    let key_id = active_embedded.unwrap_or_else(|| {
        raise(
            ParmanaError::no_signing_key("No usable signing key")
                .with_detail("No key is active in parmana.signing_keys and parmana.signing_key_file is not set.")
                .with_hint("Run parmana.parmana_rotate_key() as parmana_admin, or configure parmana.signing_key_file."),
        )
    });
    if let Some(key) = EMBEDDED.with(|k| k.borrow().get(key_id).cloned()) {
        return key;
    }
    let pem: Option<String> = Spi::connect(|client| {
        let plan = prepared(
            client,
            "SELECT private_key_pem FROM parmana.signing_key_secrets WHERE key_id OPERATOR(pg_catalog.=) $1",
            &[TEXTOID],
        );
        let table = client.select(plan, Some(1), &[key_id.into()])?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get_one::<String>()
    })
    .or_raise();
    let pem = pem.unwrap_or_else(|| {
        raise(ParmanaError::no_signing_key(format!("No private key stored for active key {key_id}")))
    });
    let key = Rc::new(KeyPair::from_pkcs8_pem(&pem).or_raise());
    if key.key_id() != key_id {
        raise(ParmanaError::no_signing_key(format!("Stored private key does not match key id {key_id}")));
    }
    EMBEDDED.with(|k| k.borrow_mut().insert(key_id.to_owned(), key.clone()));
    key
}

/// The key that signs now, for calls off the hot path (which reads the active key id together with
/// the policy instead).
pub fn current_signer() -> Rc<KeyPair> {
    signer(active_embedded_key_id().as_deref())
}

/// The active embedded key id, read from the registry.
pub fn active_embedded_key_id() -> Option<String> {
    Spi::connect(|client| {
        let plan = prepared(client, "SELECT key_id FROM parmana.signing_keys WHERE active", &[]);
        let table = client.select(plan, Some(1), &[])?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get_one::<String>()
    })
    .or_raise()
}

/// The file key, re-read when the path, size or modification time changes, and registered in
/// `parmana.signing_keys` once per backend so its attestations verify from the registry.
fn file_key(path: &str) -> Rc<KeyPair> {
    let (key, registered) = read_file_key(path).or_raise();
    if !registered {
        register_public_key(&key, "file", false);
        FILE_KEY.with(|f| {
            if let Some(cached) = f.borrow_mut().as_mut() {
                cached.registered = true;
            }
        });
    }
    key
}

/// Read and parse the key file (cached); no SQL. Returns the key and whether it is registered.
pub fn read_file_key(path: &str) -> Result<(Rc<KeyPair>, bool), ParmanaError> {
    let unreadable = |e: std::io::Error| {
        ParmanaError::no_signing_key(format!("Cannot read parmana.signing_key_file {path:?}: {}", e.kind()))
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    let (modified, len) = (meta.modified().ok(), meta.len());
    let cached = FILE_KEY.with(|f| {
        f.borrow()
            .as_ref()
            .filter(|k| k.path == path && k.modified == modified && k.len == len)
            .map(|k| (k.key.clone(), k.registered))
    });
    if let Some(hit) = cached {
        return Ok(hit);
    }
    let key = Rc::new(KeyPair::from_pkcs8_pem(&std::fs::read_to_string(path).map_err(unreadable)?)?);
    FILE_KEY.with(|f| {
        *f.borrow_mut() = Some(FileKey { path: path.to_owned(), modified, len, key: key.clone(), registered: false })
    });
    Ok((key, false))
}

fn register_public_key(key: &KeyPair, source: &str, active: bool) {
    Spi::connect_mut(|client| {
        client
            .update(
                "INSERT INTO parmana.signing_keys (key_id, public_key_pem, source, active) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key_id) DO NOTHING",
                None,
                &[key.key_id().into(), key.public_key_pem().into(), source.into(), active.into()],
            )
            .map(|_| ())
    })
    .or_raise();
}

/// Store a freshly generated key as the active embedded key, retiring the previous one.
fn install_new_embedded_key() -> (Rc<KeyPair>, Option<String>) {
    let key = Rc::new(KeyPair::generate().or_raise());
    let previous = Spi::connect_mut(|client| {
        // Serialize rotations; executions only read this table and are not blocked.
        client.update("LOCK TABLE parmana.signing_keys IN SHARE ROW EXCLUSIVE MODE", None, &[])?;
        let retired = client.update(
            "UPDATE parmana.signing_keys SET active = false, retired_at = pg_catalog.now() \
             WHERE active RETURNING key_id",
            None,
            &[],
        )?;
        let previous = if retired.is_empty() { None } else { retired.first().get_one::<String>()? };
        client.update(
            "INSERT INTO parmana.signing_keys (key_id, public_key_pem, source, active) \
             VALUES ($1, $2, 'embedded', true)",
            None,
            &[key.key_id().into(), key.public_key_pem().into()],
        )?;
        client.update(
            "INSERT INTO parmana.signing_key_secrets (key_id, private_key_pem) VALUES ($1, $2)",
            None,
            &[key.key_id().into(), key.to_pkcs8_pem().into()],
        )?;
        Ok::<_, pgrx::spi::SpiError>(previous)
    })
    .or_raise();
    EMBEDDED.with(|k| k.borrow_mut().insert(key.key_id().to_owned(), key.clone()));
    (key, previous)
}

/// Called once by CREATE EXTENSION: an embedded key from the OS CSPRNG, unless one is active.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_internal_bootstrap_key() -> Option<String> {
    if active_embedded_key_id().is_some() {
        return None;
    }
    Some(install_new_embedded_key().0.key_id().to_owned())
}

/// Make a new embedded key active. Old public keys stay in `parmana.signing_keys`, so every past
/// attestation still verifies.
#[pg_extern(volatile, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_rotate_key() -> JsonbText {
    if let Some(path) = signing_key_file() {
        raise(
            ParmanaError::new(&codes::SYS_031, "parmana_rotate_key does not rotate a key file")
                .with_detail(format!("The signing key comes from parmana.signing_key_file ({path:?})."))
                .with_hint("Rotate by pointing the setting at a new key file and reloading the configuration."),
        );
    }
    let (key, previous) = install_new_embedded_key();
    JsonbText::from_value(&json!({
        "signerKeyId": key.key_id(),
        "previousKeyId": previous,
        "publicKey": key.public_key_pem(),
    }))
}

/// PEM SPKI of the key that signs now, or of `key_id`; NULL for an unknown key id. Parallel
/// restricted: with a key file configured, the first call registers its public key.
#[pg_extern(stable, security_definer, parallel_restricted)]
#[search_path(pg_catalog, pg_temp)]
fn parmana_public_key(key_id: default!(Option<String>, "NULL")) -> Option<String> {
    match key_id {
        None => Some(current_signer().public_key_pem()),
        Some(id) => public_key_pem(&id),
    }
}

fn public_key_pem(key_id: &str) -> Option<String> {
    Spi::connect(|client| {
        let plan = prepared(
            client,
            "SELECT public_key_pem FROM parmana.signing_keys WHERE key_id OPERATOR(pg_catalog.=) $1",
            &[TEXTOID],
        );
        let table = client.select(plan, Some(1), &[key_id.into()])?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get_one::<String>()
    })
    .or_raise()
}

/// The registered public key for a signerKeyId (cached: public keys never change).
pub fn verifying_key(key_id: &str) -> Result<Ed25519VerifyingKey, String> {
    if let Some(key) = PUBLIC.with(|p| p.borrow().get(key_id).copied()) {
        return Ok(key);
    }
    let pem = public_key_pem(key_id).ok_or_else(|| "signerKeyId is not a registered key".to_string())?;
    let key = parse_public_key_pem(&pem).map_err(str::to_string)?;
    if parmana_core::keys::key_id(&key) != key_id {
        return Err("registered public key does not match its key id".into());
    }
    PUBLIC.with(|p| p.borrow_mut().insert(key_id.to_owned(), key));
    Ok(key)
}
