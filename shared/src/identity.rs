//! The device's secp256k1 identity: key files, addresses, signatures.
