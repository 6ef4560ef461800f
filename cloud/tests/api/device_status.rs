//! What devices report, as their owners see it: the status routes (by serial and by
//! vehicle) and trouble codes reported over MQTT in the vehicle's error-code history;
//! `error-codes/clear` with `clearOnVehicle` also sends `dtc.clear` to the device.

use pitlane_shared::topics::UpKind;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::devices_support::{FORD_VIN, call, expect_error, login};
use crate::helpers::TestApp;
use crate::mqtt_support::{TestDevice, eventually, pair};
use crate::mqtt_test;

async fn owners_see_what_their_device_reported(app: &mut TestApp) {
    let device = TestDevice::register(app).await;
    let mut conn = device.connect(app).await;
    let owner = login(app).await;
    let vehicle = pair(app, &owner, &device).await;
    conn.publish(UpKind::Status, device.status("online")).await;
    conn.publish(
        UpKind::Vin,
        device.envelope(
            UpKind::Vin,
            json!({"vin": FORD_VIN, "query": "functional0902", "check_digit_valid": true}),
        ),
    )
    .await;
    conn.publish(
        UpKind::Dtc,
        device.envelope(UpKind::Dtc, json!({"stored": {"7E8": ["P0301", "P0420"]}, "pending": {"7E8": ["P0171"]}, "permanent": {"7E8": ["P0420"]}})),
    )
    .await;

    let by_serial = format!("/v1/aftermarket/device/by-serial/{}/status", device.serial);
    let status = eventually("status with VIN and codes", || async {
        let (s, body) = call(app, Method::GET, &by_serial, &owner, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        (body["vin"] == FORD_VIN && body["dtcs"].is_object()).then_some(body)
    })
    .await;
    assert_eq!(status["online"], true);
    assert_eq!(status["firmware"], "9.9.9");
    assert!(status["lastSeen"].is_string());
    assert_eq!(status["dtcs"]["codes"]["pending"]["7E8"][0], "P0171");
    let (s, same) = call(
        app,
        Method::GET,
        &format!("/v1/user/devices/{}/status", vehicle.user_device_id),
        &owner,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(same["vin"], FORD_VIN);

    // The codes joined the vehicle's error-code history, once each, from the device.
    let codes_path = format!("/v1/user/devices/{}/error-codes", vehicle.user_device_id);
    let (s, history) = call(app, Method::GET, &codes_path, &owner, None).await;
    assert_eq!(s, StatusCode::OK);
    let q = &history["queries"][0];
    assert_eq!(q["source"], "device", "{history}");
    let codes: Vec<&str> = q["errorCodes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["P0301", "P0420", "P0171"]);

    // Someone else sees nothing.
    let stranger = login(app).await;
    expect_error(
        call(app, Method::GET, &by_serial, &stranger, None).await,
        StatusCode::NOT_FOUND,
        "not found",
    );
    expect_error(
        call(
            app,
            Method::GET,
            &format!("/v1/user/devices/{}/status", vehicle.user_device_id),
            &stranger,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not found",
    );

    // Clearing with clearOnVehicle also asks the car.
    let (s, cleared) = call(
        app,
        Method::POST,
        &format!("{codes_path}/clear"),
        &owner,
        Some(json!({"clearOnVehicle": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{cleared}");
    let request_id = cleared["requestId"].as_str().expect("requestId");
    let bytes = conn.next_command().await;
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(
        text.contains("dtc.clear") && text.contains(request_id),
        "{text}"
    );
}
mqtt_test!(
    device_status_and_codes_reach_the_owner,
    owners_see_what_their_device_reported
);
