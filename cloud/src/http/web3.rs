//! Web3 challenge login (`/auth/web3`), the access token the devices API expects
//! ("generated from the Web3 challenge"). Routes and fields follow the DIMO auth server:
//! `POST /auth/web3/generate_challenge?address=0x…` answers `{state, challenge}`; the
//! wallet signs `challenge` with `personal_sign` (EIP-191); `POST /auth/web3/submit_challenge`
//! with `state` and `signature` (form or JSON) answers `{access_token, token_type,
//! expires_in}`. `GET /auth/web3/userinfo` shows whom a token names. Errors are OAuth-style
//! `{"error": "...", "error_description": "..."}`.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::bearer::{self, NewSession};
use super::client::ClientInfo;
use super::failure::{Failure, family_error_from};
use crate::accounts::jwt::Audience;
use crate::accounts::sessions::{ActiveSession, Kind};
use crate::accounts::{AccountError, users, web3};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/web3/generate_challenge", post(generate_challenge))
        .route("/auth/web3/submit_challenge", post(submit_challenge))
        .route("/auth/web3/userinfo", get(userinfo))
}

#[derive(OpenApi)]
#[openapi(
    paths(generate_challenge, submit_challenge, userinfo),
    components(schemas(
        ChallengeResponse,
        SubmitChallenge,
        AccessToken,
        UserInfo,
        Web3ErrorBody
    ))
)]
pub struct Doc;

/// Web3 errors: `{"error": "<oauth code>", "error_description": "..."}`.
#[derive(Debug)]
pub struct Web3Error(pub Failure);
family_error_from!(Web3Error);

#[derive(Debug, Serialize, ToSchema)]
pub struct Web3ErrorBody {
    error: String,
    error_description: String,
}

impl IntoResponse for Web3Error {
    fn into_response(self) -> Response {
        let code = match &self.0 {
            Failure::BadRequest(_) | Failure::Unprocessable(_) => "invalid_request",
            Failure::Unauthorized(_) => "invalid_grant",
            Failure::Forbidden(_) => "access_denied",
            Failure::NotFound(_) => "not_found",
            Failure::Conflict(_) => "conflict",
            Failure::TooMany(_) => "slow_down",
            Failure::Internal => "server_error",
        };
        let description = self.0.message();
        self.0
            .respond(serde_json::json!({ "error": code, "error_description": description }))
    }
}

/// A caller holding a Web3 access token (for the devices API).
#[derive(Debug, Clone)]
pub struct Web3User(pub ActiveSession);

impl FromRequestParts<AppState> for Web3User {
    type Rejection = Web3Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        bearer::session(
            parts,
            state,
            Audience::Web3,
            "Invalid or missing access token",
        )
        .await
        .map(Web3User)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct GenerateQuery {
    /// The wallet's 0x address.
    address: Option<String>,
    /// Accepted for DIMO compatibility; not used.
    #[allow(dead_code)]
    client_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeResponse {
    /// Send back with the signature.
    state: String,
    /// The exact text to sign with `personal_sign`.
    challenge: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubmitChallenge {
    state: String,
    /// 0x-hex 65-byte signature (r ‖ s ‖ v).
    signature: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessToken {
    access_token: String,
    token_type: String,
    expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    sub: String,
    address: Option<String>,
}

/// Creates a single-use sign-in challenge for an address.
#[utoipa::path(post, path = "/auth/web3/generate_challenge", tag = "Web3 login", params(GenerateQuery),
    responses((status = 200, body = ChallengeResponse), (status = 400, body = Web3ErrorBody), (status = 429, body = Web3ErrorBody)))]
async fn generate_challenge(
    State(state): State<AppState>,
    client: ClientInfo,
    Query(query): Query<GenerateQuery>,
) -> Result<Json<ChallengeResponse>, Web3Error> {
    let address = query
        .address
        .ok_or_else(|| Web3Error(Failure::BadRequest("address is required".into())))?;
    state.limits.login_ip.check(&client.ip)?;
    let ttl = i64::try_from(state.config.web3_challenge_ttl_secs).unwrap_or(300);
    let challenge = web3::generate(
        &state.db,
        &address,
        &state.config.web3_domain,
        &state.config.public_url,
        ttl,
    )
    .await?;
    Ok(Json(ChallengeResponse {
        state: challenge.state,
        challenge: challenge.message,
    }))
}

/// Submits the signed challenge for an access token (form-encoded or JSON body).
#[utoipa::path(post, path = "/auth/web3/submit_challenge", tag = "Web3 login",
    request_body(content = SubmitChallenge, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = AccessToken), (status = 400, body = Web3ErrorBody), (status = 401, body = Web3ErrorBody)))]
async fn submit_challenge(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<AccessToken>, Web3Error> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let submit: SubmitChallenge = if is_json {
        serde_json::from_slice(&body)
            .map_err(|e| Web3Error(Failure::BadRequest(format!("Invalid body: {e}"))))?
    } else {
        serde_urlencoded::from_bytes(&body).map_err(|_| {
            Web3Error(Failure::BadRequest(
                "state and signature are required".into(),
            ))
        })?
    };
    state.limits.login_ip.check(&client.ip)?;
    let user = match web3::submit(&state.db, &submit.state, &submit.signature).await {
        Ok(user) => user,
        Err(AccountError::InvalidToken) => {
            return Err(Web3Error(Failure::BadRequest(
                "Unknown, used or expired challenge".into(),
            )));
        }
        Err(AccountError::InvalidCredentials) => {
            return Err(Web3Error(Failure::Unauthorized(
                "Signature does not match the address".into(),
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let ttl = i64::try_from(state.config.access_token_ttl_secs).unwrap_or(3600);
    let opened = bearer::open_session(
        &state,
        NewSession {
            user_id: &user.id,
            role: user.role,
            kind: Kind::Web3,
            audience: Audience::Web3,
            ttl_secs: ttl,
            binding: None,
        },
    )
    .await?;
    Ok(Json(AccessToken {
        access_token: opened.access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
    }))
}

/// Whom the access token names.
#[utoipa::path(get, path = "/auth/web3/userinfo", tag = "Web3 login", security(("bearer" = [])),
    responses((status = 200, body = UserInfo), (status = 401, body = Web3ErrorBody)))]
async fn userinfo(
    State(state): State<AppState>,
    Web3User(session): Web3User,
) -> Result<Json<UserInfo>, Web3Error> {
    let user = users::by_id(&state.db, &session.user_id)
        .await?
        .ok_or(AccountError::NotFound)?;
    Ok(Json(UserInfo {
        sub: user.id,
        address: user.wallet_address,
    }))
}
