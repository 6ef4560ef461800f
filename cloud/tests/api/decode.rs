//! Decode API and VAG Map API over real HTTP: cached single decodes, bulk tasks with
//! pause/resume, task results, cross-user refusal, and the VAG map's validation.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::TestApp;

const PASSWORD: &str = "amber-falcon-77";

/// Creates a user, signs in, answers (user_id, token).
async fn login(app: &TestApp, email: &str) -> (String, String) {
    app.user(email, PASSWORD, false).await;
    let r = app
        .post_json(
            "/api/v1/users/signin",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    (
        body["user_id"].as_str().expect("id").into(),
        body["token"].as_str().expect("token").into(),
    )
}

async fn json_of(r: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status);
    r.json().await.expect("json body")
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("request")
}

async fn single_decode_is_cached_and_owner_checked(app: &mut TestApp) {
    let (uid, token) = login(app, "fleet@company.com").await;
    let path = format!("/api/v1/decode/{uid}?vin=1HGCM82633A004352&force=false");
    let body = json_of(app.get_bearer(&path, &token).await, StatusCode::OK).await;
    assert_eq!(body["success"], true);
    assert_eq!(body["task_state"], "completed");
    assert_eq!(body["task_id"], Value::Null);
    let result = &body["task_result"];
    assert_eq!(
        (&result["make"], &result["model"], &result["year"]),
        (&json!("Honda"), &json!("Accord"), &json!("2003"))
    );
    assert_eq!(result["tab_names"][0], "Identification");
    assert_eq!(result["tabs"]["0"]["tab_name"], "Identification");
    let report_id = body["report_id"].as_str().expect("report id").to_owned();
    // Cached: the same lookup answers again; force=true decodes again into the same lookup.
    let again = json_of(app.get_bearer(&path, &token).await, StatusCode::OK).await;
    assert_eq!(again["report_id"], report_id.as_str());
    let forced = format!("/api/v1/decode/{uid}?vin=1HGCM82633A004352&force=true");
    let forced = json_of(app.get_bearer(&forced, &token).await, StatusCode::OK).await;
    assert_eq!(forced["task_result"], body["task_result"]);
    // Bad input.
    let bad = format!("/api/v1/decode/{uid}?vin=1HGCM8O633A004352");
    let bad = json_of(app.get_bearer(&bad, &token).await, StatusCode::BAD_REQUEST).await;
    assert!(
        bad["message"]
            .as_str()
            .is_some_and(|m| m.contains("position 7")),
        "{bad}"
    );
    let missing = json_of(
        app.get_bearer(&format!("/api/v1/decode/{uid}"), &token)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(missing["success"], false);
    // Another user is refused; no token is 401.
    let (other, other_token) = login(app, "intruder@company.com").await;
    let r = app.get_bearer(&path, &other_token).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .get(app.url(&path))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The VAG map reads a stored lookup only for its owner.
    let map = json!({ "brand": "VAG", "report_id": report_id });
    let r = send(
        app,
        reqwest::Method::POST,
        "/api/v1/vag-map/map",
        &other_token,
        Some(map.clone()),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "user {other}");
    let r = send(
        app,
        reqwest::Method::POST,
        "/api/v1/vag-map/map",
        &token,
        Some(map),
    )
    .await;
    let mapped = json_of(r, StatusCode::OK).await;
    assert!(
        mapped["payload"].as_array().is_some_and(
            |p| p.contains(&json!({"category": "Model", "filter": "model", "value": "Accord"}))
        ),
        "{mapped}"
    );
}
api_test!(single_decode, single_decode_is_cached_and_owner_checked);

async fn wait_completed(app: &TestApp, uid: &str, token: &str, task: &str) -> Value {
    for _ in 0..200 {
        let body = json_of(
            app.get_bearer(&format!("/api/v1/decode/{uid}/tasks/{task}"), token)
                .await,
            StatusCode::OK,
        )
        .await;
        if body["task_state"] == "completed" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {task} did not complete within 20 s");
}

async fn bulk_decode_pause_resume_and_results(app: &mut TestApp) {
    let (uid, token) = login(app, "bulk@company.com").await;
    let vins = json!([
        "5YJ3A1E12HF000001",
        "WVWZZZAUZFW000002",
        "1FTFW1RT0PW000001"
    ]);
    let body = json!({ "vins": vins, "file_name": "batch-1.csv", "bulk_id": null });
    let r = send(
        app,
        reqwest::Method::POST,
        &format!("/api/v1/decode/{uid}"),
        &token,
        Some(body),
    )
    .await;
    let started = json_of(r, StatusCode::OK).await;
    assert_eq!(
        (&started["task_state"], &started["success"]),
        (&json!("pending"), &json!(true))
    );
    let tasks: Vec<String> = started["task_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|t| t.as_str().expect("id").to_owned())
        .collect();
    assert_eq!(tasks.len(), 3);
    let bulk = started["bulk_id"].as_str().expect("bulk id").to_owned();

    let r = send(
        app,
        reqwest::Method::PUT,
        &format!("/api/v1/decode/{uid}/bulk/{bulk}/pause"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        json_of(r, StatusCode::OK).await["message"],
        "Bulk decode task paused"
    );
    let r = send(
        app,
        reqwest::Method::PUT,
        &format!("/api/v1/decode/{uid}/bulk/{bulk}/resume"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        json_of(r, StatusCode::OK).await["message"],
        "Bulk decode task resumed"
    );

    let done = wait_completed(app, &uid, &token, &tasks[1]).await;
    assert_eq!(done["results"]["final"]["model"], "Golf (Mk7)");
    assert_eq!(done["results"]["intermediate"], Value::Null);
    let done = wait_completed(app, &uid, &token, &tasks[0]).await;
    assert_eq!(done["results"]["final"]["make"], "Tesla");
    wait_completed(app, &uid, &token, &tasks[2]).await;

    // Other users see neither the tasks nor the bulk.
    let (_, other_token) = login(app, "nosy@company.com").await;
    let r = app
        .get_bearer(
            &format!("/api/v1/decode/{uid}/tasks/{}", tasks[0]),
            &other_token,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(
        app,
        reqwest::Method::PUT,
        &format!("/api/v1/decode/{uid}/bulk/{bulk}/pause"),
        &other_token,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(
        app,
        reqwest::Method::PUT,
        &format!("/api/v1/decode/{uid}/bulk/blk_missing/pause"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = send(
        app,
        reqwest::Method::POST,
        &format!("/api/v1/decode/{uid}"),
        &token,
        Some(json!({ "vins": [] })),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
api_test!(bulk_decode, bulk_decode_pause_resume_and_results);

async fn vag_map_validation(app: &mut TestApp) {
    let report = json!({ "0": { "tab_name": "Identification", "data": [["Model", "Golf"]] } });
    let ok = json!({ "brand": "VAG", "report": report, "vin": "WVWZZZ1KZ6W000001", "make": "Volkswagen", "model": "Golf" });
    let body = json_of(
        app.post_json("/api/v1/vag-map/map", ok).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        body,
        json!({ "brand": "VAG", "payload": [{ "category": "Model", "filter": "model", "value": "Golf" }], "success": true, "message": null })
    );
    let both = json!({ "brand": "VAG", "report": report, "report_id": "lkp_x" });
    assert_eq!(
        app.post_json("/api/v1/vag-map/map", both).await.status(),
        StatusCode::BAD_REQUEST
    );
    let neither = json!({ "brand": "VAG" });
    assert_eq!(
        app.post_json("/api/v1/vag-map/map", neither).await.status(),
        StatusCode::BAD_REQUEST
    );
    let bad = json!({ "brand": "VAG", "report": { "0": { "tab_name": "Options", "data": [] } } });
    let body = json_of(
        app.post_json("/api/v1/vag-map/map", bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("REPORT_FORMAT_ERROR")),
        "{body}"
    );
    // report_id without a bearer token.
    let by_id = json!({ "brand": "VAG", "report_id": "lkp_x" });
    assert_eq!(
        app.post_json("/api/v1/vag-map/map", by_id).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
api_test!(vag_map, vag_map_validation);
