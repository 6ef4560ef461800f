//! Wallet login and wallet linking through a browser wallet (`window.ethereum`,
//! `personal_sign`): the page's script asks for a Web3 challenge, the wallet signs it, and
//! the signature comes back here. Login uses the Web3 domain functions as they are (an
//! unknown wallet gets an account, as with `/auth/web3`); linking proves the wallet the
//! same way, then attaches it to the signed-in account with `users::link_wallet`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::error::PanelError;
use super::form::{SessionJson, VisitorJson};
use super::session::{self, Tls, safe_next};
use crate::accounts::{AccountError, users, web3};
use crate::app::AppState;
use crate::http::client::ClientInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/login/wallet/challenge", post(login_challenge))
        .route("/panel/login/wallet", post(login))
        .route("/panel/account/wallet/challenge", post(link_challenge))
        .route("/panel/account/wallet", post(link))
}

#[derive(Debug, Deserialize)]
pub struct ChallengeRequest {
    address: String,
}

#[derive(Debug, Deserialize)]
pub struct Signed {
    state: String,
    signature: String,
    #[serde(default)]
    next: Option<String>,
}

async fn challenge(state: &AppState, address: &str) -> Result<Json<serde_json::Value>, PanelError> {
    let ttl = i64::try_from(state.config.web3_challenge_ttl_secs).unwrap_or(300);
    let c = web3::generate(
        &state.db,
        address,
        &state.config.web3_domain,
        &state.config.public_url,
        ttl,
    )
    .await?;
    Ok(Json(json!({ "state": c.state, "message": c.message })))
}

async fn login_challenge(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorJson { body, .. }: VisitorJson<ChallengeRequest>,
) -> Response {
    let run = async {
        state.limits.login_ip.check(&client.ip)?;
        challenge(&state, &body.address).await
    };
    run.await
        .map_or_else(PanelError::into_json, IntoResponse::into_response)
}

fn signature_refused(e: AccountError) -> PanelError {
    match e {
        AccountError::InvalidToken => {
            PanelError::BadInput("The challenge is unknown, used or expired: try again.".into())
        }
        AccountError::InvalidCredentials => {
            PanelError::BadInput("The signature does not match the wallet.".into())
        }
        other => other.into(),
    }
}

async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    tls: Tls,
    VisitorJson { body, .. }: VisitorJson<Signed>,
) -> Response {
    let run = async {
        state.limits.login_ip.check(&client.ip)?;
        let user = web3::submit(&state.db, &body.state, &body.signature)
            .await
            .map_err(signature_refused)?;
        let cookie = session::open(&state, &user.id, tls).await?;
        let next = safe_next(body.next.as_deref());
        Ok::<_, PanelError>((
            [(header::SET_COOKIE, cookie)],
            Json(json!({ "redirect": next })),
        ))
    };
    run.await
        .map_or_else(PanelError::into_json, IntoResponse::into_response)
}

async fn link_challenge(
    State(state): State<AppState>,
    SessionJson { user, body }: SessionJson<ChallengeRequest>,
) -> Response {
    let run = async {
        state.limits.login_account.check(user.id())?;
        challenge(&state, &body.address).await
    };
    run.await
        .map_or_else(PanelError::into_json, IntoResponse::into_response)
}

async fn link(
    State(state): State<AppState>,
    SessionJson { user, body }: SessionJson<Signed>,
) -> Response {
    let run = async {
        state.limits.login_account.check(user.id())?;
        let address = web3::spend(&state.db, &body.state, &body.signature)
            .await
            .map_err(signature_refused)?;
        match users::link_wallet(&state.db, user.id(), &address).await {
            Ok(()) => {}
            Err(AccountError::Conflict) => {
                return Err(PanelError::BadInput(
                    "That wallet already belongs to another account.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Json(
            json!({ "redirect": "/panel/account?done=wallet-linked" }),
        ))
    };
    run.await
        .map_or_else(PanelError::into_json, IntoResponse::into_response)
}
