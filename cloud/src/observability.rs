//! Logs, metrics and readiness: the log format switch shared by the binaries, the process-wide
//! Prometheus recorder, the HTTP latency middleware, and the readiness checks behind `/readyz`.
//!
//! Metrics go through the `metrics` facade, so any module records them without knowing about
//! Prometheus; [`prometheus`] installs the exporter once per process (several services in one
//! process, as in tests and `pitlane up`, share it).

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::Row;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::db::Db;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`, `spans`).
    Json,
}

/// The logging options every Pitlane binary accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log format on stderr; the level comes from `RUST_LOG` (default `warn`).
    #[arg(
        long,
        global = true,
        env = "PITLANE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}

/// Whether a span or event is logged at all, whatever `RUST_LOG` says: everything except
/// rumqttd's spans. rumqttd opens an error-level span for every publish its router handles,
/// with the topic formatted into it, so any filter that lets errors through formatted every
/// device message once more in the broker's single router thread (≈10 % of that thread
/// under load). rumqttd's events (its warnings and errors) are still logged, only without
/// those spans as context. Decided per call site, so a dropped span costs nothing.
fn without_broker_spans() -> FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool + Clone> {
    filter_fn(|meta: &tracing::Metadata<'_>| {
        !(meta.is_span() && meta.target().starts_with("rumqttd"))
    })
}

/// Installs the global tracing subscriber writing to stderr in `format`.
///
/// Returns false when a subscriber was already installed (then nothing changes).
pub fn init_logging(format: LogFormat) -> bool {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let ansi = pitlane_shared::logging::colours(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR"),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder
            .finish()
            .with(without_broker_spans())
            .try_init()
            .is_ok(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .flatten_event(false)
            .finish()
            .with(without_broker_spans())
            .try_init()
            .is_ok(),
    }
}

/// Name of the HTTP latency histogram (labels `method`, `route`, `status`).
pub const HTTP_DURATION: &str = "pitlane_http_request_duration_seconds";

/// Upper bounds of the latency buckets, seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's Prometheus recorder, installed on first use.
///
/// If another `metrics` recorder was installed first (an embedding application's), the
/// handle still renders, but only what reaches this recorder, which is then nothing.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Only fails on an empty bucket list, and LATENCY_BUCKETS is a non-empty constant.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows nothing");
        } else {
            describe();
        }
        handle
    })
}

fn describe() {
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method, matched route and status"
    );
    metrics::describe_gauge!(
        "pitlane_decode_tasks",
        "Bulk VIN decode tasks by state (all instances, read at scrape time)"
    );
}

/// Middleware recording [`HTTP_DURATION`] for every request. The route label is the matched
/// route pattern (`/v1/vehicle/{tokenId}/commands/{requestId}`), never the raw path, so ids do
/// not multiply the series; requests no route matched are labelled `unmatched`.
pub async fn track_http(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route, "status" => status)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Sets `pitlane_decode_tasks{state}` from the database (called when `/metrics` is scraped, so
/// the figure is fleet-wide, not per instance).
pub async fn record_decode_tasks(db: &Db) -> Result<(), sqlx::Error> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM vin_tasks GROUP BY state")
        .fetch_all(&db.pool)
        .await?;
    for state in ["pending", "paused", "running", "completed", "failed"] {
        let mut n = 0i64;
        for row in &rows {
            if row.try_get::<String, _>("state")? == state {
                n = row.try_get("n")?;
            }
        }
        metrics::gauge!("pitlane_decode_tasks", "state" => state).set(n as f64);
    }
    Ok(())
}

/// A future a readiness check returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Something the service needs to be useful (the database, the broker link).
pub trait ReadinessCheck: Send + Sync + Debug {
    /// Short name shown in `/readyz` (`database`, `broker`).
    fn name(&self) -> &'static str;
    /// `Err` says, for an operator, why the dependency is not usable now.
    fn check(&self) -> CheckFuture<'_>;
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    pub name: &'static str,
    pub result: Result<(), String>,
}

/// The set of readiness checks; parts that start later (the MQTT layer) register theirs.
#[derive(Debug, Default)]
pub struct Readiness {
    checks: RwLock<Vec<Arc<dyn ReadinessCheck>>>,
}

impl Readiness {
    /// Adds a check; a check registered again under the same name replaces the old one.
    pub fn register(&self, check: Arc<dyn ReadinessCheck>) {
        let mut checks = self.checks.write().unwrap_or_else(|p| p.into_inner());
        checks.retain(|c| c.name() != check.name());
        checks.push(check);
    }

    /// Runs every check concurrently, each bounded by `timeout`, in registration order.
    pub async fn run(&self, timeout: Duration) -> Vec<CheckOutcome> {
        let checks = self
            .checks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, check) in checks.into_iter().enumerate() {
            tasks.spawn(async move {
                let name = check.name();
                let result = match tokio::time::timeout(timeout, check.check()).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
                };
                (i, CheckOutcome { name, result })
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => outcomes.push((
                    usize::MAX,
                    CheckOutcome {
                        name: "check",
                        result: Err(format!("readiness check panicked: {e}")),
                    },
                )),
            }
        }
        outcomes.sort_by_key(|(i, _)| *i);
        outcomes.into_iter().map(|(_, o)| o).collect()
    }
}

/// The database answers a trivial query.
#[derive(Debug, Clone)]
pub struct DatabaseCheck(pub Db);

impl ReadinessCheck for DatabaseCheck {
    fn name(&self) -> &'static str {
        "database"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            sqlx::query("SELECT 1")
                .fetch_one(&self.0.pool)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }
}

/// A check answered by a closure over some shared flag or handle (e.g. "the broker link is up").
pub struct FnCheck<F> {
    name: &'static str,
    f: F,
}

impl<F> FnCheck<F>
where
    F: Fn() -> Result<(), String> + Send + Sync + 'static,
{
    pub fn new(name: &'static str, f: F) -> Self {
        FnCheck { name, f }
    }
}

impl<F> Debug for FnCheck<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnCheck").field("name", &self.name).finish()
    }
}

impl<F> ReadinessCheck for FnCheck<F>
where
    F: Fn() -> Result<(), String> + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let result = (self.f)();
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::Layer;

    #[test]
    fn broker_spans_are_dropped_and_its_events_kept() {
        let events = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = events.clone();
        let counting = tracing_subscriber::fmt::layer()
            .with_writer(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::io::sink()
            })
            .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
        let subscriber = tracing_subscriber::registry()
            .with(counting)
            .with(without_broker_spans());
        tracing::subscriber::with_default(subscriber, || {
            let broker = tracing::error_span!(target: "rumqttd::router::routing", "publish");
            let ours = tracing::error_span!(target: "pitlane_cloud::mqtt", "ingest");
            assert!(broker.is_disabled());
            assert!(!ours.is_disabled());
            tracing::error!(target: "rumqttd::router::routing", "router error");
            tracing::info!(target: "rumqttd::router::routing", "below the level");
        });
        assert_eq!(events.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[derive(Debug)]
    struct Slow;

    impl ReadinessCheck for Slow {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn check(&self) -> CheckFuture<'_> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn outcomes_keep_order_and_time_out() {
        let r = Readiness::default();
        r.register(Arc::new(FnCheck::new("a", || Ok(()))));
        r.register(Arc::new(Slow));
        r.register(Arc::new(FnCheck::new("b", || Err("down".into()))));
        let out = r.run(Duration::from_secs(2)).await;
        let names: Vec<_> = out.iter().map(|o| o.name).collect();
        assert_eq!(names, ["a", "slow", "b"]);
        assert_eq!(out[0].result, Ok(()));
        assert_eq!(out[1].result, Err("no answer within 2000 ms".into()));
        assert_eq!(out[2].result, Err("down".into()));
    }

    #[tokio::test]
    async fn registering_a_name_again_replaces_it() {
        let r = Readiness::default();
        r.register(Arc::new(FnCheck::new("broker", || Err("down".into()))));
        r.register(Arc::new(FnCheck::new("broker", || Ok(()))));
        let out = r.run(Duration::from_secs(1)).await;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].result, Ok(()));
    }
}
