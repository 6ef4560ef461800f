//! Cross-cutting behaviour: request ids, docs, body limits, CORS.

use reqwest::StatusCode;

use crate::api_test;
use crate::helpers::TestApp;

async fn request_ids_and_docs(app: &mut TestApp) {
    let r = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().get("x-request-id").is_some(),
        "request id is set and propagated"
    );
    let doc: serde_json::Value = r.json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    for path in [
        "/api/v1/users/signin",
        "/api/v1/users/token",
        "/api/v1/users/{user_id}",
        "/api/v1/users/{user_id}/api_key",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/keys",
        "/api/v1/auth/keys/{keyId}",
        "/v1/auth/login",
        "/v1/auth/panel-login",
        "/v1/auth/forgot-password",
        "/v1/auth/reset-password",
        "/v1/auth/change-password",
        "/api/login",
        "/api/register",
        "/api/verify-email/{token}",
        "/api/resend-email-verification",
        "/api/refresh",
        "/api/forgot-passsword",
        "/api/reset-passsword",
        "/api/exist-email/{email}",
        "/auth/web3/generate_challenge",
        "/auth/web3/submit_challenge",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    let r = app
        .client
        .get(app.url("/docs"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()["x-request-id"],
        "abc-123",
        "a client's request id is kept"
    );
    let html = r.text().await.expect("text");
    assert!(
        html.contains("/openapi.json") && !html.contains("https://"),
        "self-contained page"
    );
}
api_test!(openapi_and_docs_are_served, request_ids_and_docs);

async fn oversized_body(app: &mut TestApp) {
    let big = "x".repeat(4096);
    let r = app
        .post_json(
            "/api/v1/users/signin",
            serde_json::json!({ "email": big, "password": "x" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
api_test!(
    bodies_over_the_limit_are_refused,
    oversized_body,
    |c: &mut pitlane_cloud::config::Config| c.body_limit_bytes = 1024
);

async fn cors(app: &mut TestApp) {
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/users/signin"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let r = preflight("https://dashboard.example")
        .await
        .expect("options");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://dashboard.example"
    );
    let r = preflight("https://evil.example").await.expect("options");
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
api_test!(
    cors_allows_only_configured_origins,
    cors,
    |c: &mut pitlane_cloud::config::Config| c.cors_origins =
        vec!["https://dashboard.example".into()]
);

async fn outbox_without_smtp(app: &mut TestApp) {
    app.user("ana@example.com", "granite-otter-3141", false)
        .await;
    let r = app
        .post_json(
            "/api/forgot-passsword",
            serde_json::json!({ "email": "ana@example.com" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // The mail lands in the outbox table (written on a background task).
    let mut found = None;
    for _ in 0..100 {
        let row: Option<(String, String, Option<i64>)> =
            sqlx::query_as("SELECT to_addr, subject, sent_at FROM outbox")
                .fetch_optional(&app.state.db.pool)
                .await
                .expect("query");
        if row.is_some() {
            found = row;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (to, subject, sent_at) = found.expect("mail in the outbox");
    assert_eq!(
        (to.as_str(), subject.as_str(), sent_at),
        ("ana@example.com", "Reset your password", None)
    );
    app.no_mail().await;
}
api_test!(
    without_smtp_mail_stays_in_the_outbox,
    outbox_without_smtp,
    |c: &mut pitlane_cloud::config::Config| c.smtp_host = None
);
