//! Web3 challenge login: generate_challenge → personal_sign → submit_challenge → token.

use pitlane_shared::identity::DeviceKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::TestApp;

async fn challenge(app: &TestApp, address: &str) -> (String, String) {
    let r = app
        .client
        .post(app.url(&format!(
            "/auth/web3/generate_challenge?address={address}&client_id=x"
        )))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    (
        body["state"].as_str().expect("state").into(),
        body["challenge"].as_str().expect("challenge").into(),
    )
}

async fn submit_form(app: &TestApp, state: &str, signature: &str) -> reqwest::Response {
    app.client
        .post(app.url("/auth/web3/submit_challenge"))
        .form(&[
            ("state", state),
            ("signature", signature),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .expect("send")
}

async fn error_code(r: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.expect("json");
    assert!(body["error_description"].is_string(), "{body}");
    body["error"].as_str().expect("error").to_owned()
}

async fn wallet_login(app: &mut TestApp) {
    let key = DeviceKey::generate();
    let address = key.address().to_lowercase_hex();
    let (state, message) = challenge(app, &address).await;
    assert!(
        message.contains(&key.address().to_checksum()) && message.contains("Nonce: "),
        "{message}"
    );
    let signature = key.sign_message(message.as_bytes()).to_hex();
    let r = submit_form(app, &state, &signature).await;
    assert_eq!(r.status(), StatusCode::OK);
    let token: Value = r.json().await.expect("json");
    assert_eq!(token["token_type"], "Bearer");
    let access = token["access_token"].as_str().expect("token").to_owned();
    let me: Value = app
        .get_bearer("/auth/web3/userinfo", &access)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["address"], address.as_str());
    // Single-use nonce: the same signed challenge cannot be replayed.
    assert_eq!(
        error_code(
            submit_form(app, &state, &signature).await,
            StatusCode::BAD_REQUEST
        )
        .await,
        "invalid_request"
    );
    // A second login (JSON body this time) lands on the same account.
    let (state2, message2) = challenge(app, &key.address().to_checksum()).await;
    let r = app
        .post_json(
            "/auth/web3/submit_challenge",
            json!({ "state": state2, "signature": key.sign_message(message2.as_bytes()).to_hex() }),
        )
        .await;
    let access2 = r.json::<Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("t")
        .to_owned();
    let me2: Value = app
        .get_bearer("/auth/web3/userinfo", &access2)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me2["sub"], me["sub"]);
}
api_test!(web3_challenge_login, wallet_login);

async fn wrong_signer(app: &mut TestApp) {
    let victim = DeviceKey::generate();
    let attacker = DeviceKey::generate();
    let (state, message) = challenge(app, &victim.address().to_lowercase_hex()).await;
    let forged = attacker.sign_message(message.as_bytes()).to_hex();
    assert_eq!(
        error_code(
            submit_form(app, &state, &forged).await,
            StatusCode::UNAUTHORIZED
        )
        .await,
        "invalid_grant"
    );
    // The challenge is spent even by a failed attempt.
    let genuine = victim.sign_message(message.as_bytes()).to_hex();
    assert_eq!(
        error_code(
            submit_form(app, &state, &genuine).await,
            StatusCode::BAD_REQUEST
        )
        .await,
        "invalid_request"
    );
    let (state, message) = challenge(app, &victim.address().to_lowercase_hex()).await;
    let other_message = victim
        .sign_message(format!("{message}!").as_bytes())
        .to_hex();
    error_code(
        submit_form(app, &state, &other_message).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let (state, _) = challenge(app, &victim.address().to_lowercase_hex()).await;
    error_code(
        submit_form(app, &state, "0x1234").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let r = app
        .client
        .post(app.url("/auth/web3/generate_challenge?address=0xnothex"))
        .send()
        .await
        .expect("send");
    error_code(r, StatusCode::BAD_REQUEST).await;
    let r = app
        .client
        .post(app.url("/auth/web3/generate_challenge"))
        .send()
        .await
        .expect("send");
    error_code(r, StatusCode::BAD_REQUEST).await;
    error_code(
        app.client
            .post(app.url("/auth/web3/submit_challenge"))
            .form(&[("state", "x")])
            .send()
            .await
            .expect("send"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    error_code(
        app.get_bearer("/auth/web3/userinfo", "nope").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}
api_test!(web3_refuses_wrong_signers_and_reuse, wrong_signer);
