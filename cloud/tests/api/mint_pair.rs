//! Minting vehicles, pairing and unpairing them with devices (same owner, or a device that
//! belongs to someone else), opt-in, refresh, and the VIN confirmed by the paired device's
//! signature — with the device signing through pitlane-shared's `DeviceKey` and the user
//! through a separate wallet key, over real HTTP.

use base64::Engine;
use pitlane_cloud::registry::ledger::recent_calls;
use pitlane_cloud::registry::vehicles::{VehicleToken, vehicle_of_user_device};
use pitlane_cloud::registry::{paired_device, pairing_of_device};
use pitlane_shared::identity::{DeviceKey, keccak256};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_test;
use crate::devices_support::{FORD_VIN, VW_VIN, call, vehicle_from_vin};
use crate::helpers::TestApp;
use crate::registry::{Wallet, chain, claim, device, minted, pair, payload, sign, wallet};
use crate::vehicle_steps::refused;

fn mint_path(id: &str) -> String {
    format!("/v1/user/devices/{id}/commands/mint")
}

fn pair_path(id: &str, action: &str) -> String {
    format!("/v1/user/devices/{id}/aftermarket/commands/{action}")
}

async fn token_of(app: &TestApp, id: &str) -> Option<VehicleToken> {
    vehicle_of_user_device(&app.state.db, id)
        .await
        .expect("query")
}

async fn mint_end_to_end(app: &mut TestApp) {
    let owner = wallet(app).await;
    let id = vehicle_from_vin(app, &owner.token, FORD_VIN).await;
    let p = payload(app, &owner.token, &mint_path(&id)).await;
    assert_eq!(p["primaryType"], "MintVehicleWithDeviceDefinitionSign");
    assert_eq!(p["message"]["owner"], owner.key.address().to_checksum());
    assert_eq!(p["message"]["attributes"], json!(["Make", "Model", "Year"]));
    assert_eq!(p["message"]["infos"], json!(["Ford", "Escape", "2023"]));
    let (_, vehicle) = call(app, Method::GET, "/v1/user/devices", &owner.token, None).await;
    assert_eq!(
        p["message"]["deviceDefinitionId"],
        vehicle["userDevices"][0]["deviceDefinition"]["deviceDefinitionId"]
    );
    // A second make gets a second manufacturer node; the same make keeps its node.
    let vw = vehicle_from_vin(app, &owner.token, VW_VIN).await;
    let p_vw = payload(app, &owner.token, &mint_path(&vw)).await;
    assert_ne!(
        p_vw["message"]["manufacturerNode"],
        p["message"]["manufacturerNode"]
    );
    assert_eq!(payload(app, &owner.token, &mint_path(&id)).await, p);

    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nimage");
    let body = json!({ "signature": sign(&owner.key, &p), "imageData": png });
    let (status, answer) = call(
        app,
        Method::POST,
        &mint_path(&id),
        &owner.token,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let token = answer["tokenId"].as_u64().expect("tokenId");
    assert_eq!(token_of(app, &id).await.map(|t| t.token_id), Some(token));
    refused(
        app,
        Method::POST,
        &mint_path(&id),
        &owner.token,
        Some(body),
        StatusCode::BAD_REQUEST,
        "replayed",
    )
    .await;
    refused(
        app,
        Method::GET,
        &mint_path(&id),
        &owner.token,
        None,
        StatusCode::CONFLICT,
        &format!("already minted as token {token}"),
    )
    .await;
    // The second vehicle gets the next token id.
    let body = json!({ "signature": sign(&owner.key, &p_vw) });
    let (status, answer) = call(app, Method::POST, &mint_path(&vw), &owner.token, Some(body)).await;
    assert_eq!(
        (status, answer["tokenId"].as_u64()),
        (StatusCode::OK, Some(token + 1))
    );
}
api_test!(mint_end_to_end_assigns_token_ids, mint_end_to_end);

async fn mint_failures(app: &mut TestApp) {
    let owner = wallet(app).await;
    let bob = wallet(app).await;
    let id = vehicle_from_vin(app, &owner.token, FORD_VIN).await;
    let p = payload(app, &owner.token, &mint_path(&id)).await;
    let good = sign(&owner.key, &p);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    for (body, needle) in [
        (json!({}), "signature is required"),
        (
            json!({ "signature": sign(&bob.key, &p) }),
            "not to your wallet",
        ),
        (json!({ "signature": "0x00" }), "65 bytes"),
        (
            json!({ "signature": good, "imageData": "!!!" }),
            "imageData: not valid base64",
        ),
        (
            json!({ "signature": good, "imageData": b64(b"GIF89a") }),
            "not a PNG",
        ),
        (
            json!({ "signature": good, "imageDataTransparent": b64(b"text") }),
            "imageDataTransparent",
        ),
    ] {
        refused(
            app,
            Method::POST,
            &mint_path(&id),
            &owner.token,
            Some(body),
            StatusCode::BAD_REQUEST,
            needle,
        )
        .await;
    }
    assert!(token_of(app, &id).await.is_none());
    assert!(
        recent_calls(&app.state.db, 10)
            .await
            .expect("calls")
            .is_empty()
    );
    // Another user's vehicle, a junk id and a missing id are all "not found".
    let bob_body = json!({ "signature": sign(&bob.key, &p) });
    for path in [
        mint_path(&id),
        mint_path("junk"),
        mint_path("2bh8fNMoix9qduuiE9NHUzTGpZx"),
    ] {
        refused(
            app,
            Method::GET,
            &path,
            &bob.token,
            None,
            StatusCode::NOT_FOUND,
            "not found",
        )
        .await;
        refused(
            app,
            Method::POST,
            &path,
            &bob.token,
            Some(bob_body.clone()),
            StatusCode::NOT_FOUND,
            "not found",
        )
        .await;
    }
    refused(
        app,
        Method::POST,
        &mint_path(&id),
        "",
        Some(json!({ "signature": good })),
        StatusCode::UNAUTHORIZED,
        "token",
    )
    .await;
    assert!(token_of(app, &id).await.is_none());
}
api_test!(
    mint_refuses_bad_signatures_images_and_other_users,
    mint_failures
);

async fn pair_flow(app: &mut TestApp) {
    let owner = wallet(app).await;
    let d = device(app, "PAIR-1").await;
    let (id, token) = minted(app, &owner, FORD_VIN).await;
    let path = pair_path(&id, "pair");
    let query = format!("{path}?externalId={}", d.serial);
    // Not claimed yet.
    refused(
        app,
        Method::GET,
        &query,
        &owner.token,
        None,
        StatusCode::CONFLICT,
        "claim it first",
    )
    .await;
    claim(app, &owner, &d).await;
    refused(
        app,
        Method::GET,
        &path,
        &owner.token,
        None,
        StatusCode::BAD_REQUEST,
        "externalId",
    )
    .await;
    let p = payload(app, &owner.token, &query).await;
    assert_eq!(p["primaryType"], "PairAftermarketDeviceSign");
    assert_eq!(
        p["message"]["aftermarketDeviceNode"],
        d.token_id.to_string()
    );
    assert_eq!(p["message"]["vehicleNode"], token.to_string());
    let sig = sign(&owner.key, &p);
    refused(
        app,
        Method::POST,
        &path,
        &owner.token,
        Some(json!({ "externalId": d.serial, "signature": sign(&d.key, &p) })),
        StatusCode::BAD_REQUEST,
        "not to your wallet",
    )
    .await;
    // DIMO's body: signatures as arrays of byte values.
    let bytes = hex::decode(&sig[2..]).expect("hex");
    let body = json!({ "externalId": d.serial, "signature": bytes });
    let (status, answer) = call(app, Method::POST, &path, &owner.token, Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let paired = paired_device(&app.state.db, token)
        .await
        .expect("q")
        .expect("paired");
    assert_eq!(
        (paired.aftermarket_token_id, paired.address),
        (d.token_id, d.key.address())
    );
    assert_eq!(paired.user_device_id, id);
    let by_device = pairing_of_device(&app.state.db, &d.key.address())
        .await
        .expect("q");
    assert_eq!(by_device, Some(paired));
    let (_, meta) = call(
        app,
        Method::GET,
        &format!("/v1/aftermarket/device/{}", d.token_id),
        "",
        None,
    )
    .await;
    assert_eq!(meta["vehicleTokenId"], token);
    refused(
        app,
        Method::GET,
        &query,
        &owner.token,
        None,
        StatusCode::CONFLICT,
        "already paired",
    )
    .await;

    // The paired device confirms the VIN by signing keccak256(VIN).
    let vin_path = format!("/v1/user/devices/{id}/vin");
    let wrong = DeviceKey::generate()
        .sign_hash(&keccak256(FORD_VIN.as_bytes()))
        .to_hex();
    refused(
        app,
        Method::PATCH,
        &vin_path,
        &owner.token,
        Some(json!({ "vin": FORD_VIN, "signature": wrong })),
        StatusCode::BAD_REQUEST,
        "not to the paired device",
    )
    .await;
    let good = d.key.sign_hash(&keccak256(FORD_VIN.as_bytes())).to_hex();
    let (status, _) = call(
        app,
        Method::PATCH,
        &vin_path,
        &owner.token,
        Some(json!({ "vin": FORD_VIN, "signature": good })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = call(app, Method::GET, "/v1/user/devices", &owner.token, None).await;
    assert_eq!(list["userDevices"][0]["vinConfirmed"], true, "{list}");

    // Unpair, then the old pair signature cannot pair again (replay).
    let unpair = pair_path(&id, "unpair");
    let up = payload(app, &owner.token, &unpair).await;
    assert_eq!(up["primaryType"], "UnPairAftermarketDeviceSign");
    refused(
        app,
        Method::POST,
        &unpair,
        &owner.token,
        Some(json!({ "externalId": "OTHER", "signature": sign(&owner.key, &up) })),
        StatusCode::BAD_REQUEST,
        "another device",
    )
    .await;
    let (status, answer) = call(
        app,
        Method::POST,
        &unpair,
        &owner.token,
        Some(json!({ "signature": sign(&owner.key, &up) })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        paired_device(&app.state.db, token)
            .await
            .expect("q")
            .is_none()
    );
    refused(
        app,
        Method::GET,
        &unpair,
        &owner.token,
        None,
        StatusCode::CONFLICT,
        "not paired",
    )
    .await;
    refused(
        app,
        Method::POST,
        &path,
        &owner.token,
        Some(body),
        StatusCode::BAD_REQUEST,
        "replayed",
    )
    .await;
    let kinds: Vec<String> = recent_calls(&app.state.db, 10)
        .await
        .expect("calls")
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(kinds, ["unpair", "pair", "claim", "mint"]);
}
api_test!(pair_confirm_vin_and_unpair_end_to_end, pair_flow);

async fn foreign_device(app: &mut TestApp) {
    let alice = wallet(app).await;
    let bob = wallet(app).await;
    let d = device(app, "PAIR-2").await;
    claim(app, &bob, &d).await;
    let (id, _) = minted(app, &alice, FORD_VIN).await;
    let path = pair_path(&id, "pair");
    let p = payload(
        app,
        &alice.token,
        &format!("{path}?externalId={}", d.serial),
    )
    .await;
    let alice_sig = sign(&alice.key, &p);
    // Bob's device: Alice's signature alone is not enough, and the cloud will not ask the
    // device on her behalf.
    refused(
        app,
        Method::POST,
        &path,
        &alice.token,
        Some(json!({ "externalId": d.serial, "signature": alice_sig })),
        StatusCode::BAD_REQUEST,
        "aftermarketDeviceSignature is required",
    )
    .await;
    refused(app, Method::POST, &path, &alice.token, Some(json!({ "externalId": d.serial, "signature": alice_sig, "aftermarketDeviceSignature": sign(&bob.key, &p) })), StatusCode::BAD_REQUEST, "not to the device").await;
    let (status, answer) = call(app, Method::POST, &path, &alice.token, Some(json!({ "externalId": d.serial, "signature": alice_sig, "aftermarketDeviceSignature": sign(&d.key, &p) }))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Bob cannot touch Alice's vehicle's pairing.
    let bob_sig = sign(&bob.key, &p);
    for (method, path) in [
        (Method::GET, pair_path(&id, "unpair")),
        (Method::POST, pair_path(&id, "unpair")),
        (
            Method::GET,
            format!("{}?externalId={}", pair_path(&id, "pair"), d.serial),
        ),
        (Method::POST, pair_path(&id, "pair")),
    ] {
        refused(
            app,
            method,
            &path,
            &bob.token,
            Some(json!({ "externalId": d.serial, "signature": bob_sig })),
            StatusCode::NOT_FOUND,
            "not found",
        )
        .await;
    }
}
api_test!(
    pair_with_another_owners_device_needs_the_device_signature,
    foreign_device
);

async fn pair_preconditions(app: &mut TestApp) {
    let owner = wallet(app).await;
    let d = device(app, "PAIR-3").await;
    claim(app, &owner, &d).await;
    let id = vehicle_from_vin(app, &owner.token, FORD_VIN).await;
    refused(
        app,
        Method::GET,
        &format!("{}?externalId={}", pair_path(&id, "pair"), d.serial),
        &owner.token,
        None,
        StatusCode::CONFLICT,
        "mint it first",
    )
    .await;
    refused(
        app,
        Method::GET,
        &pair_path(&id, "unpair"),
        &owner.token,
        None,
        StatusCode::CONFLICT,
        "mint it first",
    )
    .await;
    refused(
        app,
        Method::GET,
        &format!("{}?externalId=NOPE", pair_path(&id, "pair")),
        &owner.token,
        None,
        StatusCode::CONFLICT,
        "mint it first",
    )
    .await;
    let (id, _) = minted_again(app, &owner, &id).await;
    refused(
        app,
        Method::GET,
        &format!("{}?externalId=NOPE", pair_path(&id, "pair")),
        &owner.token,
        None,
        StatusCode::NOT_FOUND,
        "aftermarket device not found",
    )
    .await;
    refused(
        app,
        Method::POST,
        &pair_path(&id, "pair"),
        &owner.token,
        Some(json!({ "signature": "0x00" })),
        StatusCode::BAD_REQUEST,
        "65 bytes",
    )
    .await;
    refused(
        app,
        Method::POST,
        &pair_path(&id, "pair"),
        &owner.token,
        Some(json!({})),
        StatusCode::BAD_REQUEST,
        "signature is required",
    )
    .await;
}
api_test!(
    pair_needs_a_minted_vehicle_and_a_known_device,
    pair_preconditions
);

/// Mints an existing user device; answers (id, token).
async fn minted_again(app: &TestApp, owner: &Wallet, id: &str) -> (String, u64) {
    let p = payload(app, &owner.token, &mint_path(id)).await;
    let (status, answer) = call(
        app,
        Method::POST,
        &mint_path(id),
        &owner.token,
        Some(json!({ "signature": sign(&owner.key, &p) })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    (id.to_owned(), answer["tokenId"].as_u64().expect("token"))
}

async fn opt_in_and_refresh(app: &mut TestApp) {
    let owner = wallet(app).await;
    let bob = wallet(app).await;
    let id = vehicle_from_vin(app, &owner.token, FORD_VIN).await;
    let opt_in = format!("/v1/user/devices/{id}/commands/opt-in");
    let refresh = format!("/v1/user/devices/{id}/commands/refresh");
    refused(
        app,
        Method::POST,
        &opt_in,
        &owner.token,
        None,
        StatusCode::CONFLICT,
        "mint it first",
    )
    .await;
    minted_again(app, &owner, &id).await;
    for _ in 0..2 {
        let (status, _) = call(app, Method::POST, &opt_in, &owner.token, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let opted = token_of(app, &id).await.expect("token").opted_in_at;
    assert!(opted.is_some());
    let (status, _) = call(app, Method::POST, &refresh, &owner.token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let r = app
        .client
        .post(app.url(&refresh))
        .bearer_auth(&owner.token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!(
        retry >= 1 && retry <= app.state.config.refresh_interval_secs,
        "{retry}"
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["code"], 429);
    for path in [&opt_in, &refresh] {
        refused(
            app,
            Method::POST,
            path,
            &bob.token,
            None,
            StatusCode::NOT_FOUND,
            "not found",
        )
        .await;
    }
    let _ = chain(app);
}
api_test!(opt_in_and_rate_limited_refresh, opt_in_and_refresh);

async fn vin_by_device_signature(app: &mut TestApp) {
    let owner = wallet(app).await;
    let bob = wallet(app).await;
    let d = device(app, "VIN-1").await;
    claim(app, &owner, &d).await;
    let (id, _) = minted(app, &owner, FORD_VIN).await;
    let vin_path = format!("/v1/user/devices/{id}/vin");
    let signed = |vin: &str| d.key.sign_hash(&keccak256(vin.as_bytes())).to_hex();
    // Not paired yet: a device signature cannot be checked.
    refused(
        app,
        Method::PATCH,
        &vin_path,
        &owner.token,
        Some(json!({ "vin": FORD_VIN, "signature": signed(FORD_VIN) })),
        StatusCode::BAD_REQUEST,
        "no device is paired",
    )
    .await;
    pair(app, &owner, &id, &d).await;
    // Someone else: without a valid device signature the vehicle does not exist for them.
    for body in [
        json!({ "vin": FORD_VIN }),
        json!({ "vin": FORD_VIN, "signature": signed(VW_VIN) }),
    ] {
        refused(
            app,
            Method::PATCH,
            &vin_path,
            &bob.token,
            Some(body),
            StatusCode::NOT_FOUND,
            "not found",
        )
        .await;
    }
    // The paired device's signature of this VIN is accepted from any signed-in caller.
    let (status, _) = call(
        app,
        Method::PATCH,
        &vin_path,
        &bob.token,
        Some(json!({ "vin": FORD_VIN, "signature": signed(FORD_VIN) })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = call(app, Method::GET, "/v1/user/devices", &owner.token, None).await;
    assert_eq!(list["userDevices"][0]["vinConfirmed"], true);
    // The owner changing the VIN without a signature makes it unconfirmed again.
    let (status, _) = call(
        app,
        Method::PATCH,
        &vin_path,
        &owner.token,
        Some(json!({ "vin": VW_VIN })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = call(app, Method::GET, "/v1/user/devices", &owner.token, None).await;
    assert_eq!(
        (
            &list["userDevices"][0]["vin"],
            &list["userDevices"][0]["vinConfirmed"]
        ),
        (&json!(VW_VIN), &json!(false))
    );
}
api_test!(
    vin_confirmed_by_the_paired_device_signature,
    vin_by_device_signature
);
