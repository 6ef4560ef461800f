//! Registry costs: verifying a claim (the payload hashed, both signatures recovered) and a
//! whole claim through the domain API on SQLite (replay look-ups, device and wallet
//! look-ups, two recoveries, and the ledger transaction that records and applies it).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pitlane_cloud::accounts::users::{self, NewUser};
use pitlane_cloud::config::Config;
use pitlane_cloud::db::Db;
use pitlane_cloud::registry::claim::{self, ClaimSignatures};
use pitlane_cloud::registry::devices::NewDevice;
use pitlane_cloud::registry::ledger::LedgerRegistry;
use pitlane_cloud::registry::signatures::{Ctx, SignatureInput};
use pitlane_cloud::registry::{Chain, register_device};
use pitlane_shared::eip712::{DimoPayload, U256};
use pitlane_shared::identity::DeviceKey;

fn bench(c: &mut Criterion) {
    let chain = Chain::from_config(&Config::default()).expect("default chain");
    let owner = DeviceKey::generate();
    let device = DeviceKey::generate();
    let payload = DimoPayload::Claim {
        aftermarket_device_node: U256::from(42u64),
        owner: owner.address(),
    };
    let typed = payload.typed_data(&chain.domain);
    let (user_sig, device_sig) = (typed.sign(&owner).signature, typed.sign(&device).signature);

    let mut group = c.benchmark_group("registry");
    group.bench_function("claim_verify_two_recoveries", |b| {
        b.iter(|| {
            let typed = payload.typed_data(&chain.domain);
            let user = typed.recover_signer(&user_sig).expect("user");
            let dev = typed.recover_signer(&device_sig).expect("device");
            assert!(user == owner.address() && dev == device.address());
        })
    });

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let db = rt.block_on(Db::connect(&url)).expect("db");
    let user = rt
        .block_on(users::create(
            &db,
            NewUser {
                email: None,
                username: None,
                name: "Bench".into(),
                password_hash: None,
                admin: false,
                email_verified: false,
                wallet_address: Some(owner.address().to_lowercase_hex()),
            },
        ))
        .expect("user");
    let mut serial = 0u64;
    group.bench_function("claim_end_to_end_sqlite", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (db, chain, owner, user_id) = (&db, &chain, &owner, &user.id);
            let start_serial = serial;
            serial += iters;
            async move {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    // Untimed: a fresh device and both signatures over its claim payload.
                    let key = DeviceKey::generate();
                    let serial = format!("BENCH-{}", start_serial + i);
                    let registered = register_device(
                        db,
                        NewDevice {
                            serial: serial.clone(),
                            address: key.address(),
                            manufacturer: "Bench".into(),
                        },
                    )
                    .await
                    .expect("register");
                    let typed = DimoPayload::Claim {
                        aftermarket_device_node: U256::from(registered.device.token_id),
                        owner: owner.address(),
                    }
                    .typed_data(&chain.domain);
                    let signatures = ClaimSignatures {
                        user: Some(SignatureInput::Hex(typed.sign(owner).signature.to_hex())),
                        device: Some(SignatureInput::Hex(typed.sign(&key).signature.to_hex())),
                    };
                    let ctx = Ctx {
                        db,
                        chain,
                        registry: &LedgerRegistry,
                        signer: None,
                        sign_timeout: Duration::from_secs(1),
                    };
                    let started = Instant::now();
                    claim::claim(&ctx, user_id, &serial, &signatures)
                        .await
                        .expect("claim");
                    total += started.elapsed();
                }
                total
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
