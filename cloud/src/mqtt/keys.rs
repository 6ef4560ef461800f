//! The public keys of devices that have sent a genuine message, so later messages can be
//! checked in batches against the key instead of recovering it from every signature.
//!
//! A key is learned only from a recovery that yields the topic's device address (the address
//! is the key's hash, so the key is that device's). The cache is bounded: when full it is
//! emptied and refills as devices send, each costing one recovery again.

use std::collections::HashMap;
use std::sync::RwLock;

use pitlane_shared::identity::{Address, PublicKey};

/// Keys held at most (about 100 bytes each).
pub const MAX_KEYS: usize = 100_000;

/// Device address → public key.
#[derive(Debug)]
pub struct DeviceKeys {
    keys: RwLock<HashMap<Address, PublicKey>>,
    limit: usize,
}

impl Default for DeviceKeys {
    fn default() -> Self {
        DeviceKeys::with_limit(MAX_KEYS)
    }
}

impl DeviceKeys {
    /// A cache of at most `limit` keys.
    pub fn with_limit(limit: usize) -> Self {
        DeviceKeys {
            keys: RwLock::new(HashMap::new()),
            limit,
        }
    }

    /// The key of `device`, if learned.
    pub fn get(&self, device: &Address) -> Option<PublicKey> {
        // A map of plain values: a panic elsewhere cannot leave it half-updated.
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.get(device).copied()
    }

    /// Remembers `key` as `device`'s. The caller has checked that `key` hashes to `device`.
    pub fn learn(&self, device: Address, key: PublicKey) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= self.limit && !keys.contains_key(&device) {
            keys.clear();
        }
        keys.insert(device, key);
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).len()
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
        // A third empties the full cache first.
        keys.learn(devices[2].address(), devices[2].public_key());
        assert_eq!(keys.len(), 1);
        assert_eq!(keys.get(&devices[0].address()), None);
        assert_eq!(
            keys.get(&devices[2].address()),
            Some(devices[2].public_key())
        );
    }
}
