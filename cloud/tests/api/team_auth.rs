//! team-auth family: /api/register → email → /api/verify-email/{token}, login, refresh,
//! resend (capcha), forgot/reset-passsword, exist-email.

use pitlane_cloud::accounts::teams;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{GOOD_CAPTCHA, TestApp};

const PASSWORD: &str = "granite-otter-3141";

async fn error_of(r: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["status"], "error", "{body}");
    body["message"].as_str().expect("message").to_owned()
}

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json")
}

async fn register(app: &TestApp, email: &str) -> Value {
    let r = app
        .post_json(
            "/api/register",
            json!({ "email": email, "password": PASSWORD, "name": "Ana" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

async fn register_verify_login(app: &mut TestApp) {
    let registered = register(app, "ana@example.com").await;
    assert!(registered["userToken"].is_string());
    assert_eq!(registered["vaultToken"], Value::Null);
    // Not an account until verified.
    let r = app
        .post_json(
            "/api/login",
            json!({ "email": "ana@example.com", "password": PASSWORD }),
        )
        .await;
    let unverified = error_of(r, StatusCode::UNAUTHORIZED).await;

    let mail = app.next_mail().await;
    assert_eq!(mail.subject, "Confirm your email address");
    let link = mail.link();
    assert!(link.starts_with(&app.url("/api/verify-email/")), "{link}");
    let r = app.client.get(&link).send().await.expect("follow link");
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.expect("json");
    let vault = claims(tokens["vaultToken"].as_str().expect("vault"));
    let team = vault["team"].as_str().expect("team claim").to_owned();
    assert_eq!(
        teams::projects(&app.state.db, &team)
            .await
            .expect("projects"),
        vec!["Default project"]
    );
    // The link works once.
    error_of(
        app.client.get(&link).send().await.expect("again"),
        StatusCode::BAD_REQUEST,
    )
    .await;

    let r = app
        .post_json(
            "/api/login",
            json!({ "email": "ana@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let login: Value = r.json().await.expect("json");
    assert_eq!(
        claims(login["vaultToken"].as_str().expect("v"))["team"],
        team.as_str()
    );
    let wrong = error_of(
        app.post_json(
            "/api/login",
            json!({ "email": "ana@example.com", "password": "nope-nope-nope" }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let unknown = error_of(
        app.post_json(
            "/api/login",
            json!({ "email": "zed@example.com", "password": PASSWORD }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, unverified);

    // Refresh rotates: the old userToken stops working.
    let user_token = login["userToken"].as_str().expect("u").to_owned();
    let r = app.get_bearer("/api/refresh", &user_token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let refreshed: Value = r.json().await.expect("json");
    assert!(refreshed["vaultToken"].is_string());
    error_of(
        app.get_bearer("/api/refresh", &user_token).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        app.get_bearer("/api/refresh", refreshed["userToken"].as_str().expect("u"))
            .await
            .status(),
        StatusCode::OK
    );
    // A vault token is not a user token.
    error_of(
        app.get_bearer("/api/refresh", refreshed["vaultToken"].as_str().expect("v"))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}
api_test!(team_register_verify_login_refresh, register_verify_login);

async fn register_existing(app: &mut TestApp) {
    app.user("taken@example.com", PASSWORD, false).await;
    let existing = register(app, "taken@example.com").await;
    let fresh = register(app, "fresh@example.com").await;
    let keys = |v: &Value| {
        v.as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&existing),
        keys(&fresh),
        "same shape whether or not the address is taken"
    );
    assert_eq!(existing["vaultToken"], fresh["vaultToken"]);
    let mut subjects = vec![app.next_mail().await.subject, app.next_mail().await.subject];
    subjects.sort();
    assert_eq!(
        subjects,
        ["Confirm your email address", "You already have an account"]
    );
    error_of(
        app.post_json(
            "/api/register",
            json!({ "email": "bad", "password": PASSWORD, "name": "x" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    error_of(
        app.post_json(
            "/api/register",
            json!({ "email": "a@b.co", "password": "password1", "name": "x" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    error_of(
        app.post_json("/api/register", json!({ "email": "a@b.co" }))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
api_test!(team_register_does_not_reveal_accounts, register_existing);

async fn resend(app: &mut TestApp) {
    let registered = register(app, "ana@example.com").await;
    let token = registered["userToken"].as_str().expect("t").to_owned();
    let first = app.next_mail().await.link();
    let r = app
        .get_bearer("/api/resend-email-verification?capcha=robot", &token)
        .await;
    assert_eq!(
        error_of(r, StatusCode::BAD_REQUEST).await,
        "Invalid captcha"
    );
    error_of(
        app.client
            .get(app.url(&format!(
                "/api/resend-email-verification?capcha={GOOD_CAPTCHA}"
            )))
            .send()
            .await
            .expect("send"),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let r = app
        .get_bearer(
            &format!("/api/resend-email-verification?capcha={GOOD_CAPTCHA}"),
            &token,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let second = app.next_mail().await.link();
    assert_ne!(first, second);
    assert_eq!(
        app.client
            .get(&second)
            .send()
            .await
            .expect("verify")
            .status(),
        StatusCode::OK
    );
    let r = app
        .get_bearer(
            &format!("/api/resend-email-verification?capcha={GOOD_CAPTCHA}"),
            &token,
        )
        .await;
    assert_eq!(
        error_of(r, StatusCode::BAD_REQUEST).await,
        "Email already verified"
    );
}
api_test!(team_resend_verification_needs_capcha, resend);

async fn forgot_reset(app: &mut TestApp) {
    app.user("ana@example.com", PASSWORD, false).await;
    let r = app
        .post_json(
            "/api/forgot-passsword",
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({ "status": "ok" })
    );
    app.no_mail().await;
    let r = app
        .post_json(
            "/api/forgot-passsword",
            json!({ "email": "ana@example.com" }),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({ "status": "ok" })
    );
    let link = app.next_mail().await.link();
    let token = link.split("token=").nth(1).expect("token");
    let r = app
        .post_json(
            "/api/reset-passsword",
            json!({ "token": token, "newPassword": "fresh-marble-99" }),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({ "status": "ok" })
    );
    error_of(
        app.post_json(
            "/api/reset-passsword",
            json!({ "token": token, "newPassword": "fresh-marble-98" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
api_test!(team_forgot_and_reset_passsword, forgot_reset);

async fn exist_email(app: &mut TestApp) {
    app.user("ana@example.com", PASSWORD, false).await;
    let check = |email: &'static str| {
        app.client
            .get(app.url(&format!("/api/exist-email/{email}")))
            .send()
    };
    assert_eq!(
        check("ana@example.com")
            .await
            .expect("send")
            .json::<Value>()
            .await
            .expect("json"),
        json!(true)
    );
    assert_eq!(
        check("bob@example.com")
            .await
            .expect("send")
            .json::<Value>()
            .await
            .expect("json"),
        json!(false)
    );
    let r = check("carl@example.com").await.expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}
api_test!(
    team_exist_email_is_rate_limited_hard,
    exist_email,
    |c: &mut pitlane_cloud::config::Config| c.exist_email_per_minute = 2
);
