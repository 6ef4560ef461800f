//! The failures every API family can answer; each family renders them in its own body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::accounts::AccountError;
use crate::ratelimit::RetryAfter;

/// A failed request, before a family chooses its wording and body shape.
#[derive(Debug)]
pub enum Failure {
    BadRequest(String),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    Unprocessable(String),
    TooMany(RetryAfter),
    Internal,
}

impl Failure {
    pub fn status(&self) -> StatusCode {
        match self {
            Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Failure::Forbidden(_) => StatusCode::FORBIDDEN,
            Failure::NotFound(_) => StatusCode::NOT_FOUND,
            Failure::Conflict(_) => StatusCode::CONFLICT,
            Failure::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Failure::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Failure::BadRequest(m)
            | Failure::Unauthorized(m)
            | Failure::Forbidden(m)
            | Failure::NotFound(m)
            | Failure::Conflict(m)
            | Failure::Unprocessable(m) => m.clone(),
            Failure::TooMany(_) => "Too many requests".into(),
            Failure::Internal => "Internal server error".into(),
        }
    }

    /// The response with `body`, plus `Retry-After` on 429.
    pub fn respond(&self, body: serde_json::Value) -> Response {
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Failure::TooMany(RetryAfter(secs)) = self {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<AccountError> for Failure {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::InvalidCredentials => Failure::Unauthorized("Invalid credentials".into()),
            AccountError::NotFound => Failure::NotFound("Not found".into()),
            AccountError::WeakPassword(why) => Failure::BadRequest(format!("Password {why}")),
            AccountError::Conflict => Failure::Conflict("Already exists".into()),
            AccountError::InvalidToken | AccountError::TokenReuse => {
                Failure::Unauthorized("Invalid or expired token".into())
            }
            AccountError::BadInput(why) => Failure::BadRequest(why.into()),
            AccountError::Db(e) => {
                tracing::error!(error = %e, "database failure");
                Failure::Internal
            }
            AccountError::Internal(e) => {
                tracing::error!(error = %e, "internal failure");
                Failure::Internal
            }
        }
    }
}

impl From<RetryAfter> for Failure {
    fn from(r: RetryAfter) -> Self {
        Failure::TooMany(r)
    }
}

impl From<axum::extract::rejection::JsonRejection> for Failure {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Failure::BadRequest("Request body too large".into()),
            _ => Failure::BadRequest(r.body_text()),
        }
    }
}

/// Implements `From` for a family error newtype over [`Failure`] from every source error.
macro_rules! family_error_from {
    ($family:ident) => {
        impl From<$crate::http::failure::Failure> for $family {
            fn from(f: $crate::http::failure::Failure) -> Self {
                $family(f)
            }
        }
        impl From<$crate::accounts::AccountError> for $family {
            fn from(e: $crate::accounts::AccountError) -> Self {
                $family(e.into())
            }
        }
        impl From<$crate::ratelimit::RetryAfter> for $family {
            fn from(e: $crate::ratelimit::RetryAfter) -> Self {
                $family(e.into())
            }
        }
        impl From<axum::extract::rejection::JsonRejection> for $family {
            fn from(e: axum::extract::rejection::JsonRejection) -> Self {
                $family(e.into())
            }
        }
    };
}
pub(crate) use family_error_from;
