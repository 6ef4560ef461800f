//! The panel's session cookie, the visitor cookie behind pre-login CSRF tokens, CSRF tokens,
//! and the middleware that adds the panel's security headers.
//!
//! The session cookie holds `<session id>.<MAC>` (HMAC-SHA256 under a key derived for this
//! purpose alone), so a session id seen elsewhere (every access token names its session)
//! cannot be turned into a panel cookie. The session row decides validity: logout, password
//! reset and change revoke it at once. CSRF tokens are HMACs of the session id (or, before
//! login, of a random visitor nonce kept in its own cookie): nothing to store, nothing an
//! attacker on another site can compute.

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use super::error::PanelError;
use crate::accounts::now;
use crate::accounts::secrets::{ct_eq, hmac_sha256_hex, random_token};
use crate::accounts::sessions::{self, ActiveSession, Kind};
use crate::app::AppState;

/// The signed-in session's cookie.
pub const SESSION_COOKIE: &str = "pitlane_panel";
/// A random nonce that binds the CSRF tokens of forms shown before login.
pub const VISITOR_COOKIE: &str = "pitlane_panel_visitor";
/// Longest a panel session lasts (absolute; capped by `session_max_age_secs`): a working day.
const SESSION_SECS: i64 = 12 * 3600;
/// Name of the header the panel's scripts send their CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in user of a panel request, with the CSRF token for this session's forms.
#[derive(Debug, Clone)]
pub struct PanelUser {
    pub session: ActiveSession,
    pub csrf: String,
}

impl PanelUser {
    pub fn id(&self) -> &str {
        &self.session.user_id
    }

    /// Whether `given` is this session's CSRF token.
    pub fn csrf_ok(&self, given: &str) -> bool {
        ct_eq(&self.csrf, given)
    }
}

/// Who is asking: maybe a signed-in user, always a visitor CSRF token for anonymous forms.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub user: Option<PanelUser>,
    pub csrf: String,
}

/// The visitor nonce of this request (from its cookie, or fresh from [`guard`]).
#[derive(Debug, Clone)]
struct VisitorNonce(String);

/// Whether the browser reached us over TLS (through the proxy that terminates it).
#[derive(Debug, Clone, Copy)]
pub struct Tls(pub bool);

fn key(state: &AppState, label: &str) -> Vec<u8> {
    hmac_sha256_hex(&state.keys.jwt, label.as_bytes()).into_bytes()
}

fn cookie_mac(state: &AppState, session_id: &str) -> String {
    hmac_sha256_hex(
        &key(state, "pitlane/panel-cookie/v1"),
        session_id.as_bytes(),
    )
}

fn csrf_for(state: &AppState, binding: &str) -> String {
    hmac_sha256_hex(&key(state, "pitlane/panel-csrf/v1"), binding.as_bytes())
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn set_cookie(name: &str, value: &str, max_age: Option<i64>, tls: bool) -> String {
    let mut c = format!("{name}={value}; Path=/panel; HttpOnly; SameSite=Strict");
    if let Some(secs) = max_age {
        c.push_str(&format!("; Max-Age={secs}"));
    }
    if tls {
        c.push_str("; Secure");
    }
    c
}

/// TLS as the terminating proxy reports it (`X-Forwarded-Proto` or `Forwarded: proto=`).
/// A forged header can only add `Secure` to the forger's own cookies.
fn forwarded_tls(headers: &HeaderMap) -> bool {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    value("x-forwarded-proto").is_some_and(|v| v.split(',').next().map(str::trim) == Some("https"))
        || value("forwarded").is_some_and(|v| v.contains("proto=https"))
}

/// Opens a panel session for `user_id` and answers its `Set-Cookie` value.
pub async fn open(state: &AppState, user_id: &str, tls: Tls) -> Result<String, PanelError> {
    let ttl =
        SESSION_SECS.min(i64::try_from(state.config.session_max_age_secs).unwrap_or(SESSION_SECS));
    let tls = tls.0 || state.config.public_url.starts_with("https://");
    let sid = sessions::create(&state.db, user_id, Kind::Hmac, None, now(), ttl).await?;
    let value = format!("{sid}.{}", cookie_mac(state, &sid));
    Ok(set_cookie(SESSION_COOKIE, &value, Some(ttl), tls))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear(tls: Tls) -> String {
    set_cookie(SESSION_COOKIE, "", Some(0), tls.0)
}

/// The active session named by the request's cookie, if any.
async fn from_cookie(parts: &Parts, state: &AppState) -> Result<Option<PanelUser>, PanelError> {
    let Some((sid, mac)) = cookie(&parts.headers, SESSION_COOKIE).and_then(|v| v.rsplit_once('.'))
    else {
        return Ok(None);
    };
    if sid.len() > 64 || !ct_eq(mac, &cookie_mac(state, sid)) {
        return Ok(None);
    }
    let session = sessions::active(&state.db, sid, now()).await?;
    Ok(session.map(|session| PanelUser {
        csrf: csrf_for(state, &format!("s:{}", session.session_id)),
        session,
    }))
}

/// Where to come back to after logging in: this request's path, if it is a panel page.
fn next_of(parts: &Parts) -> String {
    if parts.method == axum::http::Method::GET {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default()
    } else {
        String::new()
    }
}

impl FromRequestParts<AppState> for PanelUser {
    type Rejection = PanelError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PanelError> {
        match from_cookie(parts, state).await? {
            Some(user) => Ok(user),
            None => Err(PanelError::NeedLogin {
                next: next_of(parts),
            }),
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = PanelError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PanelError> {
        let nonce = parts
            .extensions
            .get::<VisitorNonce>()
            .map(|n| n.0.clone())
            .unwrap_or_default();
        Ok(Visitor {
            user: from_cookie(parts, state).await?,
            csrf: csrf_for(state, &format!("v:{nonce}")),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tls {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Tls>().copied().unwrap_or(Tls(false)))
    }
}

/// Only `next` values that stay inside the panel are followed (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/panel/")
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/panel/".to_owned(),
    }
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Middleware: gives every request a visitor nonce (setting its cookie when new), notes
/// TLS, and adds the security headers every panel response carries.
pub async fn guard(mut req: Request, next: Next) -> Response {
    let tls = forwarded_tls(req.headers());
    let existing = cookie(req.headers(), VISITOR_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let fresh = existing.is_none().then(random_token);
    let nonce = existing.or_else(|| fresh.clone()).unwrap_or_default();
    req.extensions_mut().insert(VisitorNonce(nonce));
    req.extensions_mut().insert(Tls(tls));
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Verification and reset links carry tokens in their URL: never pass them on.
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(nonce) = fresh {
        if let Ok(v) = HeaderValue::from_str(&set_cookie(VISITOR_COOKIE, &nonce, None, tls)) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; pitlane_panel=ses_x.abc ;b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("ses_x.abc"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "pitlane"), None);
    }

    #[test]
    fn cookie_flags() {
        assert_eq!(
            set_cookie("n", "v", Some(60), true),
            "n=v; Path=/panel; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert_eq!(
            set_cookie("n", "v", None, false),
            "n=v; Path=/panel; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn next_stays_inside_the_panel() {
        for (input, expected) in [
            (None, "/panel/"),
            (Some("/panel/keys"), "/panel/keys"),
            (Some("/panel/decode?x=1"), "/panel/decode?x=1"),
            (Some("https://evil.example/"), "/panel/"),
            (Some("//evil.example/panel/"), "/panel/"),
            (Some("/panel//evil.example"), "/panel/"),
            (Some("/panel/\\evil"), "/panel/"),
            (Some("/api/v1/users"), "/panel/"),
        ] {
            assert_eq!(safe_next(input), expected, "{input:?}");
        }
    }

    #[test]
    fn tls_from_the_proxy_headers() {
        for (name, value, tls) in [
            ("x-forwarded-proto", "https", true),
            ("x-forwarded-proto", "HTTPS, http", true),
            ("x-forwarded-proto", "http", false),
            ("forwarded", "for=1.2.3.4;proto=https", true),
            ("forwarded", "for=1.2.3.4", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
            assert_eq!(forwarded_tls(&headers), tls, "{name}: {value}");
        }
    }
}
