//! team-auth family (`/api/...`): registration confirmed by email (creating the default
//! team and project), login, refresh, password recovery (routes spelled as documented:
//! `forgot-passsword`, `reset-passsword`), and an existence check rate-limited hard.
//! Answers carry a `userToken` and a team-scoped `vaultToken`; errors are
//! `{"status": "error", "message": "..."}`.
//!
//! Registration reveals nothing about existing accounts: every well-formed request gets
//! a registration token (`userToken`, good only for resending the mail) and `vaultToken:
//! null`; a new address receives a verification link, an existing one a notice instead.

use axum::extract::{FromRequest, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::bearer;
use super::client::ClientInfo;
use super::failure::{Failure, family_error_from};
use crate::accounts::email_tokens::{self, Purpose};
use crate::accounts::jwt::{Audience, NewToken};
use crate::accounts::password::check_policy;
use crate::accounts::sessions::{self, Kind};
use crate::accounts::teams::{self, Registration};
use crate::accounts::{AccountError, Role, now, users};
use crate::app::AppState;
use crate::email::templates::simple;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/register", post(register))
        .route("/api/verify-email/{token}", get(verify_email))
        .route("/api/resend-email-verification", get(resend_verification))
        .route("/api/refresh", get(refresh))
        .route("/api/forgot-passsword", post(forgot_password))
        .route("/api/reset-passsword", post(reset_password))
        .route("/api/exist-email/{email}", get(exist_email))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        login,
        register,
        verify_email,
        resend_verification,
        refresh,
        forgot_password,
        reset_password,
        exist_email
    ),
    components(schemas(
        LoginBody,
        RegisterBody,
        Tokens,
        ForgotBody,
        ResetBody,
        StatusOk,
        TeamErrorBody
    ))
)]
pub struct Doc;

/// team-auth errors: `{"status": "error", "message": "..."}`.
#[derive(Debug)]
pub struct TeamError(pub Failure);
family_error_from!(TeamError);

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamErrorBody {
    status: String,
    message: String,
}

impl IntoResponse for TeamError {
    fn into_response(self) -> Response {
        let message = self.0.message();
        self.0
            .respond(serde_json::json!({ "status": "error", "message": message }))
    }
}

#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(TeamError))]
pub struct TeamJson<T>(pub T);

fn bad(message: &str) -> TeamError {
    TeamError(Failure::BadRequest(message.into()))
}

fn unauthorized(message: &str) -> TeamError {
    TeamError(Failure::Unauthorized(message.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    email: String,
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    email: String,
    password: String,
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    user_token: String,
    /// Scoped to the user's team; `null` before the email is verified.
    vault_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotBody {
    email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetBody {
    token: String,
    new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusOk {
    status: String,
}

#[derive(Debug, Deserialize)]
pub struct CaptchaQuery {
    capcha: Option<String>,
}

fn status_ok() -> Json<StatusOk> {
    Json(StatusOk {
        status: "ok".into(),
    })
}

/// Opens a team session ending at `expires_at` and answers its token pair.
async fn team_tokens(
    state: &AppState,
    user_id: &str,
    role: Role,
    team_id: &str,
    expires_at: i64,
) -> Result<Tokens, TeamError> {
    let ts = now();
    let sid = sessions::create(
        &state.db,
        user_id,
        Kind::Team,
        Some(team_id),
        ts,
        expires_at - ts,
    )
    .await?;
    let ttl = i64::try_from(state.config.access_token_ttl_secs)
        .unwrap_or(3600)
        .min(expires_at - ts)
        .max(1);
    let issue = |aud, team: Option<String>| {
        state
            .tokens
            .issue(
                aud,
                NewToken {
                    user_id,
                    session_id: &sid,
                    role: role.as_str(),
                    now: ts,
                    ttl_secs: ttl,
                    binding: None,
                    team,
                },
            )
            .map_err(|e| TeamError::from(AccountError::Internal(e.to_string())))
    };
    Ok(Tokens {
        user_token: issue(Audience::TeamUser, None)?,
        vault_token: Some(issue(Audience::TeamVault, Some(team_id.into()))?),
    })
}

fn max_age(state: &AppState) -> i64 {
    i64::try_from(state.config.session_max_age_secs).unwrap_or(i64::MAX / 4)
}

/// Sends the verification link (new address) or an "already registered" notice.
async fn send_registration_mail(state: &AppState, reg: &Registration) -> Result<(), TeamError> {
    let ttl = i64::try_from(state.config.email_link_ttl_secs).unwrap_or(3600);
    // A token is created either way, so both paths do the same database work.
    let token = email_tokens::create(&state.db, Purpose::Verify, &reg.id, ttl).await?;
    let base = state.config.public_url.trim_end_matches('/');
    if reg.existing_user_id.is_some() {
        state.mailer.send(simple(
            &reg.email,
            "You already have an account",
            &[
                "Someone (hopefully you) tried to register again with this address.",
                "You already have an account: log in, or reset your password if you forgot it.",
            ],
            None,
        ));
    } else {
        let link = format!("{base}/api/verify-email/{token}");
        state.mailer.send(simple(
            &reg.email,
            "Confirm your email address",
            &[
                "Welcome to Pitlane. Confirm your address to activate your account.",
                "This link expires in one hour.",
            ],
            Some(("Confirm email", &link)),
        ));
    }
    Ok(())
}

fn registration_token(state: &AppState, reg: &Registration) -> Result<String, TeamError> {
    state
        .tokens
        .issue(
            Audience::TeamRegistration,
            NewToken {
                user_id: &reg.id,
                session_id: &reg.id,
                role: Role::Client.as_str(),
                now: now(),
                ttl_secs: 24 * 3600,
                binding: None,
                team: None,
            },
        )
        .map_err(|e| AccountError::Internal(e.to_string()).into())
}

/// Logs in with email and password.
#[utoipa::path(post, path = "/api/login", tag = "team-auth", request_body = LoginBody,
    responses((status = 200, body = Tokens), (status = 400, body = TeamErrorBody),
        (status = 401, body = TeamErrorBody), (status = 429, body = TeamErrorBody)))]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    TeamJson(body): TeamJson<LoginBody>,
) -> Result<Json<Tokens>, TeamError> {
    if body.email.trim().is_empty() || body.password.is_empty() {
        return Err(bad("email and password are required"));
    }
    state.limits.check_login(&client.ip, Some(&body.email))?;
    let user = users::by_email(&state.db, &body.email).await?;
    let ok = state
        .passwords
        .verify(
            user.as_ref().and_then(|u| u.password_hash.clone()),
            body.password,
        )
        .await?;
    let user = user
        .filter(|u| ok && u.email_verified)
        .ok_or_else(|| unauthorized("Invalid email or password"))?;
    let team = teams::default_team(&state.db, &user.id)
        .await?
        .ok_or_else(|| unauthorized("Invalid email or password"))?;
    Ok(Json(
        team_tokens(&state, &user.id, user.role, &team, now() + max_age(&state)).await?,
    ))
}

/// Registers; a confirmation email follows. Answers alike for new and existing addresses.
#[utoipa::path(post, path = "/api/register", tag = "team-auth", request_body = RegisterBody,
    responses((status = 200, body = Tokens, description = "userToken is a registration token; vaultToken is null until verification"),
        (status = 400, body = TeamErrorBody), (status = 429, body = TeamErrorBody)))]
async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    TeamJson(body): TeamJson<RegisterBody>,
) -> Result<Json<Tokens>, TeamError> {
    if !users::is_plausible_email(&body.email) {
        return Err(bad("A valid email is required"));
    }
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("name must be 1 to 100 characters"));
    }
    check_policy(&body.password)?;
    state.limits.check_login(&client.ip, Some(&body.email))?;
    let hash = state.passwords.hash(body.password).await?;
    let reg = teams::register(&state.db, &body.email, name, &hash).await?;
    send_registration_mail(&state, &reg).await?;
    Ok(Json(Tokens {
        user_token: registration_token(&state, &reg)?,
        vault_token: None,
    }))
}

/// Confirms the address: creates the account, its default team and default project.
#[utoipa::path(get, path = "/api/verify-email/{token}", tag = "team-auth",
    params(("token" = String, Path, description = "The token from the confirmation email")),
    responses((status = 200, body = Tokens), (status = 400, body = TeamErrorBody)))]
async fn verify_email(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Tokens>, TeamError> {
    let invalid = || bad("Invalid or expired verification link");
    let reg_id = email_tokens::consume(&state.db, Purpose::Verify, &token)
        .await
        .map_err(|_| invalid())?;
    let reg = teams::registration(&state.db, &reg_id)
        .await?
        .ok_or_else(invalid)?;
    let (user, team) = match teams::complete(&state.db, &reg).await {
        Ok(done) => done,
        Err(AccountError::InvalidToken | AccountError::Conflict) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(
        team_tokens(&state, &user.id, user.role, &team, now() + max_age(&state)).await?,
    ))
}

/// Sends the confirmation email again (captcha required; Bearer: the registration's userToken).
#[utoipa::path(get, path = "/api/resend-email-verification", tag = "team-auth", security(("bearer" = [])),
    params(("capcha" = String, Query, description = "Captcha token (spelled as documented)")),
    responses((status = 200, body = Tokens), (status = 400, body = TeamErrorBody), (status = 401, body = TeamErrorBody)))]
async fn resend_verification(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Query(query): Query<CaptchaQuery>,
) -> Result<Json<Tokens>, TeamError> {
    let token = bearer_token(&headers).ok_or_else(|| unauthorized("Invalid or missing token"))?;
    let claims = state
        .tokens
        .verify(&token, Audience::TeamRegistration, now())
        .map_err(|_| unauthorized("Invalid or missing token"))?;
    state.limits.login_ip.check(&client.ip)?;
    let captcha = query.capcha.unwrap_or_default();
    match state.captcha.verify(&captcha, &client.ip).await {
        Ok(true) => {}
        Ok(false) => return Err(bad("Invalid captcha")),
        Err(e) => {
            tracing::error!(error = %e, "captcha verifier unavailable");
            return Err(TeamError(Failure::Internal));
        }
    }
    let reg = teams::registration(&state.db, &claims.sub)
        .await?
        .ok_or_else(|| unauthorized("Invalid or missing token"))?;
    if reg.completed {
        return Err(bad("Email already verified"));
    }
    state.limits.login_account.check(&reg.email)?;
    send_registration_mail(&state, &reg).await?;
    Ok(Json(Tokens {
        user_token: token,
        vault_token: None,
    }))
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// Trades a valid userToken for a new pair; the old session is revoked (rotation) and the
/// new one keeps its absolute expiry.
#[utoipa::path(get, path = "/api/refresh", tag = "team-auth", security(("bearer" = [])),
    responses((status = 200, body = Tokens), (status = 401, body = TeamErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Tokens>, TeamError> {
    let token = bearer_token(&headers).ok_or_else(|| unauthorized("Invalid or expired token"))?;
    let (_, session) = bearer::verify(&state, &token, Audience::TeamUser)
        .await
        .map_err(|e| e.into_family::<TeamError>("Invalid or expired token"))?;
    let team = session
        .team_id
        .clone()
        .ok_or_else(|| unauthorized("Invalid or expired token"))?;
    sessions::revoke(&state.db, &session.session_id, now()).await?;
    Ok(Json(
        team_tokens(
            &state,
            &session.user_id,
            session.role,
            &team,
            session.expires_at,
        )
        .await?,
    ))
}

/// Sends a recovery link; the answer is the same whether or not the account exists.
#[utoipa::path(post, path = "/api/forgot-passsword", tag = "team-auth", request_body = ForgotBody,
    responses((status = 200, body = StatusOk), (status = 400, body = TeamErrorBody), (status = 429, body = TeamErrorBody)))]
async fn forgot_password(
    State(state): State<AppState>,
    client: ClientInfo,
    TeamJson(body): TeamJson<ForgotBody>,
) -> Result<Json<StatusOk>, TeamError> {
    if !users::is_plausible_email(&body.email) {
        return Err(bad("A valid email is required"));
    }
    state.limits.check_login(&client.ip, Some(&body.email))?;
    let user = users::by_email(&state.db, &body.email).await?;
    let ttl = i64::try_from(state.config.email_link_ttl_secs).unwrap_or(3600);
    let subject = user.as_ref().map(|u| u.id.clone()).unwrap_or_default();
    let token = email_tokens::create(&state.db, Purpose::Reset, &subject, ttl).await?;
    if let Some(email) = user.and_then(|u| u.email) {
        let link = format!(
            "{}/reset-password?token={token}",
            state.config.public_url.trim_end_matches('/')
        );
        state.mailer.send(simple(
            &email,
            "Reset your password",
            &[
                "We received a request to reset your password.",
                "This link expires in one hour and works once.",
            ],
            Some(("Reset password", &link)),
        ));
    }
    Ok(status_ok())
}

/// Sets a new password with the emailed token; every session of the account is revoked.
#[utoipa::path(post, path = "/api/reset-passsword", tag = "team-auth", request_body = ResetBody,
    responses((status = 200, body = StatusOk), (status = 400, body = TeamErrorBody), (status = 429, body = TeamErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    client: ClientInfo,
    TeamJson(body): TeamJson<ResetBody>,
) -> Result<Json<StatusOk>, TeamError> {
    state.limits.login_ip.check(&client.ip)?;
    check_policy(&body.new_password)?;
    let invalid = || bad("Invalid or expired token");
    let user_id = email_tokens::consume(&state.db, Purpose::Reset, &body.token)
        .await
        .map_err(|_| invalid())?;
    let user = users::by_id(&state.db, &user_id)
        .await?
        .ok_or_else(invalid)?;
    let hash = state.passwords.hash(body.new_password).await?;
    users::set_password(&state.db, &user.id, &hash).await?;
    sessions::revoke_all(&state.db, &user.id, now()).await?;
    Ok(status_ok())
}

/// Whether an account uses this address (`true` | `false`); limited hard per client.
#[utoipa::path(get, path = "/api/exist-email/{email}", tag = "team-auth",
    params(("email" = String, Path, description = "Address to check")),
    responses((status = 200, body = bool), (status = 429, body = TeamErrorBody)))]
async fn exist_email(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(email): Path<String>,
) -> Result<Json<bool>, TeamError> {
    state.limits.exist_email.check(&client.ip)?;
    Ok(Json(users::by_email(&state.db, &email).await?.is_some()))
}
