//! Panel failures and how they look: an HTML page with the reason (or a JSON body for the
//! script endpoints), a redirect to the login page when the session is missing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::layout;
use crate::accounts::AccountError;
use crate::devices::DevicesError;
use crate::ratelimit::RetryAfter;
use crate::vin::store::StoreError;

/// Why a panel request failed.
#[derive(Debug, thiserror::Error)]
pub enum PanelError {
    /// No valid session: the browser goes to the login page, then back to `next`.
    #[error("login required")]
    NeedLogin { next: String },
    /// The form's CSRF token is missing or not this session's.
    #[error("the form has expired or did not come from this site")]
    Csrf,
    #[error("{0}")]
    BadInput(String),
    #[error("not found")]
    NotFound,
    #[error("too many attempts")]
    TooMany(RetryAfter),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Devices(#[from] DevicesError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<RetryAfter> for PanelError {
    fn from(r: RetryAfter) -> Self {
        PanelError::TooMany(r)
    }
}

impl PanelError {
    /// Status and the sentence shown to the user; internal details are logged, not shown.
    fn status_and_message(&self) -> (StatusCode, String) {
        let internal = |what: &dyn std::fmt::Display| {
            tracing::error!(error = %what, "panel request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Try again in a moment.".to_owned(),
            )
        };
        match self {
            PanelError::NeedLogin { .. } => (StatusCode::UNAUTHORIZED, "Please log in.".into()),
            PanelError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site. Go back, reload the page and try again."
                    .into(),
            ),
            PanelError::BadInput(m) => (StatusCode::BAD_REQUEST, m.clone()),
            PanelError::NotFound => (StatusCode::NOT_FOUND, "Not found.".into()),
            PanelError::TooMany(RetryAfter(secs)) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many attempts. Try again in {secs} s."),
            ),
            PanelError::Account(e) => match e {
                AccountError::NotFound => (StatusCode::NOT_FOUND, "Not found.".into()),
                AccountError::BadInput(m) => (StatusCode::BAD_REQUEST, capitalise(m)),
                AccountError::WeakPassword(m) => {
                    (StatusCode::BAD_REQUEST, format!("The password {m}."))
                }
                AccountError::Conflict => (StatusCode::CONFLICT, "That already exists.".into()),
                AccountError::InvalidCredentials
                | AccountError::InvalidToken
                | AccountError::TokenReuse => {
                    (StatusCode::UNAUTHORIZED, "Invalid or expired credentials.".into())
                }
                AccountError::Db(_) | AccountError::Internal(_) => internal(e),
            },
            PanelError::Devices(e) => match e {
                DevicesError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found.".into()),
                DevicesError::BadInput(m) => (StatusCode::BAD_REQUEST, m.clone()),
                DevicesError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
                DevicesError::State(m) => (StatusCode::CONFLICT, m.clone()),
                DevicesError::Db(_) | DevicesError::Decoder(_) => internal(e),
            },
            PanelError::Store(StoreError::NotFound) => (StatusCode::NOT_FOUND, "Not found.".into()),
            PanelError::Store(e) => internal(e),
            PanelError::Internal(e) => internal(e),
        }
    }

    /// The failure as a JSON body `{"error": "..."}` (for the panel's own scripts).
    pub fn into_json(self) -> Response {
        let (status, message) = self.status_and_message();
        let mut response =
            (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
        self.add_retry_after(&mut response);
        response
    }

    fn add_retry_after(&self, response: &mut Response) {
        if let PanelError::TooMany(RetryAfter(secs)) = self {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

impl IntoResponse for PanelError {
    fn into_response(self) -> Response {
        if let PanelError::NeedLogin { next } = &self {
            let target = if next.is_empty() || next == "/panel/" {
                "/panel/login".to_owned()
            } else {
                format!("/panel/login?next={}", urlencode(next))
            };
            return Redirect::to(&target).into_response();
        }
        let (status, message) = self.status_and_message();
        let title = status.canonical_reason().unwrap_or("Error");
        let body = html! {
            h1 { (title) }
            p role="alert" { (message) }
            p { a href="/panel/" { "Back to the panel" } }
        };
        let mut response = (status, layout::bare(title, body)).into_response();
        self.add_retry_after(&mut response);
        response
    }
}

/// Percent-encodes a query value (unreserved characters and `/` stay as they are).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencode_keeps_paths_readable_and_escapes_the_rest() {
        for (input, expected) in [
            ("/panel/keys", "/panel/keys"),
            ("/panel/x?a=b&c", "/panel/x%3Fa%3Db%26c"),
            ("é", "%C3%A9"),
        ] {
            assert_eq!(urlencode(input), expected, "{input}");
        }
    }
}
