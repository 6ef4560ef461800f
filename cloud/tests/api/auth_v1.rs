//! auth-v1 family: /api/v1/auth/login, /refresh, /logout, /keys.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::TestApp;

const PASSWORD: &str = "amber-falcon-977";

async fn error_is(r: reqwest::Response, status: StatusCode, message: &str) {
    assert_eq!(r.status(), status);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({ "error": message })
    );
}

async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/login",
        json!({ "username": username, "password": password }),
    )
    .await
}

/// Presents a refresh token that must be refused.
async fn refresh_refused(app: &TestApp, refresh_token: &str) {
    error_is(
        app.post_json(
            "/api/v1/auth/refresh",
            json!({ "refreshToken": refresh_token }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "Invalid or expired refresh token",
    )
    .await;
}

async fn logged_in(app: &TestApp) -> Value {
    let r = login(app, "jane.doe", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

async fn login_refresh_logout(app: &mut TestApp) {
    let user = app.user("jane.doe@example.com", PASSWORD, false).await;
    let body = logged_in(app).await;
    assert_eq!(
        body["user"],
        json!({ "id": user.id, "username": "jane.doe", "email": "jane.doe@example.com" })
    );
    assert_eq!(body["expires_in"], 3600);
    let token = body["token"].as_str().expect("token").to_owned();
    let refresh = body["refreshToken"].as_str().expect("refresh").to_owned();
    // Login by email works too.
    assert_eq!(
        login(app, "Jane.Doe@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );

    let r = app
        .post_json("/api/v1/auth/refresh", json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Value = r.json().await.expect("json");
    let token2 = rotated["token"].as_str().expect("token").to_owned();
    let refresh2 = rotated["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(refresh2, refresh, "refresh tokens rotate");
    assert_eq!(
        app.get_bearer("/api/v1/auth/keys", &token2).await.status(),
        StatusCode::OK
    );

    let r = app.post_bearer("/api/v1/auth/logout", &token2, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({ "message": "Successfully logged out" })
    );
    // Logout revokes the whole session: both access tokens and the refresh token.
    for t in [&token, &token2] {
        error_is(
            app.get_bearer("/api/v1/auth/keys", t).await,
            StatusCode::UNAUTHORIZED,
            "Authentication required",
        )
        .await;
    }
    refresh_refused(app, &refresh2).await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .expect("send");
    error_is(r, StatusCode::UNAUTHORIZED, "Authentication required").await;
}
api_test!(auth_v1_login_refresh_logout, login_refresh_logout);

async fn login_failures(app: &mut TestApp) {
    app.user("jane.doe@example.com", PASSWORD, false).await;
    error_is(
        login(app, "jane.doe", "not-the-password").await,
        StatusCode::UNAUTHORIZED,
        "Invalid credentials",
    )
    .await;
    // An unknown user gets the very same answer (no "User not found": no enumeration).
    error_is(
        login(app, "john.roe", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "Invalid credentials",
    )
    .await;
    let r = app
        .post_json("/api/v1/auth/login", json!({ "username": "jane.doe" }))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.json::<Value>().await.expect("json")["error"].is_string());
    refresh_refused(app, "rt_made_up").await;
}
api_test!(auth_v1_login_failures, login_failures);

async fn refresh_reuse(app: &mut TestApp) {
    app.user("jane.doe@example.com", PASSWORD, false).await;
    let body = logged_in(app).await;
    let first = body["refreshToken"].as_str().expect("refresh").to_owned();
    let rotated: Value = app
        .post_json("/api/v1/auth/refresh", json!({ "refreshToken": first }))
        .await
        .json()
        .await
        .expect("json");
    let second = rotated["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let access = rotated["token"].as_str().expect("token").to_owned();
    // The attacker replays the spent token: refused, and the whole family is revoked.
    refresh_refused(app, &first).await;
    refresh_refused(app, &second).await;
    error_is(
        app.get_bearer("/api/v1/auth/keys", &access).await,
        StatusCode::UNAUTHORIZED,
        "Authentication required",
    )
    .await;
    // Other sessions of the same user are unaffected.
    let other = logged_in(app).await;
    assert_eq!(
        app.get_bearer("/api/v1/auth/keys", other["token"].as_str().expect("t"))
            .await
            .status(),
        StatusCode::OK
    );
}
api_test!(auth_v1_refresh_reuse_revokes_the_family, refresh_reuse);

async fn keys(app: &mut TestApp) {
    app.user("jane.doe@example.com", PASSWORD, false).await;
    app.user("mallory@example.com", PASSWORD, false).await;
    let token = logged_in(app).await["token"]
        .as_str()
        .expect("t")
        .to_owned();
    let r = app
        .post_bearer(
            "/api/v1/auth/keys",
            &token,
            Some(json!({ "name": "My Integration Key" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.expect("json");
    assert_eq!(created["name"], "My Integration Key");
    assert!(
        created["apiKey"]
            .as_str()
            .expect("key")
            .starts_with("sk_live_")
    );
    assert!(created["createdAt"].as_str().expect("date").ends_with('Z'));
    let key_id = created["keyId"].as_str().expect("id").to_owned();
    // No body at all is fine too.
    let r = app.post_bearer("/api/v1/auth/keys", &token, None).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    let list: Value = app
        .get_bearer("/api/v1/auth/keys", &token)
        .await
        .json()
        .await
        .expect("json");
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 2);
    let mine = list
        .iter()
        .find(|k| k["keyId"] == key_id.as_str())
        .expect("listed");
    assert_eq!(mine["lastUsed"], Value::Null);
    assert!(mine.get("apiKey").is_none(), "secrets are never listed");

    // Using the key records lastUsed.
    let r = app
        .post_json(
            "/api/v1/users/token",
            json!({ "api_key": created["apiKey"] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = app
        .get_bearer("/api/v1/auth/keys", &token)
        .await
        .json()
        .await
        .expect("json");
    let mine = list
        .as_array()
        .expect("a")
        .iter()
        .find(|k| k["keyId"] == key_id.as_str())
        .cloned()
        .expect("listed");
    assert!(mine["lastUsed"].as_str().expect("used").ends_with('Z'));

    // Another user can neither see nor delete it.
    let mallory: Value = login(app, "mallory", PASSWORD)
        .await
        .json()
        .await
        .expect("json");
    let mallory = mallory["token"].as_str().expect("t").to_owned();
    let theirs: Value = app
        .get_bearer("/api/v1/auth/keys", &mallory)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(theirs, json!([]));
    let r = app
        .delete_bearer(&format!("/api/v1/auth/keys/{key_id}"), &mallory)
        .await;
    error_is(r, StatusCode::NOT_FOUND, "API key not found").await;

    let r = app
        .delete_bearer(&format!("/api/v1/auth/keys/{key_id}"), &token)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.bytes().await.expect("body").is_empty());
    let r = app
        .delete_bearer(&format!("/api/v1/auth/keys/{key_id}"), &token)
        .await;
    error_is(r, StatusCode::NOT_FOUND, "API key not found").await;
    let r = app
        .post_json(
            "/api/v1/users/token",
            json!({ "api_key": created["apiKey"] }),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a deleted key stops working"
    );
    error_is(
        app.get_bearer("/api/v1/auth/keys", "not-a-token").await,
        StatusCode::UNAUTHORIZED,
        "Authentication required",
    )
    .await;
}
api_test!(auth_v1_keys_create_list_delete, keys);

async fn foreign_audience(app: &mut TestApp) {
    app.user("jane.doe@example.com", PASSWORD, false).await;
    let r = app
        .post_json(
            "/api/v1/users/signin",
            json!({ "email": "jane.doe@example.com", "password": PASSWORD }),
        )
        .await;
    let users_token = r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("t")
        .to_owned();
    let jwt = users_token.splitn(3, '.').nth(2).expect("jwt").to_owned();
    error_is(
        app.get_bearer("/api/v1/auth/keys", &jwt).await,
        StatusCode::UNAUTHORIZED,
        "Authentication required",
    )
    .await;
}
api_test!(auth_v1_refuses_other_families_tokens, foreign_audience);
