//! parmana-core: everything parmana decides and proves, without PostgreSQL.
//!
//! canonical JSON → policies → signals → fingerprint → decision → signed attestation → verify.

pub mod attestation;
pub mod batch;
pub mod canonical;
pub mod checkpoint;
pub mod error;
pub mod explain;
pub mod govern;
pub mod hashes;
pub mod identifiers;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod overrides;
pub mod policy;
pub mod policy_diff;
pub mod policy_test;
pub mod replay;
pub mod runtime;
pub mod signals;
pub mod signing;
pub mod verify;
pub mod witness;

pub use error::{ParmanaError, Result, SqlState};
