//! The public keys of devices that have sent a genuine message, so later messages can be
//! checked in batches against the key instead of recovering it from every signature.
//!
//! A key is learned only from a recovery that yields the topic's device address (the address
//! is the key's hash, so the key is that device's). The cache is bounded: when full, one
//! entry makes room for the next, and an evicted device costs one recovery again.
//!
//! A message that fails on a device's topic makes its whole batch fail, and every message
//! of that chunk is then recovered one by one. So that a stream of such messages cannot
//! keep batching off for everyone, the device is a *suspect* for [`SUSPECT_FOR`]: its
//! messages are recovered one by one meanwhile (the cost from before batching, never a
//! different verdict), and the other devices' messages keep being batched.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use pitlane_shared::identity::{Address, PublicKey};

/// Keys held at most (about 100 bytes each).
pub const MAX_KEYS: usize = 100_000;
/// How long a device whose message failed a batch is checked one message at a time.
pub const SUSPECT_FOR: Duration = Duration::from_secs(60);

/// Device address → public key, and the devices under suspicion.
#[derive(Debug)]
pub struct DeviceKeys {
    keys: RwLock<HashMap<Address, PublicKey>>,
    suspects: RwLock<HashMap<Address, Instant>>,
    limit: usize,
}

impl Default for DeviceKeys {
    fn default() -> Self {
        DeviceKeys::with_limit(MAX_KEYS)
    }
}

/// The maps hold plain values: a panic elsewhere cannot leave one half-updated.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// Makes room for one more entry in a map of at most `limit`.
fn make_room<V>(map: &mut HashMap<Address, V>, limit: usize, for_key: &Address) {
    if map.len() >= limit
        && !map.contains_key(for_key)
        && let Some(victim) = map.keys().next().copied()
    {
        map.remove(&victim);
    }
}

impl DeviceKeys {
    /// A cache of at most `limit` keys (and as many suspects).
    pub fn with_limit(limit: usize) -> Self {
        DeviceKeys {
            keys: RwLock::new(HashMap::new()),
            suspects: RwLock::new(HashMap::new()),
            limit,
        }
    }

    /// The key of `device`, if learned.
    pub fn get(&self, device: &Address) -> Option<PublicKey> {
        read(&self.keys).get(device).copied()
    }

    /// The key to check `device`'s messages against in a batch: learned, and the device
    /// not under suspicion.
    pub fn batch_key(&self, device: &Address) -> Option<PublicKey> {
        let key = self.get(device)?;
        let suspects = read(&self.suspects);
        match suspects.get(device) {
            Some(until) if *until > Instant::now() => None,
            _ => Some(key),
        }
    }

    /// Remembers `key` as `device`'s. The caller has checked that `key` hashes to `device`.
    pub fn learn(&self, device: Address, key: PublicKey) {
        if self.get(&device) == Some(key) {
            return;
        }
        let mut keys = write(&self.keys);
        make_room(&mut keys, self.limit, &device);
        keys.insert(device, key);
    }

    /// A message on `device`'s topic failed a batch: check its messages one by one for a
    /// while.
    pub fn suspect(&self, device: Address) {
        let now = Instant::now();
        let mut suspects = write(&self.suspects);
        if suspects.len() >= self.limit {
            suspects.retain(|_, until| *until > now);
        }
        make_room(&mut suspects, self.limit, &device);
        suspects.insert(device, now + SUSPECT_FOR);
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        read(&self.keys).len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use pitlane_shared::identity::DeviceKey;

    use super::*;

    #[test]
    fn learns_and_stays_bounded() {
        let keys = DeviceKeys::with_limit(2);
        let devices: Vec<DeviceKey> = (0..3).map(|_| DeviceKey::generate()).collect();
        assert!(keys.is_empty());
        for d in &devices[..2] {
            keys.learn(d.address(), d.public_key());
        }
        assert_eq!(
            keys.get(&devices[0].address()),
            Some(devices[0].public_key())
        );
        // Learning a known device again does not count as new.
        keys.learn(devices[1].address(), devices[1].public_key());
        assert_eq!(keys.len(), 2);
        // A third takes the place of one of the others.
        keys.learn(devices[2].address(), devices[2].public_key());
        assert_eq!(keys.len(), 2);
        assert_eq!(
            keys.get(&devices[2].address()),
            Some(devices[2].public_key())
        );
        let kept = devices[..2]
            .iter()
            .filter(|d| keys.get(&d.address()).is_some())
            .count();
        assert_eq!(kept, 1);
    }

    #[test]
    fn a_suspect_is_not_batched_and_others_still_are() {
        let keys = DeviceKeys::with_limit(10);
        let (me, other) = (DeviceKey::generate(), DeviceKey::generate());
        for d in [&me, &other] {
            keys.learn(d.address(), d.public_key());
        }
        assert_eq!(keys.batch_key(&me.address()), Some(me.public_key()));
        keys.suspect(me.address());
        assert_eq!(keys.batch_key(&me.address()), None);
        assert_eq!(keys.get(&me.address()), Some(me.public_key()));
        assert_eq!(keys.batch_key(&other.address()), Some(other.public_key()));
    }
}
