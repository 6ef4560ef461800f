//! A first password for a wallet-only account: a fresh signature by the account's own
//! wallet over a challenge the page shows, a user name to log in with (the account has no
//! email), and then password login works. A wrong or replayed signature, another wallet's
//! signature, a missing or forged CSRF token, and an account that has a password already
//! change nothing. The page offers a browser wallet through `panel.js` (no inline script);
//! the browser steps that click it are in the root package's `tests/panel.rs`.

use pitlane_cloud::accounts::users;
use pitlane_shared::identity::DeviceKey;
use reqwest::StatusCode;
use serde_json::json;

use crate::accounts::signed_challenge;
use crate::support::{Browser, PASSWORD, Page, Panel, backends};

const NEW_PASSWORD: &str = "copper-kettle-73";

/// A browser logged in with `wallet` (its account is created on the first login).
async fn wallet_login(panel: &Panel, wallet: &DeviceKey) -> Browser {
    let mut b = panel.browser();
    let csrf = b.get("/panel/login").await.csrf();
    let (state, signature) =
        signed_challenge(&mut b, "/panel/login/wallet/challenge", &csrf, wallet).await;
    let login = b
        .post_json(
            "/panel/login/wallet",
            &csrf,
            json!({ "state": state, "signature": signature }),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    b
}

/// A hidden or text field's value on `page`.
fn value_of(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {}", page.body))
        + marker.len();
    page.body[start..]
        .split('"')
        .next()
        .expect("value")
        .to_owned()
}

/// Text as the browser reads it from the page's HTML.
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The message the page asks the wallet to sign, as the user would copy it.
fn message_of(page: &Page) -> String {
    let marker = "readonly spellcheck=\"false\">";
    let start = page.body.find(marker).expect("message") + marker.len();
    let text = &page.body[start..];
    unescape(&text[..text.find("</textarea>").expect("end")])
}

/// Asks for a challenge on the account page: (page, csrf, state, message).
async fn challenge(b: &mut Browser) -> (Page, String, String, String) {
    let csrf = b.get("/panel/account").await.csrf();
    let page = b
        .post("/panel/account/password/challenge", &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let state = value_of(&page, "state");
    let message = message_of(&page);
    (page, csrf, state, message)
}

/// Posts the set-password form.
async fn set(b: &mut Browser, fields: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post("/panel/account/password/set", &pairs).await
}

async fn password_login(panel: &Panel, login: &str, password: &str) -> StatusCode {
    panel.browser().login(login, password).await.status
}

#[tokio::test]
async fn a_wallet_account_sets_a_first_password_with_a_fresh_signature() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        let wallet = DeviceKey::generate();
        let mut a = wallet_login(&panel, &wallet).await;
        let account = a.get("/panel/account").await;
        assert!(
            account.body.contains("Set a password") && !account.body.contains("Change password"),
            "{}",
            account.body
        );

        let (page, csrf, state, message) = challenge(&mut a).await;
        assert!(
            message.contains(&wallet.address().to_checksum()) && page.body.contains("User name"),
            "{}",
            page.body
        );
        let signature = wallet.sign_message(message.as_bytes()).to_string();
        let form = |state: &str, signature: &str, username: &str, password: &str| {
            vec![
                ("csrf".to_owned(), csrf.clone()),
                ("state".to_owned(), state.to_owned()),
                ("message".to_owned(), message.clone()),
                ("signature".to_owned(), signature.to_owned()),
                ("username".to_owned(), username.to_owned()),
                ("password".to_owned(), password.to_owned()),
                ("confirm".to_owned(), password.to_owned()),
            ]
        };
        // Checked before the signature is spent: the rules for names and passwords.
        for (username, password, needle) in [
            ("ops@example.com", NEW_PASSWORD, "lower-case letters"),
            ("fleet.ops", "password", "too common"),
        ] {
            let refused = set(&mut a, &form(&state, &signature, username, password)).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{username}");
            assert!(refused.body.contains(needle), "{needle}: {}", refused.body);
        }
        // Forged tokens.
        for token in ["", "forged"] {
            let mut fields = form(&state, &signature, "fleet.ops", NEW_PASSWORD);
            fields[0].1 = token.to_owned();
            assert_eq!(
                set(&mut a, &fields).await.status,
                StatusCode::FORBIDDEN,
                "{token:?}"
            );
        }
        // Another wallet's signature spends the challenge and sets nothing.
        let stranger = DeviceKey::generate();
        let wrong = stranger.sign_message(message.as_bytes()).to_string();
        let refused = set(&mut a, &form(&state, &wrong, "fleet.ops", NEW_PASSWORD)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.body.contains("not your wallet's"),
            "{}",
            refused.body
        );
        let replay = set(&mut a, &form(&state, &signature, "fleet.ops", NEW_PASSWORD)).await;
        assert_eq!(replay.status, StatusCode::BAD_REQUEST, "single use");
        assert!(
            replay.body.contains("unknown, used or expired"),
            "{}",
            replay.body
        );
        let user = users::by_wallet(&panel.state.db, &wallet.address().to_lowercase_hex())
            .await
            .expect("look-up")
            .expect("account");
        assert!(user.password_hash.is_none() && user.username.is_none());

        // This account's challenge, genuinely signed by its wallet, cannot serve another
        // wallet account: the signer must be the signed-in account's own wallet.
        let mut other = wallet_login(&panel, &stranger).await;
        let other_csrf = other.get("/panel/account").await.csrf();
        let (_, _, state, message) = challenge(&mut a).await;
        let mut fields = form(
            &state,
            &wallet.sign_message(message.as_bytes()).to_string(),
            "someone",
            NEW_PASSWORD,
        );
        fields[0].1 = other_csrf;
        let theirs = set(&mut other, &fields).await;
        assert_eq!(theirs.status, StatusCode::BAD_REQUEST);
        assert!(theirs.body.contains("not your wallet's"), "{}", theirs.body);
        let stranger_account =
            users::by_wallet(&panel.state.db, &stranger.address().to_lowercase_hex())
                .await
                .expect("look-up")
                .expect("account");
        assert!(stranger_account.password_hash.is_none());

        // A fresh, genuine signature sets the password and the user name.
        let (_, _, state, message) = challenge(&mut a).await;
        let signature = wallet.sign_message(message.as_bytes()).to_string();
        let mut fields = form(&state, &signature, "fleet.ops", NEW_PASSWORD);
        fields[2].1 = message.clone();
        let done = set(&mut a, &fields).await;
        assert_eq!(
            done.location(),
            "/panel/account?done=password-set",
            "{}",
            done.body
        );
        let account = a.get("/panel/account?done=password-set").await;
        assert!(
            account.body.contains("Password set")
                && account.body.contains("fleet.ops")
                && account.body.contains("Change password")
                && !account.body.contains("Get a message to sign"),
            "{}",
            account.body
        );
        assert_eq!(
            password_login(&panel, "fleet.ops", NEW_PASSWORD).await,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            password_login(&panel, "fleet.ops", "wrong-password-1").await,
            StatusCode::UNAUTHORIZED
        );

        // Now it has one: this path refuses, the password stays.
        let csrf = a.get("/panel/account").await.csrf();
        let again = a
            .post("/panel/account/password/challenge", &[("csrf", &csrf)])
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(
            again.body.contains("already has a password"),
            "{}",
            again.body
        );
        panel.stop().await;
    }
}

#[tokio::test]
async fn an_account_with_a_password_cannot_set_one_without_it() {
    let panel = Panel::start(false).await;
    let (user, mut a) = panel.logged_in("has-one@example.com").await;
    let csrf = a.get("/panel/account").await.csrf();
    assert!(
        !a.get("/panel/account")
            .await
            .body
            .contains("Set a password")
    );
    let challenge = a
        .post("/panel/account/password/challenge", &[("csrf", &csrf)])
        .await;
    assert_eq!(challenge.status, StatusCode::CONFLICT);
    let set = a
        .post(
            "/panel/account/password/set",
            &[
                ("csrf", &csrf),
                ("state", "x"),
                ("signature", "0x00"),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::CONFLICT);
    assert_eq!(
        password_login(&panel, "has-one@example.com", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        password_login(&panel, "has-one@example.com", NEW_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "{}",
        user.id
    );
    panel.stop().await;
}

/// What the page's script needs to sign with a browser wallet: a hidden wallet section
/// naming the account's wallet, and the message carried in the form's `message` field
/// exactly as stored (the script signs that value; signing it sets the password). The paste
/// field stays for browsers without script, and the page has no inline script.
#[tokio::test]
async fn the_sign_page_carries_what_a_browser_wallet_signs() {
    let panel = Panel::start(false).await;
    let wallet = DeviceKey::generate();
    let mut a = wallet_login(&panel, &wallet).await;
    let (page, csrf, state, message) = challenge(&mut a).await;
    let lower = wallet.address().to_lowercase_hex();
    for needle in [
        format!("<div class=\"wallet-sign\" hidden data-wallet-sign=\"{lower}\">"),
        "data-action=\"wallet-sign\"".to_owned(),
        "name=\"signature\" type=\"text\"".to_owned(),
    ] {
        assert!(page.body.contains(&needle), "{needle}: {}", page.body);
    }
    assert_eq!(
        page.body.matches("<script").count(),
        page.body
            .matches("<script src=\"/panel/assets/panel.js?v=")
            .count(),
        "only the panel's script file: {}",
        page.body
    );
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("script-src 'self';"), "{csp}");

    let carried = unescape(&value_of(&page, "message"));
    assert_eq!(carried, message, "the form carries the message unchanged");
    let signed = wallet.sign_message(carried.as_bytes()).to_string();
    let done = a
        .post(
            "/panel/account/password/set",
            &[
                ("csrf", csrf.as_str()),
                ("state", &state),
                ("message", &carried),
                ("signature", &signed),
                ("username", "wallet.fill"),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        done.location(),
        "/panel/account?done=password-set",
        "{}",
        done.body
    );
    assert_eq!(
        password_login(&panel, "wallet.fill", NEW_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    panel.stop().await;
}
