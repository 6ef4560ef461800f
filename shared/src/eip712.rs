//! EIP-712 typed-data hashing and signing, and the DIMO-compatible payload builders.
