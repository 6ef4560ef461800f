//! Bulk decode end to end, through HTTP and the database: N VINs (default 100,000; real
//! fixture VINs, cycled) posted in bulks of 10,000 to `POST /api/v1/decode/{user_id}`,
//! decoded by the service's own workers, and polled through `GET …/tasks/{task_id}` until
//! every task has completed. Prints VINs/s for SQLite, and for PostgreSQL when
//! `PITLANE_TEST_DATABASE_URL` is set.
//!
//! It takes minutes, so it runs only when asked:
//! `PITLANE_BULK_BENCH=1 cargo bench -p pitlane-cloud --bench bulk_decode`
//! (`PITLANE_BULK_BENCH_VINS=N` for another size; worker settings from `PITLANE_VIN_WORKER_*`).

use std::time::{Duration, Instant};

use pitlane_cloud::accounts::users::{self, NewUser};
use pitlane_cloud::app;
use pitlane_cloud::config::Config;
use serde_json::{Value, json};

const PASSWORD: &str = "bench-password-951";
const BULK: usize = 10_000;
/// Gives up if the whole run takes longer than this.
const DEADLINE: Duration = Duration::from_secs(1800);

fn main() {
    if std::env::var("PITLANE_BULK_BENCH").as_deref() != Ok("1") {
        eprintln!("bulk_decode: skipped (set PITLANE_BULK_BENCH=1 to run; it takes minutes)");
        return;
    }
    let count = std::env::var("PITLANE_BULK_BENCH_VINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let vins = fixture_vins(count);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut targets = vec![("sqlite", None)];
    if let Ok(url) = std::env::var("PITLANE_TEST_DATABASE_URL") {
        targets.push(("postgres", Some(url)));
    }
    for (name, url) in targets {
        let (post, total) = rt.block_on(run(&vins, url));
        println!(
            "bulk_decode/{name}: {count} VINs posted in {:.2} s, all decoded after {:.2} s: {:.0} VINs/s",
            post.as_secs_f64(),
            total.as_secs_f64(),
            count as f64 / total.as_secs_f64()
        );
    }
}

/// `count` real VINs from the test fixtures, cycled.
fn fixture_vins(count: usize) -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vin");
    let unique: Vec<String> = ["real-vins.csv", "vpic-decoded-vins.csv"]
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("fixture");
            let column: Vec<String> = text
                .lines()
                .skip(1)
                .filter_map(|line| line.split(',').next().map(str::to_owned))
                .collect();
            column
        })
        .collect();
    assert!(!unique.is_empty(), "fixture VINs present");
    unique.into_iter().cycle().take(count).collect()
}

/// Answers (time to post every bulk, time until every task completed).
async fn run(vins: &[String], database_url: Option<String>) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::load(None).expect("config");
    config.data_dir = dir.path().to_owned();
    config.database_url = database_url;
    config.token_secret = Some("bench-secret-bench-secret-bench-secret".into());
    config.login_per_ip_per_minute = u32::MAX;
    config.login_per_account_per_minute = u32::MAX;
    config.body_limit_bytes = 4 * 1024 * 1024;
    // The embedded broker on an ephemeral port, never a fixed one.
    config.mqtt_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let (router, state) = app::build(config).await.expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(app::serve(listener, router, std::future::pending()));

    let email = format!("bulk-{}@example.com", std::process::id());
    let hash = state.passwords.hash(PASSWORD.into()).await.expect("hash");
    let user = users::create(
        &state.db,
        NewUser {
            email: Some(email.clone()),
            name: "Bulk".into(),
            password_hash: Some(hash),
            ..NewUser::default()
        },
    )
    .await
    .expect("user");
    let client = reqwest::Client::new();
    let signin: Value = client
        .post(format!("{base}/api/v1/users/signin"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("signin")
        .json()
        .await
        .expect("json");
    let token = signin["token"].as_str().expect("token").to_owned();
    let decode_url = format!("{base}/api/v1/decode/{}", user.id);

    let start = Instant::now();
    let mut last_tasks = Vec::new();
    for chunk in vins.chunks(BULK) {
        let r: Value = client
            .post(&decode_url)
            .bearer_auth(&token)
            .json(&json!({ "vins": chunk, "file_name": "bench.csv" }))
            .send()
            .await
            .expect("bulk")
            .json()
            .await
            .expect("json");
        let ids = r["task_ids"].as_array().expect("task ids");
        last_tasks.push(ids.last().and_then(Value::as_str).expect("id").to_owned());
    }
    let posted = start.elapsed();
    loop {
        let mut done = 0;
        for task in &last_tasks {
            let r: Value = client
                .get(format!("{decode_url}/tasks/{task}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("task")
                .json()
                .await
                .expect("json");
            done += r["progress"]["completed"].as_u64().expect("progress");
        }
        if done >= vins.len() as u64 {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{done} of {} after {DEADLINE:?}",
            vins.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let total = start.elapsed();
    app::shutdown(&state).await;
    (posted, total)
}
