//! Shared steps of the devices API tests: a wallet login (the Web3 access token), JSON
//! requests with a bearer token, and creating a vehicle.

use pitlane_shared::identity::DeviceKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A VIN the offline decoder resolves to Ford / Escape / 2023 (vPIC fixture).
pub const FORD_VIN: &str = "1FMCU0GA1PK000001";
/// A VIN the decoder resolves to Volkswagen / Golf (Mk7) / 2015 (VAG model code).
pub const VW_VIN: &str = "WVWZZZAUZFW000002";

/// A wallet signed in through the Web3 challenge.
pub struct Wallet {
    pub key: DeviceKey,
    pub token: String,
}

/// Logs a fresh wallet in and keeps its key for signing.
pub async fn wallet(app: &TestApp) -> Wallet {
    let key = DeviceKey::generate();
    let address = key.address().to_lowercase_hex();
    let r = app
        .client
        .post(app.url(&format!("/auth/web3/generate_challenge?address={address}")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let challenge: Value = r.json().await.expect("json");
    let message = challenge["challenge"].as_str().expect("challenge");
    let r = app
        .post_json(
            "/auth/web3/submit_challenge",
            json!({
                "state": challenge["state"],
                "signature": key.sign_message(message.as_bytes()).to_hex(),
            }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    Wallet {
        key,
        token: body["access_token"].as_str().expect("token").to_owned(),
    }
}

/// Logs a fresh wallet in through the Web3 challenge and returns its access token.
pub async fn login(app: &TestApp) -> String {
    wallet(app).await.token
}

/// Sends `method path` with the token and optional JSON body; returns status and JSON body
/// (`Null` when the body is empty).
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}"))
    };
    (status, json)
}

/// Asserts a devices API error: the status, `{"code": status, "message": ...}` with
/// `message` containing `needle`.
pub fn expect_error(got: (StatusCode, Value), status: StatusCode, needle: &str) {
    let (s, body) = got;
    assert_eq!(s, status, "{body}");
    assert_eq!(body["code"], status.as_u16(), "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

/// Creates a vehicle from `vin` for the token's user and returns its id.
pub async fn vehicle_from_vin(app: &TestApp, token: &str, vin: &str) -> String {
    let (status, body) = call(
        app,
        Method::POST,
        "/v1/user/devices/fromvin",
        token,
        Some(json!({ "vin": vin, "countryCode": "USA", "canProtocol": "6" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["userDevice"]["id"].as_str().expect("id").to_owned()
}
