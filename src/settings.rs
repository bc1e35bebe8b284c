//! parmana's settings. Only a superuser may change any of them: a role that could shorten a TTL or
//! lift a limit could weaken replay protection.

use parmana_core::signals::SignalLimits;
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

pub static SIGNING_KEY_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static RESERVATION_TTL: GucSetting<i32> = GucSetting::<i32>::new(300);
pub static FAILED_TTL: GucSetting<i32> = GucSetting::<i32>::new(30);
pub static MAX_SIGNALS_BYTES: GucSetting<i32> = GucSetting::<i32>::new(65536);
pub static REJECT_PII: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static LOG_ORIGIN: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static EXPLAIN_DECISIONS: GucSetting<bool> = GucSetting::<bool>::new(false);

pub fn register() {
    GucRegistry::define_string_guc(
        c"parmana.signing_key_file",
        c"PEM PKCS#8 Ed25519 private key file used to sign attestations.",
        c"When empty, the key generated at CREATE EXTENSION (or by parmana_rotate_key) signs.",
        &SIGNING_KEY_FILE,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY | GucFlags::NO_SHOW_ALL,
    );
    GucRegistry::define_int_guc(
        c"parmana.reservation_ttl",
        c"Seconds after which a RESERVED execution id lapses and may be claimed again.",
        c"",
        &RESERVATION_TTL,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"parmana.failed_ttl",
        c"Seconds after which a FAILED execution id lapses and may be claimed again.",
        c"",
        &FAILED_TTL,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"parmana.max_signals_bytes",
        c"Largest canonical signals document parmana_execute accepts, in bytes (VAL-013).",
        c"",
        &MAX_SIGNALS_BYTES,
        2,
        64 * 1024 * 1024,
        GucContext::Suset,
        GucFlags::UNIT_BYTE,
    );
    GucRegistry::define_string_guc(
        c"parmana.log_origin",
        c"The origin (name) of this database's attestation log in its signed checkpoints.",
        c"Read once, at the first tree checkpoint; when empty a random one is generated.",
        &LOG_ORIGIN,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_bool_guc(
        c"parmana.reject_pii",
        c"Refuse string signals that look like e-mail addresses, US SSNs or card numbers (VAL-014).",
        c"",
        &REJECT_PII,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"parmana.explain_decisions",
        c"Sign into each decision which conditions held and which failed first (condition paths, never values).",
        c"Adds an explanation field to decision attestations; parmana_simulate always explains.",
        &EXPLAIN_DECISIONS,
        GucContext::Suset,
        GucFlags::default(),
    );
}

pub fn signal_limits() -> SignalLimits {
    SignalLimits { max_bytes: MAX_SIGNALS_BYTES.get() as usize, reject_pii: REJECT_PII.get() }
}

/// The configured key file, if any (an empty string means none).
pub fn signing_key_file() -> Option<String> {
    SIGNING_KEY_FILE.get().and_then(|c| c.into_string().ok()).filter(|s| !s.trim().is_empty())
}

/// The configured log origin, if any (an empty string means none).
pub fn log_origin() -> Option<String> {
    LOG_ORIGIN.get().and_then(|c| c.into_string().ok()).filter(|s| !s.trim().is_empty())
}

/// Set a PostgreSQL setting for the current GUC nest level, as a function's `SET` clause does;
/// the caller's `AtEOXact_GUC` at that level undoes it.
pub fn set_local(name: &str, value: &str) {
    let (name, value) = (CString::new(name), CString::new(value));
    let (Ok(name), Ok(value)) = (name, value) else { crate::error::internal("set_local", "NUL in a setting") };
    unsafe {
        pgrx::pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pgrx::pg_sys::GucContext::PGC_USERSET,
            pgrx::pg_sys::GucSource::PGC_S_SESSION,
            pgrx::pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            pgrx::PgLogLevel::ERROR as i32,
            false,
        );
    }
}

/// The current value of a PostgreSQL setting.
pub fn current(name: &str) -> String {
    let name = CString::new(name).unwrap_or_else(|_| crate::error::internal("current", "NUL in a setting"));
    unsafe {
        let value = pgrx::pg_sys::GetConfigOption(name.as_ptr(), false, false);
        std::ffi::CStr::from_ptr(value).to_string_lossy().into_owned()
    }
}

/// Undoes every setting changed at its GUC nest level, also when the work unwinds.
pub struct SettingsScope(i32);

impl SettingsScope {
    pub fn open() -> Self {
        SettingsScope(unsafe { pgrx::pg_sys::NewGUCNestLevel() })
    }
}

impl Drop for SettingsScope {
    fn drop(&mut self) {
        // On an error, (sub)transaction abort undoes the settings; PostgreSQL must not be called
        // while an error unwinds.
        if !std::thread::panicking() {
            unsafe { pgrx::pg_sys::AtEOXact_GUC(false, self.0) };
        }
    }
}

/// Run `work` with setting `name` at `value`, as a function's SET clause would.
pub fn with_setting<R>(name: &str, value: &str, work: impl FnOnce() -> R) -> R {
    let _scope = SettingsScope::open();
    set_local(name, value);
    work()
}
