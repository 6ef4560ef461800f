//! apikey-hmac family (`/v1/auth`): API key and panel logins answering an access token
//! plus a `signatureToken` for `x-signed-request`, password recovery by localized email,
//! reset and change. Errors are `{"status": "error", "messages": ["..."]}`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::bearer::{self, BearerError};
use super::client::ClientInfo;
use super::failure::{Failure, family_error_from};
use super::signed_request::{self, signature_token};
use crate::accounts::email_tokens::{self, Purpose};
use crate::accounts::jwt::{Audience, NewToken};
use crate::accounts::password::check_policy;
use crate::accounts::sessions::{self, ActiveSession, Kind};
use crate::accounts::users::{self, User};
use crate::accounts::{AccountError, api_keys, now, rfc3339, rfc3339_secs};
use crate::app::AppState;
use crate::email::templates::{Lang, password_reset};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/panel-login", post(panel_login))
        .route("/v1/auth/forgot-password", post(forgot_password))
        .route("/v1/auth/reset-password", post(reset_password))
        .route("/v1/auth/change-password", post(change_password))
        .route("/v1/auth/api-keys", post(create_api_key))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        login,
        panel_login,
        forgot_password,
        reset_password,
        change_password,
        create_api_key
    ),
    components(schemas(
        ApiKeyLogin,
        PanelLogin,
        ForgotPassword,
        ResetPassword,
        ChangePassword,
        SessionEnvelope,
        SessionData,
        MessagesEnvelope,
        HmacErrorBody,
        NewApiKey,
        ApiKeyEnvelope,
        ApiKeyData
    ))
)]
pub struct Doc;

/// apikey-hmac errors: `{"status": "error", "messages": ["..."]}`.
#[derive(Debug)]
pub struct HmacError(pub Failure);
family_error_from!(HmacError);

#[derive(Debug, Serialize, ToSchema)]
pub struct HmacErrorBody {
    status: String,
    messages: Vec<String>,
}

impl IntoResponse for HmacError {
    fn into_response(self) -> Response {
        let message = self.0.message();
        self.0
            .respond(serde_json::json!({ "status": "error", "messages": [message] }))
    }
}

#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(HmacError))]
pub struct HmacJson<T>(pub T);

fn bad(message: &str) -> HmacError {
    HmacError(Failure::BadRequest(message.into()))
}

fn unauthorized(message: &str) -> HmacError {
    HmacError(Failure::Unauthorized(message.into()))
}

/// An authenticated apikey-hmac caller.
#[derive(Debug, Clone)]
pub struct HmacUser(pub ActiveSession);

impl FromRequestParts<AppState> for HmacUser {
    type Rejection = HmacError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer::authenticate(parts, state, Audience::Hmac).await {
            Ok((_, session)) => Ok(HmacUser(session)),
            Err(BearerError::Account(e)) => Err(e.into()),
            Err(_) => Err(unauthorized("Invalid or missing access token")),
        }
    }
}

/// A JSON body whose `x-signed-request` header verified against the caller's
/// `signatureToken` (write operations).
#[derive(Debug)]
pub struct Signed<T> {
    pub session: ActiveSession,
    pub body: T,
}

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for Signed<T> {
    type Rejection = HmacError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let HmacUser(session) = HmacUser::from_request_parts(&mut parts, state).await?;
        let header = parts
            .headers
            .get(signed_request::HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = Bytes::from_request(axum::extract::Request::from_parts(parts, body), state)
            .await
            .map_err(|_| bad("Request body too large or unreadable"))?;
        let token = signature_token(&state.keys.signature, &session.session_id);
        let value = signed_request::verify(&token, &bytes, header.as_deref())
            .map_err(|e| HmacError(Failure::Unauthorized(e.to_string())))?;
        let body = serde_json::from_value(value)
            .map_err(|e| bad(&format!("Invalid request body: {e}")))?;
        Ok(Signed { session, body })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyLogin {
    api_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PanelLogin {
    email: String,
    password: String,
    /// reCAPTCHA token generated by the frontend.
    captcha: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotPassword {
    email: String,
    captcha: String,
    /// `pt`, `en` or `es`; overrides `X-User-Language`.
    lang: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPassword {
    token: String,
    new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewApiKey {
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionData {
    access_token: String,
    /// Key for `x-signed-request`: hex HMAC-SHA512 of the canonical JSON body.
    signature_token: String,
    expire_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionEnvelope {
    status: String,
    data: SessionData,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagesEnvelope {
    status: String,
    messages: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyData {
    key_id: String,
    api_key: String,
    name: String,
    created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyEnvelope {
    status: String,
    data: ApiKeyData,
}

fn messages(message: &str) -> Json<MessagesEnvelope> {
    Json(MessagesEnvelope {
        status: "success".into(),
        messages: vec![message.into()],
    })
}

async fn open_session(state: &AppState, user: &User) -> Result<Json<SessionEnvelope>, HmacError> {
    let ts = now();
    let ttl = i64::try_from(state.config.hmac_token_ttl_secs).unwrap_or(7200);
    let sid = sessions::create(&state.db, &user.id, Kind::Hmac, None, ts, ttl).await?;
    let access_token = state
        .tokens
        .issue(
            Audience::Hmac,
            NewToken {
                user_id: &user.id,
                session_id: &sid,
                role: user.role.as_str(),
                now: ts,
                ttl_secs: ttl,
                binding: None,
                team: None,
            },
        )
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    Ok(Json(SessionEnvelope {
        status: "success".into(),
        data: SessionData {
            access_token,
            signature_token: signature_token(&state.keys.signature, &sid),
            expire_at: rfc3339(ts + ttl),
        },
    }))
}

async fn require_captcha(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<(), HmacError> {
    match state.captcha.verify(token, &client.ip).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(bad("Invalid captcha")),
        Err(e) => {
            tracing::error!(error = %e, "captcha verifier unavailable");
            Err(HmacError(Failure::Internal))
        }
    }
}

/// Exchanges an API key for an access token and a signature token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "apikey-hmac", request_body = ApiKeyLogin,
    responses((status = 200, body = SessionEnvelope), (status = 400, body = HmacErrorBody),
        (status = 401, body = HmacErrorBody), (status = 429, body = HmacErrorBody), (status = 500, body = HmacErrorBody)))]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    HmacJson(body): HmacJson<ApiKeyLogin>,
) -> Result<Json<SessionEnvelope>, HmacError> {
    if body.api_key.trim().is_empty() {
        return Err(bad("apiKey is required"));
    }
    state.limits.check_login(&client.ip, None)?;
    let user_id = match api_keys::authenticate(&state.db, &body.api_key).await {
        Err(AccountError::InvalidCredentials) => return Err(unauthorized("Invalid API key")),
        other => other?,
    };
    let user = users::by_id(&state.db, &user_id)
        .await?
        .ok_or_else(|| unauthorized("Invalid API key"))?;
    open_session(&state, &user).await
}

/// Web panel login with email, password and captcha.
#[utoipa::path(post, path = "/v1/auth/panel-login", tag = "apikey-hmac", request_body = PanelLogin,
    responses((status = 200, body = SessionEnvelope), (status = 400, body = HmacErrorBody),
        (status = 401, body = HmacErrorBody), (status = 429, body = HmacErrorBody), (status = 500, body = HmacErrorBody)))]
async fn panel_login(
    State(state): State<AppState>,
    client: ClientInfo,
    HmacJson(body): HmacJson<PanelLogin>,
) -> Result<Json<SessionEnvelope>, HmacError> {
    if body.email.trim().is_empty() || body.password.is_empty() || body.captcha.is_empty() {
        return Err(bad("email, password and captcha are required"));
    }
    state.limits.check_login(&client.ip, Some(&body.email))?;
    require_captcha(&state, &body.captcha, &client).await?;
    let user = users::by_email(&state.db, &body.email).await?;
    let ok = state
        .passwords
        .verify(
            user.as_ref().and_then(|u| u.password_hash.clone()),
            body.password,
        )
        .await?;
    let user = user
        .filter(|_| ok)
        .ok_or_else(|| unauthorized("Invalid email or password"))?;
    open_session(&state, &user).await
}

/// Sends a localized recovery email; the answer is the same whether or not the account exists.
#[utoipa::path(post, path = "/v1/auth/forgot-password", tag = "apikey-hmac", request_body = ForgotPassword,
    params(("X-User-Language" = Option<String>, Header, description = "pt | en | es")),
    responses((status = 200, body = MessagesEnvelope), (status = 400, body = HmacErrorBody),
        (status = 429, body = HmacErrorBody), (status = 500, body = HmacErrorBody)))]
async fn forgot_password(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    HmacJson(body): HmacJson<ForgotPassword>,
) -> Result<Json<MessagesEnvelope>, HmacError> {
    if !users::is_plausible_email(&body.email) || body.captcha.is_empty() {
        return Err(bad("A valid email and a captcha are required"));
    }
    state.limits.check_login(&client.ip, Some(&body.email))?;
    require_captcha(&state, &body.captcha, &client).await?;
    let lang = Lang::choose(
        body.lang.as_deref(),
        headers.get("x-user-language").and_then(|v| v.to_str().ok()),
    );
    let user = users::by_email(&state.db, &body.email).await?;
    let ttl = i64::try_from(state.config.email_link_ttl_secs).unwrap_or(3600);
    // The same database work happens for unknown addresses, and mail leaves on a
    // background task, so neither the answer nor its timing tells whether the account exists.
    let subject = user.as_ref().map(|u| u.id.clone()).unwrap_or_default();
    let token = email_tokens::create(&state.db, Purpose::Reset, &subject, ttl).await?;
    if let Some(email) = user.and_then(|u| u.email) {
        let link = format!(
            "{}/reset-password?token={token}",
            state.config.public_url.trim_end_matches('/')
        );
        let minutes = state.config.email_link_ttl_secs.div_ceil(60);
        state
            .mailer
            .send(password_reset(&email, lang, &link, minutes));
    }
    Ok(messages(
        "If the email exists, a recovery link has been sent",
    ))
}

/// Sets a new password with an emailed token and revokes every session of the account.
#[utoipa::path(post, path = "/v1/auth/reset-password", tag = "apikey-hmac", request_body = ResetPassword,
    responses((status = 200, body = MessagesEnvelope), (status = 400, body = HmacErrorBody),
        (status = 429, body = HmacErrorBody), (status = 500, body = HmacErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    client: ClientInfo,
    HmacJson(body): HmacJson<ResetPassword>,
) -> Result<Json<MessagesEnvelope>, HmacError> {
    state.limits.login_ip.check(&client.ip)?;
    check_policy(&body.new_password)?;
    let user_id = email_tokens::consume(&state.db, Purpose::Reset, &body.token)
        .await
        .map_err(|_| bad("Invalid or expired recovery token"))?;
    let user = users::by_id(&state.db, &user_id)
        .await?
        .ok_or_else(|| bad("Invalid or expired recovery token"))?;
    let hash = state.passwords.hash(body.new_password).await?;
    users::set_password(&state.db, &user.id, &hash).await?;
    sessions::revoke_all(&state.db, &user.id, now()).await?;
    Ok(messages("Password reset successfully"))
}

/// Changes the password; every other session of the account is revoked.
#[utoipa::path(post, path = "/v1/auth/change-password", tag = "apikey-hmac", request_body = ChangePassword,
    security(("bearer" = [])),
    responses((status = 200, body = MessagesEnvelope), (status = 400, body = HmacErrorBody),
        (status = 401, body = HmacErrorBody), (status = 429, body = HmacErrorBody), (status = 500, body = HmacErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    HmacUser(session): HmacUser,
    HmacJson(body): HmacJson<ChangePassword>,
) -> Result<Json<MessagesEnvelope>, HmacError> {
    state.limits.login_account.check(&session.user_id)?;
    check_policy(&body.new_password)?;
    let user = users::by_id(&state.db, &session.user_id)
        .await?
        .ok_or(AccountError::NotFound)?;
    if !state
        .passwords
        .verify(user.password_hash.clone(), body.current_password)
        .await?
    {
        return Err(unauthorized("Current password is incorrect"));
    }
    let hash = state.passwords.hash(body.new_password).await?;
    users::set_password(&state.db, &user.id, &hash).await?;
    sessions::revoke_all_except(&state.db, &user.id, &session.session_id, now()).await?;
    Ok(messages("Password updated successfully"))
}

/// Creates an API key for `/v1/auth/login` (a write operation: requires `x-signed-request`).
#[utoipa::path(post, path = "/v1/auth/api-keys", tag = "apikey-hmac", request_body = NewApiKey,
    security(("bearer" = [])),
    params(("x-signed-request" = String, Header, description = "hex HMAC-SHA512 of the canonical JSON body under signatureToken")),
    responses((status = 201, body = ApiKeyEnvelope), (status = 400, body = HmacErrorBody),
        (status = 401, body = HmacErrorBody), (status = 500, body = HmacErrorBody)))]
async fn create_api_key(
    State(state): State<AppState>,
    signed: Signed<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyEnvelope>), HmacError> {
    let (key, secret) = api_keys::create(
        &state.db,
        &signed.session.user_id,
        &signed.body.name,
        "ak_live_",
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyEnvelope {
            status: "success".into(),
            data: ApiKeyData {
                key_id: key.id,
                api_key: secret,
                name: key.name,
                created_at: rfc3339_secs(key.created_at),
            },
        }),
    ))
}
