//! Ed25519 keys: generation from the OS CSPRNG, PEM PKCS#8 / SPKI, and key ids.

use crate::error::{ParmanaError, Result};
use crate::hashes::sha256_hex;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

pub use ed25519_dalek::{SigningKey as Ed25519SigningKey, VerifyingKey as Ed25519VerifyingKey};

/// A signing key with its public key id, ready to sign.
pub struct KeyPair {
    signing: SigningKey,
    key_id: String,
}

impl KeyPair {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<KeyPair> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| ParmanaError::no_signing_key(format!("The OS random source failed: {e}")))?;
        Ok(KeyPair::from_signing_key(SigningKey::from_bytes(&seed)))
    }

    pub fn from_seed(seed: &[u8; 32]) -> KeyPair {
        KeyPair::from_signing_key(SigningKey::from_bytes(seed))
    }

    fn from_signing_key(signing: SigningKey) -> KeyPair {
        let key_id = key_id(&signing.verifying_key());
        KeyPair { signing, key_id }
    }

    /// Parse a PEM PKCS#8 Ed25519 private key (`-----BEGIN PRIVATE KEY-----`). The error
    /// never includes the key material.
    pub fn from_pkcs8_pem(pem: &str) -> Result<KeyPair> {
        SigningKey::from_pkcs8_pem(pem)
            .map(KeyPair::from_signing_key)
            .map_err(|_| ParmanaError::no_signing_key("The signing key is not a PEM PKCS#8 Ed25519 private key"))
    }

    pub fn to_pkcs8_pem(&self) -> String {
        self.signing
            .to_pkcs8_pem(Default::default())
            .expect("encoding a valid Ed25519 key as PKCS#8 cannot fail")
            .to_string()
    }

    pub fn public_key_pem(&self) -> String {
        public_key_pem(&self.signing.verifying_key())
    }

    /// `signerKeyId`: lowercase hex SHA-256 of the raw 32-byte public key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }
}

/// `signerKeyId` of a public key.
pub fn key_id(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())
}

/// PEM SPKI (`-----BEGIN PUBLIC KEY-----`) of a public key.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(Default::default()).expect("encoding an Ed25519 public key as SPKI cannot fail")
}

/// Parse a PEM SPKI Ed25519 public key.
pub fn parse_public_key_pem(pem: &str) -> std::result::Result<VerifyingKey, &'static str> {
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|_| "public key is not a PEM SPKI Ed25519 key")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1 TEST 1.
    pub const RFC8032_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    pub const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for i in 0..32 {
            out[i] = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn rfc8032_key_round_trips_through_pem() {
        let kp = KeyPair::from_seed(&hex32(RFC8032_SECRET));
        assert_eq!(crate::hashes::to_hex(kp.verifying_key().as_bytes()), RFC8032_PUBLIC);
        let pem = kp.to_pkcs8_pem();
        // The PKCS#8 v1 form OpenSSL writes parses to the same key.
        let openssl_v1 = "-----BEGIN PRIVATE KEY-----\n\
                          MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
                          -----END PRIVATE KEY-----\n";
        assert_eq!(KeyPair::from_pkcs8_pem(openssl_v1).unwrap().key_id(), kp.key_id());
        let spki = kp.public_key_pem();
        assert!(spki.contains("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="), "{spki}");
        let again = KeyPair::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(again.key_id(), kp.key_id());
        assert_eq!(parse_public_key_pem(&spki).unwrap(), kp.verifying_key());
        assert_eq!(kp.key_id(), sha256_hex(&hex32(RFC8032_PUBLIC)));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(KeyPair::generate().unwrap().key_id(), KeyPair::generate().unwrap().key_id());
    }

    #[test]
    fn bad_pem_is_an_error_without_material() {
        let err =
            KeyPair::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").err().unwrap();
        assert_eq!(err.code(), "SYS-030");
        assert!(!err.to_string().contains("AAAA"));
        assert!(parse_public_key_pem("nope").is_err());
    }
}
