//! apikey-hmac family: /v1/auth/login, panel-login, forgot/reset/change-password,
//! x-signed-request.

use pitlane_cloud::http::signed_request::sign;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{GOOD_CAPTCHA, TestApp};

const PASSWORD: &str = "copper-heron-5150";

async fn error_of(r: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["status"], "error", "{body}");
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1);
    messages[0].as_str().expect("string").to_owned()
}

async fn panel(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/v1/auth/panel-login",
        json!({ "email": email, "password": password, "captcha": GOOD_CAPTCHA }),
    )
    .await
}

fn session(body: &Value) -> (String, String) {
    assert_eq!(body["status"], "success");
    let data = &body["data"];
    let expire_at = data["expireAt"].as_str().expect("expireAt");
    assert!(
        expire_at.ends_with('Z') && expire_at.contains('.'),
        "{expire_at}"
    );
    (
        data["accessToken"].as_str().expect("a").into(),
        data["signatureToken"].as_str().expect("s").into(),
    )
}

/// Logs in to the panel and answers the session's (accessToken, signatureToken).
async fn panel_session(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let r = panel(app, email, password).await;
    assert_eq!(r.status(), StatusCode::OK);
    session(&r.json().await.expect("json"))
}

async fn signed_post(
    app: &TestApp,
    path: &str,
    token: &str,
    signature: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(sig) = signature {
        req = req.header("x-signed-request", sig);
    }
    req.send().await.expect("send")
}

async fn panel_then_api_key_login(app: &mut TestApp) {
    app.user("client@example.com", PASSWORD, false).await;
    let r = panel(app, "client@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (access, signature_token) = session(&r.json().await.expect("json"));
    // A write operation signed over the canonical JSON (keys sorted, no whitespace).
    let value = json!({ "name": "ci key" });
    let sig = sign(&signature_token, &value);
    let r = signed_post(
        app,
        "/v1/auth/api-keys",
        &access,
        Some(&sig),
        "{ \"name\" : \"ci key\" }",
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let key: Value = r.json().await.expect("json");
    let api_key = key["data"]["apiKey"].as_str().expect("key").to_owned();
    // Unsigned, wrongly signed, signed for another body, signed with another token.
    error_of(
        signed_post(app, "/v1/auth/api-keys", &access, None, r#"{"name":"x"}"#).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    error_of(
        signed_post(
            app,
            "/v1/auth/api-keys",
            &access,
            Some("00ff"),
            r#"{"name":"x"}"#,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    error_of(
        signed_post(
            app,
            "/v1/auth/api-keys",
            &access,
            Some(&sig),
            r#"{"name":"evil"}"#,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let forged = sign("a1b2c3", &json!({ "name": "evil" }));
    error_of(
        signed_post(
            app,
            "/v1/auth/api-keys",
            &access,
            Some(&forged),
            r#"{"name":"evil"}"#,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let r = app
        .post_json("/v1/auth/login", json!({ "apiKey": api_key }))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (access2, signature2) = session(&r.json().await.expect("json"));
    assert_ne!(
        signature2, signature_token,
        "each session has its own signature token"
    );
    let sig2 = sign(&signature2, &json!({ "name": "second" }));
    assert_eq!(
        signed_post(
            app,
            "/v1/auth/api-keys",
            &access2,
            Some(&sig2),
            r#"{"name":"second"}"#
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    // Another session's signature does not verify under this one.
    error_of(
        signed_post(
            app,
            "/v1/auth/api-keys",
            &access,
            Some(&sig2),
            r#"{"name":"second"}"#,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    error_of(
        app.post_json("/v1/auth/login", json!({ "apiKey": "ak_live_wrong" }))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    error_of(
        app.post_json("/v1/auth/login", json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
api_test!(
    hmac_panel_login_keys_and_signed_requests,
    panel_then_api_key_login
);

async fn panel_failures(app: &mut TestApp) {
    app.user("client@example.com", PASSWORD, false).await;
    let wrong = error_of(
        panel(app, "client@example.com", "wrong-password-9").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let unknown = error_of(
        panel(app, "ghost@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong, unknown, "no enumeration by message");
    let r = app
        .post_json(
            "/v1/auth/panel-login",
            json!({ "email": "client@example.com", "password": PASSWORD, "captcha": "robot" }),
        )
        .await;
    assert_eq!(
        error_of(r, StatusCode::BAD_REQUEST).await,
        "Invalid captcha"
    );
    error_of(
        app.post_json(
            "/v1/auth/panel-login",
            json!({ "email": "client@example.com" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
api_test!(hmac_panel_login_failures, panel_failures);

async fn forgot_reset(app: &mut TestApp) {
    app.user("client@example.com", PASSWORD, false).await;
    let (old_access, _) = panel_session(app, "client@example.com", PASSWORD).await;
    // Unknown address: the same answer, and no mail.
    let r = app
        .post_json(
            "/v1/auth/forgot-password",
            json!({ "email": "ghost@example.com", "captcha": GOOD_CAPTCHA }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let unknown: Value = r.json().await.expect("json");
    app.no_mail().await;
    let r = app
        .client
        .post(app.url("/v1/auth/forgot-password"))
        .header("x-user-language", "pt-BR")
        .json(&json!({ "email": "client@example.com", "captcha": GOOD_CAPTCHA }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let known: Value = r.json().await.expect("json");
    assert_eq!(known, unknown);
    assert_eq!(
        known,
        json!({ "status": "success", "messages": ["If the email exists, a recovery link has been sent"] })
    );
    let mail = app.next_mail().await;
    assert_eq!(mail.to, "client@example.com");
    assert_eq!(mail.subject, "Redefina sua senha");
    assert!(mail.html.contains("<a href=") && mail.html.contains("lang=\"pt\""));
    let link = mail.link();
    let token = link
        .split("token=")
        .nth(1)
        .expect("token in link")
        .to_owned();
    assert!(token.len() >= 32, "at least 128 bits");

    error_of(
        app.post_json(
            "/v1/auth/reset-password",
            json!({ "token": token, "newPassword": "short" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    error_of(
        app.post_json(
            "/v1/auth/reset-password",
            json!({ "token": token, "newPassword": "password123" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let r = app
        .post_json(
            "/v1/auth/reset-password",
            json!({ "token": token, "newPassword": "brand-new-secret-1" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({ "status": "success", "messages": ["Password reset successfully"] })
    );
    // Single use, sessions revoked, new password in force.
    error_of(
        app.post_json(
            "/v1/auth/reset-password",
            json!({ "token": token, "newPassword": "another-secret-22" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let r = app
        .post_bearer(
            "/v1/auth/change-password",
            &old_access,
            Some(json!({ "currentPassword": PASSWORD, "newPassword": "whatever-else-3" })),
        )
        .await;
    error_of(r, StatusCode::UNAUTHORIZED).await;
    error_of(
        panel(app, "client@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        panel(app, "client@example.com", "brand-new-secret-1")
            .await
            .status(),
        StatusCode::OK
    );
    // Spanish by the explicit field, overriding the header.
    let r = app
        .client
        .post(app.url("/v1/auth/forgot-password"))
        .header("x-user-language", "pt")
        .json(&json!({ "email": "client@example.com", "captcha": GOOD_CAPTCHA, "lang": "es" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.next_mail().await.subject, "Restablece tu contraseña");
    let r = app
        .post_json(
            "/v1/auth/forgot-password",
            json!({ "email": "client@example.com", "captcha": "robot" }),
        )
        .await;
    error_of(r, StatusCode::BAD_REQUEST).await;
    error_of(
        app.post_json(
            "/v1/auth/reset-password",
            json!({ "token": "0".repeat(64), "newPassword": "brand-new-secret-2" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
api_test!(hmac_forgot_and_reset_password, forgot_reset);

async fn change(app: &mut TestApp) {
    app.user("client@example.com", PASSWORD, false).await;
    let (other_access, _) = panel_session(app, "client@example.com", PASSWORD).await;
    let (access, _) = panel_session(app, "client@example.com", PASSWORD).await;
    let change = |current: &'static str, new: &'static str, token: String| {
        app.client
            .post(app.url("/v1/auth/change-password"))
            .bearer_auth(token)
            .json(&json!({ "currentPassword": current, "newPassword": new }))
            .send()
    };
    error_of(
        change("wrong-current-1", "fresh-password-7", access.clone())
            .await
            .expect("send"),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    error_of(
        change(PASSWORD, "12345678", access.clone())
            .await
            .expect("send"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let r = change(PASSWORD, "fresh-password-7", access.clone())
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({ "status": "success", "messages": ["Password updated successfully"] })
    );
    // The other session is revoked; this one stays.
    error_of(
        change("fresh-password-7", "fresh-password-8", other_access)
            .await
            .expect("send"),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        change("fresh-password-7", "fresh-password-8", access)
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    let r = app
        .client
        .post(app.url("/v1/auth/change-password"))
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::UNAUTHORIZED).await;
}
api_test!(hmac_change_password, change);
