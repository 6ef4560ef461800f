//! Forgot, reset and change password, with the accounts domain and the mailer. Resetting
//! revokes every session of the account (panel cookies included); changing revokes all
//! but the current one.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::account::account_page;
use super::error::PanelError;
use super::form::{SessionForm, VisitorForm};
use super::layout::{self, Notice};
use super::session::Visitor;
use crate::accounts::email_tokens::{self, Purpose};
use crate::accounts::password::check_policy;
use crate::accounts::{AccountError, now, sessions, users};
use crate::app::AppState;
use crate::email::templates::{Lang, password_reset};
use crate::http::client::ClientInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/forgot", get(forgot_page).post(forgot))
        .route("/panel/reset", get(reset_page).post(reset))
        .route("/panel/account/password", axum::routing::post(change))
}

fn policy_problem(password: &str, confirm: &str) -> Option<String> {
    if password != confirm {
        return Some("The two passwords differ.".into());
    }
    match check_policy(password) {
        Ok(()) => None,
        Err(AccountError::WeakPassword(why)) => Some(format!("The password {why}.")),
        Err(_) => Some("The password is not accepted.".into()),
    }
}

fn forgot_form(csrf: &str, notice: Option<(Notice, &str)>) -> Markup {
    layout::bare(
        "Forgot your password?",
        html! {
            h1 { "Forgot your password?" }
            @if let Some((kind, text)) = notice { (layout::notice(kind, text)) }
            form.card method="post" action="/panel/forgot" {
                (layout::csrf(csrf))
                (layout::field("Email", "email", "email", "email", ""))
                button type="submit" { "Send a reset link" }
            }
            p { a href="/panel/login" { "Back to login" } }
        },
    )
}

async fn forgot_page(visitor: Visitor) -> Markup {
    forgot_form(&visitor.csrf, None)
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    email: String,
}

/// Same answer, same database work and mail sent in the background whether or not the
/// account exists.
async fn forgot(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    VisitorForm { visitor, form }: VisitorForm<ForgotForm>,
) -> Result<Response, PanelError> {
    if !users::is_plausible_email(&form.email) {
        let page = forgot_form(
            &visitor.csrf,
            Some((Notice::Problem, "Enter a valid email address.")),
        );
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    state.limits.check_login(&client.ip, Some(&form.email))?;
    let lang = Lang::choose(
        None,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let user = users::by_email(&state.db, &form.email).await?;
    let ttl = i64::try_from(state.config.email_link_ttl_secs).unwrap_or(3600);
    let subject = user.as_ref().map(|u| u.id.clone()).unwrap_or_default();
    let token = email_tokens::create(&state.db, Purpose::Reset, &subject, ttl).await?;
    if let Some(email) = user.and_then(|u| u.email) {
        let link = format!(
            "{}/panel/reset?token={token}",
            state.config.public_url.trim_end_matches('/')
        );
        let minutes = state.config.email_link_ttl_secs.div_ceil(60);
        state
            .mailer
            .send(password_reset(&email, lang, &link, minutes));
    }
    Ok(forgot_form(
        &visitor.csrf,
        Some((
            Notice::Ok,
            "If the address has an account, a reset link is on its way.",
        )),
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn reset_form(csrf: &str, token: &str, problem: Option<&str>) -> Markup {
    layout::bare(
        "Choose a new password",
        html! {
            h1 { "Choose a new password" }
            @if let Some(p) = problem { (layout::notice(Notice::Problem, p)) }
            form.card method="post" action="/panel/reset" {
                (layout::csrf(csrf))
                input type="hidden" name="token" value=(token);
                (layout::field("New password", "password", "password", "new-password", ""))
                (layout::field("Repeat the new password", "confirm", "password", "new-password", ""))
                button type="submit" { "Set password" }
            }
        },
    )
}

async fn reset_page(visitor: Visitor, Query(q): Query<TokenQuery>) -> Markup {
    reset_form(&visitor.csrf, &q.token, None)
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    token: String,
    password: String,
    confirm: String,
}

async fn reset(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorForm { visitor, form }: VisitorForm<ResetForm>,
) -> Result<Response, PanelError> {
    state.limits.login_ip.check(&client.ip)?;
    if let Some(problem) = policy_problem(&form.password, &form.confirm) {
        let page = reset_form(&visitor.csrf, &form.token, Some(&problem));
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let invalid = || PanelError::BadInput("This reset link is invalid, used or expired.".into());
    let user_id = email_tokens::consume(&state.db, Purpose::Reset, &form.token)
        .await
        .map_err(|_| invalid())?;
    let user = users::by_id(&state.db, &user_id)
        .await?
        .ok_or_else(invalid)?;
    let hash = state.passwords.hash(form.password).await?;
    users::set_password(&state.db, &user.id, &hash).await?;
    sessions::revoke_all(&state.db, &user.id, now()).await?;
    Ok(Redirect::to("/panel/login?done=password-reset").into_response())
}

#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    current: String,
    password: String,
    confirm: String,
}

async fn change(
    State(state): State<AppState>,
    SessionForm { user, form }: SessionForm<ChangeForm>,
) -> Result<Response, PanelError> {
    state.limits.login_account.check(user.id())?;
    let account = users::by_id(&state.db, user.id())
        .await?
        .ok_or(AccountError::NotFound)?;
    let problem = match policy_problem(&form.password, &form.confirm) {
        Some(p) => Some(p),
        None => {
            let ok = state
                .passwords
                .verify(account.password_hash.clone(), form.current)
                .await?;
            (!ok).then(|| "The current password is incorrect.".to_owned())
        }
    };
    if let Some(problem) = problem {
        let page = account_page(&state, &user, Some((Notice::Problem, problem.as_str()))).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let hash = state.passwords.hash(form.password).await?;
    users::set_password(&state.db, &account.id, &hash).await?;
    sessions::revoke_all_except(&state.db, &account.id, &user.session.session_id, now()).await?;
    Ok(Redirect::to("/panel/account?done=password-changed").into_response())
}
