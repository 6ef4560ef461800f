//! Registration with email verification. A registration stays pending (team-auth's
//! `registrations`) until the emailed link is confirmed; confirming creates the account
//! with its default team and project and signs the user in. The answer to a registration
//! is the same whether or not the address already has an account.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PanelError;
use super::form::VisitorForm;
use super::layout::{self, Notice};
use super::session::{self, Tls, Visitor};
use crate::accounts::email_tokens::{self, Purpose};
use crate::accounts::password::check_policy;
use crate::accounts::teams::{self, Registration};
use crate::accounts::{AccountError, users};
use crate::app::AppState;
use crate::email::templates::simple;
use crate::http::client::ClientInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/register", get(show).post(register))
        .route("/panel/verify", get(confirm_page).post(confirm))
}

#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    name: String,
    email: String,
    password: String,
    confirm: String,
}

fn form_page(csrf: &str, name: &str, email: &str, problem: Option<&str>) -> Markup {
    layout::bare(
        "Create an account",
        html! {
            h1 { "Create an account" }
            @if let Some(p) = problem { (layout::notice(Notice::Problem, p)) }
            form.card method="post" action="/panel/register" {
                (layout::csrf(csrf))
                (layout::field("Name", "name", "text", "name", name))
                (layout::field("Email", "email", "email", "email", email))
                (layout::field("Password (at least 8 characters)", "password", "password", "new-password", ""))
                (layout::field("Repeat the password", "confirm", "password", "new-password", ""))
                button type="submit" { "Create account" }
            }
            p { "Already registered? " a href="/panel/login" { "Log in" } }
        },
    )
}

async fn show(visitor: Visitor) -> Response {
    if visitor.user.is_some() {
        return Redirect::to("/panel/").into_response();
    }
    form_page(&visitor.csrf, "", "", None).into_response()
}

fn check(form: &RegisterForm) -> Result<(), String> {
    if !users::is_plausible_email(&form.email) {
        return Err("Enter a valid email address.".into());
    }
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err("The name must be 1 to 100 characters.".into());
    }
    if form.password != form.confirm {
        return Err("The two passwords differ.".into());
    }
    match check_policy(&form.password) {
        Ok(()) => Ok(()),
        Err(AccountError::WeakPassword(why)) => Err(format!("The password {why}.")),
        Err(_) => Err("The password is not accepted.".into()),
    }
}

async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorForm { visitor, form }: VisitorForm<RegisterForm>,
) -> Result<Response, PanelError> {
    if let Err(problem) = check(&form) {
        let page = form_page(&visitor.csrf, &form.name, &form.email, Some(&problem));
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    state.limits.check_login(&client.ip, Some(&form.email))?;
    let hash = state.passwords.hash(form.password).await?;
    let reg = teams::register(&state.db, &form.email, form.name.trim(), &hash).await?;
    send_mail(&state, &reg).await?;
    Ok(layout::bare(
        "Check your email",
        html! {
            h1 { "Check your email" }
            (layout::notice(Notice::Ok, "We sent a confirmation link to the address you gave. Open it to activate your account."))
            p { "The link expires in one hour. " a href="/panel/login" { "Back to login" } }
        },
    )
    .into_response())
}

/// The confirmation link (new address) or an "already registered" notice; a token is made
/// either way, so both paths do the same database work.
async fn send_mail(state: &AppState, reg: &Registration) -> Result<(), PanelError> {
    let ttl = i64::try_from(state.config.email_link_ttl_secs).unwrap_or(3600);
    let token = email_tokens::create(&state.db, Purpose::Verify, &reg.id, ttl).await?;
    let base = state.config.public_url.trim_end_matches('/');
    let mail = if reg.existing_user_id.is_some() {
        simple(
            &reg.email,
            "You already have an account",
            &[
                "Someone (hopefully you) tried to register again with this address.",
                "You already have an account: log in, or reset your password if you forgot it.",
            ],
            Some(("Log in", &format!("{base}/panel/login"))),
        )
    } else {
        simple(
            &reg.email,
            "Confirm your email address",
            &[
                "Welcome to Pitlane. Confirm your address to activate your account.",
                "This link expires in one hour.",
            ],
            Some((
                "Confirm email",
                &format!("{base}/panel/verify?token={token}"),
            )),
        )
    };
    state.mailer.send(mail);
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Opening the link only shows a button: mail scanners that fetch links must not confirm.
async fn confirm_page(visitor: Visitor, Query(q): Query<TokenQuery>) -> Markup {
    layout::bare(
        "Confirm your email",
        html! {
            h1 { "Confirm your email" }
            form.card method="post" action="/panel/verify" {
                (layout::csrf(&visitor.csrf))
                input type="hidden" name="token" value=(q.token);
                p { "Confirm the address to activate your account." }
                button type="submit" { "Confirm and log in" }
            }
        },
    )
}

async fn confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    tls: Tls,
    VisitorForm { form, .. }: VisitorForm<TokenQuery>,
) -> Result<Response, PanelError> {
    state.limits.login_ip.check(&client.ip)?;
    let invalid =
        || PanelError::BadInput("This confirmation link is invalid, used or expired.".into());
    let reg_id = email_tokens::consume(&state.db, Purpose::Verify, &form.token)
        .await
        .map_err(|_| invalid())?;
    let reg = teams::registration(&state.db, &reg_id)
        .await?
        .ok_or_else(invalid)?;
    let (user, _team) = match teams::complete(&state.db, &reg).await {
        Ok(done) => done,
        Err(AccountError::InvalidToken | AccountError::Conflict) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    let cookie = session::open(&state, &user.id, tls).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/panel/?done=welcome"),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_form(name: &str, email: &str, password: &str, confirm: &str) -> Result<(), String> {
        check(&RegisterForm {
            name: name.into(),
            email: email.into(),
            password: password.into(),
            confirm: confirm.into(),
        })
    }

    #[test]
    fn registration_form_rules() {
        for (name, email, pw, confirm, ok) in [
            (
                "Ana",
                "ana@example.com",
                "kettle-lamp-91",
                "kettle-lamp-91",
                true,
            ),
            (
                "Ana",
                "ana@example",
                "kettle-lamp-91",
                "kettle-lamp-91",
                false,
            ),
            (
                "",
                "ana@example.com",
                "kettle-lamp-91",
                "kettle-lamp-91",
                false,
            ),
            (
                "Ana",
                "ana@example.com",
                "kettle-lamp-91",
                "kettle-lamp-92",
                false,
            ),
            ("Ana", "ana@example.com", "short", "short", false),
            ("Ana", "ana@example.com", "password", "password", false),
        ] {
            assert_eq!(
                check_form(name, email, pw, confirm).is_ok(),
                ok,
                "{name} {email} {pw}"
            );
        }
    }
}
