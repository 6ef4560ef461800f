//! Smartcar connection costs: sealing and opening a stored token (XChaCha20-Poly1305, done for
//! every token refresh and every refresh request) and building and signing a synthetic
//! device's mint payload.

use criterion::{Criterion, criterion_group, criterion_main};
use pitlane_cloud::registry::Chain;
use pitlane_cloud::smartcar::TokenCipher;
use pitlane_cloud::smartcar::synthetic::mint_payload;
use pitlane_shared::eip712::{DimoDomain, U256};
use pitlane_shared::identity::{Address, DeviceKey};

fn bench(c: &mut Criterion) {
    let cipher = TokenCipher::new(&[42; 32]);
    // Smartcar access tokens are UUIDs; allow for longer JWT-style tokens.
    let token = "x".repeat(1024);
    let context = "smartcar_grants.access_token:2bh8fNMoix9qduuiE9NHUzTGpZx";
    let sealed = cipher.seal(context, &token).expect("seal");
    let address: Address = "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c"
        .parse()
        .expect("address");
    let chain = Chain {
        domain: DimoDomain {
            chain_id: U256::from(80002u64),
            verifying_contract: address,
        },
        vehicle_nft: address,
        aftermarket_device_nft: address,
        synthetic_device_nft: address,
    };
    let key = DeviceKey::generate();

    let mut group = c.benchmark_group("smartcar");
    group.bench_function("seal_1k_token", |b| {
        b.iter(|| cipher.seal(context, &token).expect("seal"))
    });
    group.bench_function("open_1k_token", |b| {
        b.iter(|| cipher.open(context, &sealed).expect("open"))
    });
    group.bench_function("synthetic_mint_payload_sign", |b| {
        b.iter(|| mint_payload(&chain, 7).expect("payload").sign(&key))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
