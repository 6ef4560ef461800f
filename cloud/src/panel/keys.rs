//! API keys: create (the secret is shown once, on the answer to the form, and never
//! again), list with last use, delete.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PanelError;
use super::form::SessionForm;
use super::layout::{self, Notice, Section, when};
use super::session::PanelUser;
use crate::accounts::{AccountError, api_keys};
use crate::app::AppState;

/// Prefix of keys made here (the same as `/v1/auth/api-keys`).
const PREFIX: &str = "ak_live_";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/keys", get(show).post(create))
        .route("/panel/keys/{key_id}/delete", post(delete))
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NewKey {
    name: String,
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

async fn keys_page(
    state: &AppState,
    user: &PanelUser,
    notice: Option<(Notice, &str)>,
    created: Option<(&str, &str)>,
) -> Result<Markup, PanelError> {
    let keys = api_keys::list(&state.db, user.id()).await?;
    Ok(layout::page(
        "API keys",
        user,
        Section::Keys,
        html! {
            h1 { "API keys" }
            p { "Exchange a key for an access token at " code { "POST /v1/auth/login" } "." }
            @if let Some((kind, text)) = notice { (layout::notice(kind, text)) }
            @if let Some((name, secret)) = created {
                section.card.secret role="status" {
                    h2 { "Key “" (name) "” created" }
                    p { strong { "Copy it now: it will not be shown again." } }
                    div.copy {
                        label for="new-key" { "The new key" }
                        input #new-key.mono type="text" readonly value=(secret) data-new-key;
                        button type="button" data-action="copy" data-target="new-key" { "Copy" }
                    }
                }
            }
            section.card {
                h2 { "Create a key" }
                form method="post" action="/panel/keys" {
                    (layout::csrf(&user.csrf))
                    (layout::field("Name (what uses it)", "name", "text", "off", ""))
                    button type="submit" { "Create key" }
                }
            }
            h2 { "Your keys" }
            @if keys.is_empty() {
                p { "No keys yet." }
            } @else {
                div.scroll {
                    table.keys {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { span.sr-only { "Actions" } } } }
                        tbody {
                            @for k in &keys {
                                tr {
                                    td { (k.name) }
                                    td { (when(k.created_at)) }
                                    td { (k.last_used_at.map(when).unwrap_or_else(|| "never".into())) }
                                    td {
                                        form method="post" action=(format!("/panel/keys/{}/delete", k.id)) data-confirm=(format!("Delete the key “{}”? Programs using it will stop working.", k.name)) {
                                            (layout::csrf(&user.csrf))
                                            button.danger type="submit" aria-label=(format!("Delete key {}", k.name)) { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
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
    let notice = match q.done.as_deref() {
        Some("deleted") => Some((Notice::Ok, "Key deleted.")),
        _ => None,
    };
    keys_page(&state, &user, notice, None).await
}

async fn create(
    State(state): State<AppState>,
    SessionForm { user, form }: SessionForm<NewKey>,
) -> Result<Response, PanelError> {
    match api_keys::create(&state.db, user.id(), &form.name, PREFIX).await {
        Ok((key, secret)) => Ok(keys_page(&state, &user, None, Some((&key.name, &secret)))
            .await?
            .into_response()),
        Err(AccountError::BadInput(why)) => {
            let text = format!("The key's {why}.");
            let page = keys_page(&state, &user, Some((Notice::Problem, &text)), None).await?;
            Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(key_id): Path<String>,
    SessionForm { user, .. }: SessionForm<Empty>,
) -> Result<Response, PanelError> {
    // Another user's key is "not found", exactly like a missing one.
    api_keys::delete(&state.db, user.id(), &key_id).await?;
    Ok(Redirect::to("/panel/keys?done=deleted").into_response())
}
