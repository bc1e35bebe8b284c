//! Ed25519 batch verification with `verify_strict`'s verdict for every signature.
//!
//! Per signature, the checks `verify_strict` makes beyond the equation are made here too: `s` is
//! canonical (< ℓ), `R` is a canonical encoding and neither `R` nor the public key `A` has small
//! order. The equations `R_i = s_i·B − h_i·A_i` are then checked together as
//! `Σ z_i·R_i + Σ (z_i·h_i)·A_i − (Σ z_i·s_i)·B = 0` with random `z_i ≡ 1 (mod 8)`, which costs
//! well under half a verification per signature. A batch that fails is verified signature by
//! signature with `verify_strict`, so a bad row is named, not just its batch.
//!
//! Why the verdicts agree: if some `T_i = R_i + h_i·A_i − s_i·B` has a component of prime order,
//! the random combination is non-zero except with probability about 2^-124. If every `T_i` is a
//! pure torsion point, `z_i ≡ 1 (mod 8)` keeps it, so a lone deviant signature fails the batch.
//! Making `T_i` pure torsion needs the private key (`h_i` is a hash of `R_i`), so only signatures
//! the key's holder crafts on purpose, several whose torsion points cancel, could pass a batch
//! that `verify_strict` refuses — and that holder can sign anything anyway.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

/// One signature to check: the signed message (for parmana documents, the DSSE PAE bytes).
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub key: &'a VerifyingKey,
    pub message: &'a [u8],
    pub signature: &'a [u8; 64],
}

/// y < p = 2^255 − 19 for the 255 low bits of an encoding (the sign bit aside).
fn canonical_y(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    y[31] &= 0x7f;
    // y ≥ p only when bytes 1..31 are all 0xff (0x7f in the top byte) and byte 0 ≥ 0xed.
    !(y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed)
}

/// What one signature contributes to the batch equation, or None when a per-signature check
/// already fails.
struct Prepared {
    r: EdwardsPoint,
    a: EdwardsPoint,
    s: Scalar,
    h: Scalar,
}

fn prepare(item: &Item<'_>) -> Option<Prepared> {
    let r_bytes: [u8; 32] = item.signature[..32].try_into().expect("32 bytes");
    let s_bytes: [u8; 32] = item.signature[32..].try_into().expect("32 bytes");
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    if !canonical_y(&r_bytes) {
        return None;
    }
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    let a = CompressedEdwardsY(item.key.to_bytes()).decompress()?;
    if r.is_small_order() || a.is_small_order() {
        return None;
    }
    let mut hasher = Sha512::new();
    hasher.update(r_bytes);
    hasher.update(item.key.as_bytes());
    hasher.update(item.message);
    let h = Scalar::from_bytes_mod_order_wide(&hasher.finalize().into());
    Some(Prepared { r, a, s, h })
}

/// A random scalar ≡ 1 (mod 8) below 2^128.
fn weight() -> Scalar {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).expect("the OS random source works");
    let w = u128::from_le_bytes(raw) >> 3;
    Scalar::from((w << 3) | 1)
}

fn strict(item: &Item<'_>) -> bool {
    item.key.verify_strict(item.message, &Signature::from_bytes(item.signature)).is_ok()
}

/// The verdict of `verify_strict` for each item, computed in one batch when they all hold.
pub fn verify(items: &[Item<'_>]) -> Vec<bool> {
    let prepared: Vec<Option<Prepared>> = items.iter().map(prepare).collect();
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    let mut b_coefficient = Scalar::ZERO;
    for p in prepared.iter().flatten() {
        let z = weight();
        scalars.push(z);
        points.push(p.r);
        scalars.push(z * p.h);
        points.push(p.a);
        b_coefficient += z * p.s;
    }
    scalars.push(-b_coefficient);
    points.push(ED25519_BASEPOINT_POINT);
    if EdwardsPoint::vartime_multiscalar_mul(&scalars, &points).is_identity() {
        return prepared.iter().map(Option::is_some).collect();
    }
    items.iter().zip(&prepared).map(|(item, p)| p.is_some() && strict(item)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;
    use ed25519_dalek::Signer;

    fn signed(n: usize) -> (Vec<KeyPair>, Vec<Vec<u8>>, Vec<[u8; 64]>) {
        let keys: Vec<KeyPair> = (0..3u8).map(|i| KeyPair::from_seed(&[i + 1; 32])).collect();
        let messages: Vec<Vec<u8>> = (0..n).map(|i| format!("message {i}").into_bytes()).collect();
        let signatures =
            messages.iter().enumerate().map(|(i, m)| keys[i % 3].signing_key().sign(m).to_bytes()).collect();
        (keys, messages, signatures)
    }

    fn check(keys: &[KeyPair], messages: &[Vec<u8>], signatures: &[[u8; 64]]) -> (Vec<bool>, Vec<bool>) {
        let vks: Vec<VerifyingKey> = keys.iter().map(|k| k.verifying_key()).collect();
        let items: Vec<Item> = messages
            .iter()
            .zip(signatures)
            .enumerate()
            .map(|(i, (m, s))| Item { key: &vks[i % 3], message: m, signature: s })
            .collect();
        (verify(&items), items.iter().map(strict).collect())
    }

    #[test]
    fn valid_batches_pass() {
        let (keys, messages, signatures) = signed(64);
        let (batch, strict) = check(&keys, &messages, &signatures);
        assert!(batch.iter().all(|v| *v));
        assert_eq!(batch, strict);
        assert!(verify(&[]).is_empty());
    }

    #[test]
    fn every_kind_of_bad_signature_gets_the_strict_verdict() {
        let (keys, messages, mut signatures) = signed(40);
        signatures[1][0] ^= 1; // R changed
        signatures[2][40] ^= 1; // s changed
        signatures[3][63] |= 0xf0; // s not canonical
        signatures[4][..32].copy_from_slice(&[0xff; 32]); // R not a canonical encoding
        signatures[5][..32].copy_from_slice(&CompressedEdwardsY::default().0); // R = identity: small order
        let mut messages = messages;
        messages[6].push(b'!'); // message changed
        signatures[7] = signatures[8]; // another message's signature
        let (batch, strict) = check(&keys, &messages, &signatures);
        assert_eq!(batch, strict);
        assert_eq!(batch.iter().filter(|v| !**v).count(), 7);
    }

    /// A signature whose R carries a torsion point, which only the key's holder can make: it
    /// satisfies the cofactored equation but not verify_strict's, and fails the batch too.
    #[test]
    fn a_torsion_deviant_signature_fails_the_batch() {
        let a = Scalar::from(123_456_789u64);
        let public = VerifyingKey::from_bytes(&(a * ED25519_BASEPOINT_POINT).compress().0).unwrap();
        let mut order_two = [0xffu8; 32];
        order_two[0] = 0xec;
        order_two[31] = 0x7f; // y = p − 1: the point (0, −1), of order 2
        let t = CompressedEdwardsY(order_two).decompress().unwrap();
        let message = b"crafted".to_vec();
        let r = Scalar::from(987_654_321u64);
        let big_r = (r * ED25519_BASEPOINT_POINT + t).compress();
        let mut hasher = Sha512::new();
        hasher.update(big_r.as_bytes());
        hasher.update(public.as_bytes());
        hasher.update(&message);
        let h = Scalar::from_bytes_mod_order_wide(&hasher.finalize().into());
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(big_r.as_bytes());
        signature[32..].copy_from_slice((r + h * a).as_bytes());
        let (keys, messages, signatures) = signed(10);
        let vks: Vec<VerifyingKey> = keys.iter().map(|k| k.verifying_key()).collect();
        let mut items: Vec<Item> = messages
            .iter()
            .zip(&signatures)
            .enumerate()
            .map(|(i, (m, s))| Item { key: &vks[i % 3], message: m, signature: s })
            .collect();
        items.push(Item { key: &public, message: &message, signature: &signature });
        assert!(!strict(items.last().unwrap()));
        let verdicts = verify(&items);
        assert_eq!(verdicts, items.iter().map(strict).collect::<Vec<_>>());
        assert!(!verdicts[10] && verdicts[..10].iter().all(|v| *v));
    }

    #[test]
    fn weights_are_one_mod_eight() {
        for _ in 0..100 {
            assert_eq!(weight().as_bytes()[0] & 7, 1);
        }
    }
}
