//! Registry test support (wallet logins that keep their key, provisioned devices with their
//! keys, claim/mint/pair steps over HTTP) and the public on-chain queries of aftermarket
//! devices: metadata by token id and by address, and the identicon image.

use pitlane_cloud::registry::devices::NewDevice;
use pitlane_cloud::registry::identicon::SIZE;
use pitlane_cloud::registry::{Chain, check_mqtt_login, register_device};
use pitlane_shared::eip712::TypedData;
use pitlane_shared::identity::DeviceKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_test;
use crate::devices_support::{call, expect_error, vehicle_from_vin};
use crate::helpers::TestApp;

pub use crate::devices_support::{Wallet, wallet};

/// A provisioned device and its identity key.
pub struct Device {
    pub key: DeviceKey,
    pub serial: String,
    pub token_id: u64,
    pub mqtt_password: String,
}

/// Registers a device with a fresh key.
pub async fn device(app: &TestApp, serial: &str) -> Device {
    let key = DeviceKey::generate();
    let registered = register_device(
        &app.state.db,
        NewDevice {
            serial: serial.into(),
            address: key.address(),
            manufacturer: "Acme".into(),
        },
    )
    .await
    .expect("register");
    Device {
        key,
        serial: serial.into(),
        token_id: registered.device.token_id,
        mqtt_password: registered.mqtt_password,
    }
}

/// The chain settings the app runs with.
pub fn chain(app: &TestApp) -> Chain {
    Chain::from_config(&app.state.config).expect("chain")
}

/// Signs an `eth_signTypedData_v4` payload; 0x hex.
pub fn sign(key: &DeviceKey, payload: &Value) -> String {
    TypedData::from_value(payload)
        .expect("valid payload")
        .sign(key)
        .signature
        .to_hex()
}

/// GETs a payload (asserting 200).
pub async fn payload(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = call(app, Method::GET, path, token, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

pub fn claim_path(serial: &str) -> String {
    format!("/v1/aftermarket/device/by-serial/{serial}/commands/claim")
}

/// Claims `device` for `wallet` over HTTP, both signing.
pub async fn claim(app: &TestApp, wallet: &Wallet, device: &Device) {
    let path = claim_path(&device.serial);
    let p = payload(app, &wallet.token, &path).await;
    let body = json!({
        "userSignature": sign(&wallet.key, &p),
        "aftermarketDeviceSignature": sign(&device.key, &p),
    });
    let (status, body) = call(app, Method::POST, &path, &wallet.token, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Creates a vehicle from `vin` and mints it; answers (user device id, vehicle token id).
pub async fn minted(app: &TestApp, wallet: &Wallet, vin: &str) -> (String, u64) {
    let id = vehicle_from_vin(app, &wallet.token, vin).await;
    let path = format!("/v1/user/devices/{id}/commands/mint");
    let p = payload(app, &wallet.token, &path).await;
    let body = json!({ "signature": sign(&wallet.key, &p) });
    let (status, body) = call(app, Method::POST, &path, &wallet.token, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (id, body["tokenId"].as_u64().expect("tokenId"))
}

/// Pairs the minted vehicle with the owner's claimed device.
pub async fn pair(app: &TestApp, wallet: &Wallet, user_device_id: &str, device: &Device) {
    let path = format!("/v1/user/devices/{user_device_id}/aftermarket/commands/pair");
    let p = payload(
        app,
        &wallet.token,
        &format!("{path}?externalId={}", device.serial),
    )
    .await;
    let body = json!({ "externalId": device.serial, "signature": sign(&wallet.key, &p) });
    let (status, body) = call(app, Method::POST, &path, &wallet.token, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// GETs a public path without a token.
pub async fn public(app: &TestApp, path: &str) -> (StatusCode, reqwest::Response) {
    let r = app.client.get(app.url(path)).send().await.expect("send");
    (r.status(), r)
}

async fn metadata(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let (status, r) = public(app, path).await;
    (status, r.json().await.expect("json"))
}

/// Decodes a PNG: (width, height, RGB bytes).
pub fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

async fn device_metadata(app: &mut TestApp) {
    let a = device(app, "PL-0001").await;
    let b = device(app, "PL-0002").await;
    let (status, body) = metadata(app, &format!("/v1/aftermarket/device/{}", a.token_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tokenId"], a.token_id);
    assert_eq!(body["serial"], "PL-0001");
    assert_eq!(body["manufacturer"], "Acme");
    assert_eq!(body["address"], a.key.address().to_checksum());
    assert_eq!(body["claimedAt"], Value::Null);
    assert_eq!(
        body["image"],
        app.url(&format!("/v1/aftermarket/device/{}/image", a.token_id))
    );
    assert_eq!(body["attributes"][0]["trait_type"], "Ethereum Address");
    for spelling in [
        a.key.address().to_lowercase_hex(),
        a.key.address().to_checksum(),
    ] {
        let (status, by_address) = metadata(
            app,
            &format!("/v1/aftermarket/device/by-address/{spelling}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(by_address, body, "same data by address and by token id");
    }
    let (status, other) = metadata(app, &format!("/v1/aftermarket/device/{}", b.token_id)).await;
    assert_eq!(
        (status, &other["serial"]),
        (StatusCode::OK, &json!("PL-0002"))
    );

    let missing = DeviceKey::generate().address().to_lowercase_hex();
    for (path, status) in [
        (
            "/v1/aftermarket/device/999999".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/aftermarket/device/-1".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/aftermarket/device/1e3".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/aftermarket/device/99999999999999999999999".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/v1/aftermarket/device/by-address/{missing}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/aftermarket/device/by-address/0x1234".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/aftermarket/device/999999/image".to_owned(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (got, body) = metadata(app, &path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["code"], status.as_u16(), "{path}: {body}");
    }
}
api_test!(
    aftermarket_device_metadata_by_token_and_address,
    device_metadata
);

async fn device_image(app: &mut TestApp) {
    let a = device(app, "IMG-1").await;
    let b = device(app, "IMG-2").await;
    let fetch = |token: u64| {
        let app = &*app;
        async move {
            let (status, r) = public(app, &format!("/v1/aftermarket/device/{token}/image")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(r.headers()["content-type"], "image/png");
            r.bytes().await.expect("bytes").to_vec()
        }
    };
    let (first, again, other) = (
        fetch(a.token_id).await,
        fetch(a.token_id).await,
        fetch(b.token_id).await,
    );
    let (w, h, pixels) = decode_png(&first);
    assert_eq!((w, h), (SIZE, SIZE));
    let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
    assert_eq!(distinct.len(), 2, "background and one colour");
    assert_eq!(first, again, "same device, same picture");
    assert_ne!(
        decode_png(&other).2,
        pixels,
        "another device, another picture"
    );
}
api_test!(aftermarket_device_image_is_a_png_identicon, device_image);

async fn mqtt_login(app: &mut TestApp) {
    let d = device(app, "MQTT-1").await;
    let db = &app.state.db;
    let user = d.key.address().to_lowercase_hex();
    let check = |u: String, p: String, expected: bool| async move {
        assert_eq!(
            check_mqtt_login(db, &u, &p).await.expect("query"),
            expected,
            "{u} / {p}"
        );
    };
    check(user.clone(), d.mqtt_password.clone(), true).await;
    check(user.clone(), format!("{}x", d.mqtt_password), false).await;
    check(user.clone(), String::new(), false).await;
    check(
        d.key.address().to_checksum(),
        d.mqtt_password.clone(),
        false,
    )
    .await;
    check(
        DeviceKey::generate().address().to_lowercase_hex(),
        d.mqtt_password.clone(),
        false,
    )
    .await;
    check("not-an-address".into(), d.mqtt_password.clone(), false).await;
    assert_eq!(d.mqtt_password.len(), 64, "256-bit password");
    // A wallet token is not needed for the public queries, but a bad one on a private
    // route is refused in this family's shape.
    let got = call(app, Method::GET, &claim_path("MQTT-1"), "garbage", None).await;
    expect_error(got, StatusCode::UNAUTHORIZED, "access token");
}
api_test!(mqtt_login_checks_the_device_password, mqtt_login);
