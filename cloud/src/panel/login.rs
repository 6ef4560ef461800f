//! Login with email and password (the checks, rate limits and timing rules of
//! `/v1/auth/panel-login`, without its captcha: see [`login`]) and logout.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PanelError;
use super::form::{SessionForm, VisitorForm};
use super::layout::{self, Notice};
use super::session::{self, Tls, Visitor, safe_next};
use crate::accounts::{now, sessions, users};
use crate::app::AppState;
use crate::http::client::ClientInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/login", get(show).post(login))
        .route("/panel/logout", post(logout))
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    /// A fixed notice code from a redirect (never free text).
    done: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// The notices other pages redirect here with.
fn done_text(code: &str) -> Option<&'static str> {
    match code {
        "logged-out" => Some("You have been logged out."),
        "password-reset" => Some("Your password has been reset. Log in with the new one."),
        _ => None,
    }
}

pub fn login_page(csrf: &str, email: &str, next: &str, notice: Option<(Notice, &str)>) -> Markup {
    layout::bare(
        "Log in",
        html! {
            h1 { "Log in to Pitlane" }
            @if let Some((kind, text)) = notice { (layout::notice(kind, text)) }
            form.card method="post" action="/panel/login" {
                (layout::csrf(csrf))
                input type="hidden" name="next" value=(next);
                (layout::field("Email or user name", "email", "text", "username", email))
                (layout::field("Password", "password", "password", "current-password", ""))
                button type="submit" { "Log in" }
            }
            section.card.wallet-login hidden data-wallet-login data-csrf=(csrf) data-next=(next) {
                h2 { "Or use your wallet" }
                p { "Sign a one-time message with your browser wallet. No password needed." }
                button type="button" data-action="wallet-login" { "Log in with wallet" }
                p.wallet-status role="status" aria-live="polite" {}
            }
            p {
                a href="/panel/register" { "Create an account" }
                " · "
                a href="/panel/forgot" { "Forgot your password?" }
            }
        },
    )
}

async fn show(visitor: Visitor, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    if visitor.user.is_some() {
        return Redirect::to(&next).into_response();
    }
    let notice = q
        .done
        .as_deref()
        .and_then(done_text)
        .map(|t| (Notice::Ok, t));
    login_page(&visitor.csrf, "", &next, notice).into_response()
}

/// Checks the password like `/v1/auth/panel-login`: the client-address and account rate
/// limits first, then argon2 against the account's hash, or against a dummy hash when the
/// account does not exist, so the answer and its timing do not tell whether it does. The
/// API's captcha is not asked for: a captcha widget would have to be fetched from its
/// provider, and the panel fetches nothing from elsewhere; the rate limits (shared with
/// the API, so the two do not add up) and the SameSite=Strict, CSRF-checked form remain.
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    tls: Tls,
    VisitorForm { visitor, form }: VisitorForm<LoginForm>,
) -> Result<Response, PanelError> {
    let next = safe_next(form.next.as_deref());
    if form.email.trim().is_empty() || form.password.is_empty() {
        let page = login_page(
            &visitor.csrf,
            &form.email,
            &next,
            Some((
                Notice::Problem,
                "Enter your email or user name and the password.",
            )),
        );
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    state.limits.check_login(&client.ip, Some(&form.email))?;
    // An email, or the user name a wallet account chose with its first password.
    let user = users::by_login(&state.db, &form.email).await?;
    let ok = state
        .passwords
        .verify(
            user.as_ref().and_then(|u| u.password_hash.clone()),
            form.password,
        )
        .await?;
    let Some(user) = user.filter(|_| ok) else {
        let page = login_page(
            &visitor.csrf,
            &form.email,
            &next,
            Some((Notice::Problem, "Invalid email or password.")),
        );
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let cookie = session::open(&state, &user.id, tls).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

async fn logout(
    State(state): State<AppState>,
    tls: Tls,
    SessionForm { user, .. }: SessionForm<Empty>,
) -> Result<Response, PanelError> {
    sessions::revoke(&state.db, &user.session.session_id, now()).await?;
    Ok((
        [(header::SET_COOKIE, session::clear(tls))],
        Redirect::to("/panel/login?done=logged-out"),
    )
        .into_response())
}
