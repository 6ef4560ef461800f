//! auth-v1 family (`/api/v1/auth`): username/password login with rotating refresh tokens,
//! logout, and API key management. Errors are `{"error": "..."}`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::bearer;
use super::client::ClientInfo;
use super::failure::{Failure, family_error_from};
use crate::accounts::jwt::{Audience, NewToken};
use crate::accounts::sessions::{self, ActiveSession, Kind};
use crate::accounts::{AccountError, api_keys, now, rfc3339_secs, users};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/keys", post(create_key).get(list_keys))
        .route("/api/v1/auth/keys/{key_id}", delete(delete_key))
}

#[derive(OpenApi)]
#[openapi(
    paths(login, refresh, logout, create_key, list_keys, delete_key),
    components(schemas(
        LoginRequest,
        LoginResponse,
        LoginUser,
        RefreshRequest,
        RefreshResponse,
        LogoutResponse,
        CreateKeyRequest,
        CreatedKey,
        KeyInfo,
        AuthV1ErrorBody
    ))
)]
pub struct Doc;

/// auth-v1 errors: `{"error": "..."}`.
#[derive(Debug)]
pub struct AuthV1Error(pub Failure);
family_error_from!(AuthV1Error);

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthV1ErrorBody {
    error: String,
}

impl IntoResponse for AuthV1Error {
    fn into_response(self) -> Response {
        let message = self.0.message();
        self.0.respond(serde_json::json!({ "error": message }))
    }
}

#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AuthV1Error))]
pub struct AuthV1Json<T>(pub T);

fn unauthorized(message: &str) -> AuthV1Error {
    AuthV1Error(Failure::Unauthorized(message.into()))
}

/// An authenticated auth-v1 caller.
#[derive(Debug, Clone)]
pub struct AuthV1User(pub ActiveSession);

impl FromRequestParts<AppState> for AuthV1User {
    type Rejection = AuthV1Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        bearer::session(parts, state, Audience::AuthV1, "Authentication required")
            .await
            .map(AuthV1User)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginUser {
    id: String,
    username: String,
    email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    token: String,
    expires_in: i64,
    user: LoginUser,
    /// Single-use: each refresh answers a new one. Presenting a spent one revokes the session.
    #[serde(rename = "refreshToken")]
    refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    #[serde(rename = "refreshToken")]
    refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshResponse {
    token: String,
    expires_in: i64,
    #[serde(rename = "refreshToken")]
    refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutResponse {
    message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyRequest {
    name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    key_id: String,
    /// Shown once; only its SHA-256 digest is stored.
    api_key: String,
    name: String,
    created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    key_id: String,
    name: String,
    created_at: String,
    last_used: Option<String>,
}

fn access_token(
    state: &AppState,
    session: &ActiveSession,
    ts: i64,
) -> Result<(String, i64), AccountError> {
    let ttl = i64::try_from(state.config.access_token_ttl_secs).unwrap_or(3600);
    // An access token never outlives its session.
    let ttl = ttl.min(session.expires_at - ts).max(1);
    let token = state
        .tokens
        .issue(
            Audience::AuthV1,
            NewToken {
                user_id: &session.user_id,
                session_id: &session.session_id,
                role: session.role.as_str(),
                now: ts,
                ttl_secs: ttl,
                binding: None,
                team: None,
            },
        )
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    Ok((token, ttl))
}

/// Logs in with user name (or email) and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth-v1", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = AuthV1ErrorBody),
        (status = 401, body = AuthV1ErrorBody, description = "Always `Invalid credentials`, whether or not the user exists"),
        (status = 429, body = AuthV1ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    AuthV1Json(body): AuthV1Json<LoginRequest>,
) -> Result<Json<LoginResponse>, AuthV1Error> {
    if body.username.trim().is_empty() || body.password.is_empty() {
        return Err(AuthV1Error(Failure::BadRequest(
            "username and password are required".into(),
        )));
    }
    state.limits.check_login(&client.ip, Some(&body.username))?;
    let user = users::by_login(&state.db, &body.username).await?;
    let ok = state
        .passwords
        .verify(
            user.as_ref().and_then(|u| u.password_hash.clone()),
            body.password,
        )
        .await?;
    let user = user
        .filter(|_| ok)
        .ok_or_else(|| unauthorized("Invalid credentials"))?;
    let ts = now();
    let max_age = i64::try_from(state.config.session_max_age_secs).unwrap_or(i64::MAX / 2);
    let sid = sessions::create(&state.db, &user.id, Kind::AuthV1, None, ts, max_age).await?;
    let session = sessions::active(&state.db, &sid, ts)
        .await?
        .ok_or(AccountError::NotFound)?;
    let (token, expires_in) = access_token(&state, &session, ts)?;
    let refresh_token = sessions::issue_refresh(&state.db, &sid, ts).await?;
    Ok(Json(LoginResponse {
        token,
        expires_in,
        user: LoginUser {
            username: user
                .username
                .clone()
                .or_else(|| user.email.clone())
                .unwrap_or_default(),
            id: user.id,
            email: user.email,
        },
        refresh_token,
    }))
}

/// Trades a refresh token for a new access token and a new refresh token.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth-v1", request_body = RefreshRequest,
    responses((status = 200, body = RefreshResponse), (status = 400, body = AuthV1ErrorBody),
        (status = 401, body = AuthV1ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    AuthV1Json(body): AuthV1Json<RefreshRequest>,
) -> Result<Json<RefreshResponse>, AuthV1Error> {
    let ts = now();
    let session = match sessions::spend_refresh(&state.db, body.refresh_token.trim(), ts).await {
        Ok(session) => session,
        Err(AccountError::InvalidToken | AccountError::TokenReuse) => {
            return Err(unauthorized("Invalid or expired refresh token"));
        }
        Err(e) => return Err(e.into()),
    };
    let (token, expires_in) = access_token(&state, &session, ts)?;
    let refresh_token = sessions::issue_refresh(&state.db, &session.session_id, ts).await?;
    Ok(Json(RefreshResponse {
        token,
        expires_in,
        refresh_token,
    }))
}

/// Revokes the current session: its access and refresh tokens stop working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth-v1", security(("bearer" = [])),
    responses((status = 200, body = LogoutResponse), (status = 401, body = AuthV1ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    AuthV1User(session): AuthV1User,
) -> Result<Json<LogoutResponse>, AuthV1Error> {
    sessions::revoke(&state.db, &session.session_id, now()).await?;
    Ok(Json(LogoutResponse {
        message: "Successfully logged out".into(),
    }))
}

/// Creates an API key (the body and its `name` are optional).
#[utoipa::path(post, path = "/api/v1/auth/keys", tag = "auth-v1", security(("bearer" = [])),
    request_body(content = CreateKeyRequest, description = "Optional"),
    responses((status = 201, body = CreatedKey), (status = 400, body = AuthV1ErrorBody),
        (status = 401, body = AuthV1ErrorBody)))]
async fn create_key(
    State(state): State<AppState>,
    AuthV1User(session): AuthV1User,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedKey>), AuthV1Error> {
    let name = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<CreateKeyRequest>(&body)
            .map_err(|e| AuthV1Error(Failure::BadRequest(format!("Invalid JSON body: {e}"))))?
            .name
    };
    let name = name.unwrap_or_else(|| "API key".into());
    let (key, secret) = api_keys::create(&state.db, &session.user_id, &name, "sk_live_").await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key_id: key.id,
            api_key: secret,
            name: key.name,
            created_at: rfc3339_secs(key.created_at),
        }),
    ))
}

/// Lists the caller's API keys (never their secrets).
#[utoipa::path(get, path = "/api/v1/auth/keys", tag = "auth-v1", security(("bearer" = [])),
    responses((status = 200, body = [KeyInfo]), (status = 401, body = AuthV1ErrorBody)))]
async fn list_keys(
    State(state): State<AppState>,
    AuthV1User(session): AuthV1User,
) -> Result<Json<Vec<KeyInfo>>, AuthV1Error> {
    let keys = api_keys::list(&state.db, &session.user_id).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| KeyInfo {
                key_id: k.id,
                name: k.name,
                created_at: rfc3339_secs(k.created_at),
                last_used: k.last_used_at.map(rfc3339_secs),
            })
            .collect(),
    ))
}

/// Deletes one of the caller's API keys; another user's key is "not found".
#[utoipa::path(delete, path = "/api/v1/auth/keys/{keyId}", tag = "auth-v1", security(("bearer" = [])),
    params(("keyId" = String, Path, description = "The key's id")),
    responses((status = 204), (status = 401, body = AuthV1ErrorBody), (status = 404, body = AuthV1ErrorBody)))]
async fn delete_key(
    State(state): State<AppState>,
    AuthV1User(session): AuthV1User,
    Path(key_id): Path<String>,
) -> Result<StatusCode, AuthV1Error> {
    match api_keys::delete(&state.db, &session.user_id, &key_id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(AccountError::NotFound) => {
            Err(AuthV1Error(Failure::NotFound("API key not found".into())))
        }
        Err(e) => Err(e.into()),
    }
}
