//! A fake Smartcar on 127.0.0.1:0 (real axum server): the OAuth token endpoint (code
//! exchange and refresh, checking HTTP Basic client credentials, the form fields, single use
//! of codes and refresh tokens) and the vehicle API (checking the Bearer token and that the
//! vehicle belongs to it). Each endpoint can be told to fail: an HTTP status, a stall longer
//! than any client timeout, a body that is not JSON, or JSON of the wrong shape.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use pitlane_cloud::config::Config;
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";
pub const REDIRECT: &str = "https://app.example/smartcar/callback";

/// A vehicle the fake knows.
#[derive(Debug, Clone)]
pub struct FakeVehicle {
    pub id: String,
    pub vin: String,
    pub make: String,
    pub model: String,
    pub year: i64,
    pub odometer_km: f64,
    pub latitude: f64,
    pub longitude: f64,
}

impl FakeVehicle {
    pub fn new(vin: &str, make: &str, model: &str, year: i64) -> Self {
        FakeVehicle {
            id: uuid::Uuid::new_v4().to_string(),
            vin: vin.into(),
            make: make.into(),
            model: model.into(),
            year,
            odometer_km: 12_345.5,
            latitude: 52.52,
            longitude: 13.405,
        }
    }
}

/// An endpoint that can be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Token,
    Vehicles,
    Attributes,
    Vin,
    Odometer,
    Location,
}

/// How an endpoint fails.
#[derive(Debug, Clone)]
pub enum Failure {
    /// This status with this JSON body.
    Status(u16, Value),
    /// Never answers in time.
    Stall,
    /// 200 with a body that is not JSON.
    NotJson,
    /// 200 with this JSON (of the wrong shape, or with bad values).
    Json(Value),
}

#[derive(Debug, Default)]
struct Inner {
    /// Authorization code → vehicle ids it covers.
    codes: HashMap<String, Vec<String>>,
    used_codes: Vec<String>,
    /// Access token → (vehicle ids, still valid).
    access: HashMap<String, (Vec<String>, bool)>,
    /// Refresh token → vehicle ids (removed when used: refresh tokens rotate).
    refresh: HashMap<String, Vec<String>>,
    vehicles: HashMap<String, FakeVehicle>,
    failures: HashMap<Endpoint, Failure>,
    /// `expires_in` of issued access tokens.
    expires_in: u64,
    /// Grant types seen at the token endpoint, in order.
    grants: Vec<String>,
    issued: u64,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeSmartcar {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeSmartcar {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            expires_in: 7200,
            ..Inner::default()
        }));
        let fake = FakeSmartcar {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            inner,
        };
        let router = Router::new()
            .route("/oauth/token", post(token))
            .route("/v2.0/vehicles", get(vehicles))
            .route("/v2.0/vehicles/{id}", get(attributes))
            .route("/v2.0/vehicles/{id}/vin", get(vin))
            .route("/v2.0/vehicles/{id}/odometer", get(odometer))
            .route("/v2.0/vehicles/{id}/location", get(location))
            .with_state(fake.inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeSmartcar { addr, ..fake }
    }

    /// Points the service at this fake (10 s timeout, fast refresh worker).
    pub fn configure(&self) -> impl FnOnce(&mut Config) + use<> {
        let url = format!("http://{}", self.addr);
        move |c: &mut Config| {
            c.smartcar.auth_url = url.clone();
            c.smartcar.api_url = url;
            c.smartcar.client_id = Some(CLIENT_ID.into());
            c.smartcar.client_secret = Some(CLIENT_SECRET.into());
            c.smartcar.timeout_secs = 10;
            c.smartcar.refresh_poll_ms = 50;
        }
    }

    /// A new authorization code covering `vehicles`.
    pub fn authorize(&self, vehicles: &[FakeVehicle]) -> String {
        let mut inner = lock(&self.inner);
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        for v in vehicles {
            inner.vehicles.insert(v.id.clone(), v.clone());
        }
        inner.codes.insert(
            code.clone(),
            vehicles.iter().map(|v| v.id.clone()).collect(),
        );
        code
    }

    pub fn fail(&self, endpoint: Endpoint, failure: Failure) {
        lock(&self.inner).failures.insert(endpoint, failure);
    }

    pub fn heal(&self) {
        lock(&self.inner).failures.clear();
    }

    /// Lifetime of access tokens issued from now on.
    pub fn set_expires_in(&self, secs: u64) {
        lock(&self.inner).expires_in = secs;
    }

    /// Revokes every access and refresh token issued so far.
    pub fn revoke_all(&self) {
        let mut inner = lock(&self.inner);
        inner.refresh.clear();
        for (_, valid) in inner.access.values_mut() {
            *valid = false;
        }
    }

    /// Grant types the token endpoint accepted or refused, in order.
    pub fn grants(&self) -> Vec<String> {
        lock(&self.inner).grants.clone()
    }

    /// Every access token issued (to check none is stored in clear).
    pub fn access_tokens(&self) -> Vec<String> {
        lock(&self.inner).access.keys().cloned().collect()
    }

    pub fn set_odometer(&self, vehicle_id: &str, km: f64) {
        if let Some(v) = lock(&self.inner).vehicles.get_mut(vehicle_id) {
            v.odometer_km = km;
        }
    }
}

type Shared = Arc<Mutex<Inner>>;

fn error(status: u16, error: &str, description: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// The configured failure of `endpoint`, if any (a stall sleeps far beyond any timeout).
async fn failure(inner: &Shared, endpoint: Endpoint) -> Option<Response> {
    let failure = lock(inner).failures.get(&endpoint).cloned()?;
    Some(match failure {
        Failure::Status(code, body) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(body),
        )
            .into_response(),
        Failure::Stall => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Failure::NotJson => (
            [(header::CONTENT_TYPE, "application/json")],
            "<html>oops</html>",
        )
            .into_response(),
        Failure::Json(body) => Json(body).into_response(),
    })
}

fn basic_ok(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn issue(inner: &mut Inner, vehicles: Vec<String>) -> Response {
    inner.issued += 1;
    let access = format!("access-{}-{}", inner.issued, uuid::Uuid::new_v4().simple());
    let refresh = format!("refresh-{}-{}", inner.issued, uuid::Uuid::new_v4().simple());
    inner
        .access
        .insert(access.clone(), (vehicles.clone(), true));
    inner.refresh.insert(refresh.clone(), vehicles);
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": inner.expires_in,
        "refresh_token": refresh,
        "refresh_expires_in": 5_184_000,
    }))
    .into_response()
}

async fn token(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = failure(&inner, Endpoint::Token).await {
        return r;
    }
    if !basic_ok(&headers) {
        return error(401, "invalid_client", "Invalid client credentials.");
    }
    let mut inner = lock(&inner);
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    inner.grants.push(grant.clone());
    match grant.as_str() {
        "authorization_code" => {
            let code = form.get("code").cloned().unwrap_or_default();
            if form.get("redirect_uri").map(String::as_str) != Some(REDIRECT) {
                return error(400, "invalid_grant", "Redirect URI mismatch.");
            }
            if inner.used_codes.contains(&code) {
                return error(400, "invalid_grant", "Invalid or expired auth code.");
            }
            let Some(vehicles) = inner.codes.get(&code).cloned() else {
                return error(400, "invalid_grant", "Invalid or expired auth code.");
            };
            inner.used_codes.push(code);
            issue(&mut inner, vehicles)
        }
        "refresh_token" => {
            let refresh = form.get("refresh_token").cloned().unwrap_or_default();
            match inner.refresh.remove(&refresh) {
                Some(vehicles) => issue(&mut inner, vehicles),
                None => error(400, "invalid_grant", "Invalid or expired refresh token."),
            }
        }
        _ => error(400, "unsupported_grant_type", "Unsupported grant type."),
    }
}

/// The vehicles the Bearer token may read (None: not a valid token).
fn authorized(inner: &Shared, headers: &HeaderMap) -> Option<Vec<String>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match lock(inner).access.get(token) {
        Some((vehicles, true)) => Some(vehicles.clone()),
        _ => None,
    }
}

/// Smartcar's answer to a missing, invalid or revoked token.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "type": "AUTHENTICATION", "description": "The access token is invalid or expired." })),
    )
        .into_response()
}

/// The vehicle `id` if the token covers it.
async fn vehicle(
    inner: &Shared,
    headers: &HeaderMap,
    endpoint: Endpoint,
    id: &str,
) -> Result<FakeVehicle, Response> {
    if let Some(r) = failure(inner, endpoint).await {
        return Err(r);
    }
    let allowed = authorized(inner, headers).ok_or_else(unauthorized)?;
    let found = lock(inner).vehicles.get(id).cloned();
    match found {
        Some(v) if allowed.contains(&v.id) => Ok(v),
        _ => Err((
            StatusCode::NOT_FOUND,
            Json(json!({ "type": "RESOURCE_NOT_FOUND", "description": "No such vehicle." })),
        )
            .into_response()),
    }
}

async fn vehicles(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = failure(&inner, Endpoint::Vehicles).await {
        return r;
    }
    match authorized(&inner, &headers) {
        Some(ids) => {
            Json(json!({ "vehicles": ids, "paging": { "count": ids.len(), "offset": 0 } }))
                .into_response()
        }
        None => unauthorized(),
    }
}

async fn attributes(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match vehicle(&inner, &headers, Endpoint::Attributes, &id).await {
        Ok(v) => Json(json!({ "id": v.id, "make": v.make, "model": v.model, "year": v.year }))
            .into_response(),
        Err(r) => r,
    }
}

async fn vin(State(inner): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match vehicle(&inner, &headers, Endpoint::Vin, &id).await {
        Ok(v) => Json(json!({ "vin": v.vin })).into_response(),
        Err(r) => r,
    }
}

async fn odometer(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match vehicle(&inner, &headers, Endpoint::Odometer, &id).await {
        Ok(v) => Json(json!({ "distance": v.odometer_km })).into_response(),
        Err(r) => r,
    }
}

async fn location(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match vehicle(&inner, &headers, Endpoint::Location, &id).await {
        Ok(v) => Json(json!({ "latitude": v.latitude, "longitude": v.longitude })).into_response(),
        Err(r) => r,
    }
}
