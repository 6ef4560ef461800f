//! Browser steps: an account made by wallet login sets its first password with the sign
//! page's wallet button (the stand-in wallet signs the page's challenge, the script fills in
//! the signature and sends the form), then logs in with its new user name and password. The
//! button asks nothing of the wallet while the form is incomplete, and refuses a wallet that
//! is not the account's.

use anyhow::{Result, ensure};
use pitlane_shared::identity::DeviceKey;
use serde_json::json;

use super::driver;
use super::steps::Browser;

const USERNAME: &str = "wallet.driver";
const PASSWORD: &str = "walnut-harbour-41";

/// The wallet button's state: (disabled, the signature field's value, the status text).
async fn sign_button(b: &Browser) -> Result<serde_json::Value> {
    Ok(b.client
        .execute(
            "var box = document.querySelector('[data-wallet-sign]');\
             return [box.querySelector('button').disabled,\
                     document.querySelector('[name=signature]').value,\
                     box.querySelector('.wallet-status').textContent];",
            vec![],
        )
        .await?)
}

pub async fn journey(b: &mut Browser) -> Result<()> {
    let wallet = DeviceKey::generate();
    b.step("wallet-sign-up");
    b.open("/panel/login").await?;
    b.install_wallet(&wallet).await?;
    b.click("[data-action=wallet-login]").await?;
    b.sign_pending(&wallet).await?;
    b.wait_text("h1", "Vehicles").await?;

    b.step("message-to-sign");
    b.open("/panel/account").await?;
    b.click("form[action='/panel/account/password/challenge'] button")
        .await?;
    b.wait_text("h1", "Set a password").await?;
    b.install_wallet(&wallet).await?;

    b.step("incomplete-form");
    // Nothing filled in yet: the browser points at the first missing field, the wallet is
    // not asked (the button is disabled as soon as it is).
    b.click("[data-action=wallet-sign]").await?;
    let state = sign_button(b).await?;
    ensure!(state == json!([false, "", ""]), "nothing asked: {state}");

    b.step("another-wallet");
    b.fill("#f-username", USERNAME).await?;
    b.fill("#f-password", PASSWORD).await?;
    b.fill("#f-confirm", PASSWORD).await?;
    b.install_wallet(&DeviceKey::generate()).await?;
    b.click("[data-action=wallet-sign]").await?;
    b.wait_text(
        ".wallet-sign .wallet-status",
        "Choose this account's wallet",
    )
    .await?;
    driver::screenshot(&b.client, "first-password-wallet").await?;

    b.step("wallet-sign");
    b.install_wallet(&wallet).await?;
    b.click("[data-action=wallet-sign]").await?;
    b.sign_pending(&wallet).await?;
    b.wait_url("done=password-set").await?;
    b.wait_text("main", "Password set").await?;
    b.wait_text("dl.facts", USERNAME).await?;

    b.step("login-with-the-new-password");
    b.click("form.logout button").await?;
    b.wait_text("h1", "Log in to Pitlane").await?;
    b.fill("#f-email", USERNAME).await?;
    b.fill("#f-password", PASSWORD).await?;
    b.click("main form button[type=submit]").await?;
    b.wait_text("h1", "Vehicles").await?;
    Ok(())
}
