//! Users API (`/api/v1/users`): sign in with email and password or an API key, read the
//! account, create API keys. Errors use [`UsersError`].

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::client::ClientInfo;
use super::failure::Failure;
use super::users_auth::{UsersAuth, UsersError, UsersErrorBody, UsersJson, issue_token};
use crate::accounts::{AccountError, api_keys, users};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/signin", post(signin))
        .route("/api/v1/users/token", post(token))
        .route("/api/v1/users/{user_id}", get(get_user))
        .route("/api/v1/users/{user_id}/api_key", post(create_api_key))
}

#[derive(OpenApi)]
#[openapi(
    paths(signin, token, get_user, create_api_key),
    components(schemas(
        SigninRequest,
        TokenRequest,
        TokenResponse,
        UserResponse,
        ApiKeyRequest,
        ApiKeyResponse,
        UsersErrorBody
    ))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SigninRequest {
    email: String,
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    api_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    user_id: String,
    /// `ipHash.uaHash.<jwt>`, valid only from the address and User-Agent it was issued to.
    token: String,
    expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    user_id: String,
    name: String,
    email: Option<String>,
    role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiKeyRequest {
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    /// Shown once; only its SHA-256 digest is stored.
    api_key: String,
}

fn invalid(message: &str) -> UsersError {
    UsersError(Failure::Unauthorized(message.into()))
}

/// Exchanges email and password for a token.
#[utoipa::path(post, path = "/api/v1/users/signin", tag = "Users API", request_body = SigninRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = UsersErrorBody),
        (status = 401, body = UsersErrorBody), (status = 429, body = UsersErrorBody)))]
async fn signin(
    State(state): State<AppState>,
    client: ClientInfo,
    UsersJson(body): UsersJson<SigninRequest>,
) -> Result<Json<TokenResponse>, UsersError> {
    if body.email.trim().is_empty() || body.password.is_empty() {
        return Err(UsersError(Failure::BadRequest(
            "email and password are required".into(),
        )));
    }
    state.limits.check_login(&client.ip, Some(&body.email))?;
    let user = users::by_email(&state.db, &body.email).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = state.passwords.verify(hash, body.password).await?;
    let user = user
        .filter(|_| ok)
        .ok_or_else(|| invalid("Invalid email or password"))?;
    let (token, expires_in) = issue_token(&state, &user.id, user.role, &client).await?;
    Ok(Json(TokenResponse {
        user_id: user.id,
        token,
        expires_in,
    }))
}

/// Exchanges an API key for a token.
#[utoipa::path(post, path = "/api/v1/users/token", tag = "Users API", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = UsersErrorBody),
        (status = 401, body = UsersErrorBody), (status = 429, body = UsersErrorBody)))]
async fn token(
    State(state): State<AppState>,
    client: ClientInfo,
    UsersJson(body): UsersJson<TokenRequest>,
) -> Result<Json<TokenResponse>, UsersError> {
    if body.api_key.trim().is_empty() {
        return Err(UsersError(Failure::BadRequest(
            "api_key is required".into(),
        )));
    }
    state.limits.check_login(&client.ip, None)?;
    let user_id = match api_keys::authenticate(&state.db, &body.api_key).await {
        Err(AccountError::InvalidCredentials) => return Err(invalid("Invalid API key")),
        other => other?,
    };
    let user = users::by_id(&state.db, &user_id)
        .await?
        .ok_or_else(|| invalid("Invalid API key"))?;
    let (token, expires_in) = issue_token(&state, &user.id, user.role, &client).await?;
    Ok(Json(TokenResponse {
        user_id: user.id,
        token,
        expires_in,
    }))
}

/// Reads an account: one's own, or any as admin.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "Users API",
    params(("user_id" = String, Path, description = "The user id from signin or token")),
    security(("bearer" = [])),
    responses((status = 200, body = UserResponse), (status = 401, body = UsersErrorBody),
        (status = 403, body = UsersErrorBody), (status = 404, body = UsersErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    auth: UsersAuth,
    Path(user_id): Path<String>,
) -> Result<Json<UserResponse>, UsersError> {
    auth.ensure_access(&user_id)?;
    let response = if user_id == auth.user_id {
        // The extractor already loaded the caller's account with its session.
        let s = auth.session;
        UserResponse {
            user_id: s.user_id,
            name: s.name,
            email: s.email,
            role: s.role.as_str().into(),
        }
    } else {
        let user = users::by_id(&state.db, &user_id)
            .await?
            .ok_or_else(|| UsersError(Failure::NotFound("User not found".into())))?;
        UserResponse {
            user_id: user.id,
            name: user.name,
            email: user.email,
            role: user.role.as_str().into(),
        }
    };
    Ok(Json(response))
}

/// Creates another API key for the account.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/api_key", tag = "Users API",
    params(("user_id" = String, Path, description = "The user id from signin or token")),
    request_body = ApiKeyRequest, security(("bearer" = [])),
    responses((status = 200, body = ApiKeyResponse), (status = 400, body = UsersErrorBody),
        (status = 401, body = UsersErrorBody), (status = 403, body = UsersErrorBody),
        (status = 404, body = UsersErrorBody)))]
async fn create_api_key(
    State(state): State<AppState>,
    auth: UsersAuth,
    Path(user_id): Path<String>,
    UsersJson(body): UsersJson<ApiKeyRequest>,
) -> Result<Json<ApiKeyResponse>, UsersError> {
    auth.ensure_access(&user_id)?;
    if user_id != auth.user_id && users::by_id(&state.db, &user_id).await?.is_none() {
        return Err(UsersError(Failure::NotFound("User not found".into())));
    }
    let (_, secret) = api_keys::create(&state.db, &user_id, &body.name, "key_live_").await?;
    Ok(Json(ApiKeyResponse { api_key: secret }))
}
