//! Operations endpoints: `/healthz` (the process serves), `/readyz` (its dependencies answer)
//! and `/metrics` (Prometheus text format).
//!
//! Load balancers route on `/readyz`; orchestrators restart on `/healthz`, which therefore
//! never touches a dependency (a database outage must not restart every instance).

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::{OpenApi, ToSchema};

use crate::app::AppState;
use crate::observability;

/// How long one readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

#[derive(OpenApi)]
#[openapi(
    paths(healthz, readyz, metrics),
    components(schemas(Health, Readiness))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
struct Health {
    /// `ok`.
    status: String,
}

#[derive(Serialize, ToSchema)]
struct Readiness {
    /// `ready` or `unavailable`.
    status: String,
    /// Each check (`database`, `broker`, …) → `ok` or the reason it failed.
    checks: std::collections::BTreeMap<String, String>,
}

/// The process serves HTTP (touches no dependency).
#[utoipa::path(get, path = "/healthz", tag = "Operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 `{"status":"ready","checks":{"database":"ok",…}}` when every check passes, else 503
/// with `"status":"unavailable"` and each failing check's reason in place of `"ok"`.
#[utoipa::path(get, path = "/readyz", tag = "Operations",
    responses((status = 200, body = Readiness, description = "Every dependency answers"),
        (status = 503, body = Readiness, description = "A check failed (its reason in `checks`)")))]
async fn readyz(State(state): State<AppState>) -> Response {
    let outcomes = state.readiness.run(CHECK_TIMEOUT).await;
    let ready = outcomes.iter().all(|o| o.result.is_ok());
    let checks: Map<String, Value> = outcomes
        .into_iter()
        .map(|o| {
            let v = match o.result {
                Ok(()) => Value::from("ok"),
                Err(reason) => Value::from(reason),
            };
            (o.name.to_owned(), v)
        })
        .collect();
    let (code, status) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (code, Json(json!({ "status": status, "checks": checks }))).into_response()
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "Operations",
    responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<AppState>) -> Response {
    if let Err(e) = observability::record_decode_tasks(&state.db).await {
        tracing::warn!("decode task gauge: {e}");
    }
    let handle = observability::prometheus();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
