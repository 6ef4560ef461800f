//! Assembling the service: state, routes, middleware, and serving with graceful shutdown.
//!
//! [`build`] is the composition point: API families add their `router()` in [`routes`].

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::accounts::AccountError;
use crate::accounts::jwt::TokenKeys;
use crate::accounts::password::Passwords;
use crate::accounts::secrets::{DerivedKeys, random_token};
use crate::captcha::{Captcha, CaptchaError};
use crate::config::Config;
use crate::db::{Backend, Db, DbError};
use crate::email::{MailError, Mailer};
use crate::http;
use crate::observability::{self, DatabaseCheck, Readiness};
use crate::ratelimit::RateLimits;

/// Everything handlers share; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub db: Db,
    pub keys: DerivedKeys,
    pub tokens: TokenKeys,
    pub passwords: Passwords,
    pub mailer: Mailer,
    pub captcha: Captcha,
    pub limits: RateLimits,
    /// Executes signed registry calls (claim, pair, unpair, mint): the database ledger.
    pub registry: Arc<dyn crate::registry::ledger::Registry>,
    /// Asks a device to sign a claim or pairing payload (over MQTT); `None` without one.
    pub device_signer: Option<Arc<dyn crate::registry::DeviceSigner>>,
    /// The MQTT layer (broker link, ingest, command dispatch).
    pub mqtt: Option<crate::mqtt::MqttLayer>,
    /// What `/readyz` checks; the database from the start, other parts register theirs.
    pub readiness: Readiness,
    /// Smartcar: the client (when configured) and the cipher of stored tokens.
    pub smartcar: crate::smartcar::Smartcar,
    /// Processes the refresh queue and mints synthetic devices of Smartcar connections.
    pub refresh_worker: crate::smartcar::worker::RefreshWorker,
    /// The bulk-decode worker loops, stopped by [`shutdown`] before storage closes.
    pub vin_workers: crate::vin::worker::Workers,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("setting `database_url` = {url}: {source}")]
    Database { url: String, source: DbError },
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Captcha(#[from] CaptchaError),
    #[error(transparent)]
    Accounts(#[from] AccountError),
    #[error(transparent)]
    Mqtt(#[from] crate::mqtt::MqttError),
    #[error(transparent)]
    Smartcar(#[from] crate::smartcar::SetupError),
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Connects storage, prepares secrets and returns the ready router and its state.
pub async fn build(config: Config) -> Result<(Router, AppState), AppError> {
    let url = config.effective_database_url();
    if config.database_url.is_none() || config.token_secret.is_none() {
        create_dir(&config.data_dir)?;
    }
    let db = Db::connect(&url)
        .await
        .map_err(|source| AppError::Database {
            url: redact_password(&url),
            source,
        })?
        .with_session_cache(crate::accounts::session_cache::SessionCache::new(
            Duration::from_millis(config.session_cache_ttl_ms),
            config.session_cache_capacity,
        ));
    let master = match &config.token_secret {
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => load_or_create_secret(&config.data_dir.join("token-secret"))?,
    };
    let keys = DerivedKeys::new(&master);
    let smartcar = crate::smartcar::Smartcar::from_config(&config.smartcar, &config.data_dir)?;
    let registry: Arc<dyn crate::registry::ledger::Registry> =
        Arc::new(crate::registry::ledger::LedgerRegistry);
    let refresh_worker =
        crate::smartcar::worker::start_for(&db, &smartcar, registry.clone(), &config);
    let mqtt = crate::mqtt::MqttLayer::start(&config, db.clone()).await?;
    let state = AppState(Arc::new(Shared {
        tokens: TokenKeys::new(&keys.jwt),
        keys,
        passwords: Passwords::new()?,
        mailer: Mailer::new(&config, db.clone())?,
        captcha: Captcha::from_config(&config)?,
        limits: RateLimits::new(&config),
        registry,
        device_signer: Some(Arc::new(mqtt.clone())),
        mqtt: Some(mqtt),
        readiness: Readiness::default(),
        smartcar,
        refresh_worker,
        vin_workers: crate::vin::worker::Workers::default(),
        db,
        config,
    }));
    state
        .readiness
        .register(Arc::new(DatabaseCheck(state.db.clone())));
    if let Some(mqtt) = state.mqtt.clone() {
        state
            .readiness
            .register(Arc::new(observability::FnCheck::new("broker", move || {
                if mqtt.is_ready() {
                    Ok(())
                } else {
                    Err("the MQTT link is not connected and subscribed".into())
                }
            })));
    }
    observability::prometheus();
    state.limits.spawn_janitor();
    crate::vin::worker::start(&state.vin_workers, &state.db, &state.config);
    if matches!(state.captcha, Captcha::Dev { token: None }) {
        tracing::warn!(
            "no captcha verifier configured: routes that require a captcha refuse every request"
        );
    }
    tracing::info!(backend = ?state.db.backend, "storage ready");
    Ok((router(state.clone()), state))
}

/// Stops background work that holds connections (bulk-decode workers, the refresh worker,
/// the MQTT layer), then closes storage: nothing may query a closed pool. Idempotent.
pub async fn shutdown(state: &AppState) {
    state.vin_workers.stop().await;
    state.refresh_worker.stop().await;
    if let Some(mqtt) = &state.mqtt {
        mqtt.stop().await;
    }
    state.db.close().await;
}

/// Every API family's routes. Add new families here.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(http::users::router())
        .merge(http::auth_v1::router())
        .merge(http::hmac_auth::router())
        .merge(http::team_auth::router())
        .merge(http::web3::router())
        .merge(http::decode::router())
        .merge(http::vag_map::router())
        .merge(http::user_devices::router())
        .merge(http::error_codes::router())
        .merge(http::geofences::router())
        .merge(http::docs::router())
        .merge(http::aftermarket::router())
        .merge(http::mint::router())
        .merge(http::pairing::router())
        .merge(http::tokens::router())
        .merge(http::admin_devices::router())
        .merge(http::dcn::router())
        .merge(http::vehicle_commands::router())
        .merge(http::device_status::router())
        .merge(http::smartcar::router())
        .merge(crate::panel::router())
        .merge(http::health::router())
}

/// Routes plus the middleware stack, bound to `state`.
pub fn router(state: AppState) -> Router {
    let config = &state.config;
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        ))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-signed-request"),
            HeaderName::from_static("x-user-language"),
        ])
        .max_age(Duration::from_secs(600));
    // Layers run outside-in from the bottom: request id first, so traces carry it.
    routes()
        .with_state(state.clone())
        // Per route (so the matched route pattern is known), inside the timeout layer.
        .layer(axum::middleware::from_fn(observability::track_http))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(cors)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), uri = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// `url` with the password of its user info replaced by `***`, for error messages.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

fn create_dir(path: &Path) -> Result<(), AppError> {
    std::fs::create_dir_all(path).map_err(|source| AppError::DataDir {
        path: path.display().to_string(),
        source,
    })
}

/// Reads the generated service secret, creating it (mode 0600) on first start.
fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, AppError> {
    let err = |source| AppError::DataDir {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {
            tracing::warn!(path = %path.display(), "token secret too short; generating a new one")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let secret = random_token();
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(err)?;
        file.write_all(secret.as_bytes()).map_err(err)?;
    }
    Ok(secret.into_bytes())
}

/// Whether the state talks to PostgreSQL (tests print which backend they ran on).
pub fn backend(state: &AppState) -> Backend {
    state.db.backend
}
