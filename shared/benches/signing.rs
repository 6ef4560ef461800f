//! Signing throughput: typed-data hashes, signatures and recoveries per second on one core.

fn main() {}
