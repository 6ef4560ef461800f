//! A first password for an account that has none (it signed up with its wallet through the
//! Web3 challenge). Re-authentication is a fresh signature by the account's own wallet over
//! a Web3 challenge (EIP-191, as wallet login): the page shows the message to sign and takes
//! the signature back, pasted (no script needed) or filled in by the page's script from a
//! browser wallet's `personal_sign`. An account without an email also picks a
//! user name, which the login form accepts in place of an email. Accounts that have a
//! password change it with the current one instead (`password.rs`); this path refuses them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use maud::{Markup, html};
use serde::Deserialize;

use super::account::account_page;
use super::error::PanelError;
use super::form::SessionForm;
use super::layout::{self, Notice, Section};
use super::session::PanelUser;
use crate::accounts::password::check_policy;
use crate::accounts::users::{self, User};
use crate::accounts::{AccountError, web3};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/account/password/challenge", post(challenge))
        .route("/panel/account/password/set", post(set))
}

/// Longest user name.
const MAX_USERNAME: usize = 32;

/// A user name: 3–32 of `a-z 0-9 . _ -`, starting with a letter or digit. Never an `@`,
/// so it cannot shadow anyone's email address at login.
pub fn check_username(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c);
    if name.len() < 3 || name.len() > MAX_USERNAME {
        return Err(format!(
            "The user name must be 3 to {MAX_USERNAME} characters."
        ));
    }
    if !name.chars().all(ok_char) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(
            "The user name may hold lower-case letters, digits, dots, dashes and underscores, and starts with a letter or digit."
                .into(),
        );
    }
    Ok(())
}

/// The signed-in account when it may set a first password (none set yet, a wallet to
/// prove), else the account page saying why not (409).
async fn passwordless(
    state: &AppState,
    user: &PanelUser,
) -> Result<Result<User, Response>, PanelError> {
    let account = users::by_id(&state.db, user.id())
        .await?
        .ok_or(AccountError::NotFound)?;
    let why = if account.password_hash.is_some() {
        "This account already has a password: change it below with the current one."
    } else if account.wallet_address.is_none() {
        "This account has no wallet to sign with."
    } else {
        return Ok(Ok(account));
    };
    let page = account_page(state, user, Some((Notice::Problem, why))).await?;
    Ok(Err((StatusCode::CONFLICT, page).into_response()))
}

/// The account page with `why` (400): the challenge is spent, the user starts again.
async fn refused(state: &AppState, user: &PanelUser, why: &str) -> Result<Response, PanelError> {
    let page = account_page(state, user, Some((Notice::Problem, why))).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

/// Whether the account needs a user name to log in with a password.
fn needs_username(account: &User) -> bool {
    account.email.is_none() && account.username.is_none()
}

/// What the form carries between its steps.
#[derive(Debug, Default, Deserialize)]
pub struct SetForm {
    #[serde(default)]
    state: String,
    /// The challenge text, carried only to show it again (the stored one is what counts).
    #[serde(default)]
    message: String,
    #[serde(default)]
    signature: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn sign_page(user: &PanelUser, account: &User, form: &SetForm, problem: Option<&str>) -> Markup {
    let wallet = account.wallet_address.as_deref().unwrap_or("");
    layout::page(
        "Set a password",
        user,
        Section::Account,
        html! {
            p { a href="/panel/account" { "← Account" } }
            h1 { "Set a password" }
            @if let Some(p) = problem { (layout::notice(Notice::Problem, p)) }
            form.card method="post" action="/panel/account/password/set" {
                (layout::csrf(&user.csrf))
                input type="hidden" name="state" value=(form.state);
                input type="hidden" name="message" value=(form.message);
                div.field {
                    label for="f-message" { "1. Sign this message with your wallet " span.mono { (wallet) } " (personal_sign, EIP-191)" }
                    textarea #f-message rows="9" readonly spellcheck="false" { (form.message) }
                }
                (layout::field("2. The signature (0x…)", "signature", "text", "off", &form.signature))
                @if needs_username(account) {
                    p.hint { "Your account has no email address: choose a user name to log in with." }
                    (layout::field("User name", "username", "text", "username", &form.username))
                }
                (layout::field("New password", "password", "password", "new-password", ""))
                (layout::field("Repeat the new password", "confirm", "password", "new-password", ""))
                // Shown by the page's script when a browser wallet is there: it signs the
                // message, fills in the signature and sends the form.
                div.wallet-sign hidden data-wallet-sign=(wallet) {
                    p.hint { "Or, with a browser wallet: fill in the fields above, then let the wallet sign the message." }
                    button type="button" data-action="wallet-sign" { "Sign with wallet and set password" }
                    p.wallet-status role="status" aria-live="polite" {}
                }
                div.actions {
                    button type="submit" { "Set password" }
                    a href="/panel/account" { "Cancel" }
                }
            }
            p.hint { "The message can be signed once, within a few minutes." }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

async fn challenge(
    State(state): State<AppState>,
    SessionForm { user, .. }: SessionForm<Empty>,
) -> Result<Response, PanelError> {
    state.limits.login_account.check(user.id())?;
    let account = match passwordless(&state, &user).await? {
        Ok(account) => account,
        Err(page) => return Ok(page),
    };
    let wallet = account.wallet_address.as_deref().unwrap_or("");
    let ttl = i64::try_from(state.config.web3_challenge_ttl_secs).unwrap_or(300);
    let c = web3::generate(
        &state.db,
        wallet,
        &state.config.web3_domain,
        &state.config.public_url,
        ttl,
    )
    .await?;
    let form = SetForm {
        state: c.state,
        message: c.message,
        ..SetForm::default()
    };
    Ok(sign_page(&user, &account, &form, None).into_response())
}

/// The password and user name rules; `None` when the form passes them.
fn form_problem(account: &User, form: &SetForm) -> Option<String> {
    if needs_username(account) {
        if let Err(why) = check_username(&form.username) {
            return Some(why);
        }
    }
    if form.password != form.confirm {
        return Some("The two passwords differ.".into());
    }
    match check_policy(&form.password) {
        Ok(()) => None,
        Err(AccountError::WeakPassword(why)) => Some(format!("The password {why}.")),
        Err(_) => Some("The password is not accepted.".into()),
    }
}

async fn set(
    State(state): State<AppState>,
    SessionForm { user, form }: SessionForm<SetForm>,
) -> Result<Response, PanelError> {
    state.limits.login_account.check(user.id())?;
    let account = match passwordless(&state, &user).await? {
        Ok(account) => account,
        Err(page) => return Ok(page),
    };
    let again = |problem: &str| {
        let page = sign_page(&user, &account, &form, Some(problem));
        Ok((StatusCode::BAD_REQUEST, page).into_response())
    };
    // Checked before the signature, which spends the challenge.
    if let Some(problem) = form_problem(&account, &form) {
        return again(&problem);
    }
    let username = needs_username(&account).then_some(form.username.as_str());
    if let Some(name) = username {
        if users::by_login(&state.db, name).await?.is_some() {
            return again("That user name is taken: choose another.");
        }
    }
    let signer = match web3::spend(&state.db, &form.state, &form.signature).await {
        Ok(signer) => signer,
        Err(AccountError::InvalidToken) => {
            return refused(
                &state,
                &user,
                "The message to sign is unknown, used or expired: start again.",
            )
            .await;
        }
        Err(AccountError::InvalidCredentials) => {
            return refused(
                &state,
                &user,
                "The signature is not your wallet's over that message: start again.",
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    if account.wallet_address.as_deref() != Some(signer.to_lowercase_hex().as_str()) {
        return refused(
            &state,
            &user,
            "The signature is not your wallet's over that message: start again.",
        )
        .await;
    }
    let hash = state.passwords.hash(form.password.clone()).await?;
    match users::set_first_password(&state.db, &account.id, username, &hash).await {
        Ok(()) => Ok(Redirect::to("/panel/account?done=password-set").into_response()),
        Err(AccountError::Conflict) => {
            refused(
                &state,
                &user,
                "The account has a password by now, or the user name was just taken.",
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_cannot_look_like_an_email() {
        for (name, ok) in [
            ("fleet.ops", true),
            ("ops_2", true),
            ("a-b", true),
            ("ab", false),
            (".ops", false),
            ("Fleet", false),
            ("ops@example.com", false),
            ("ops name", false),
            ("0123456789012345678901234567890123", false),
        ] {
            assert_eq!(check_username(name).is_ok(), ok, "{name}");
        }
    }
}
