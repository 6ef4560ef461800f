//! Registration with email verification, login, logout, password reset and change.

use reqwest::StatusCode;

use crate::support::{PASSWORD, Panel, backends, link_in};

#[tokio::test]
async fn register_verify_then_log_out_and_in() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        let mut b = panel.browser();
        let page = b
            .submit(
                "/panel/register",
                "/panel/register",
                &[
                    ("name", "Rita Fleet"),
                    ("email", "rita@example.com"),
                    ("password", "orange-tractor-42"),
                    ("confirm", "orange-tractor-42"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Check your email"), "{}", page.body);
        // Not an account until the address is confirmed.
        let early = b.login("rita@example.com", "orange-tractor-42").await;
        assert_eq!(early.status, StatusCode::UNAUTHORIZED);

        let mail = panel.mail_to("rita@example.com").await;
        let link = link_in(&mail, &panel.url("/panel/verify?token="));
        let path = link.trim_start_matches(&panel.url(""));
        // Opening the link alone confirms nothing (mail scanners fetch links).
        let confirm = b.get(path).await;
        assert_eq!(confirm.status, StatusCode::OK);
        let token = path.split("token=").nth(1).expect("token");
        let done = b
            .post(
                "/panel/verify",
                &[("csrf", &confirm.csrf()), ("token", token)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/panel/?done=welcome");
        let home = b.get("/panel/?done=welcome").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(
            home.body.contains("your account is active"),
            "{}",
            home.body
        );

        // The link is single-use.
        let again = b
            .post(
                "/panel/verify",
                &[("csrf", &confirm.csrf()), ("token", token)],
            )
            .await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);

        let saved = b.cookies.clone();
        let out = b.submit("/panel/", "/panel/logout", &[]).await;
        assert_eq!(out.location(), "/panel/login?done=logged-out");
        assert!(!b.cookies.contains_key("pitlane_panel"), "cookie cleared");
        // The old cookie is dead: logout revoked its session row.
        b.cookies = saved;
        assert_eq!(
            b.get("/panel/keys").await.location(),
            "/panel/login?next=/panel/keys"
        );

        let mut fresh = panel.browser();
        let page = fresh.login("rita@example.com", "orange-tractor-42").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(fresh.get("/panel/account").await.status, StatusCode::OK);
        panel.stop().await;
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_answer() {
    let panel = Panel::start(false).await;
    panel.user("known@example.com").await;
    let mut b = panel.browser();
    let wrong = b.login("known@example.com", "not-the-password").await;
    let unknown = b.login("nobody@example.com", PASSWORD).await;
    for page in [&wrong, &unknown] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(
            page.body.contains("Invalid email or password."),
            "{}",
            page.body
        );
        assert!(
            !page
                .set_cookies()
                .iter()
                .any(|c| c.starts_with("pitlane_panel="))
        );
    }
    panel.stop().await;
}

#[tokio::test]
async fn password_reset_revokes_every_panel_session() {
    let panel = Panel::start(false).await;
    let (_, mut signed_in) = panel.logged_in("reset@example.com").await;
    let mut other = panel.browser();
    let sent = other
        .submit(
            "/panel/forgot",
            "/panel/forgot",
            &[("email", "reset@example.com")],
        )
        .await;
    assert!(
        sent.body.contains("a reset link is on its way"),
        "{}",
        sent.body
    );
    // Unknown addresses get the same answer and no mail.
    let unknown = other
        .submit(
            "/panel/forgot",
            "/panel/forgot",
            &[("email", "ghost@example.com")],
        )
        .await;
    assert!(unknown.body.contains("a reset link is on its way"));

    let mail = panel.mail_to("reset@example.com").await;
    let link = link_in(&mail, &panel.url("/panel/reset?token="));
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let form = other.get(&format!("/panel/reset?token={token}")).await;
    let weak = other
        .post(
            "/panel/reset",
            &[
                ("csrf", &form.csrf()),
                ("token", &token),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    let done = other
        .post(
            "/panel/reset",
            &[
                ("csrf", &form.csrf()),
                ("token", &token),
                ("password", "new-lamp-post-77"),
                ("confirm", "new-lamp-post-77"),
            ],
        )
        .await;
    assert_eq!(done.location(), "/panel/login?done=password-reset");
    assert_eq!(
        signed_in.get("/panel/").await.status,
        StatusCode::SEE_OTHER,
        "old session revoked"
    );
    assert_eq!(
        other.login("reset@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other
            .login("reset@example.com", "new-lamp-post-77")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    panel.stop().await;
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let panel = Panel::start(false).await;
    let (_, mut a) = panel.logged_in("change@example.com").await;
    let mut b = panel.browser();
    b.login("change@example.com", PASSWORD).await;
    let wrong = a
        .submit(
            "/panel/account",
            "/panel/account/password",
            &[
                ("current", "wrong-password"),
                ("password", "fresh-kiwi-fruit"),
                ("confirm", "fresh-kiwi-fruit"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.body.contains("current password is incorrect"),
        "{}",
        wrong.body
    );
    let ok = a
        .submit(
            "/panel/account",
            "/panel/account/password",
            &[
                ("current", PASSWORD),
                ("password", "fresh-kiwi-fruit"),
                ("confirm", "fresh-kiwi-fruit"),
            ],
        )
        .await;
    assert_eq!(ok.location(), "/panel/account?done=password-changed");
    assert_eq!(a.get("/panel/account").await.status, StatusCode::OK);
    assert_eq!(b.get("/panel/account").await.status, StatusCode::SEE_OTHER);
    panel.stop().await;
}

/// Asks the panel for a challenge and signs it with `key` (as a browser wallet would).
pub async fn signed_challenge(
    b: &mut crate::support::Browser,
    path: &str,
    csrf: &str,
    key: &pitlane_shared::identity::DeviceKey,
) -> (String, String) {
    let address = key.address().to_checksum();
    let page = b
        .post_json(path, csrf, serde_json::json!({ "address": address }))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let challenge: serde_json::Value = serde_json::from_str(&page.body).expect("json");
    let message = challenge["message"].as_str().expect("message");
    let signature = key.sign_message(message.as_bytes()).to_string();
    (
        challenge["state"].as_str().expect("state").to_owned(),
        signature,
    )
}

#[tokio::test]
async fn a_wallet_is_linked_after_proof_then_logs_in() {
    use pitlane_shared::identity::DeviceKey;
    let panel = Panel::start(false).await;
    let (user, mut a) = panel.logged_in("wallet@example.com").await;
    let csrf = a.get("/panel/account").await.csrf();
    let wallet = DeviceKey::generate();

    // A signature by another key proves nothing, and spends the challenge.
    let (state, _) =
        signed_challenge(&mut a, "/panel/account/wallet/challenge", &csrf, &wallet).await;
    let wrong = DeviceKey::generate()
        .sign_message(b"something else")
        .to_string();
    let refused = a
        .post_json(
            "/panel/account/wallet",
            &csrf,
            serde_json::json!({ "state": state, "signature": wrong }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);

    let (state, signature) =
        signed_challenge(&mut a, "/panel/account/wallet/challenge", &csrf, &wallet).await;
    let linked = a
        .post_json(
            "/panel/account/wallet",
            &csrf,
            serde_json::json!({ "state": state, "signature": signature }),
        )
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    assert!(linked.body.contains("/panel/account?done=wallet-linked"));
    let replay = a
        .post_json(
            "/panel/account/wallet",
            &csrf,
            serde_json::json!({ "state": state, "signature": signature }),
        )
        .await;
    assert_eq!(
        replay.status,
        StatusCode::BAD_REQUEST,
        "a challenge is single-use"
    );
    let page = a.get("/panel/account").await;
    assert!(
        page.body.contains(&wallet.address().to_lowercase_hex()),
        "{}",
        page.body
    );

    // Someone else cannot take the wallet over.
    let (_, mut b) = panel.logged_in("taker@example.com").await;
    let b_csrf = b.get("/panel/account").await.csrf();
    let (state, signature) =
        signed_challenge(&mut b, "/panel/account/wallet/challenge", &b_csrf, &wallet).await;
    let taken = b
        .post_json(
            "/panel/account/wallet",
            &b_csrf,
            serde_json::json!({ "state": state, "signature": signature }),
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(
        taken.body.contains("already belongs to another account"),
        "{}",
        taken.body
    );

    // The wallet now logs in to the same account.
    let mut c = panel.browser();
    let visitor_csrf = c.get("/panel/login").await.csrf();
    let (state, signature) = signed_challenge(
        &mut c,
        "/panel/login/wallet/challenge",
        &visitor_csrf,
        &wallet,
    )
    .await;
    let login = c
        .post_json(
            "/panel/login/wallet",
            &visitor_csrf,
            serde_json::json!({ "state": state, "signature": signature, "next": "/panel/keys" }),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert!(login.body.contains("/panel/keys"));
    let account = c.get("/panel/account").await;
    assert!(
        account.body.contains("wallet@example.com"),
        "logged in as {}: {}",
        user.id,
        account.body
    );
    panel.stop().await;
}
