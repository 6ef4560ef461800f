//! Smartcar connections against the fake Smartcar of `fake_smartcar.rs`:
//! `POST /v1/user/devices/fromsmartcar` (success, several vehicles, reconnects, every 400,
//! 502 and 503, nothing stored on failure, replayed codes, another user), synthetic devices
//! after mint, and the refresh worker (token refresh, odometer and location into the status
//! API, failures with their reasons).

use std::time::Duration;

use pitlane_cloud::registry::ledger::recent_calls;
use pitlane_cloud::registry::refresh::{RefreshStatus, latest};
use pitlane_cloud::registry::vehicles::queue_refresh;
use pitlane_cloud::smartcar::refresh::NO_CONNECTION;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::devices_support::{FORD_VIN, VW_VIN, call, expect_error, vehicle_from_vin};
use crate::fake_smartcar::{Endpoint, Failure, FakeSmartcar, FakeVehicle, REDIRECT};
use crate::helpers::{TestApp, backends, spawn_app};
use crate::registry::{Wallet, minted, payload, sign, wallet};

const FROM_SMARTCAR: &str = "/v1/user/devices/fromsmartcar";

/// Runs `$body(app, fake)` once per backend with the service pointed at a fresh fake;
/// `$tweak` adjusts the configuration after that.
macro_rules! smartcar_test {
    ($name:ident, $body:path) => {
        smartcar_test!($name, $body, |_c: &mut pitlane_cloud::config::Config| {});
    };
    ($name:ident, $body:path, $tweak:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in backends() {
                let fake = FakeSmartcar::start().await;
                let configure = fake.configure();
                let mut app = spawn_app(backend, |c| {
                    configure(c);
                    ($tweak)(c);
                })
                .await;
                $body(&mut app, &fake).await;
                app.stop().await;
            }
        }
    };
}

fn ford() -> FakeVehicle {
    FakeVehicle::new(FORD_VIN, "FORD", "ESCAPE", 2023)
}

fn vw() -> FakeVehicle {
    FakeVehicle::new(VW_VIN, "VOLKSWAGEN", "GOLF", 2015)
}

async fn connect(app: &TestApp, token: &str, code: &str, country: &str) -> (StatusCode, Value) {
    call(
        app,
        Method::POST,
        FROM_SMARTCAR,
        token,
        Some(json!({ "code": code, "countryCode": country, "redirectURI": REDIRECT })),
    )
    .await
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count")
}

/// Asserts that no vehicle, authorization or connection was stored.
async fn nothing_stored(app: &TestApp, what: &str) {
    for table in ["user_devices", "smartcar_grants", "smartcar_connections"] {
        assert_eq!(count(app, table).await, 0, "{table} after {what}");
    }
}

async fn connection(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    call(
        app,
        Method::GET,
        &format!("/v1/user/devices/{id}/smartcar"),
        token,
        None,
    )
    .await
}

/// The vehicle's connection once `done(body)` holds (polls for up to 30 s).
async fn wait_connection(
    app: &TestApp,
    token: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..600 {
        let (status, body) = connection(app, token, id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if done(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the connection of {id} never reached the expected state");
}

/// The newest refresh request of `id` once it is no longer queued (polls for up to 30 s).
async fn wait_refresh(app: &TestApp, id: &str) -> RefreshStatus {
    for _ in 0..600 {
        let status = latest(&app.state.db, id).await.expect("latest");
        if let Some(s) = status.filter(|s| s.status != "queued") {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the refresh request of {id} was never processed");
}

async fn queue(app: &TestApp, id: &str) {
    queue_refresh(&app.state.db, id, 0, pitlane_cloud::accounts::now())
        .await
        .expect("queue");
}

async fn connects_a_vehicle(app: &mut TestApp, fake: &FakeSmartcar) {
    let owner = wallet(app).await;
    let car = ford();
    let code = fake.authorize(std::slice::from_ref(&car));
    let (status, body) = connect(app, &owner.token, &code, "deu").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let vehicle = &body["userDevice"];
    assert_eq!(body["userDevices"].as_array().map(Vec::len), Some(1));
    assert_eq!(vehicle["vin"], FORD_VIN);
    assert_eq!(vehicle["countryCode"], "DEU");
    // Our decoder's reading of the VIN wins over Smartcar's upper-case attributes.
    let definition = &vehicle["deviceDefinition"];
    assert_eq!(
        (
            &definition["make"],
            &definition["model"],
            &definition["year"]
        ),
        (&json!("Ford"), &json!("Escape"), &json!(2023))
    );
    let id = vehicle["id"].as_str().expect("id").to_owned();
    let (status, list) = call(app, Method::GET, "/v1/user/devices", &owner.token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["userDevices"][0]["id"], id.as_str());

    let (status, c) = connection(app, &owner.token, &id).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["smartcarVehicleId"], car.id.as_str());
    assert_eq!(c["syntheticDevice"], Value::Null);
    assert_eq!(c["lastRefresh"], Value::Null);
    assert_eq!(fake.grants(), ["authorization_code"]);

    // Tokens are stored encrypted, never in clear.
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT access_token, refresh_token FROM smartcar_grants")
            .fetch_all(&app.state.db.pool)
            .await
            .expect("grants");
    assert_eq!(rows.len(), 1);
    for (access, refresh) in &rows {
        assert!(access.starts_with("v1.") && refresh.starts_with("v1."));
        for issued in fake.access_tokens() {
            assert!(!access.contains(&issued) && !refresh.contains(&issued));
        }
    }

    // A code is good once: Smartcar refuses the replay, and nothing changes.
    expect_error(
        connect(app, &owner.token, &code, "DEU").await,
        StatusCode::BAD_REQUEST,
        "Invalid or expired auth code",
    );
    assert_eq!(count(app, "user_devices").await, 1);
    assert_eq!(count(app, "smartcar_grants").await, 1);

    // Another user sees nothing of it.
    let other = wallet(app).await;
    let (status, _) = connection(app, &other.token, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = call(app, Method::GET, "/v1/user/devices", &other.token, None).await;
    assert_eq!(list["userDevices"], json!([]));
    for (method, path) in [
        (
            Method::POST,
            format!("/v1/user/devices/{id}/commands/refresh"),
        ),
        (Method::GET, format!("/v1/user/devices/{id}/status")),
    ] {
        let (status, body) = call(app, method, &path, &other.token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    // Without a token: 401 in the devices error shape.
    let r = app
        .client
        .post(app.url(FROM_SMARTCAR))
        .json(&json!({ "code": "x", "countryCode": "USA", "redirectURI": REDIRECT }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
smartcar_test!(fromsmartcar_connects_a_vehicle, connects_a_vehicle);

async fn several_vehicles(app: &mut TestApp, fake: &FakeSmartcar) {
    let owner = wallet(app).await;
    let (car, golf) = (ford(), vw());
    let code = fake.authorize(&[car.clone(), golf.clone()]);
    let (status, body) = connect(app, &owner.token, &code, "USA").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let all = body["userDevices"].as_array().expect("list").clone();
    assert_eq!(all.len(), 2);
    assert_eq!(body["userDevice"], all[0]);
    let vins: Vec<&str> = all.iter().filter_map(|v| v["vin"].as_str()).collect();
    assert_eq!(vins, [FORD_VIN, VW_VIN]);
    assert_eq!(all[1]["deviceDefinition"]["model"], "Golf (Mk7)");
    assert_eq!(count(app, "smartcar_grants").await, 1, "one authorization");

    // Connecting the Ford again reconnects it: same vehicle, 200, the Golf keeps its grant.
    let (status, again) = connect(app, &owner.token, &fake.authorize(&[car]), "USA").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["userDevice"]["id"], all[0]["id"]);
    assert_eq!(count(app, "user_devices").await, 2);
    assert_eq!(count(app, "smartcar_grants").await, 2);
    // Reconnecting the Golf too leaves the first authorization unused: it is deleted.
    let (status, _) = connect(app, &owner.token, &fake.authorize(&[golf]), "USA").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(app, "smartcar_grants").await, 2);
    assert_eq!(count(app, "smartcar_connections").await, 2);
}
smartcar_test!(
    fromsmartcar_connects_every_authorized_vehicle,
    several_vehicles
);

async fn bad_requests(app: &mut TestApp, fake: &FakeSmartcar) {
    let app: &TestApp = app;
    let owner = wallet(app).await;
    let code = fake.authorize(&[ford()]);
    let check = |body: Value, needle: &'static str| {
        let token = owner.token.clone();
        async move {
            let got = call(app, Method::POST, FROM_SMARTCAR, &token, Some(body.clone())).await;
            expect_error(got, StatusCode::BAD_REQUEST, needle);
            nothing_stored(app, &body.to_string()).await;
        }
    };
    let ok = |field: &str, value: Value| {
        let mut body = json!({ "code": code, "countryCode": "USA", "redirectURI": REDIRECT });
        body[field] = value;
        body
    };
    check(
        json!({ "countryCode": "USA", "redirectURI": REDIRECT }),
        "code",
    )
    .await;
    check(ok("code", json!("")), "code").await;
    check(ok("code", json!("two words")), "code").await;
    check(
        json!({ "code": code, "redirectURI": REDIRECT }),
        "countryCode",
    )
    .await;
    check(ok("countryCode", json!("US")), "countryCode").await;
    check(ok("countryCode", json!("ZZZ")), "countryCode").await;
    check(json!({ "code": code, "countryCode": "USA" }), "redirectURI").await;
    check(ok("redirectURI", json!("/callback")), "redirectURI").await;
    check(ok("extra", json!(1)), "extra").await;
    // Smartcar's own refusals, with its description.
    check(
        ok("redirectURI", json!("https://elsewhere.example/cb")),
        "Redirect URI mismatch",
    )
    .await;
    check(
        ok("code", json!("never-issued")),
        "Invalid or expired auth code",
    )
    .await;
    check(ok("code", json!(fake.authorize(&[]))), "covers no vehicle").await;
    // The code survived all of that and still works.
    let (status, body) = connect(app, &owner.token, &code, "USA").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
smartcar_test!(fromsmartcar_bad_requests_store_nothing, bad_requests);

async fn upstream_failures(app: &mut TestApp, fake: &FakeSmartcar) {
    let owner = wallet(app).await;
    let cases: Vec<(Endpoint, Failure, &str)> = vec![
        (
            Endpoint::Token,
            Failure::Status(500, json!({})),
            "code exchange",
        ),
        (Endpoint::Token, Failure::NotJson, "code exchange"),
        (
            Endpoint::Token,
            Failure::Json(json!({ "access_token": "a", "refresh_token": "r", "expires_in": 0 })),
            "expires_in",
        ),
        (
            Endpoint::Vehicles,
            Failure::Status(503, json!({})),
            "vehicle list",
        ),
        (
            Endpoint::Vehicles,
            Failure::Json(json!({ "vehicles": ["../../etc"] })),
            "vehicle list",
        ),
        (
            Endpoint::Attributes,
            Failure::Json(json!({ "id": "x" })),
            "vehicle attributes",
        ),
        (
            Endpoint::Vin,
            Failure::Json(json!({ "vin": "NOT-A-VIN" })),
            "VIN",
        ),
        (
            Endpoint::Vin,
            Failure::Status(
                403,
                json!({ "type": "PERMISSION", "description": "read_vin not granted" }),
            ),
            "read_vin not granted",
        ),
    ];
    for (endpoint, failure, needle) in cases {
        fake.fail(endpoint, failure.clone());
        let code = fake.authorize(&[ford()]);
        let got = connect(app, &owner.token, &code, "USA").await;
        let what = format!("{endpoint:?} {failure:?}");
        assert!(
            got.1["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Smartcar"),
            "{what}: {}",
            got.1
        );
        expect_error(got, StatusCode::BAD_GATEWAY, needle);
        nothing_stored(app, &what).await;
        fake.heal();
    }
}
smartcar_test!(
    fromsmartcar_upstream_failures_are_bad_gateway,
    upstream_failures
);

async fn stalls(app: &mut TestApp, fake: &FakeSmartcar) {
    let owner = wallet(app).await;
    fake.fail(Endpoint::Vehicles, Failure::Stall);
    let code = fake.authorize(&[ford()]);
    let got = connect(app, &owner.token, &code, "USA").await;
    expect_error(got, StatusCode::BAD_GATEWAY, "vehicle list");
    nothing_stored(app, "a stalled vehicle list").await;
}
smartcar_test!(
    fromsmartcar_times_out,
    stalls,
    |c: &mut pitlane_cloud::config::Config| c.smartcar.timeout_secs = 1
);

async fn unreachable(app: &mut TestApp, _fake: &FakeSmartcar) {
    let owner = wallet(app).await;
    let got = connect(app, &owner.token, "some-code", "USA").await;
    expect_error(got, StatusCode::BAD_GATEWAY, "could not connect");
    nothing_stored(app, "an unreachable Smartcar").await;
}
smartcar_test!(
    fromsmartcar_unreachable_is_bad_gateway,
    unreachable,
    |c: &mut pitlane_cloud::config::Config| {
        // A port nothing listens on: bound, then released.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port");
        c.smartcar.auth_url = format!("http://{closed}");
    }
);

async fn not_configured(app: &mut TestApp) {
    let owner = wallet(app).await;
    let got = connect(app, &owner.token, "code", "USA").await;
    expect_error(got, StatusCode::SERVICE_UNAVAILABLE, "not configured");
    // Field errors still come first.
    let got = connect(app, &owner.token, "", "USA").await;
    expect_error(got, StatusCode::BAD_REQUEST, "code");
    nothing_stored(app, "no Smartcar configured").await;
    assert!(
        !app.state.config.data_dir.join("smartcar.key").exists(),
        "no key file without Smartcar"
    );
}
crate::api_test!(fromsmartcar_without_configuration_is_503, not_configured);

/// Mints the user's vehicle `id` over HTTP; answers its token id.
async fn mint(app: &TestApp, owner: &Wallet, id: &str) -> u64 {
    let path = format!("/v1/user/devices/{id}/commands/mint");
    let p = payload(app, &owner.token, &path).await;
    let body = json!({ "signature": sign(&owner.key, &p) });
    let (status, body) = call(app, Method::POST, &path, &owner.token, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["tokenId"].as_u64().expect("tokenId")
}

async fn synthetic_devices(app: &mut TestApp, fake: &FakeSmartcar) {
    let owner = wallet(app).await;
    let code = fake.authorize(&[ford()]);
    let (status, body) = connect(app, &owner.token, &code, "USA").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["userDevice"]["id"].as_str().expect("id").to_owned();
    let vehicle = mint(app, &owner, &id).await;
    let c = wait_connection(app, &owner.token, &id, |c| !c["syntheticDevice"].is_null()).await;
    let synthetic = &c["syntheticDevice"];
    assert_eq!(synthetic["address"], c["address"]);
    let token = synthetic["tokenId"].as_u64().expect("tokenId");
    let r = app
        .client
        .get(app.url(&format!("/v1/synthetic/device/{token}")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let metadata: Value = r.json().await.expect("json");
    assert_eq!(metadata["integration"], "smartcar");
    assert_eq!(metadata["vehicleTokenId"], vehicle);
    assert_eq!(metadata["address"], c["address"]);
    // Recorded in the ledger, signed by the synthetic device's key.
    let calls = recent_calls(&app.state.db, 10).await.expect("calls");
    let call = calls
        .iter()
        .find(|c| c.kind == "mint_synthetic")
        .expect("a mint_synthetic call");
    assert_eq!(call.status, "confirmed");
    assert!(call.signatures["syntheticDevice"].is_string(), "{call:?}");

    // A vehicle minted before it is connected gets its synthetic device at connection.
    let (golf, golf_token) = minted(app, &owner, VW_VIN).await;
    let (status, body) = connect(app, &owner.token, &fake.authorize(&[vw()]), "USA").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userDevice"]["id"], golf.as_str());
    let (_, c) = connection(app, &owner.token, &golf).await;
    let token = c["syntheticDevice"]["tokenId"]
        .as_u64()
        .expect("minted at once");
    let r = app
        .client
        .get(app.url(&format!("/v1/synthetic/device/{token}")))
        .send()
        .await
        .expect("send");
    let metadata: Value = r.json().await.expect("json");
    assert_eq!(metadata["vehicleTokenId"], golf_token);
    let (status, _) = connection(app, &wallet(app).await.token, &golf).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another user");
}
smartcar_test!(minted_connections_get_synthetic_devices, synthetic_devices);

fn telemetry_value(status: &Value, name: &str) -> Value {
    status["telemetry"]["report"]["values"]
        .as_array()
        .and_then(|values| values.iter().find(|v| v["name"] == name))
        .map(|v| v["value"].clone())
        .unwrap_or(Value::Null)
}

async fn refreshes(app: &mut TestApp, fake: &FakeSmartcar) {
    let owner = wallet(app).await;
    // Tokens that expire within the refresh margin: every refresh renews them first.
    fake.set_expires_in(30);
    let car = ford();
    let (status, body) = connect(
        app,
        &owner.token,
        &fake.authorize(std::slice::from_ref(&car)),
        "USA",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["userDevice"]["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/user/devices/{id}/commands/refresh");
    let (status, _) = call(app, Method::POST, &path, &owner.token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let done = wait_refresh(app, &id).await;
    assert_eq!((done.status.as_str(), done.reason), ("done", None));
    assert_eq!(fake.grants(), ["authorization_code", "refresh_token"]);
    let status_path = format!("/v1/user/devices/{id}/status");
    let (status, s) = call(app, Method::GET, &status_path, &owner.token, None).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(telemetry_value(&s, "odometer"), json!(12_345.5));
    assert_eq!(telemetry_value(&s, "latitude"), json!(52.52));
    assert_eq!(telemetry_value(&s, "longitude"), json!(13.405));
    let (_, c) = connection(app, &owner.token, &id).await;
    assert!(c["lastReadAt"].is_string(), "{c}");
    assert_eq!(c["lastRefresh"]["status"], "done");

    // The rotated refresh token is the one used next time; new readings replace old ones.
    fake.set_odometer(&car.id, 20_000.0);
    queue(app, &id).await;
    assert_eq!(wait_refresh(app, &id).await.status, "done");
    assert_eq!(
        fake.grants(),
        ["authorization_code", "refresh_token", "refresh_token"]
    );
    let (_, s) = call(app, Method::GET, &status_path, &owner.token, None).await;
    assert_eq!(telemetry_value(&s, "odometer"), json!(20_000.0));

    // Failures are recorded with the reason.
    fake.fail(Endpoint::Odometer, Failure::Status(500, json!({})));
    queue(app, &id).await;
    let failed = wait_refresh(app, &id).await;
    assert_eq!(failed.status, "failed");
    assert!(
        failed
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("odometer"),
        "{failed:?}"
    );
    fake.heal();
    fake.revoke_all();
    queue(app, &id).await;
    let failed = wait_refresh(app, &id).await;
    assert_eq!(failed.status, "failed");
    assert!(
        failed
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("token refresh"),
        "{failed:?}"
    );
    assert!(
        failed
            .reason
            .as_deref()
            .unwrap_or_default()
            .ends_with("connect the vehicle again (fromsmartcar)"),
        "{failed:?}"
    );
    let (_, c) = connection(app, &owner.token, &id).await;
    assert_eq!(c["lastRefresh"]["status"], "failed");
    assert!(c["lastRefresh"]["finishedAt"].is_string(), "{c}");

    // A vehicle without a software connection: failed, and why.
    let plain = vehicle_from_vin(app, &owner.token, VW_VIN).await;
    let path = format!("/v1/user/devices/{plain}/commands/refresh");
    let (status, _) = call(app, Method::POST, &path, &owner.token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let failed = wait_refresh(app, &plain).await;
    assert_eq!(
        (failed.status.as_str(), failed.reason.as_deref()),
        ("failed", Some(NO_CONNECTION))
    );
}
smartcar_test!(refresh_requests_read_the_vehicle, refreshes);
