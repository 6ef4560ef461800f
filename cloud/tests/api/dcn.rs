//! DCN names (registered by the provisioning key holder or an admin, read by anyone) and
//! synthetic device metadata.

use pitlane_cloud::accounts::secrets::sha256_hex;
use pitlane_cloud::config::Config;
use pitlane_cloud::registry::dcn::namehash;
use pitlane_cloud::registry::identicon::SIZE;
use pitlane_cloud::registry::vehicles::mint_synthetic_device;
use pitlane_shared::eip712::U256;
use pitlane_shared::identity::DeviceKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_test;
use crate::devices_support::FORD_VIN;
use crate::helpers::TestApp;
use crate::registry::{decode_png, minted, public, wallet};

const KEY: &str = "factory-provisioning-key-0123456789";

fn with_key(c: &mut Config) {
    c.provisioning_api_key_sha256 = Some(sha256_hex(KEY));
}

async fn register(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url("/v1/admin/dcn"))
        .header("x-provisioning-key", KEY)
        .json(&body)
        .send()
        .await
        .expect("send");
    (r.status(), r.json().await.expect("json"))
}

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let (status, r) = public(app, path).await;
    (status, r.json().await.expect("json"))
}

async fn dcn_nodes(app: &mut TestApp) {
    let owner = wallet(app).await;
    let (_, vehicle) = minted(app, &owner, FORD_VIN).await;
    let holder = owner.key.address().to_checksum();
    let expires = "2031-05-01T00:00:00Z";
    let body = json!({ "name": "MyCar.dimo", "owner": holder, "expiresAt": expires, "vehicleTokenId": vehicle });
    let (status, created) = register(app, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let node = format!("{:#x}", namehash("mycar.dimo"));
    assert_eq!(created["node"], node);
    assert_eq!(created["name"], "mycar.dimo");
    for id in [
        node.clone(),
        U256::from_be_bytes(namehash("mycar.dimo").0).to_string(),
    ] {
        let (status, got) = get_json(app, &format!("/v1/dcn/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got, created);
        assert_eq!(got["owner"], holder);
        assert_eq!(got["expiration"], "2031-05-01T00:00:00.000Z");
        assert_eq!(got["vehicleTokenId"], vehicle);
        assert!(
            got["attributes"]
                .as_array()
                .expect("attributes")
                .iter()
                .any(|a| a["trait_type"] == "Vehicle ID")
        );
    }
    let (status, r) = public(app, &format!("/v1/dcn/{node}/image")).await;
    assert_eq!(status, StatusCode::OK);
    let (w, h, _) = decode_png(&r.bytes().await.expect("bytes"));
    assert_eq!((w, h), (SIZE, SIZE));

    for (body, status, needle) in [
        (body.clone(), StatusCode::CONFLICT, "already registered"),
        (
            json!({ "name": "nodot", "owner": holder, "expiresAt": expires }),
            StatusCode::BAD_REQUEST,
            "two labels",
        ),
        (
            json!({ "name": "a_b.dimo", "owner": holder, "expiresAt": expires }),
            StatusCode::BAD_REQUEST,
            "labels",
        ),
        (
            json!({ "name": "old.dimo", "owner": holder, "expiresAt": "2001-01-01T00:00:00Z" }),
            StatusCode::BAD_REQUEST,
            "future",
        ),
        (
            json!({ "name": "x.dimo", "owner": "0x1", "expiresAt": expires }),
            StatusCode::BAD_REQUEST,
            "owner",
        ),
        (
            json!({ "name": "y.dimo", "owner": holder, "expiresAt": expires, "vehicleTokenId": vehicle + 50 }),
            StatusCode::NOT_FOUND,
            "vehicle",
        ),
    ] {
        let (got, answer) = register(app, body).await;
        assert_eq!(got, status, "{answer}");
        assert!(
            answer["message"].as_str().expect("m").contains(needle),
            "{answer}"
        );
    }
    let r = app
        .client
        .post(app.url("/v1/admin/dcn"))
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .post(app.url("/v1/admin/dcn"))
        .bearer_auth(&owner.token)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a wallet token is not an admin token"
    );
    let missing = format!("{:#x}", namehash("nobody.dimo"));
    for path in [
        format!("/v1/dcn/{missing}"),
        "/v1/dcn/0x12".into(),
        "/v1/dcn/abc".into(),
        format!("/v1/dcn/{missing}/image"),
    ] {
        let (status, body) = get_json(app, &path).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::NOT_FOUND, &json!(404)),
            "{path}"
        );
    }
}
api_test!(dcn_names_registered_and_read, dcn_nodes, with_key);

async fn synthetic(app: &mut TestApp) {
    let owner = wallet(app).await;
    let (_, vehicle) = minted(app, &owner, FORD_VIN).await;
    let address = DeviceKey::generate().address();
    let device = mint_synthetic_device(&app.state.db, vehicle, "smartcar", &address)
        .await
        .expect("mint");
    let again = mint_synthetic_device(
        &app.state.db,
        vehicle,
        "smartcar",
        &DeviceKey::generate().address(),
    )
    .await;
    assert!(again.is_err(), "one synthetic device per vehicle");
    let (status, body) = get_json(app, &format!("/v1/synthetic/device/{}", device.token_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tokenId"], device.token_id);
    assert_eq!(body["address"], address.to_checksum());
    assert_eq!(body["integration"], "smartcar");
    assert_eq!(body["vehicleTokenId"], vehicle);
    for path in [
        format!("/v1/synthetic/device/{}", device.token_id + 1),
        "/v1/synthetic/device/x".into(),
    ] {
        let (status, _) = get_json(app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
api_test!(synthetic_device_metadata, synthetic);
