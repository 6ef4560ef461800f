//! Devices API, vehicles and device definitions: create from a definition, from make/model/
//! year and from a decoded VIN; list; change the VIN; look definitions up; owner checks.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_test;
use crate::devices_support::{FORD_VIN, VW_VIN, call, expect_error, login, vehicle_from_vin};
use crate::helpers::TestApp;

async fn list(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let (status, body) = call(app, Method::GET, path, token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["userDevices"].as_array().expect("userDevices").clone()
}

async fn from_vin_creates_definition_and_lists(app: &mut TestApp) {
    let alice = login(app).await;
    let id = vehicle_from_vin(app, &alice, FORD_VIN).await;
    let mine = list(app, &alice, "/v1/user/devices/me").await;
    assert_eq!(mine, list(app, &alice, "/v1/user/devices").await);
    assert_eq!(mine.len(), 1);
    let v = &mine[0];
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["vin"], FORD_VIN);
    assert_eq!(v["vinConfirmed"], false);
    assert_eq!(v["countryCode"], "USA");
    assert_eq!(v["metadata"]["canProtocol"], "6");
    let def = &v["deviceDefinition"];
    assert_eq!(
        (&def["make"], &def["model"], &def["year"]),
        (&json!("Ford"), &json!("Escape"), &json!(2023))
    );
    let def_id = def["deviceDefinitionId"].as_str().expect("def id");
    assert_eq!(def_id.len(), 27);

    // The definition is public, by id and by make/model/year (case-insensitive).
    let (status, by_id) = call(
        app,
        Method::GET,
        &format!("/v1/device-definitions/{def_id}"),
        "",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&by_id, def);
    let (status, by_mmy) = call(
        app,
        Method::GET,
        "/v1/device-definitions?make=ford&model=ESCAPE&year=2023",
        "",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&by_mmy, def);
    expect_error(
        call(
            app,
            Method::GET,
            "/v1/device-definitions?make=ford&model=Escape&year=2022",
            "",
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "device definition not found",
    );
    expect_error(
        call(
            app,
            Method::GET,
            "/v1/device-definitions?make=ford&year=2023",
            "",
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "required",
    );
    expect_error(
        call(
            app,
            Method::GET,
            "/v1/device-definitions/2bh8fNMoix9qduuiE9NHUzTGpZx",
            "",
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "device definition",
    );

    // A second user with the same VIN reuses the definition; the same user twice is refused.
    let bob = login(app).await;
    vehicle_from_vin(app, &bob, FORD_VIN).await;
    let bobs = list(app, &bob, "/v1/user/devices/me").await;
    assert_eq!(bobs[0]["deviceDefinition"]["deviceDefinitionId"], def_id);
    assert_ne!(bobs[0]["id"], id.as_str());
    expect_error(
        call(
            app,
            Method::POST,
            "/v1/user/devices/fromvin",
            &alice,
            Some(json!({ "vin": FORD_VIN, "countryCode": "USA" })),
        )
        .await,
        StatusCode::CONFLICT,
        "already registered",
    );
    // Each user sees only their own vehicle.
    assert_eq!(list(app, &alice, "/v1/user/devices/me").await.len(), 1);
}
api_test!(
    devices_from_vin_creates_definition_and_lists,
    from_vin_creates_definition_and_lists
);

async fn create_from_definition(app: &mut TestApp) {
    let alice = login(app).await;
    let (status, body) = call(
        app,
        Method::POST,
        "/v1/user/devices",
        &alice,
        Some(json!({ "countryCode": "deu", "make": "Volkswagen", "model": "Golf (Mk7)", "year": 2015 })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let def_id = body["userDevice"]["deviceDefinition"]["deviceDefinitionId"].clone();
    assert_eq!(body["userDevice"]["countryCode"], "DEU");
    assert_eq!(body["userDevice"]["vin"], Value::Null);
    // Decoding a VW VIN of that make/model/year lands on the same definition.
    vehicle_from_vin(app, &alice, VW_VIN).await;
    let all = list(app, &alice, "/v1/user/devices/me").await;
    assert_eq!(all[1]["deviceDefinition"]["deviceDefinitionId"], def_id);
    let (status, body) = call(
        app,
        Method::POST,
        "/v1/user/devices",
        &alice,
        Some(json!({ "countryCode": "FRA", "deviceDefinitionId": def_id })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["userDevice"]["deviceDefinition"]["deviceDefinitionId"],
        def_id
    );
    assert_eq!(list(app, &alice, "/v1/user/devices/me").await.len(), 3);

    let check = async |body: Value, status: StatusCode, needle: &str| {
        expect_error(
            call(app, Method::POST, "/v1/user/devices", &alice, Some(body)).await,
            status,
            needle,
        );
    };
    for code in ["US", "UK", "XXX", "EUR", "", "USAA", "12A"] {
        check(
            json!({ "countryCode": code, "deviceDefinitionId": def_id }),
            StatusCode::BAD_REQUEST,
            "countryCode",
        )
        .await;
    }
    check(
        json!({ "countryCode": "USA", "deviceDefinitionId": "2bh8fNMoix9qduuiE9NHUzTGpZx" }),
        StatusCode::NOT_FOUND,
        "device definition not found",
    )
    .await;
    check(
        json!({ "countryCode": "USA", "deviceDefinitionId": "../etc" }),
        StatusCode::NOT_FOUND,
        "device definition not found",
    )
    .await;
    check(
        json!({ "countryCode": "USA" }),
        StatusCode::BAD_REQUEST,
        "deviceDefinitionId",
    )
    .await;
    check(
        json!({ "countryCode": "USA", "make": "Ford", "model": "Escape" }),
        StatusCode::BAD_REQUEST,
        "deviceDefinitionId",
    )
    .await;
    check(
        json!({ "countryCode": "USA", "make": "Ford", "model": "Escape", "year": 3000 }),
        StatusCode::BAD_REQUEST,
        "year",
    )
    .await;
    check(
        json!({ "deviceDefinitionId": def_id }),
        StatusCode::BAD_REQUEST,
        "countryCode",
    )
    .await;
    check(json!([1, 2]), StatusCode::BAD_REQUEST, "").await;
    assert_eq!(list(app, &alice, "/v1/user/devices/me").await.len(), 3);
    // Without a token: 401 in the devices error shape.
    expect_error(
        call(app, Method::GET, "/v1/user/devices/me", "not-a-token", None).await,
        StatusCode::UNAUTHORIZED,
        "access token",
    );
}
api_test!(
    devices_create_from_definition_and_refuse_bad_input,
    create_from_definition
);

async fn from_vin_refuses_bad_input(app: &mut TestApp) {
    let alice = login(app).await;
    let check = async |body: Value, needle: &str| {
        expect_error(
            call(
                app,
                Method::POST,
                "/v1/user/devices/fromvin",
                &alice,
                Some(body),
            )
            .await,
            StatusCode::BAD_REQUEST,
            needle,
        );
    };
    // Wrong check digit (mandatory for a North-American VIN), bad letter, short.
    check(
        json!({ "vin": "1FMCU0GA2PK000001", "countryCode": "USA" }),
        "check digit",
    )
    .await;
    check(
        json!({ "vin": "1FMCU0GA1PK00000I", "countryCode": "USA" }),
        "position 17",
    )
    .await;
    check(
        json!({ "vin": "1FMCU0GA1PK00000", "countryCode": "USA" }),
        "16 characters",
    )
    .await;
    check(
        json!({ "vin": FORD_VIN, "countryCode": "USA", "canProtocol": "Z" }),
        "canProtocol",
    )
    .await;
    check(
        json!({ "vin": FORD_VIN, "countryCode": "ZZZ" }),
        "countryCode",
    )
    .await;
    check(json!({ "countryCode": "USA" }), "vin").await;
    let (_, body) = call(app, Method::GET, "/v1/user/devices/me", &alice, None).await;
    assert_eq!(body["userDevices"], json!([]));
}
api_test!(
    devices_from_vin_refuses_bad_input,
    from_vin_refuses_bad_input
);

async fn update_vin_owner_only(app: &mut TestApp) {
    let alice = login(app).await;
    let bob = login(app).await;
    let id = vehicle_from_vin(app, &alice, FORD_VIN).await;
    let other = vehicle_from_vin(app, &alice, VW_VIN).await;
    let path = format!("/v1/user/devices/{id}/vin");
    let (status, _) = call(
        app,
        Method::PATCH,
        &path,
        &alice,
        Some(json!({ "vin": "5yj3e1ea8kf000001" })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = call(app, Method::GET, "/v1/user/devices/me", &alice, None).await;
    let v = body["userDevices"]
        .as_array()
        .expect("list")
        .iter()
        .find(|v| v["id"] == id.as_str())
        .expect("vehicle")
        .clone();
    assert_eq!(v["vin"], "5YJ3E1EA8KF000001");
    // The definition stays the one the vehicle was created with.
    assert_eq!(v["deviceDefinition"]["make"], "Ford");

    expect_error(
        call(
            app,
            Method::PATCH,
            &path,
            &alice,
            Some(json!({ "vin": "5YJ3E1EA5KF000001" })),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "check digit",
    );
    expect_error(
        call(
            app,
            Method::PATCH,
            &path,
            &alice,
            Some(json!({ "vin": VW_VIN })),
        )
        .await,
        StatusCode::CONFLICT,
        "already registered",
    );
    // Bob cannot change (or learn about) Alice's vehicle: 404 like a missing one.
    for target in [
        id.as_str(),
        other.as_str(),
        "2bh8fNMoix9qduuiE9NHUzTGpZx",
        "nope",
    ] {
        expect_error(
            call(
                app,
                Method::PATCH,
                &format!("/v1/user/devices/{target}/vin"),
                &bob,
                Some(json!({ "vin": FORD_VIN })),
            )
            .await,
            StatusCode::NOT_FOUND,
            "user device not found",
        );
    }
    let (_, body) = call(app, Method::GET, "/v1/user/devices/me", &bob, None).await;
    assert_eq!(body["userDevices"], json!([]));
    let (_, body) = call(app, Method::GET, "/v1/user/devices/me", &alice, None).await;
    let vins: Vec<(&Value, &Value)> = body["userDevices"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| (&v["id"], &v["vin"]))
        .collect();
    assert!(vins.contains(&(&json!(other), &json!(VW_VIN))), "{vins:?}");
    assert!(
        vins.contains(&(&json!(id), &json!("5YJ3E1EA8KF000001"))),
        "{vins:?}"
    );
}
api_test!(devices_update_vin_is_owner_only, update_vin_owner_only);
