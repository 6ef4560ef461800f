//! Claiming aftermarket devices: the payload, both signatures over real HTTP, every way a
//! signature can be wrong (nothing is recorded then), replays, another user's device, and
//! the device being asked for its signature through a `DeviceSigner`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use pitlane_cloud::registry::claim::{self, ClaimSignatures};
use pitlane_cloud::registry::ledger::{LedgerRegistry, recent_calls};
use pitlane_cloud::registry::signatures::{Ctx, SignatureInput};
use pitlane_cloud::registry::{DeviceSignError, DeviceSigner, RegistryError, device_by_serial};
use pitlane_shared::eip712::TypedData;
use pitlane_shared::identity::{Address, DeviceKey, Signature};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_test;
use crate::devices_support::{call, expect_error};
use crate::helpers::TestApp;
use crate::registry::{chain, claim_path, device, payload, sign, wallet};

async fn claim_end_to_end(app: &mut TestApp) {
    let owner = wallet(app).await;
    let d = device(app, "CLM-1").await;
    let path = claim_path(&d.serial);
    let p = payload(app, &owner.token, &path).await;
    let chain = chain(app);
    assert_eq!(p["primaryType"], "ClaimAftermarketDeviceSign");
    assert_eq!(p["domain"]["name"], "DIMO");
    assert_eq!(p["domain"]["version"], "1");
    assert_eq!(p["domain"]["chainId"], chain.domain.chain_id.to_string());
    assert_eq!(
        p["domain"]["verifyingContract"],
        chain.domain.verifying_contract.to_checksum()
    );
    assert_eq!(
        p["message"]["aftermarketDeviceNode"],
        d.token_id.to_string()
    );
    assert_eq!(p["message"]["owner"], owner.key.address().to_checksum());

    let body = json!({
        "userSignature": sign(&owner.key, &p),
        "aftermarketDeviceSignature": sign(&d.key, &p),
    });
    let (status, answer) = call(app, Method::POST, &path, &owner.token, Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["aftermarketDeviceTokenId"], d.token_id);
    assert_eq!(answer["registryCall"]["status"], "confirmed");

    let stored = device_by_serial(&app.state.db, &d.serial)
        .await
        .expect("query")
        .expect("device");
    assert!(stored.owner_user_id.is_some() && stored.claimed_at.is_some());
    let calls = recent_calls(&app.state.db, 10).await.expect("calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].kind.as_str(), calls[0].status.as_str()),
        ("claim", "confirmed")
    );
    let typed = TypedData::from_value(&p).expect("typed");
    assert_eq!(
        calls[0].payload_hash,
        format!("{:#x}", typed.signing_hash())
    );
    assert_eq!(calls[0].signatures["user"], body["userSignature"]);
    assert_eq!(
        calls[0].signatures["aftermarketDevice"],
        body["aftermarketDeviceSignature"]
    );
    let (status, meta) = call(
        app,
        Method::GET,
        &format!("/v1/aftermarket/device/{}", d.token_id),
        "",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(meta["claimedAt"].is_string(), "{meta}");

    // The same request again is a replay: 400, and still one call in the ledger.
    let got = call(app, Method::POST, &path, &owner.token, Some(body)).await;
    expect_error(got, StatusCode::BAD_REQUEST, "replayed");
    let got = call(app, Method::GET, &path, &owner.token, None).await;
    expect_error(got, StatusCode::CONFLICT, "already claimed this device");
    assert_eq!(
        recent_calls(&app.state.db, 10).await.expect("calls").len(),
        1
    );
}
api_test!(claim_with_both_signatures_end_to_end, claim_end_to_end);

async fn wrong_signatures(app: &mut TestApp) {
    let owner = wallet(app).await;
    let d = device(app, "CLM-2").await;
    let path = claim_path(&d.serial);
    let p = payload(app, &owner.token, &path).await;
    let stranger = DeviceKey::generate();
    let user_sig = sign(&owner.key, &p);
    let device_sig = sign(&d.key, &p);
    // A payload for another device (another node) signed by the right keys.
    let mut other = p.clone();
    other["message"]["aftermarketDeviceNode"] = json!((d.token_id + 1).to_string());
    let mut high_s = hex::decode(&user_sig[2..]).expect("hex");
    // s' = n - s is the malleated twin of a valid signature.
    let n = pitlane_shared::eip712::U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .expect("n");
    let s = pitlane_shared::eip712::U256::from_be_slice(&high_s[32..64]);
    high_s[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high_s[64] = 55 - high_s[64]; // 27 <-> 28
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "aftermarketDeviceSignature": device_sig }),
            "userSignature is required",
        ),
        (
            json!({ "userSignature": sign(&stranger, &p), "aftermarketDeviceSignature": device_sig }),
            "not to your wallet",
        ),
        (
            json!({ "userSignature": user_sig, "aftermarketDeviceSignature": sign(&stranger, &p) }),
            "not to the device",
        ),
        (
            json!({ "userSignature": device_sig, "aftermarketDeviceSignature": user_sig }),
            "not to your wallet",
        ),
        (
            json!({ "userSignature": sign(&owner.key, &other), "aftermarketDeviceSignature": device_sig }),
            "not to your wallet",
        ),
        (
            json!({ "userSignature": "0x1234", "aftermarketDeviceSignature": device_sig }),
            "65 bytes",
        ),
        (
            json!({ "userSignature": "nothex", "aftermarketDeviceSignature": device_sig }),
            "0x",
        ),
        (
            json!({ "userSignature": format!("0x{}", hex::encode(&high_s)), "aftermarketDeviceSignature": device_sig }),
            "lower half",
        ),
        (
            json!({ "userSignature": user_sig, "extra": 1 }),
            "unknown field",
        ),
    ];
    for (body, needle) in cases {
        let got = call(app, Method::POST, &path, &owner.token, Some(body.clone())).await;
        expect_error(got, StatusCode::BAD_REQUEST, needle);
    }
    // Without the device's signature the cloud asks the device: with no MQTT layer that is
    // a 400, with one and the device not connected a 503.
    let body = json!({ "userSignature": user_sig });
    let got = call(app, Method::POST, &path, &owner.token, Some(body)).await;
    if app.state.device_signer.is_some() {
        expect_error(got, StatusCode::SERVICE_UNAVAILABLE, "offline");
    } else {
        expect_error(
            got,
            StatusCode::BAD_REQUEST,
            "aftermarketDeviceSignature is required",
        );
    }
    assert!(
        recent_calls(&app.state.db, 10)
            .await
            .expect("calls")
            .is_empty(),
        "nothing recorded"
    );
    let stored = device_by_serial(&app.state.db, &d.serial)
        .await
        .expect("q")
        .expect("d");
    assert_eq!(stored.owner_user_id, None);
    // Signatures given as arrays of bytes work as well.
    let bytes = |hex_sig: &str| hex::decode(&hex_sig[2..]).expect("hex");
    let body = json!({ "userSignature": bytes(&user_sig), "aftermarketDeviceSignature": bytes(&device_sig) });
    let (status, answer) = call(app, Method::POST, &path, &owner.token, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
api_test!(
    claim_refuses_wrong_missing_and_malformed_signatures,
    wrong_signatures
);

async fn cross_user(app: &mut TestApp) {
    let alice = wallet(app).await;
    let bob = wallet(app).await;
    let d = device(app, "CLM-3").await;
    let path = claim_path(&d.serial);
    let p = payload(app, &alice.token, &path).await;
    let alice_body = json!({
        "userSignature": sign(&alice.key, &p),
        "aftermarketDeviceSignature": sign(&d.key, &p),
    });
    // Bob submits Alice's signatures: they name Alice's wallet, not his.
    let got = call(
        app,
        Method::POST,
        &path,
        &bob.token,
        Some(alice_body.clone()),
    )
    .await;
    expect_error(got, StatusCode::BAD_REQUEST, "not to your wallet");
    let (status, _) = call(app, Method::POST, &path, &alice.token, Some(alice_body)).await;
    assert_eq!(status, StatusCode::OK);
    // Now the device is Alice's: Bob can neither get a payload nor claim it.
    let got = call(app, Method::GET, &path, &bob.token, None).await;
    expect_error(got, StatusCode::CONFLICT, "another account");
    let bob_p = {
        let mut p = p.clone();
        p["message"]["owner"] = json!(bob.key.address().to_checksum());
        p
    };
    let body = json!({
        "userSignature": sign(&bob.key, &bob_p),
        "aftermarketDeviceSignature": sign(&d.key, &bob_p),
    });
    let got = call(app, Method::POST, &path, &bob.token, Some(body)).await;
    expect_error(got, StatusCode::CONFLICT, "another account");
    for (method, path, token, status) in [
        (
            Method::GET,
            claim_path("NOPE-1"),
            bob.token.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            claim_path("bad%20serial"),
            bob.token.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (Method::GET, path.clone(), "", StatusCode::UNAUTHORIZED),
        (Method::POST, path.clone(), "", StatusCode::UNAUTHORIZED),
    ] {
        let (got, body) = call(app, method, &path, token, Some(json!({}))).await;
        assert_eq!(got, status, "{path}: {body}");
    }
    assert_eq!(
        recent_calls(&app.state.db, 10).await.expect("calls").len(),
        1
    );
}
api_test!(claim_cross_user_and_unknown_devices, cross_user);

/// A device answering through a signer: honest (its own key), rogue (another key), or mute.
#[derive(Debug)]
enum FakeSigner {
    Honest(DeviceKey),
    Rogue(DeviceKey),
    Mute,
}

impl DeviceSigner for FakeSigner {
    fn sign_typed_data<'a>(
        &'a self,
        device: &'a Address,
        typed_data: Value,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Signature, DeviceSignError>> + Send + 'a>> {
        Box::pin(async move {
            let typed = TypedData::from_value(&typed_data)
                .map_err(|e| DeviceSignError::Refused(e.to_string()))?;
            match self {
                FakeSigner::Honest(key) => {
                    assert_eq!(key.address(), *device, "asked the right device");
                    Ok(typed.sign(key).signature)
                }
                FakeSigner::Rogue(key) => Ok(typed.sign(key).signature),
                FakeSigner::Mute => Err(DeviceSignError::Timeout(timeout)),
            }
        })
    }
}

async fn device_asked(app: &mut TestApp) {
    let owner = wallet(app).await;
    let user_id = {
        let (_, info) = call(app, Method::GET, "/auth/web3/userinfo", &owner.token, None).await;
        info["sub"].as_str().expect("sub").to_owned()
    };
    let d = device(app, "CLM-4").await;
    let chain = chain(app);
    let plan = claim::claim_payload(&app.state.db, &user_id, &d.serial)
        .await
        .expect("plan");
    let typed = plan.payload.typed_data(&chain.domain);
    let user_sig = SignatureInput::Hex(typed.sign(&owner.key).signature.to_hex());
    let signatures = ClaimSignatures {
        user: Some(user_sig),
        device: None,
    };
    let run = |signer: FakeSigner| {
        let app = &*app;
        let (chain, signatures, user_id, serial) =
            (chain, signatures.clone(), user_id.clone(), d.serial.clone());
        async move {
            let ctx = Ctx {
                db: &app.state.db,
                chain: &chain,
                registry: &LedgerRegistry,
                signer: Some(&signer),
                sign_timeout: Duration::from_secs(1),
            };
            claim::claim(&ctx, &user_id, &serial, &signatures).await
        }
    };
    let rogue = run(FakeSigner::Rogue(DeviceKey::generate())).await;
    assert!(
        matches!(&rogue, Err(RegistryError::BadSignature(m)) if m.contains("not to the device")),
        "{rogue:?}"
    );
    let mute = run(FakeSigner::Mute).await;
    assert!(
        matches!(
            mute,
            Err(RegistryError::DeviceSign(DeviceSignError::Timeout(_)))
        ),
        "{mute:?}"
    );
    assert!(
        recent_calls(&app.state.db, 10)
            .await
            .expect("calls")
            .is_empty()
    );
    let outcome = run(FakeSigner::Honest(d.key.clone()))
        .await
        .expect("claimed");
    let calls = recent_calls(&app.state.db, 10).await.expect("calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, outcome.call_id);
    assert_eq!(
        calls[0].signatures["aftermarketDevice"],
        typed.sign(&d.key).signature.to_hex()
    );
}
api_test!(claim_asks_the_device_and_checks_its_answer, device_asked);
