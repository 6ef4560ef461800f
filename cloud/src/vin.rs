//! Offline VIN decoding: validation, WMI, model year, vPIC-derived index, VAG model codes.
