//! Users API: /api/v1/users/signin, /token, /{user_id}, /{user_id}/api_key, and attacks.

use pitlane_cloud::accounts::jwt::Audience;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, UA};

const PASSWORD: &str = "violet-kestrel-42";

async fn signin(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/users/signin",
        json!({ "email": email, "password": password }),
    )
    .await
}

/// Signs in and answers (user_id, token).
async fn login(app: &TestApp, email: &str) -> (String, String) {
    let r = signin(app, email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    (
        body["user_id"].as_str().expect("id").into(),
        body["token"].as_str().expect("token").into(),
    )
}

async fn error_of(r: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.expect("json error body");
    assert_eq!(body["success"], false, "{body}");
    body["message"].as_str().expect("message").to_owned()
}

async fn signin_and_read_self(app: &mut TestApp) {
    let user = app.user("dev@company.com", PASSWORD, false).await;
    let r = signin(app, "Dev@Company.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["user_id"], user.id);
    assert_eq!(body["expires_in"], 3600);
    let token = body["token"].as_str().expect("token");
    assert_eq!(
        token.split('.').count(),
        5,
        "ipHash.uaHash.header.payload.signature"
    );
    let r = app
        .get_bearer(&format!("/api/v1/users/{}", user.id), token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.expect("json");
    assert_eq!(
        me,
        json!({ "user_id": user.id, "name": user.name, "email": "dev@company.com", "role": "client" })
    );
}
api_test!(signin_then_get_user, signin_and_read_self);

async fn signin_failures(app: &mut TestApp) {
    app.user("dev@company.com", PASSWORD, false).await;
    let wrong = error_of(
        signin(app, "dev@company.com", "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let unknown = error_of(
        signin(app, "nobody@company.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong, unknown, "no account enumeration by message");
    error_of(
        app.post_json(
            "/api/v1/users/signin",
            json!({ "email": "dev@company.com" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let r = app
        .client
        .post(app.url("/api/v1/users/signin"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::BAD_REQUEST).await;
}
api_test!(signin_failures_look_alike, signin_failures);

async fn api_key_flow(app: &mut TestApp) {
    let user = app.user("dev@company.com", PASSWORD, false).await;
    let (_, token) = login(app, "dev@company.com").await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/users/{}/api_key", user.id)))
        .bearer_auth(&token)
        .json(&json!({ "name": "My Integration Key" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let key = r.json::<Value>().await.expect("json")["api_key"]
        .as_str()
        .expect("key")
        .to_owned();
    assert!(key.starts_with("key_live_") && key.len() >= "key_live_".len() + 32);
    let r = app
        .post_json("/api/v1/users/token", json!({ "api_key": key }))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["user_id"], user.id);
    let r = app
        .get_bearer(
            &format!("/api/v1/users/{}", user.id),
            body["token"].as_str().expect("t"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let stored: i64 =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM api_keys WHERE key_hash LIKE 'key_%'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("count");
    assert_eq!(stored, 0, "keys are stored only as digests");
    error_of(
        app.post_json("/api/v1/users/token", json!({ "api_key": "key_live_nope" }))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    error_of(
        app.post_json("/api/v1/users/token", json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/users/{}/api_key", user.id)))
        .bearer_auth(&token)
        .json(&json!({ "name": "" }))
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::BAD_REQUEST).await;
}
api_test!(api_keys_create_and_exchange, api_key_flow);

async fn cross_user(app: &mut TestApp) {
    let alice = app.user("alice@company.com", PASSWORD, false).await;
    let bob = app.user("bob@company.com", PASSWORD, false).await;
    let admin = app.user("root@company.com", PASSWORD, true).await;
    let (_, alice_token) = login(app, "alice@company.com").await;
    error_of(
        app.get_bearer(&format!("/api/v1/users/{}", bob.id), &alice_token)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    error_of(
        app.get_bearer("/api/v1/users/usr_doesnotexist", &alice_token)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/users/{}/api_key", bob.id)))
        .bearer_auth(&alice_token)
        .json(&json!({ "name": "steal" }))
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::FORBIDDEN).await;
    let (_, admin_token) = login(app, "root@company.com").await;
    let r = app
        .get_bearer(&format!("/api/v1/users/{}", alice.id), &admin_token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.expect("json")["email"],
        "alice@company.com"
    );
    error_of(
        app.get_bearer("/api/v1/users/usr_doesnotexist", &admin_token)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let me: Value = app
        .get_bearer(&format!("/api/v1/users/{}", admin.id), &admin_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["role"], "admin");
}
api_test!(users_cannot_reach_each_other, cross_user);

async fn hostile_tokens(app: &mut TestApp) {
    let user = app.user("dev@company.com", PASSWORD, false).await;
    let (_, token) = login(app, "dev@company.com").await;
    let path = format!("/api/v1/users/{}", user.id);
    let (ip_hash, rest) = token.split_once('.').expect("ip");
    let (ua_hash, jwt) = rest.split_once('.').expect("ua");
    let refused = |t: String| {
        let app = &*app;
        let path = path.clone();
        async move { error_of(app.get_bearer(&path, &t).await, StatusCode::UNAUTHORIZED).await }
    };
    // No token, garbage, a bare JWT without the binding.
    error_of(
        app.client.get(app.url(&path)).send().await.expect("send"),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    refused("garbage".into()).await;
    refused(jwt.to_owned()).await;
    // Tampered signature and payload.
    let mut sig_tampered = token.clone();
    let last = sig_tampered.pop().expect("char");
    sig_tampered.push(if last == 'A' { 'B' } else { 'A' });
    refused(sig_tampered).await;
    let parts: Vec<&str> = jwt.split('.').collect();
    let payload = b64_decode(parts[1]);
    let mut claims: Value = serde_json::from_slice(&payload).expect("claims");
    claims["role"] = json!("admin");
    claims["sub"] = json!("usr_other");
    refused(format!(
        "{ip_hash}.{ua_hash}.{}.{}.{}",
        parts[0],
        b64(&claims.to_string()),
        parts[2]
    ))
    .await;
    // alg=none.
    let none_header = b64(r#"{"alg":"none","typ":"at+jwt"}"#);
    refused(format!("{ip_hash}.{ua_hash}.{none_header}.{}.", parts[1])).await;
    // Expired and wrong-audience tokens signed with the real key.
    let now = pitlane_cloud::accounts::now();
    let binding = pitlane_cloud::accounts::jwt::Binding {
        ip: ip_hash.into(),
        ua: ua_hash.into(),
    };
    let sid = claims["sid"].as_str().expect("sid").to_owned();
    let expired = app.forge(
        Audience::Users,
        &user.id,
        &sid,
        now - 7200,
        3600,
        Some(binding.clone()),
    );
    refused(format!("{ip_hash}.{ua_hash}.{expired}")).await;
    let other_aud = app.forge(
        Audience::AuthV1,
        &user.id,
        &sid,
        now,
        3600,
        Some(binding.clone()),
    );
    refused(format!("{ip_hash}.{ua_hash}.{other_aud}")).await;
    // A correctly signed token naming a session that does not exist.
    let no_session = app.forge(
        Audience::Users,
        &user.id,
        "ses_forged",
        now,
        3600,
        Some(binding),
    );
    refused(format!("{ip_hash}.{ua_hash}.{no_session}")).await;
    // Swapping the prefix for another client's does not help.
    refused(format!("0000000000000000.{ua_hash}.{jwt}")).await;
    // The genuine token still works.
    assert_eq!(app.get_bearer(&path, &token).await.status(), StatusCode::OK);
}
api_test!(hostile_tokens_are_refused, hostile_tokens);

async fn bound_to_client(app: &mut TestApp) {
    let user = app.user("dev@company.com", PASSWORD, false).await;
    let (_, token) = login(app, "dev@company.com").await;
    let path = app.url(&format!("/api/v1/users/{}", user.id));
    let other_ua = reqwest::Client::builder()
        .user_agent("curl/8.0")
        .build()
        .expect("client");
    let r = other_ua
        .get(&path)
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "another User-Agent");
    let other_ip = reqwest::Client::builder()
        .user_agent(UA)
        .local_address(Some("127.0.0.2".parse().expect("ip")))
        .build()
        .expect("client");
    let r = other_ip
        .get(&path)
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "another client address"
    );
    assert_eq!(
        app.get_bearer(&path.replace(&app.url(""), ""), &token)
            .await
            .status(),
        StatusCode::OK
    );
}
api_test!(tokens_are_bound_to_address_and_user_agent, bound_to_client);

async fn proxy_header(app: &mut TestApp) {
    let user = app.user("dev@company.com", PASSWORD, false).await;
    let r = app
        .client
        .post(app.url("/api/v1/users/signin"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({ "email": "dev@company.com", "password": PASSWORD }))
        .send()
        .await
        .expect("send");
    let token = r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("t")
        .to_owned();
    let get = |xff: &'static str| {
        app.client
            .get(app.url(&format!("/api/v1/users/{}", user.id)))
            .bearer_auth(&token)
            .header("x-forwarded-for", xff)
            .send()
    };
    assert_eq!(
        get("10.9.9.9, 203.0.113.7").await.expect("send").status(),
        StatusCode::OK
    );
    assert_eq!(
        get("203.0.113.8").await.expect("send").status(),
        StatusCode::UNAUTHORIZED
    );
}
api_test!(
    trusted_proxy_header_decides_the_address,
    proxy_header,
    |c: &mut pitlane_cloud::config::Config| c.trusted_proxy_header = Some("x-forwarded-for".into())
);

async fn brute_force(app: &mut TestApp) {
    app.user("dev@company.com", PASSWORD, false).await;
    let mut limited = None;
    for i in 0..10 {
        let r = signin(app, "dev@company.com", &format!("guess-number-{i}")).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = limited.expect("brute force is limited");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry >= 1);
    error_of(r, StatusCode::TOO_MANY_REQUESTS).await;
    // The right password does not get through the limit either.
    assert_eq!(
        signin(app, "dev@company.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
api_test!(
    brute_force_gets_429,
    brute_force,
    |c: &mut pitlane_cloud::config::Config| c.login_per_account_per_minute = 3
);

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn b64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64")
}
