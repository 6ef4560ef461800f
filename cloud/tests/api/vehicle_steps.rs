//! Request steps the mint/pair and vehicle-command suites share: a request that must be
//! refused, a vehicle set up for commands, sending a command, and a device's answers.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::devices_support::{call, expect_error, login};
use crate::helpers::TestApp;
use crate::mqtt_support::{DeviceConn, TestDevice, commands_token, pair};
use pitlane_shared::topics::UpKind;

/// `method path` as `token` (with `body`) must answer `status` in the devices error body,
/// its message containing `needle`.
pub async fn refused(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    status: StatusCode,
    needle: &str,
) {
    expect_error(call(app, method, path, token, body).await, status, needle);
}

/// A vehicle paired with `device`, owned by a fresh wallet account.
pub struct Commandable {
    /// The owner's Web3 access token.
    pub owner: String,
    /// The vehicle's token id.
    pub vehicle: u64,
    /// A privilege token with the commands privilege for it.
    pub token: String,
}

/// Logs a new owner in, pairs a vehicle with `device` and exchanges a commands token.
pub async fn commandable(app: &TestApp, device: &TestDevice) -> Commandable {
    let owner = login(app).await;
    let vehicle = pair(app, &owner, device).await.vehicle_token_id;
    let token = commands_token(app, &owner, vehicle).await;
    Commandable {
        owner,
        vehicle,
        token,
    }
}

/// `POST /v1/vehicle/{vehicle}/commands/{action_path}` must succeed; answers the request id.
pub async fn send_command(app: &TestApp, token: &str, vehicle: u64, action_path: &str) -> String {
    let (status, body) = call(
        app,
        Method::POST,
        &format!("/v1/vehicle/{vehicle}/commands/{action_path}"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["requestId"].as_str().expect("requestId").to_owned()
}

/// The device publishes a signed command result.
pub async fn publish_result(conn: &DeviceConn, device: &TestDevice, result: Value) {
    conn.publish(UpKind::Result, device.envelope(UpKind::Result, result))
        .await;
}

/// Envelopes the cloud's ingest has stored so far.
pub fn stored(app: &TestApp) -> u64 {
    app.state
        .mqtt
        .as_ref()
        .expect("mqtt")
        .ingest_counts()
        .stored
}
