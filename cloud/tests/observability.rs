//! `/healthz`, `/readyz`, `/metrics` over real HTTP, and JSON logs from the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use pitlane_cloud::app::{self, AppState};
use pitlane_cloud::config::Config;
use pitlane_cloud::observability::FnCheck;
use tokio::net::TcpListener;

struct App {
    base: String,
    state: AppState,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn spawn() -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::load_from(None, Vec::new()).expect("defaults");
    config.data_dir = dir.path().to_owned();
    config.mqtt_addr = "127.0.0.1:0".parse().expect("addr");
    let (router, state) = app::build(config).await.expect("build");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(app::serve(listener, router, std::future::pending()));
    App {
        base: format!("http://{addr}"),
        state,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        _dir: dir,
    }
}

impl App {
    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path).await;
        (status, serde_json::from_str(&body).expect("JSON body"))
    }
}

#[tokio::test]
async fn healthz_answers_without_touching_dependencies() {
    let app = spawn().await;
    assert_eq!(
        app.get_json("/healthz").await,
        (200, serde_json::json!({"status": "ok"}))
    );
    app.state.db.pool.close().await;
    assert_eq!(app.get_json("/healthz").await.0, 200);
}

#[tokio::test]
async fn readyz_reports_each_check() {
    let app = spawn().await;
    // Ready once the MQTT link has connected and subscribed (embedded broker on port 0).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (status, body) = loop {
        let (status, body) = app.get_json("/readyz").await;
        if status == 200 || std::time::Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"], "ok");

    // A part that starts later registers its own check; a failing one makes the service
    // unavailable and says why.
    app.state
        .readiness
        .register(Arc::new(FnCheck::new("search", || {
            Err("the search index is not loaded".into())
        })));
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["search"], "the search index is not loaded");
    assert_eq!(body["checks"]["database"], "ok");

    app.state
        .readiness
        .register(Arc::new(FnCheck::new("search", || Ok(()))));
    assert_eq!(app.get_json("/readyz").await.0, 200);

    app.state.db.pool.close().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    let reason = body["checks"]["database"].as_str().expect("a reason");
    assert_ne!(reason, "ok");
    assert!(!reason.is_empty());
}

/// The sum of the `_count` samples of the HTTP histogram whose labels include all of `labels`.
fn http_count(metrics: &str, labels: &[&str]) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("pitlane_http_request_duration_seconds_count{"))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = spawn().await;
    let healthz = ["method=\"GET\"", "route=\"/healthz\"", "status=\"200\""];
    let unmatched = ["route=\"unmatched\"", "status=\"404\""];
    let pattern = [
        "route=\"/api/v1/decode/{user_id}/tasks/{task_id}\"",
        "status=\"401\"",
    ];
    let (_, before) = app.get("/metrics").await;
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    assert_eq!(app.get("/no/such/route").await.0, 404);
    let (status, _) = app
        .get("/api/v1/decode/u2pK3dXhM7oVbEf9cRtQwZyL1aNs/tasks/task_0f3a")
        .await;
    assert_eq!(status, 401);

    let (status, after) = app.get("/metrics").await;
    assert_eq!(status, 200);
    // Other tests in this binary share the process-wide recorder: compare differences.
    assert_eq!(
        http_count(&after, &healthz) - http_count(&before, &healthz),
        3
    );
    assert!(http_count(&after, &unmatched) > http_count(&before, &unmatched));
    assert!(
        http_count(&after, &pattern) > http_count(&before, &pattern),
        "ids never become labels:\n{after}"
    );
    assert!(!after.contains("u2pK3dXhM7oVbEf9cRtQwZyL1aNs"));
    assert!(after.contains("pitlane_http_request_duration_seconds_bucket{"));
    assert!(after.contains("pitlane_decode_tasks{state=\"pending\"} 0"));
}

/// Starts `pitlane-cloud serve` with `log_args`/`env` and returns the stderr lines up to the
/// address announcement, then stops it.
fn serve_stderr(args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitlane-cloud"));
    cmd.args(args)
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("PITLANE_DATABASE_URL")
        .env_remove("PITLANE_LOG_FORMAT")
        .env("RUST_LOG", "info")
        .env("PITLANE_HTTP_ADDR", "127.0.0.1:0")
        .env("PITLANE_MQTT_ADDR", "127.0.0.1:0")
        .env("PITLANE_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the service announces its address");
        let done = line.contains("HTTP API on http://");
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

fn json_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect()
}

#[test]
fn json_logs_by_flag_or_environment() {
    for (args, env) in [
        (&["--log-format", "json"][..], &[][..]),
        (&[][..], &[("PITLANE_LOG_FORMAT", "json")][..]),
    ] {
        let lines = serve_stderr(args, env);
        let events = json_lines(&lines);
        let ready = events
            .iter()
            .find(|e| e["fields"]["message"] == "storage ready")
            .unwrap_or_else(|| panic!("a JSON `storage ready` event in {lines:#?}"));
        assert_eq!(ready["level"], "INFO");
        assert!(ready["timestamp"].is_string());
        assert!(
            ready["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("pitlane_cloud"))
        );
    }
}

#[test]
fn text_logs_by_default() {
    let lines = serve_stderr(&[], &[]);
    assert!(json_lines(&lines).is_empty(), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("INFO") && l.contains("storage ready")),
        "{lines:#?}"
    );
}

#[test]
fn unknown_log_format_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_pitlane-cloud"))
        .args(["--log-format", "xml", "decode", "5NPEB4AC9DH571382"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--log-format"), "{stderr}");
    assert!(
        stderr.contains("json"),
        "the allowed values are listed: {stderr}"
    );
}
