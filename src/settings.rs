//! The settings of SPEC §15. Only a superuser may change any of them: a role that could shorten
//! a TTL or lift a limit could weaken replay protection.

use parmana_core::signals::SignalLimits;
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

pub static SIGNING_KEY_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static RESERVATION_TTL: GucSetting<i32> = GucSetting::<i32>::new(300);
pub static FAILED_TTL: GucSetting<i32> = GucSetting::<i32>::new(30);
pub static MAX_SIGNALS_BYTES: GucSetting<i32> = GucSetting::<i32>::new(65536);
pub static REJECT_PII: GucSetting<bool> = GucSetting::<bool>::new(true);

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
    GucRegistry::define_bool_guc(
        c"parmana.reject_pii",
        c"Refuse string signals that look like e-mail addresses, US SSNs or card numbers (VAL-014).",
        c"",
        &REJECT_PII,
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
