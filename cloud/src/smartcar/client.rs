//! The Smartcar client: the OAuth token endpoint (code exchange, refresh) and the vehicle API
//! calls the cloud needs (vehicle list, attributes, VIN, odometer, location).
//!
//! Everything Smartcar answers is untrusted: bodies are read up to [`MAX_BODY`] bytes, every
//! call is bounded by the configured timeout, ids are checked before they go into a URL, and
//! each failure names the call that failed. Redirects are not followed.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::Secret;

/// Largest response body read from Smartcar.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest token accepted from the token endpoint.
pub const MAX_TOKEN: usize = 4096;
/// Longest access-token lifetime accepted (Smartcar's is two hours).
pub const MAX_EXPIRES_IN: u64 = 30 * 24 * 3600;

/// Which call to Smartcar (named in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    CodeExchange,
    TokenRefresh,
    Vehicles,
    Attributes,
    Vin,
    Odometer,
    Location,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Call::CodeExchange => "the code exchange (POST /oauth/token)",
            Call::TokenRefresh => "the token refresh (POST /oauth/token)",
            Call::Vehicles => "the vehicle list (GET /v2.0/vehicles)",
            Call::Attributes => "the vehicle attributes (GET /v2.0/vehicles/{id})",
            Call::Vin => "the VIN (GET /v2.0/vehicles/{id}/vin)",
            Call::Odometer => "the odometer (GET /v2.0/vehicles/{id}/odometer)",
            Call::Location => "the location (GET /v2.0/vehicles/{id}/location)",
        })
    }
}

/// Why a call to Smartcar failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Smartcar refused the request (4xx): an invalid or expired code, a redirect URI that
    /// does not match, revoked access… `description` is Smartcar's own text.
    #[error("Smartcar refused {call} (HTTP {status}): {description}")]
    Rejected {
        call: Call,
        status: u16,
        description: String,
    },
    /// Smartcar could not be reached, timed out or failed (5xx).
    #[error("Smartcar is unavailable: {call} failed: {reason}")]
    Unavailable { call: Call, reason: String },
    /// Smartcar answered something that is not what its API documents.
    #[error("Smartcar answered {call} with a malformed response: {reason}")]
    Malformed { call: Call, reason: String },
}

/// Tokens from the token endpoint.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// Lifetime of the access token, seconds.
    pub expires_in: u64,
}

/// `GET /v2.0/vehicles/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Attributes {
    pub id: String,
    pub make: String,
    pub model: String,
    pub year: i64,
}

/// A position from `GET /v2.0/vehicles/{id}/location`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

/// A configured Smartcar application.
#[derive(Clone)]
pub struct SmartcarClient {
    http: reqwest::Client,
    auth_url: String,
    api_url: String,
    client_id: String,
    client_secret: Secret,
}

impl fmt::Debug for SmartcarClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartcarClient")
            .field("auth_url", &self.auth_url)
            .field("api_url", &self.api_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Whether `id` may be a Smartcar vehicle id (they are UUIDs; anything URL-safe and short
/// is accepted, nothing that could change the path).
pub fn valid_vehicle_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Text from Smartcar made safe to show: printable, at most 200 characters.
fn clean(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if text.trim().is_empty() {
        "no description given".into()
    } else {
        text
    }
}

/// The description in an error body: OAuth's `error_description`, Smartcar's
/// `description`/`message`, or the `error` code.
fn error_description(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return clean(&String::from_utf8_lossy(body));
    };
    [
        "error_description",
        "description",
        "message",
        "error",
        "code",
    ]
    .iter()
    .find_map(|k| value.get(*k).and_then(|v| v.as_str()))
    .map_or_else(|| "no description given".into(), clean)
}

impl SmartcarClient {
    /// A client for the application `client_id`; every call times out after `timeout`.
    pub fn new(
        auth_url: &str,
        api_url: &str,
        client_id: &str,
        client_secret: Secret,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pitlane-cloud/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(SmartcarClient {
            http,
            auth_url: auth_url.trim_end_matches('/').to_owned(),
            api_url: api_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
        })
    }

    /// Exchanges an authorization code from Smartcar Connect for tokens.
    pub async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<Tokens, CallError> {
        self.token(
            Call::CodeExchange,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ],
        )
        .await
    }

    /// Trades a refresh token for new tokens (the refresh token rotates).
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Tokens, CallError> {
        self.token(
            Call::TokenRefresh,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ],
        )
        .await
    }

    async fn token(&self, call: Call, form: &[(&str, &str)]) -> Result<Tokens, CallError> {
        #[derive(Deserialize)]
        struct Raw {
            access_token: String,
            refresh_token: String,
            expires_in: u64,
            token_type: Option<String>,
        }
        let request = self
            .http
            .post(format!("{}/oauth/token", self.auth_url))
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .form(form);
        let raw: Raw = send(call, request).await?;
        let malformed = |reason: &str| CallError::Malformed {
            call,
            reason: reason.into(),
        };
        if let Some(t) = &raw.token_type
            && !t.eq_ignore_ascii_case("bearer")
        {
            return Err(malformed("token_type is not Bearer"));
        }
        for (name, token) in [
            ("access_token", &raw.access_token),
            ("refresh_token", &raw.refresh_token),
        ] {
            if token.is_empty() || token.len() > MAX_TOKEN || token.chars().any(char::is_control) {
                return Err(malformed(&format!(
                    "{name} must be 1-{MAX_TOKEN} printable characters"
                )));
            }
        }
        if !(1..=MAX_EXPIRES_IN).contains(&raw.expires_in) {
            return Err(malformed("expires_in is out of range"));
        }
        Ok(Tokens {
            access_token: Secret::new(raw.access_token),
            refresh_token: Secret::new(raw.refresh_token),
            expires_in: raw.expires_in,
        })
    }

    async fn get<T: DeserializeOwned>(
        &self,
        call: Call,
        access_token: &Secret,
        path: &str,
    ) -> Result<T, CallError> {
        let request = self
            .http
            .get(format!("{}/v2.0/vehicles{path}", self.api_url))
            .bearer_auth(access_token.expose());
        send(call, request).await
    }

    /// The ids of the vehicles the user authorized (the first page).
    pub async fn vehicles(&self, access_token: &Secret) -> Result<Vec<String>, CallError> {
        #[derive(Deserialize)]
        struct Raw {
            vehicles: Vec<String>,
        }
        let raw: Raw = self.get(Call::Vehicles, access_token, "").await?;
        if let Some(bad) = raw.vehicles.iter().find(|id| !valid_vehicle_id(id)) {
            return Err(CallError::Malformed {
                call: Call::Vehicles,
                reason: format!("vehicle id {:?} is not an id", clean(bad)),
            });
        }
        Ok(raw.vehicles)
    }

    fn vehicle_path(call: Call, id: &str, rest: &str) -> Result<String, CallError> {
        if valid_vehicle_id(id) {
            Ok(format!("/{id}{rest}"))
        } else {
            Err(CallError::Malformed {
                call,
                reason: "the vehicle id is not an id".into(),
            })
        }
    }

    /// Make, model and year of a vehicle.
    pub async fn attributes(
        &self,
        access_token: &Secret,
        id: &str,
    ) -> Result<Attributes, CallError> {
        let path = Self::vehicle_path(Call::Attributes, id, "")?;
        self.get(Call::Attributes, access_token, &path).await
    }

    /// The vehicle's VIN (validated by the caller).
    pub async fn vin(&self, access_token: &Secret, id: &str) -> Result<String, CallError> {
        #[derive(Deserialize)]
        struct Raw {
            vin: String,
        }
        let path = Self::vehicle_path(Call::Vin, id, "/vin")?;
        let raw: Raw = self.get(Call::Vin, access_token, &path).await?;
        Ok(raw.vin)
    }

    /// The odometer, kilometres.
    pub async fn odometer(&self, access_token: &Secret, id: &str) -> Result<f64, CallError> {
        #[derive(Deserialize)]
        struct Raw {
            distance: f64,
        }
        let path = Self::vehicle_path(Call::Odometer, id, "/odometer")?;
        let raw: Raw = self.get(Call::Odometer, access_token, &path).await?;
        if !(raw.distance.is_finite() && (0.0..=10_000_000.0).contains(&raw.distance)) {
            return Err(CallError::Malformed {
                call: Call::Odometer,
                reason: "distance is out of range".into(),
            });
        }
        Ok(raw.distance)
    }

    /// The vehicle's position.
    pub async fn location(&self, access_token: &Secret, id: &str) -> Result<Location, CallError> {
        let path = Self::vehicle_path(Call::Location, id, "/location")?;
        let raw: Location = self.get(Call::Location, access_token, &path).await?;
        if !((-90.0..=90.0).contains(&raw.latitude) && (-180.0..=180.0).contains(&raw.longitude)) {
            return Err(CallError::Malformed {
                call: Call::Location,
                reason: "latitude or longitude is out of range".into(),
            });
        }
        Ok(raw)
    }
}

/// Sends a request and parses a JSON success body; maps every failure to a [`CallError`].
async fn send<T: DeserializeOwned>(
    call: Call,
    request: reqwest::RequestBuilder,
) -> Result<T, CallError> {
    let unavailable = |reason: String| CallError::Unavailable { call, reason };
    let mut response = request.send().await.map_err(|e| {
        unavailable(if e.is_timeout() {
            "timed out".into()
        } else if e.is_connect() {
            "could not connect".into()
        } else {
            // reqwest's text names the URL but never the headers or the form (no secrets).
            e.without_url().to_string()
        })
    })?;
    let status = response.status();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(CallError::Malformed {
                        call,
                        reason: format!("the body is larger than {MAX_BODY} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Err(unavailable("timed out".into())),
            Err(e) => return Err(unavailable(e.without_url().to_string())),
        }
    }
    if status.is_server_error() {
        return Err(unavailable(format!("HTTP {}", status.as_u16())));
    }
    if status.is_client_error() {
        return Err(CallError::Rejected {
            call,
            status: status.as_u16(),
            description: error_description(&body),
        });
    }
    if status != StatusCode::OK {
        return Err(CallError::Malformed {
            call,
            reason: format!("unexpected HTTP {}", status.as_u16()),
        });
    }
    serde_json::from_slice(&body).map_err(|e| CallError::Malformed {
        call,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expected: &str) {
        assert_eq!(error_description(body.as_bytes()), expected, "{body}");
    }

    #[test]
    fn error_descriptions_come_from_the_body() {
        check(
            r#"{"error":"invalid_grant","error_description":"Invalid or expired auth code."}"#,
            "Invalid or expired auth code.",
        );
        check(
            r#"{"type":"AUTHENTICATION","description":"The access token is invalid."}"#,
            "The access token is invalid.",
        );
        check(r#"{"error":"invalid_client"}"#, "invalid_client");
        check(r#"{"other":1}"#, "no description given");
        check("plain\ntext", "plaintext");
        check(
            &format!(r#"{{"error_description":"{}"}}"#, "x".repeat(500)),
            &"x".repeat(200),
        );
    }

    #[test]
    fn vehicle_ids_are_url_safe() {
        assert!(valid_vehicle_id("36ab27d0-fd9d-4455-823a-ce30af709ffc"));
        assert!(!valid_vehicle_id(""));
        assert!(!valid_vehicle_id("../vin"));
        assert!(!valid_vehicle_id("a/b"));
        assert!(!valid_vehicle_id("a?b"));
        assert!(!valid_vehicle_id(&"a".repeat(65)));
    }
}
