//! Request bodies with their CSRF check: URL-encoded forms carry a `csrf` field, the
//! panel's scripts send JSON with an `x-csrf-token` header. A body whose token does not
//! belong to this session (or, before login, to this visitor) is refused before parsing.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::PanelError;
use super::session::{CSRF_HEADER, PanelUser, Visitor};
use crate::app::AppState;

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form posted by a signed-in user, CSRF-checked.
#[derive(Debug)]
pub struct SessionForm<T> {
    pub user: PanelUser,
    pub form: T,
}

/// A form posted before login (login, registration, password recovery), CSRF-checked
/// against the visitor cookie.
#[derive(Debug)]
pub struct VisitorForm<T> {
    pub visitor: Visitor,
    pub form: T,
}

/// A JSON body from the panel's scripts by a signed-in user, CSRF-checked by header.
#[derive(Debug)]
pub struct SessionJson<T> {
    pub user: PanelUser,
    pub body: T,
}

/// A JSON body from the panel's scripts before login, CSRF-checked by header.
#[derive(Debug)]
pub struct VisitorJson<T> {
    pub body: T,
}

async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, PanelError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|_| PanelError::BadInput("The request body is too large or unreadable.".into()))
}

fn parse_form<T: DeserializeOwned>(bytes: &[u8], expected: &str) -> Result<T, PanelError> {
    let field: CsrfField = serde_urlencoded::from_bytes(bytes).map_err(|_| PanelError::Csrf)?;
    if !crate::accounts::secrets::ct_eq(&field.csrf, expected) {
        return Err(PanelError::Csrf);
    }
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| PanelError::BadInput(format!("The form is incomplete: {e}.")))
}

fn header_token(parts: &axum::http::request::Parts) -> &str {
    parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PanelError> {
    serde_json::from_slice(bytes)
        .map_err(|e| PanelError::BadInput(format!("Invalid request: {e}.")))
}

impl<T: DeserializeOwned> FromRequest<AppState> for SessionForm<T> {
    type Rejection = PanelError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PanelError> {
        let (mut parts, body) = req.into_parts();
        let user = PanelUser::from_request_parts(&mut parts, state).await?;
        let bytes = body_bytes(Request::from_parts(parts, body), state).await?;
        let form = parse_form(&bytes, &user.csrf)?;
        Ok(SessionForm { user, form })
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for VisitorForm<T> {
    type Rejection = PanelError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PanelError> {
        let (mut parts, body) = req.into_parts();
        let visitor = Visitor::from_request_parts(&mut parts, state).await?;
        let bytes = body_bytes(Request::from_parts(parts, body), state).await?;
        let form = parse_form(&bytes, &visitor.csrf)?;
        Ok(VisitorForm { visitor, form })
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for SessionJson<T> {
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = PanelUser::from_request_parts(&mut parts, state)
            .await
            .map_err(PanelError::into_json)?;
        if !user.csrf_ok(header_token(&parts)) {
            return Err(PanelError::Csrf.into_json());
        }
        let bytes = body_bytes(Request::from_parts(parts, body), state)
            .await
            .map_err(PanelError::into_json)?;
        let body = parse_json(&bytes).map_err(PanelError::into_json)?;
        Ok(SessionJson { user, body })
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for VisitorJson<T> {
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let visitor = Visitor::from_request_parts(&mut parts, state)
            .await
            .map_err(PanelError::into_json)?;
        if !crate::accounts::secrets::ct_eq(header_token(&parts), &visitor.csrf) {
            return Err(PanelError::Csrf.into_json());
        }
        let bytes = body_bytes(Request::from_parts(parts, body), state)
            .await
            .map_err(PanelError::into_json)?;
        let body = parse_json(&bytes).map_err(PanelError::into_json)?;
        Ok(VisitorJson { body })
    }
}
