//! Token exchange and shared privileges: the owner gets a privilege token, a grantee only
//! for what was shared and until it expires, everyone else nothing; the `VehiclePrivilege`
//! extractor, mounted on a probe route over real HTTP, accepts exactly what a token covers.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use pitlane_cloud::http::privilege::{PrivilegeRejection, VehiclePrivilege};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::api_test;
use crate::devices_support::{FORD_VIN, call, expect_error};
use crate::helpers::TestApp;
use crate::registry::{Wallet, chain, minted, wallet};

const EXCHANGE: &str = "/v1/tokens/exchange";

async fn exchange(
    app: &TestApp,
    who: &Wallet,
    token_id: u64,
    privileges: Value,
) -> (StatusCode, Value) {
    let body = json!({
        "nftContractAddress": chain(app).vehicle_nft.to_checksum(),
        "privileges": privileges,
        "tokenId": token_id,
    });
    call(app, Method::POST, EXCHANGE, &who.token, Some(body)).await
}

async fn privilege_token(app: &TestApp, who: &Wallet, token_id: u64, privileges: Value) -> String {
    let (status, body) = exchange(app, who, token_id, privileges).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

/// Serves `GET /probe/{token_id}/{privilege}` guarded by `VehiclePrivilege` on loopback.
async fn probe(app: &TestApp) -> String {
    async fn handler(
        p: VehiclePrivilege,
        Path((token_id, privilege)): Path<(u64, u32)>,
    ) -> Result<String, PrivilegeRejection> {
        p.require(token_id, privilege)?;
        Ok(format!("{} {}", p.user_id(), p.token_id()))
    }
    let router = Router::new()
        .route("/probe/{token_id}/{privilege}", get(handler))
        .with_state(app.state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}/probe")
}

async fn try_probe(
    app: &TestApp,
    base: &str,
    token: &str,
    vehicle: u64,
    privilege: u32,
) -> (StatusCode, String) {
    let r = app
        .client
        .get(format!("{base}/{vehicle}/{privilege}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    (r.status(), r.text().await.expect("text"))
}

async fn owner_exchange(app: &mut TestApp) {
    let owner = wallet(app).await;
    let (_, token_id) = minted(app, &owner, FORD_VIN).await;
    let base = probe(app).await;
    let token = privilege_token(app, &owner, token_id, json!([2, 1])).await;
    let (status, text) = try_probe(app, &base, &token, token_id, 2).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.ends_with(&format!(" {token_id}")), "{text}");
    let (status, _) = try_probe(app, &base, &token, token_id, 1).await;
    assert_eq!(status, StatusCode::OK);
    for (vehicle, privilege, needle) in [
        (token_id, 3, "does not include privilege 3"),
        (token_id + 1, 2, "not"),
    ] {
        let (status, text) = try_probe(app, &base, &token, vehicle, privilege).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
        let body: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(body["code"], 403);
        assert!(
            body["message"].as_str().expect("m").contains(needle),
            "{body}"
        );
    }
    // Not a privilege token: the Web3 access token, garbage, a tampered token, none.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    for bad in [owner.token.as_str(), "garbage", tampered.as_str(), ""] {
        let (status, text) = try_probe(app, &base, bad, token_id, 2).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}: {text}");
    }
    // Ending the session ends its privilege tokens too.
    sqlx::query("UPDATE sessions SET revoked_at = 1")
        .execute(&app.state.db.pool)
        .await
        .expect("revoke");
    let (status, _) = try_probe(app, &base, &token, token_id, 2).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
api_test!(owner_exchanges_a_privilege_token, owner_exchange);

async fn exchange_failures(app: &mut TestApp) {
    let owner = wallet(app).await;
    let bob = wallet(app).await;
    let (_, token_id) = minted(app, &owner, FORD_VIN).await;
    let got = exchange(app, &bob, token_id, json!([2])).await;
    expect_error(got, StatusCode::FORBIDDEN, "privilege(s) 2");
    let got = exchange(app, &owner, token_id + 100, json!([2])).await;
    expect_error(got, StatusCode::NOT_FOUND, "vehicle not found");
    for (privileges, needle) in [
        (json!([]), "at least one"),
        (json!([6]), "6 is not"),
        (json!([0]), "0 is not"),
    ] {
        let got = exchange(app, &owner, token_id, privileges).await;
        expect_error(got, StatusCode::BAD_REQUEST, needle);
    }
    let wrong_contract = json!({
        "nftContractAddress": chain(app).aftermarket_device_nft.to_checksum(),
        "privileges": [2],
        "tokenId": token_id,
    });
    let got = call(
        app,
        Method::POST,
        EXCHANGE,
        &owner.token,
        Some(wrong_contract),
    )
    .await;
    expect_error(got, StatusCode::BAD_REQUEST, "only the vehicle contract");
    let got = call(
        app,
        Method::POST,
        EXCHANGE,
        &owner.token,
        Some(json!({ "nftContractAddress": "0x12", "privileges": [2], "tokenId": token_id })),
    )
    .await;
    expect_error(got, StatusCode::BAD_REQUEST, "nftContractAddress");
    let got = call(
        app,
        Method::POST,
        EXCHANGE,
        &owner.token,
        Some(json!({ "privileges": [2], "tokenId": token_id })),
    )
    .await;
    expect_error(got, StatusCode::BAD_REQUEST, "nftContractAddress");
    let got = call(app, Method::POST, EXCHANGE, "", Some(json!({}))).await;
    expect_error(got, StatusCode::UNAUTHORIZED, "token");
}
api_test!(
    exchange_refuses_strangers_unknown_vehicles_and_bad_bodies,
    exchange_failures
);

async fn sharing(app: &mut TestApp) {
    let owner = wallet(app).await;
    let friend = wallet(app).await;
    let stranger = wallet(app).await;
    let (id, token_id) = minted(app, &owner, FORD_VIN).await;
    let path = format!("/v1/user/devices/{id}/privileges");
    let friend_address = friend.key.address().to_checksum();
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let grant =
        json!({ "grantee": friend_address, "privileges": [2, 1], "expiresAt": later.to_rfc3339() });
    let (status, body) = call(app, Method::POST, &path, &owner.token, Some(grant.clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, list) = call(app, Method::GET, &path, &owner.token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["tokenId"], token_id);
    let ids: Vec<&Value> = list["privileges"]
        .as_array()
        .expect("list")
        .iter()
        .map(|g| &g["privilegeId"])
        .collect();
    assert_eq!(ids, [&json!(1), &json!(2)]);
    assert_eq!(
        list["privileges"][0]["grantee"],
        friend.key.address().to_lowercase_hex()
    );
    privilege_token(app, &friend, token_id, json!([2])).await;
    let got = exchange(app, &friend, token_id, json!([2, 3])).await;
    expect_error(got, StatusCode::FORBIDDEN, "privilege(s) 3");
    let got = exchange(app, &stranger, token_id, json!([1])).await;
    expect_error(got, StatusCode::FORBIDDEN, "privilege(s) 1");
    // Only the owner manages grants; others see no such vehicle.
    for (method, path, body) in [
        (Method::GET, path.clone(), None),
        (Method::POST, path.clone(), Some(grant.clone())),
        (Method::DELETE, format!("{path}/{friend_address}"), None),
    ] {
        let got = call(app, method, &path, &friend.token, body).await;
        expect_error(got, StatusCode::NOT_FOUND, "not found");
    }
    let nobody = pitlane_shared::identity::DeviceKey::generate()
        .address()
        .to_checksum();
    for (body, status, needle) in [
        (
            json!({ "grantee": nobody, "privileges": [2], "expiresAt": later.to_rfc3339() }),
            StatusCode::NOT_FOUND,
            "account with that wallet",
        ),
        (
            json!({ "grantee": friend_address, "privileges": [2], "expiresAt": "2001-01-01T00:00:00Z" }),
            StatusCode::BAD_REQUEST,
            "future",
        ),
        (
            json!({ "grantee": friend_address, "privileges": [2], "expiresAt": "tomorrow" }),
            StatusCode::BAD_REQUEST,
            "RFC 3339",
        ),
        (
            json!({ "grantee": friend_address, "privileges": [9], "expiresAt": later.to_rfc3339() }),
            StatusCode::BAD_REQUEST,
            "9 is not",
        ),
        (
            json!({ "grantee": owner.key.address().to_checksum(), "privileges": [2], "expiresAt": later.to_rfc3339() }),
            StatusCode::BAD_REQUEST,
            "already holds",
        ),
    ] {
        let got = call(app, Method::POST, &path, &owner.token, Some(body)).await;
        expect_error(got, status, needle);
    }
    let (status, _) = call(
        app,
        Method::DELETE,
        &format!("{path}/{friend_address}"),
        &owner.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = exchange(app, &friend, token_id, json!([2])).await;
    expect_error(got, StatusCode::FORBIDDEN, "privilege(s) 2");
    let got = call(
        app,
        Method::DELETE,
        &format!("{path}/{friend_address}"),
        &owner.token,
        None,
    )
    .await;
    expect_error(got, StatusCode::NOT_FOUND, "grant not found");
    // An expired grant counts for nothing.
    sqlx::query("INSERT INTO vehicle_privileges (vehicle_token_id, grantee_user_id, privilege_id, expires_at, granted_at) SELECT $1, id, 2, 1, 0 FROM users WHERE wallet_address = $2")
        .bind(i64::try_from(token_id).expect("small"))
        .bind(friend.key.address().to_lowercase_hex())
        .execute(&app.state.db.pool)
        .await
        .expect("insert");
    let got = exchange(app, &friend, token_id, json!([2])).await;
    expect_error(got, StatusCode::FORBIDDEN, "privilege(s) 2");
}
api_test!(owners_share_privileges_until_they_expire, sharing);
