//! The account page: who is signed in, the linked wallet (and linking one), changing the
//! password, or setting a first one (`wallet_password.rs`) when the account has none.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PanelError;
use super::layout::{self, Notice, Section};
use super::session::PanelUser;
use crate::accounts::{AccountError, users};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/panel/account", get(show))
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn done_text(code: &str) -> Option<&'static str> {
    match code {
        "password-changed" => Some("Password changed. Your other sessions have been logged out."),
        "wallet-linked" => Some("Wallet linked: you can now also log in with it."),
        "password-set" => Some("Password set: you can now also log in with it."),
        _ => None,
    }
}

pub async fn account_page(
    state: &AppState,
    user: &PanelUser,
    notice: Option<(Notice, &str)>,
) -> Result<Markup, PanelError> {
    let account = users::by_id(&state.db, user.id())
        .await?
        .ok_or(AccountError::NotFound)?;
    Ok(layout::page(
        "Account",
        user,
        Section::Account,
        html! {
            h1 { "Account" }
            @if let Some((kind, text)) = notice { (layout::notice(kind, text)) }
            dl.facts {
                dt { "Name" } dd { (account.name) }
                dt { "Email" } dd { (account.email.as_deref().unwrap_or("–")) }
                @if let Some(name) = &account.username {
                    dt { "User name" } dd { (name) }
                }
                dt { "Wallet" } dd.mono { (account.wallet_address.as_deref().unwrap_or("none linked")) }
            }
            section.card data-wallet-link hidden {
                h2 { "Link a browser wallet" }
                p { "Prove you hold a wallet by signing a one-time message; you can then log in with it and see the vehicles it claimed." }
                button type="button" data-action="wallet-link" { "Link wallet" }
                p.wallet-status role="status" aria-live="polite" {}
            }
            @if account.password_hash.is_none() && account.wallet_address.is_some() {
                section.card {
                    h2 { "Set a password" }
                    p { "Your account has no password: you log in with your wallet. To log in with a password too, sign a one-time message with your wallet, then choose the password"
                        @if account.email.is_none() && account.username.is_none() { " and a user name" } "." }
                    form method="post" action="/panel/account/password/challenge" {
                        (layout::csrf(&user.csrf))
                        button type="submit" { "Get a message to sign" }
                    }
                }
            }
            @if account.password_hash.is_some() {
                section.card {
                    h2 { "Change password" }
                    form method="post" action="/panel/account/password" {
                        (layout::csrf(&user.csrf))
                        (layout::field("Current password", "current", "password", "current-password", ""))
                        (layout::field("New password", "password", "password", "new-password", ""))
                        (layout::field("Repeat the new password", "confirm", "password", "new-password", ""))
                        button type="submit" { "Change password" }
                    }
                }
            }
        },
    ))
}

async fn show(
    State(state): State<AppState>,
    user: PanelUser,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, PanelError> {
    let notice = q
        .done
        .as_deref()
        .and_then(done_text)
        .map(|t| (Notice::Ok, t));
    account_page(&state, &user, notice).await
}
