//! Who is calling: client address (peer, or a configured trusted proxy header) and
//! User-Agent.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::app::AppState;

/// The calling client as far as the server can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = client_ip(
            &parts.headers,
            state.config.trusted_proxy_header.as_deref(),
            peer,
        );
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok(ClientInfo { ip, user_agent })
    }
}

/// The trusted header's address if configured and well-formed (for `x-forwarded-for`
/// the right-most entry, the one our proxy appended), else the peer address.
pub fn client_ip(headers: &HeaderMap, trusted: Option<&str>, peer: Option<IpAddr>) -> String {
    let from_header = trusted.and_then(|name| {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let last = values.last()?;
        let candidate = last.rsplit(',').map(str::trim).find(|s| !s.is_empty())?;
        candidate.parse::<IpAddr>().ok()
    });
    from_header
        .or(peer)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &[(&str, &str)], trusted: Option<&str>, expected: &str) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        let peer = Some(IpAddr::from([10, 0, 0, 1]));
        assert_eq!(
            client_ip(&map, trusted, peer),
            expected,
            "{headers:?} {trusted:?}"
        );
    }

    #[test]
    fn client_address() {
        check(&[], None, "10.0.0.1");
        check(&[("x-forwarded-for", "1.2.3.4")], None, "10.0.0.1");
        check(
            &[("x-forwarded-for", "6.6.6.6, 1.2.3.4")],
            Some("x-forwarded-for"),
            "1.2.3.4",
        );
        check(
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "1.2.3.4 "),
            ],
            Some("x-forwarded-for"),
            "1.2.3.4",
        );
        check(
            &[("x-real-ip", "2001:db8::1")],
            Some("x-real-ip"),
            "2001:db8::1",
        );
        check(&[("x-real-ip", "garbage")], Some("x-real-ip"), "10.0.0.1");
        check(&[], Some("x-real-ip"), "10.0.0.1");
    }
}
