//! Devices API, geofences: create, list, replace, delete; H3 cells, types, names unique per
//! user, vehicles only the caller's own, bounds; another user's geofence is 404.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_test;
use crate::devices_support::{FORD_VIN, VW_VIN, call, expect_error, login, vehicle_from_vin};
use crate::helpers::TestApp;

const CELL_A: &str = "8928308280fffff";
const CELL_B: &str = "89283082807ffff";

fn fence(name: &str, kind: &str, cells: &[&str], devices: &[&str]) -> Value {
    json!({ "name": name, "type": kind, "h3Indexes": cells, "userDeviceIds": devices })
}

async fn fences(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = call(app, Method::GET, "/v1/user/geofences", token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["geofences"].as_array().expect("geofences").clone()
}

async fn create(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    call(app, Method::POST, "/v1/user/geofences", token, Some(body)).await
}

async fn lifecycle(app: &mut TestApp) {
    let alice = login(app).await;
    assert!(fences(app, &alice).await.is_empty());
    let car = vehicle_from_vin(app, &alice, FORD_VIN).await;
    let (status, body) = create(
        app,
        &alice,
        fence(
            "Home",
            "PrivacyFence",
            &[CELL_A, &CELL_B.to_uppercase(), CELL_A],
            &[&car],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 27);
    let listed = fences(app, &alice).await;
    assert_eq!(listed.len(), 1);
    let g = &listed[0];
    assert_eq!(
        (&g["id"], &g["name"], &g["type"]),
        (&json!(id), &json!("Home"), &json!("PrivacyFence"))
    );
    assert_eq!(g["h3Indexes"], json!([CELL_B, CELL_A]));
    assert_eq!(g["userDeviceIds"], json!([car]));

    let path = format!("/v1/user/geofences/{id}");
    let (status, _) = call(
        app,
        Method::PUT,
        &path,
        &alice,
        Some(fence("Work", "TriggerExit", &[CELL_A], &[])),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let g = &fences(app, &alice).await[0];
    assert_eq!(
        (&g["name"], &g["type"]),
        (&json!("Work"), &json!("TriggerExit"))
    );
    assert_eq!(
        (&g["h3Indexes"], &g["userDeviceIds"]),
        (&json!([CELL_A]), &json!([]))
    );

    // Names are unique per user (409), also on update; "Home" is free again now.
    let (status, body) = create(
        app,
        &alice,
        fence("Home", "TriggerEntry", &[CELL_B], &[&car]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let home = body["id"].as_str().expect("id").to_owned();
    expect_error(
        create(app, &alice, fence("Work", "TriggerEntry", &[CELL_B], &[])).await,
        StatusCode::CONFLICT,
        "already have a geofence named \"Work\"",
    );
    expect_error(
        call(
            app,
            Method::PUT,
            &format!("/v1/user/geofences/{home}"),
            &alice,
            Some(fence("Work", "TriggerEntry", &[CELL_B], &[])),
        )
        .await,
        StatusCode::CONFLICT,
        "Work",
    );
    // Another user may use the same name.
    let bob = login(app).await;
    let (status, _) = create(app, &bob, fence("Work", "TriggerEntry", &[CELL_B], &[])).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, _) = call(app, Method::DELETE, &path, &alice, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    expect_error(
        call(app, Method::DELETE, &path, &alice, None).await,
        StatusCode::NOT_FOUND,
        "geofence not found",
    );
    let left = fences(app, &alice).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], home.as_str());
    assert_eq!(fences(app, &bob).await.len(), 1);
}
api_test!(devices_geofences_lifecycle, lifecycle);

async fn refuses_bad_input(app: &mut TestApp) {
    let alice = login(app).await;
    let bob = login(app).await;
    let bobs_car = vehicle_from_vin(app, &bob, VW_VIN).await;
    let check = async |body: Value, needle: &str| {
        expect_error(
            create(app, &alice, body).await,
            StatusCode::BAD_REQUEST,
            needle,
        );
    };
    check(fence("A", "privacyfence", &[CELL_A], &[]), "type:").await;
    check(
        fence("A", "Anything", &[CELL_A], &[]),
        "PrivacyFence, TriggerEntry, TriggerExit",
    )
    .await;
    check(
        fence("A", "TriggerExit", &[CELL_A, "hello"], &[]),
        "h3Indexes[1]: \"hello\"",
    )
    .await;
    check(
        fence("A", "TriggerExit", &["8928308280ffff0"], &[]),
        "h3Indexes[0]",
    )
    .await;
    check(fence("A", "TriggerExit", &[], &[]), "h3Indexes must hold").await;
    check(fence("  ", "TriggerExit", &[CELL_A], &[]), "name").await;
    check(
        fence(&"n".repeat(101), "TriggerExit", &[CELL_A], &[]),
        "name",
    )
    .await;
    // Another user's vehicle and a missing one get the same answer.
    check(
        fence("A", "TriggerExit", &[CELL_A], &[&bobs_car]),
        "is not one of your vehicles",
    )
    .await;
    check(
        fence(
            "A",
            "TriggerExit",
            &[CELL_A],
            &["2bh8fNMoix9qduuiE9NHUzTGpZx"],
        ),
        "is not one of your vehicles",
    )
    .await;
    let too_many: Vec<String> = vec![CELL_A.to_owned(); 2001];
    check(
        json!({ "name": "A", "type": "TriggerExit", "h3Indexes": too_many }),
        "h3Indexes must hold",
    )
    .await;
    check(json!({ "name": "A", "h3Indexes": [CELL_A] }), "type").await;
    assert!(fences(app, &alice).await.is_empty());

    // At most 100 geofences per user.
    for i in 0..100 {
        let (status, body) = create(
            app,
            &alice,
            fence(&format!("f{i}"), "TriggerEntry", &[CELL_A], &[]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    expect_error(
        create(
            app,
            &alice,
            fence("one more", "TriggerEntry", &[CELL_A], &[]),
        )
        .await,
        StatusCode::CONFLICT,
        "maximum of 100",
    );
}
api_test!(devices_geofences_refuse_bad_input, refuses_bad_input);

async fn other_users(app: &mut TestApp) {
    let alice = login(app).await;
    let bob = login(app).await;
    let (_, body) = create(app, &alice, fence("Home", "PrivacyFence", &[CELL_A], &[])).await;
    let id = body["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/user/geofences/{id}");
    assert!(fences(app, &bob).await.is_empty());
    expect_error(
        call(
            app,
            Method::PUT,
            &path,
            &bob,
            Some(fence("Mine", "TriggerExit", &[CELL_B], &[])),
        )
        .await,
        StatusCode::NOT_FOUND,
        "geofence not found",
    );
    expect_error(
        call(app, Method::DELETE, &path, &bob, None).await,
        StatusCode::NOT_FOUND,
        "geofence not found",
    );
    expect_error(
        call(
            app,
            Method::DELETE,
            "/v1/user/geofences/not-an-id",
            &bob,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "geofence not found",
    );
    let mine = fences(app, &alice).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["name"], "Home");
    expect_error(
        call(app, Method::GET, "/v1/user/geofences", "", None).await,
        StatusCode::UNAUTHORIZED,
        "access token",
    );
}
api_test!(devices_geofences_are_per_user, other_users);
