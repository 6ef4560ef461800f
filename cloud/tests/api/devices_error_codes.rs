//! Devices API, error codes: submit (validated, described from the SAE J2012 tables and the
//! vehicle's make), list newest first, clear the most recent; owner checks.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_test;
use crate::devices_support::{FORD_VIN, call, expect_error, login, vehicle_from_vin};
use crate::helpers::TestApp;

fn codes(query: &Value) -> Vec<(String, String, bool)> {
    query["errorCodes"]
        .as_array()
        .expect("errorCodes")
        .iter()
        .map(|c| {
            (
                c["code"].as_str().expect("code").to_owned(),
                c["description"].as_str().expect("description").to_owned(),
                c["manufacturerSpecific"].as_bool().expect("flag"),
            )
        })
        .collect()
}

fn own(v: &[(&str, &str, bool)]) -> Vec<(String, String, bool)> {
    v.iter()
        .map(|(c, d, m)| ((*c).to_owned(), (*d).to_owned(), *m))
        .collect()
}

async fn submit_list_clear(app: &mut TestApp) {
    let alice = login(app).await;
    let id = vehicle_from_vin(app, &alice, FORD_VIN).await;
    let path = format!("/v1/user/devices/{id}/error-codes");
    let (status, body) = call(app, Method::GET, &path, &alice, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "queries": [] })));
    expect_error(
        call(app, Method::POST, &format!("{path}/clear"), &alice, None).await,
        StatusCode::CONFLICT,
        "no error codes",
    );

    let (status, body) = call(
        app,
        Method::POST,
        &path,
        &alice,
        Some(json!({ "errorCodes": ["P0301", "p1270", "P0301", "U0100"] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = body["queries"][0].clone();
    assert_eq!(body["queries"].as_array().map(Vec::len), Some(1));
    // Generic titles from SAE J2012; P1270 is Ford's own (the vehicle decodes to FORD).
    assert_eq!(
        codes(&first),
        own(&[
            ("P0301", "Cylinder 1 Misfire Detected", false),
            ("P1270", "Engine RPM Or Speed Limiter Reached", true),
            ("U0100", "Lost Communication with ECM/PCM \"A\"", false),
        ])
    );
    assert_eq!(first["clearedAt"], Value::Null);
    assert_eq!(first["source"], "user");
    let requested = first["requestedAt"].as_str().expect("requestedAt");
    assert!(
        requested.len() == 20 && requested.ends_with('Z') && requested.as_bytes()[10] == b'T',
        "{requested}"
    );

    let (status, body) = call(
        app,
        Method::POST,
        &path,
        &alice,
        Some(json!({ "errorCodes": ["P0106"] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, listed) = call(app, Method::GET, &path, &alice, None).await;
    let queries = listed["queries"].as_array().expect("queries");
    assert_eq!(queries.len(), 2);
    assert_eq!(queries[0]["errorCodes"][0]["code"], "P0106");
    assert_eq!(queries[1], first);

    // Clearing marks the newest query, once.
    let (status, cleared) = call(app, Method::POST, &format!("{path}/clear"), &alice, None).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["errorCodes"][0]["code"], "P0106");
    assert!(cleared["clearedAt"].is_string(), "{cleared}");
    expect_error(
        call(app, Method::POST, &format!("{path}/clear"), &alice, None).await,
        StatusCode::CONFLICT,
        "already cleared",
    );
    let (_, listed) = call(app, Method::GET, &path, &alice, None).await;
    assert_eq!(listed["queries"][0], cleared);
    assert_eq!(listed["queries"][1]["clearedAt"], Value::Null);
}
api_test!(devices_error_codes_submit_list_clear, submit_list_clear);

async fn bad_codes_and_other_users(app: &mut TestApp) {
    let alice = login(app).await;
    let bob = login(app).await;
    let id = vehicle_from_vin(app, &alice, FORD_VIN).await;
    let path = format!("/v1/user/devices/{id}/error-codes");
    let check = async |body: Value, needle: &str| {
        expect_error(
            call(app, Method::POST, &path, &alice, Some(body)).await,
            StatusCode::BAD_REQUEST,
            needle,
        );
    };
    check(
        json!({ "errorCodes": ["P0106", "X0106"] }),
        "errorCodes[1]: \"X0106\"",
    )
    .await;
    check(
        json!({ "errorCodes": ["P4000"] }),
        "\"P4000\" is not a trouble code",
    )
    .await;
    check(json!({ "errorCodes": ["P01G6"] }), "errorCodes[0]").await;
    check(json!({ "errorCodes": [] }), "at least one").await;
    let many: Vec<String> = (0..101).map(|i| format!("P{i:04}")).collect();
    check(json!({ "errorCodes": many }), "at most 100").await;
    check(json!({ "errorCodes": "P0106" }), "").await;
    check(json!({}), "errorCodes").await;
    let (status, body) = call(
        app,
        Method::POST,
        &path,
        &alice,
        Some(json!({ "errorCodes": many[..100] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["queries"][0]["errorCodes"].as_array().map(Vec::len),
        Some(100)
    );

    // Bob gets 404 on every route for Alice's vehicle, and nothing changes.
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::POST, "", Some(json!({ "errorCodes": ["P0106"] }))),
        (Method::POST, "/clear", None),
    ] {
        expect_error(
            call(app, method, &format!("{path}{suffix}"), &bob, body).await,
            StatusCode::NOT_FOUND,
            "user device not found",
        );
    }
    let (_, listed) = call(app, Method::GET, &path, &alice, None).await;
    assert_eq!(listed["queries"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["queries"][0]["clearedAt"], Value::Null);
    expect_error(
        call(
            app,
            Method::GET,
            "/v1/user/devices/2bh8fNMoix9qduuiE9NHUzTGpZx/error-codes",
            &alice,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "user device not found",
    );
}
api_test!(
    devices_error_codes_refuse_bad_codes_and_other_users,
    bad_codes_and_other_users
);
