//! Cookie flags, CSRF refusal, forged cookies, open redirects and security headers.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PASSWORD, Panel};

#[tokio::test]
async fn session_cookie_flags_follow_the_transport() {
    let panel = Panel::start(false).await;
    panel.user("flags@example.com").await;
    let check = |cookies: Vec<String>, secure: bool| {
        let session = cookies
            .iter()
            .find(|c| c.starts_with("pitlane_panel="))
            .unwrap_or_else(|| panic!("no session cookie in {cookies:?}"));
        for flag in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/panel",
            "Max-Age=43200",
        ] {
            assert!(session.contains(flag), "{flag} missing: {session}");
        }
        assert_eq!(session.contains("Secure"), secure, "{session}");
    };
    let mut plain = panel.browser();
    let page = plain.login("flags@example.com", PASSWORD).await;
    check(page.set_cookies(), false);

    // Behind a TLS-terminating proxy the cookie is Secure.
    let mut tls = panel.browser();
    let csrf = tls.get("/panel/login").await.csrf();
    let page = tls
        .post_with(
            "/panel/login",
            &[
                ("csrf", &csrf),
                ("email", "flags@example.com"),
                ("password", PASSWORD),
            ],
            &[("x-forwarded-proto", "https")],
        )
        .await;
    check(page.set_cookies(), true);
    panel.stop().await;
}

#[tokio::test]
async fn forms_without_this_sessions_csrf_token_are_refused() {
    let panel = Panel::start(false).await;
    let (alice, mut a) = panel.logged_in("alice@example.com").await;
    let (_, mut b) = panel.logged_in("bob@example.com").await;
    let bobs_token = b.get("/panel/keys").await.csrf();
    for fields in [
        vec![("name", "no token")],
        vec![("csrf", "0000"), ("name", "bad token")],
        vec![
            ("csrf", bobs_token.as_str()),
            ("name", "another session's token"),
        ],
    ] {
        let page = a.post("/panel/keys", &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{fields:?}");
    }
    let keys = pitlane_cloud::accounts::api_keys::list(&panel.state.db, &alice.id)
        .await
        .expect("list");
    assert!(keys.is_empty(), "nothing created: {keys:?}");

    // Logout needs the token too, or any site could log users out.
    assert_eq!(
        a.post("/panel/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.get("/panel/keys").await.status,
        StatusCode::OK,
        "still logged in"
    );

    // The scripts' JSON endpoints check the header.
    let page = a
        .post_json(
            "/panel/account/wallet/challenge",
            "wrong",
            json!({ "address": "0x8ba1f109551bD432803012645Ac136ddd64DBA72" }),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("\"error\""), "{}", page.body);

    // Anonymous forms are bound to the visitor cookie.
    let mut stranger = panel.browser();
    let page = stranger
        .post(
            "/panel/login",
            &[
                ("csrf", &bobs_token),
                ("email", "alice@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    panel.stop().await;
}

#[tokio::test]
async fn forged_or_foreign_session_cookies_are_ignored() {
    let panel = Panel::start(false).await;
    let (_, a) = panel.logged_in("forge@example.com").await;
    let real = a.cookies.get("pitlane_panel").cloned().expect("cookie");
    let (sid, mac) = real.rsplit_once('.').expect("sid.mac");
    let mut flipped = mac.to_owned();
    flipped.replace_range(0..1, if mac.starts_with('0') { "1" } else { "0" });
    // A session id learnt elsewhere (every access token names its session) is not enough.
    for value in [
        sid.to_owned(),
        format!("{sid}.{flipped}"),
        format!("{sid}."),
        "garbage".to_owned(),
    ] {
        let mut b = panel.browser();
        b.cookies.insert("pitlane_panel".into(), value.clone());
        let page = b.get("/panel/keys").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{value}");
        assert_eq!(page.location(), "/panel/login?next=/panel/keys");
    }
    panel.stop().await;
}

#[tokio::test]
async fn login_redirects_only_inside_the_panel() {
    let panel = Panel::start(false).await;
    panel.user("next@example.com").await;
    for (next, expected) in [
        ("/panel/keys", "/panel/keys"),
        ("//evil.example/panel/", "/panel/"),
        ("https://evil.example/", "/panel/"),
        ("/panel/\\evil.example", "/panel/"),
    ] {
        let mut b = panel.browser();
        let page = b
            .submit(
                "/panel/login",
                "/panel/login",
                &[
                    ("email", "next@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.location(), expected, "{next}");
    }
    panel.stop().await;
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let panel = Panel::start(false).await;
    let mut b = panel.browser();
    let page = b.get("/panel/login").await;
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(
            page.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
    let csp = page
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let visitor = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("pitlane_panel_visitor="))
        .expect("visitor cookie");
    assert!(
        visitor.contains("HttpOnly") && visitor.contains("SameSite=Strict"),
        "{visitor}"
    );
    panel.stop().await;
}
