//! Which secp256k1 implementation signs and recovers: k256 or libsecp256k1.

use std::fmt;

/// A secp256k1 implementation behind [`DeviceKey`](super::DeviceKey) and
/// [`Signature`](super::Signature).
///
/// Both sign with RFC 6979 nonces and normalise s to the low half, so they produce
/// byte-identical signatures; they differ only in speed and in how they build. The public API
/// uses [`Backend::DEFAULT`]; the `*_with` methods pick one explicitly (tests and benches
/// compare them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// RustCrypto's pure-Rust `k256`: always built, cross-compiles anywhere, the reference.
    K256,
    /// Bitcoin Core's audited C library through the `secp256k1` crate (cargo feature
    /// `libsecp256k1`): about twice as fast at signing and recovery.
    #[cfg(feature = "libsecp256k1")]
    Libsecp256k1,
}

impl Backend {
    /// The backend the public API uses: libsecp256k1 when the feature is on, else k256.
    #[cfg(feature = "libsecp256k1")]
    pub const DEFAULT: Backend = Backend::Libsecp256k1;
    /// The backend the public API uses: libsecp256k1 when the feature is on, else k256.
    #[cfg(not(feature = "libsecp256k1"))]
    pub const DEFAULT: Backend = Backend::K256;

    /// Every backend this build contains.
    pub const ALL: &'static [Backend] = &[
        Backend::K256,
        #[cfg(feature = "libsecp256k1")]
        Backend::Libsecp256k1,
    ];

    /// A short lowercase name (`k256`, `libsecp256k1`), for benchmark ids and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::K256 => "k256",
            #[cfg(feature = "libsecp256k1")]
            Backend::Libsecp256k1 => "libsecp256k1",
        }
    }
}

impl Default for Backend {
    fn default() -> Self {
        Backend::DEFAULT
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
