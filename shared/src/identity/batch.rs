//! Batch verification of recoverable signatures against known public keys: one
//! multi-scalar multiplication checks a whole batch, about twice as fast per signature as
//! recovering each one.
//!
//! **What is checked.** For each item (hash z, signature r ‖ s ‖ v, public key Q), recovery
//! would give `Q' = r⁻¹(s·R − z·G)` with R the curve point whose x is r and whose y has
//! parity v, and the item is good when `Q' = Q`. That is exactly `R = (z/s)·G + (r/s)·Q`.
//! The batch draws a fresh random 128-bit coefficient aᵢ per item (a₀ = 1) and checks the
//! one equation
//!
//! ```text
//! Σ aᵢ·Rᵢ − (Σ aᵢ·zᵢ/sᵢ)·G − Σ_keys (Σ_{i of the key} aᵢ·rᵢ/sᵢ)·Q = O
//! ```
//!
//! If every item is good the sum is O. Otherwise take the last bad item j: if j = 0 it is
//! the only bad one and the sum is its (non-zero) residual; else, given the other
//! coefficients, exactly one value of aⱼ modulo n makes the sum O (the group has prime
//! order), so a bad batch passes with probability at most 2⁻¹²⁸ — the small-exponents test
//! of Bellare, Garay and Rabin (EUROCRYPT '98). The coefficients come from the operating system's generator and
//! are drawn after the batch is fixed, so a sender cannot make two bad items cancel.
//!
//! **Costs.** Per item one square root (to lift R from r) and about 30 point additions on
//! 128-bit coefficients (Straus's interleaved windowed-NAF method); per distinct key about
//! 50 additions on a full scalar; per batch one multiplication of the generator from k256's
//! table and 256 doublings. Everything here is public data, so variable time is fine.
//!
//! **Scope.** A `false` says that at least one item is bad, not which: the caller then
//! checks the items one by one ([`Signature::recover_public_key`]) to name it. Point
//! arithmetic is k256's; only the schedule of additions is written here.

use k256::elliptic_curve::Group;
use k256::elliptic_curve::ops::{Invert, MulByGenerator};
use k256::elliptic_curve::rand_core::{OsRng, RngCore};
use k256::{AffinePoint, ProjectivePoint, Scalar};

use super::signature::RecoveryParts;
use super::{B256, Backend, PublicKey, Signature};

/// Window width of the NAF digits: digits are odd, |d| < 2^(W-1), so 8 multiples per point.
const W: u32 = 5;

/// One signature to check: `signature` over `hash`, expected from `key`.
#[derive(Debug, Clone, Copy)]
pub struct BatchItem<'a> {
    pub hash: B256,
    pub signature: &'a Signature,
    pub key: &'a PublicKey,
}

/// True when every item's signature recovers to its key (up to a 2⁻¹²⁸ chance of a bad batch
/// passing; see the module text). An empty batch is true.
pub fn verify_batch(items: &[BatchItem<'_>]) -> bool {
    verify_batch_with(items, &mut OsRng)
}

/// [`verify_batch`] with the coefficients from `rng` (tests use a fixed generator to show
/// why they must be random).
pub(crate) fn verify_batch_with(items: &[BatchItem<'_>], rng: &mut impl RngCore) -> bool {
    let Some(parts) = items.iter().map(parts).collect::<Option<Vec<Parts>>>() else {
        return false;
    };
    let Some(s_inv) = invert_all(parts.iter().map(|p| p.s).collect()) else {
        return false;
    };
    let mut g_coefficient = Scalar::ZERO;
    // (key, Σ aᵢ·rᵢ/sᵢ) per distinct key; batches are small, so a list.
    let mut keys: Vec<(AffinePoint, Scalar)> = Vec::new();
    let mut terms: Vec<(ProjectivePoint, Vec<i8>)> = Vec::with_capacity(items.len() + 4);
    // Every coefficient but the first (1) at once, drawn after the batch is fixed. A generator
    // that fails gives `false`: the caller then recovers every item (slower, never wrong).
    let mut random = vec![0u8; 16 * parts.len().saturating_sub(1)];
    if !random.is_empty() && rng.try_fill_bytes(&mut random).is_err() {
        return false;
    }
    let coefficients = std::iter::once(1u128).chain(random.chunks_exact(16).map(|c| {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(c);
        u128::from_le_bytes(bytes)
    }));
    for ((part, s_inv), a) in parts.iter().zip(s_inv).zip(coefficients) {
        let a_scalar = Scalar::from(a);
        g_coefficient += a_scalar * part.z * s_inv;
        let q_share = a_scalar * part.r * s_inv;
        match keys.iter_mut().find(|(k, _)| *k == part.key) {
            Some((_, sum)) => *sum += q_share,
            None => keys.push((part.key, q_share)),
        }
        terms.push((ProjectivePoint::from(part.big_r), wnaf(&u128_bytes(a))));
    }
    for (key, coefficient) in keys {
        // −c·Q as c·(−Q): the digits stay those of c.
        terms.push((
            -ProjectivePoint::from(key),
            wnaf(&coefficient.to_bytes().into()),
        ));
    }
    let sum = straus(&terms) - ProjectivePoint::mul_by_generator(&g_coefficient);
    bool::from(sum.is_identity())
}

/// What one item contributes, once its signature has been read.
struct Parts {
    z: Scalar,
    r: Scalar,
    s: Scalar,
    big_r: AffinePoint,
    key: AffinePoint,
}

/// The scalars and the point R of `item`, as recovery reads them; `None` when recovery would
/// fail (r or s out of range, no point with x = r).
fn parts(item: &BatchItem<'_>) -> Option<Parts> {
    let RecoveryParts { z, r, s, big_r } = item
        .signature
        .recovery_parts(Backend::DEFAULT, &item.hash)
        .ok()?;
    Some(Parts {
        z,
        r,
        s,
        big_r,
        key: *item.key.0.as_affine(),
    })
}

/// The inverses of `values` with one field inversion (Montgomery's trick); `None` if any is
/// zero.
fn invert_all(values: Vec<Scalar>) -> Option<Vec<Scalar>> {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = Scalar::ONE;
    for v in &values {
        prefix.push(acc);
        acc *= v;
    }
    let mut inv: Scalar = Option::from(Invert::invert_vartime(&acc))?;
    let mut out = vec![Scalar::ZERO; values.len()];
    for i in (0..values.len()).rev() {
        out[i] = inv * prefix[i];
        inv *= values[i];
    }
    Some(out)
}

/// `a` as a 32-byte big-endian number.
fn u128_bytes(a: u128) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[16..].copy_from_slice(&a.to_be_bytes());
    bytes
}

/// The width-W non-adjacent form of the 256-bit big-endian number `k`, least significant
/// digit first, without trailing zeros: Σ dᵢ·2ⁱ = k, every non-zero dᵢ odd with
/// |dᵢ| < 2^(W−1), and at least W−1 zeros after each one.
fn wnaf(k: &[u8; 32]) -> Vec<i8> {
    // Little-endian 64-bit limbs, and a zero fifth limb for windows that reach past bit 255.
    let mut limbs = [0u64; 5];
    for (i, chunk) in k.rchunks(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        limbs[i] = u64::from_be_bytes(word);
    }
    let width = 1u64 << W;
    let mut digits = vec![0i8; 257];
    // From the lowest bit up, never shifting the number: a digit is the next W bits plus
    // the carry a negative digit owes them (curve25519-dalek's `non_adjacent_form`,
    // extended past bit 255 for numbers of a full 256 bits).
    let mut carry = 0u64;
    let mut pos = 0;
    while pos < 257 {
        let (limb, bit) = (pos / 64, pos % 64);
        let mut bits = limbs[limb] >> bit;
        if bit + W as usize > 64 && limb < 4 {
            bits |= limbs[limb + 1] << (64 - bit);
        }
        let window = carry + (bits & (width - 1));
        if window & 1 == 0 {
            // Even (0, or a carry that completes a 1): a zero digit, and the carry stays.
            pos += 1;
            continue;
        }
        if window < width / 2 {
            carry = 0;
            digits[pos] = window as i8;
        } else {
            carry = 1;
            digits[pos] = window as i8 - width as i8;
        }
        pos += W as usize;
    }
    // A number below 2²⁵⁶ needs no digit above bit 256, so the carry is spent by then.
    debug_assert_eq!(carry, 0);
    let len = digits.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
    digits.truncate(len);
    digits
}

/// Σ kᵢ·Pᵢ for (Pᵢ, wNAF digits of kᵢ): one shared chain of doublings, each point adding its
/// precomputed odd multiple where its digit is non-zero.
fn straus(terms: &[(ProjectivePoint, Vec<i8>)]) -> ProjectivePoint {
    let tables: Vec<[ProjectivePoint; 1 << (W - 2)]> =
        terms.iter().map(|(p, _)| odd_multiples(p)).collect();
    let longest = terms.iter().map(|(_, d)| d.len()).max().unwrap_or(0);
    let mut acc = ProjectivePoint::IDENTITY;
    for bit in (0..longest).rev() {
        acc = acc.double();
        for ((_, digits), table) in terms.iter().zip(&tables) {
            match digits.get(bit).copied().unwrap_or(0) {
                0 => {}
                d if d > 0 => acc += table[(d as usize) / 2],
                d => acc -= table[(d.unsigned_abs() as usize) / 2],
            }
        }
    }
    acc
}

/// P, 3P, 5P, …, (2^(W−1) − 1)·P.
fn odd_multiples(p: &ProjectivePoint) -> [ProjectivePoint; 1 << (W - 2)] {
    let twice = p.double();
    let mut table = [*p; 1 << (W - 2)];
    for i in 1..table.len() {
        table[i] = table[i - 1] + twice;
    }
    table
}

#[cfg(test)]
mod tests {
    use k256::elliptic_curve::ops::Reduce;
    use k256::elliptic_curve::point::DecompressPoint;
    use k256::elliptic_curve::subtle::Choice;
    use k256::elliptic_curve::{Field, PrimeField};
    use k256::{FieldBytes, U256};

    use super::*;
    use crate::identity::{DeviceKey, keccak256};

    /// The tests' own random inputs (each assertion names the input it failed on).
    fn rng() -> OsRng {
        OsRng
    }

    fn signed(key: &DeviceKey, i: usize) -> (B256, Signature, PublicKey) {
        let hash = keccak256(format!("message {i}"));
        (hash, key.sign_hash(&hash), key.public_key())
    }

    fn items(set: &[(B256, Signature, PublicKey)]) -> Vec<BatchItem<'_>> {
        set.iter()
            .map(|(hash, signature, key)| BatchItem {
                hash: *hash,
                signature,
                key,
            })
            .collect()
    }

    #[test]
    fn wnaf_digits_sum_to_the_number_and_keep_their_form() {
        let mut rng = rng();
        for _ in 0..500 {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            let digits = wnaf(&k);
            // Σ dᵢ·2ⁱ as a scalar equals k reduced.
            let mut sum = Scalar::ZERO;
            let mut power = Scalar::ONE;
            for d in &digits {
                let d_scalar = Scalar::from(u64::from(d.unsigned_abs()));
                sum += if *d < 0 { -d_scalar } else { d_scalar } * power;
                power = power.double();
            }
            let expected = <Scalar as Reduce<U256>>::reduce_bytes(&k.into());
            assert_eq!(sum, expected, "k = {}", hex::encode(k));
            for (i, d) in digits.iter().enumerate() {
                if *d != 0 {
                    assert!(d % 2 != 0 && d.unsigned_abs() < 16, "digit {d}");
                    let next = &digits[i + 1..digits.len().min(i + W as usize)];
                    assert!(next.iter().all(|&n| n == 0), "digits after {i}: {next:?}");
                }
            }
            assert_ne!(digits.last(), Some(&0));
        }
        assert!(wnaf(&[0u8; 32]).is_empty());
        assert_eq!(wnaf(&u128_bytes(u128::MAX)).len(), 129);
    }

    #[test]
    fn straus_agrees_with_k256() {
        let mut rng = rng();
        let mut terms = Vec::new();
        let mut expected = ProjectivePoint::IDENTITY;
        for _ in 0..6 {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            let scalar = <Scalar as Reduce<U256>>::reduce_bytes(&k.into());
            let point = ProjectivePoint::mul_by_generator(&Scalar::from(rng.next_u64()));
            expected += point * scalar;
            terms.push((point, wnaf(&scalar.to_bytes().into())));
        }
        assert_eq!(straus(&terms), expected);
    }

    #[test]
    fn good_batches_pass() {
        let keys: Vec<DeviceKey> = (0..3).map(|_| DeviceKey::generate()).collect();
        assert!(verify_batch(&[]));
        for n in [1, 2, 16, 40] {
            let set: Vec<_> = (0..n).map(|i| signed(&keys[i % keys.len()], i)).collect();
            assert!(verify_batch(&items(&set)), "batch of {n}");
        }
    }

    #[test]
    fn one_bad_item_fails_the_batch_wherever_it_is() {
        let me = DeviceKey::generate();
        let other = DeviceKey::generate();
        let set: Vec<_> = (0..8).map(|i| signed(&me, i)).collect();
        for bad in 0..set.len() {
            let check = |tampered: (B256, Signature, PublicKey), what: &str| {
                let mut batch = set.clone();
                batch[bad] = tampered;
                assert!(!verify_batch(&items(&batch)), "{what} at {bad}");
            };
            let (hash, signature, key) = set[bad];
            check((keccak256("other"), signature, key), "another hash");
            check((hash, signature, other.public_key()), "another key");
            let (foreign_hash, foreign, _) = signed(&other, bad);
            check((foreign_hash, foreign, key), "signed by another key");
            let mut flipped = signature.to_bytes();
            flipped[64] ^= 27 ^ 28;
            let flipped = Signature::from_bytes(&flipped).unwrap();
            check((hash, flipped, key), "the other parity of R");
            // Each of these recovers to some key, never to this one.
            assert_ne!(flipped.recover_public_key(&hash).unwrap(), key);
        }
    }

    /// A "generator" that hands out the given coefficients, in order.
    struct Queue(Vec<u128>);

    impl RngCore for Queue {
        fn next_u32(&mut self) -> u32 {
            unimplemented!()
        }
        fn next_u64(&mut self) -> u64 {
            unimplemented!()
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for chunk in dest.chunks_mut(16) {
                chunk.copy_from_slice(&self.0.remove(0).to_le_bytes());
            }
        }
        fn try_fill_bytes(
            &mut self,
            dest: &mut [u8],
        ) -> Result<(), k256::elliptic_curve::rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    /// The item with its hash moved by s·ε: its residual in the batch equation is −ε·G.
    fn moved(
        (hash, signature, key): (B256, Signature, PublicKey),
        e: Scalar,
    ) -> (B256, Signature, PublicKey) {
        let RecoveryParts { z, s, .. } = signature.recovery_parts(Backend::DEFAULT, &hash).unwrap();
        let z = z + s * e;
        (B256::from(<[u8; 32]>::from(z.to_bytes())), signature, key)
    }

    /// Two bad items whose errors cancel when every coefficient is 1: hashes moved by +δ·s₁
    /// and −δ·s₂ leave residuals −δ·G and +δ·G. Random coefficients refuse them.
    #[test]
    fn bad_items_cannot_cancel_each_other() {
        let me = DeviceKey::generate();
        let set: Vec<_> = (0..2).map(|i| signed(&me, i)).collect();
        let delta = Scalar::from(12345u64);
        let bad = vec![moved(set[0], delta), moved(set[1], -delta)];
        assert!(bad[0].1.verify(&bad[0].0, &me.address()).is_err());
        assert!(bad[1].1.verify(&bad[1].0, &me.address()).is_err());
        // With coefficients 1 and 1 the errors cancel...
        assert!(verify_batch_with(&items(&bad), &mut Queue(vec![1])));
        // ...and the random ones do not.
        assert!(!verify_batch(&items(&bad)));
    }

    #[test]
    fn out_of_range_parts_fail() {
        let me = DeviceKey::generate();
        let (hash, signature, key) = signed(&me, 0);
        // An r that is no point's x (about half of all x are), so R cannot be lifted.
        let no_x = (1u8..=255)
            .find(|x| {
                let mut bytes = FieldBytes::default();
                bytes[31] = *x;
                bool::from(AffinePoint::decompress(&bytes, Choice::from(0)).is_none())
            })
            .unwrap();
        let mut bytes = signature.to_bytes();
        bytes[..32].fill(0);
        bytes[31] = no_x;
        let no_point = Signature::from_bytes(&bytes).unwrap();
        assert!(no_point.recover_public_key(&hash).is_err());
        assert!(!verify_batch(&items(&[(hash, no_point, key)])));
        // The same next to good items.
        let mut set: Vec<_> = (1..5).map(|i| signed(&me, i)).collect();
        set.insert(2, (hash, no_point, key));
        assert!(!verify_batch(&items(&set)));
    }

    /// Σ dᵢ·2ⁱ exactly (as integers, not only mod n) on inputs that stress the carry into
    /// the fifth limb: runs of ones at many offsets, all ones, n, n − 1 and u128 edges.
    #[test]
    fn wnaf_is_exact_on_carry_heavy_inputs() {
        fn value_of(digits: &[i8]) -> [u64; 5] {
            let mut acc = [0u64; 5];
            for &d in digits.iter().rev() {
                let mut carry = 0;
                for limb in acc.iter_mut() {
                    let top = *limb >> 63;
                    *limb = (*limb << 1) | carry;
                    carry = top;
                }
                // acc += d, two's complement on 320 bits
                let high = if d < 0 { u64::MAX } else { 0 };
                let mut carry = 0u64;
                for (i, limb) in acc.iter_mut().enumerate() {
                    let add = if i == 0 { i64::from(d) as u64 } else { high };
                    let (x, c1) = limb.overflowing_add(add);
                    let (y, c2) = x.overflowing_add(carry);
                    *limb = y;
                    carry = u64::from(c1) + u64::from(c2);
                }
            }
            acc
        }
        fn limbs(k: &[u8; 32]) -> [u64; 5] {
            let mut l = [0u64; 5];
            for (i, chunk) in k.rchunks(8).enumerate() {
                l[i] = u64::from_be_bytes(chunk.try_into().unwrap());
            }
            l
        }
        let mut cases: Vec<[u8; 32]> = vec![[0xff; 32], ORDER, (-Scalar::ONE).to_bytes().into()];
        for len in 1..=256usize {
            for offset in (0..=256 - len).step_by(5) {
                let mut k = [0u8; 32];
                for bit in offset..offset + len {
                    k[31 - bit / 8] |= 1 << (bit % 8);
                }
                cases.push(k);
            }
        }
        for a in [1u128, 15, 16, 17, 31, 1 << 127, (1 << 127) - 1, u128::MAX] {
            cases.push(u128_bytes(a));
        }
        for k in &cases {
            let digits = wnaf(k);
            assert_eq!(value_of(&digits), limbs(k), "k = {}", hex::encode(k));
            assert!(digits.len() <= 257, "k = {}", hex::encode(k));
            assert!(
                digits.last().is_none_or(|d| *d > 0),
                "k = {}",
                hex::encode(k)
            );
        }
        assert_eq!(wnaf(&[0xff; 32]).len(), 257);
    }

    /// The curve order n, big-endian.
    const ORDER: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];

    /// A batch of one item says what recovery says, for hostile (r, s, v, z): tiny r, r just
    /// below n, s = 1 and the largest low s, hashes 0, n and 2²⁵⁶ − 1; against the recovered
    /// key, its negation, the key the other parity recovers to and a stranger's key. The same
    /// item between good ones (and first, where its coefficient is 1) gives the same answer.
    #[test]
    fn agrees_with_recovery_on_hostile_signatures() {
        use k256::ecdsa::VerifyingKey;
        use k256::elliptic_curve::scalar::IsHigh;
        let mut rng = rng();
        let me = DeviceKey::generate();
        let good: Vec<_> = (0..2).map(|i| signed(&me, i)).collect();
        let stranger = DeviceKey::generate().public_key();
        let negated = |key: &PublicKey| {
            let point = -ProjectivePoint::from(*key.0.as_affine());
            PublicKey(VerifyingKey::from_affine(point.to_affine()).unwrap())
        };
        let (mut passing, mut failing) = (0, 0);
        for i in 0..600u64 {
            let r = match i % 4 {
                0 => Scalar::from(1 + i % 64),
                1 => -Scalar::from(1 + i % 64),
                _ => Scalar::random(&mut rng),
            };
            let s = match i % 3 {
                0 => Scalar::ONE,
                1 => -Scalar::from(2u64).invert().unwrap(), // (n − 1)/2
                _ => Scalar::random(&mut rng),
            };
            let s = if bool::from(s.is_high()) { -s } else { s };
            let mut z = [0u8; 32];
            match i % 5 {
                0 => {}
                1 => z = ORDER,
                2 => z = [0xff; 32],
                _ => rng.fill_bytes(&mut z),
            }
            let hash = B256::from(z);
            let mut bytes = [0u8; 65];
            bytes[..32].copy_from_slice(&r.to_bytes());
            bytes[32..64].copy_from_slice(&s.to_bytes());
            bytes[64] = 27 + (i as u8 / 7) % 2;
            let signature = Signature::from_bytes(&bytes).unwrap();
            let mut flipped = bytes;
            flipped[64] ^= 27 ^ 28;
            let flipped = Signature::from_bytes(&flipped).unwrap();
            let recovered = signature.recover_public_key(&hash).ok();
            assert_eq!(
                recovered,
                signature.recover_public_key_reference(&hash).ok()
            );
            let mut keys = vec![stranger];
            keys.extend(recovered);
            keys.extend(recovered.as_ref().map(negated));
            keys.extend(flipped.recover_public_key(&hash).ok());
            for key in keys {
                let want = recovered == Some(key);
                let item = (hash, signature, key);
                let what = format!(
                    "signature {}, z = {}, key {key:?}",
                    signature.to_hex(),
                    hex::encode(z)
                );
                assert_eq!(verify_batch(&items(&[item])), want, "{what}");
                assert_eq!(
                    verify_batch(&items(&[good[0], item, good[1]])),
                    want,
                    "{what}"
                );
                assert_eq!(
                    verify_batch(&items(&[item, good[0], good[1]])),
                    want,
                    "{what}"
                );
                if want { passing += 1 } else { failing += 1 }
            }
        }
        assert!(
            passing > 100 && failing > 300,
            "{passing} passing, {failing} failing"
        );
    }

    /// R = Q, R = −Q and the same R in several items (complete additions in k256 and in the
    /// odd-multiple tables), then the same bad item several times: its coefficients add up
    /// to less than 2¹³⁰ < n, never to 0 mod n.
    #[test]
    fn r_equal_to_the_key_repeated_r_and_repeated_bad_items() {
        use k256::ecdsa::VerifyingKey;
        use k256::elliptic_curve::point::AffineCoordinates;
        use k256::elliptic_curve::scalar::IsHigh;
        let mut rng = rng();
        for _ in 0..10 {
            let t = Scalar::random(&mut rng);
            let key = PublicKey(
                VerifyingKey::from_affine(ProjectivePoint::mul_by_generator(&t).to_affine())
                    .unwrap(),
            );
            let mut set = Vec::new();
            // R = k·G recovers to t·G when z = s·k − r·t.
            for k in [t, -t, t, -t, Scalar::random(&mut rng)] {
                let big_r = ProjectivePoint::mul_by_generator(&k).to_affine();
                let Some(r) = Option::<Scalar>::from(Scalar::from_repr(big_r.x())) else {
                    continue;
                };
                let s = Scalar::random(&mut rng);
                let s = if bool::from(s.is_high()) { -s } else { s };
                let mut bytes = [0u8; 65];
                bytes[..32].copy_from_slice(&big_r.x());
                bytes[32..64].copy_from_slice(&s.to_bytes());
                bytes[64] = 27 + u8::from(bool::from(big_r.y_is_odd()));
                let signature = Signature::from_bytes(&bytes).unwrap();
                let hash = B256::from(<[u8; 32]>::from((s * k - r * t).to_bytes()));
                assert_eq!(signature.recover_public_key(&hash).unwrap(), key);
                set.push((hash, signature, key));
            }
            assert!(verify_batch(&items(&set)));
            assert!(verify_batch(&items(&vec![set[0]; 5])));
            let mut bad = set[1];
            bad.0 = keccak256("moved");
            assert!(!verify_batch(&items(&vec![bad; 5])));
            let mut with_bad = set.clone();
            with_bad.insert(0, bad);
            assert!(!verify_batch(&items(&with_bad)));
        }
    }

    /// The batch equation is Σ aᵢ·eᵢ = O with a₀ = 1 and aᵢ as drawn: three bad items whose
    /// residuals satisfy ε₀ + a₁ε₁ + a₂ε₂ = 0 pass with exactly those coefficients, and fail
    /// with any other (including the same two swapped).
    #[test]
    fn bad_items_pass_only_with_the_coefficients_that_cancel_them() {
        let mut rng = rng();
        let me = DeviceKey::generate();
        let set: Vec<_> = (0..3).map(|i| signed(&me, i)).collect();
        let mut coefficient = || (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        let (a1, a2) = (coefficient(), coefficient());
        let e0 = Scalar::random(&mut OsRng);
        let e1 = Scalar::random(&mut OsRng);
        let e2 = -(e0 + Scalar::from(a1) * e1) * Scalar::from(a2).invert().unwrap();
        let bad = vec![moved(set[0], e0), moved(set[1], e1), moved(set[2], e2)];
        for (hash, signature, _) in &bad {
            assert!(signature.verify(hash, &me.address()).is_err());
        }
        assert!(verify_batch_with(&items(&bad), &mut Queue(vec![a1, a2])));
        assert!(!verify_batch_with(
            &items(&bad),
            &mut Queue(vec![a1, a2 ^ 1])
        ));
        assert!(!verify_batch_with(&items(&bad), &mut Queue(vec![a2, a1])));
        assert!(!verify_batch(&items(&bad)));
    }

    /// A generator that fails makes the batch fail (the caller then recovers every item)
    /// rather than panic the verification job.
    #[test]
    fn a_failing_generator_fails_the_batch() {
        use k256::elliptic_curve::rand_core::Error;
        struct Broken;
        impl RngCore for Broken {
            fn next_u32(&mut self) -> u32 {
                panic!("broken generator")
            }
            fn next_u64(&mut self) -> u64 {
                panic!("broken generator")
            }
            fn fill_bytes(&mut self, _: &mut [u8]) {
                panic!("broken generator")
            }
            fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Error> {
                Err(Error::from(
                    std::num::NonZeroU32::new(Error::CUSTOM_START).unwrap(),
                ))
            }
        }
        let me = DeviceKey::generate();
        let set: Vec<_> = (0..3).map(|i| signed(&me, i)).collect();
        assert!(!verify_batch_with(&items(&set), &mut Broken));
        // One item needs no coefficient.
        assert!(verify_batch_with(&items(&set[..1]), &mut Broken));
    }
}
