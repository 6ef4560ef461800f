//! Auth benchmarks: requests/s of an authenticated `GET /api/v1/users/{user_id}` next to a
//! bare axum handler in the same run (both over real HTTP on loopback, 32 requests in
//! flight), with the session cache on (the default, 1 s) and off (every request reads the
//! session from the database), token validations/s, and password logins/s (argon2id, OWASP
//! parameters).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitlane_cloud::accounts::jwt::Audience;
use pitlane_cloud::accounts::users::{self, NewUser};
use pitlane_cloud::app::{self, AppState};
use pitlane_cloud::config::Config;
use tokio::runtime::Runtime;

const IN_FLIGHT: u64 = 32;
const PASSWORD: &str = "bench-password-951";

struct Fixture {
    state: AppState,
    client: reqwest::Client,
    authed_url: String,
    bare_url: String,
    signin_url: String,
    token: String,
    _dir: tempfile::TempDir,
}

fn fixture(rt: &Runtime, session_cache_ttl_ms: u64) -> Fixture {
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::load_from(None, Vec::new()).expect("config");
        config.data_dir = dir.path().to_owned();
        config.token_secret = Some("bench-secret-bench-secret-bench-secret".into());
        config.login_per_ip_per_minute = u32::MAX;
        config.login_per_account_per_minute = u32::MAX;
        config.session_cache_ttl_ms = session_cache_ttl_ms;
        // The embedded broker on an ephemeral port, never a fixed one.
        config.mqtt_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let (router, state) = app::build(config).await.expect("app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(app::serve(listener, router, std::future::pending()));

        let bare = axum::Router::new().route(
            "/bare/{user_id}",
            axum::routing::get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                axum::Json(serde_json::json!({ "user_id": id, "name": "Bench", "email": "bench@example.com", "role": "client" }))
            }),
        );
        let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let bare_addr = bare_listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(bare_listener, bare).await });

        let hash = state.passwords.hash(PASSWORD.into()).await.expect("hash");
        let user = users::create(
            &state.db,
            NewUser {
                email: Some("bench@example.com".into()),
                name: "Bench".into(),
                password_hash: Some(hash),
                ..NewUser::default()
            },
        )
        .await
        .expect("user");
        let client = reqwest::Client::builder().user_agent("bench/1").pool_max_idle_per_host(64).build().expect("client");
        let signin_url = format!("http://{addr}/api/v1/users/signin");
        let body: serde_json::Value = client
            .post(&signin_url)
            .json(&serde_json::json!({ "email": "bench@example.com", "password": PASSWORD }))
            .send()
            .await
            .expect("signin")
            .json()
            .await
            .expect("json");
        Fixture {
            state,
            authed_url: format!("http://{addr}/api/v1/users/{}", user.id),
            bare_url: format!("http://{bare_addr}/bare/{}", user.id),
            signin_url,
            token: body["token"].as_str().expect("token").to_owned(),
            client,
            _dir: dir,
        }
    })
}

/// Runs `iters` GETs with [`IN_FLIGHT`] concurrent workers and answers the elapsed time.
async fn load(client: &reqwest::Client, url: &str, token: Option<&str>, iters: u64) -> Duration {
    let url: Arc<str> = url.into();
    let token: Option<Arc<str>> = token.map(Into::into);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..IN_FLIGHT {
        let n = iters / IN_FLIGHT + u64::from(worker < iters % IN_FLIGHT);
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tasks.spawn(async move {
            for _ in 0..n {
                let mut req = client.get(&*url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let r = req.send().await.expect("request");
                assert!(r.status().is_success(), "{}", r.status());
                r.bytes().await.expect("body");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    start.elapsed()
}

fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let f = fixture(&rt, 1000);
    let uncached = fixture(&rt, 0);
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bare_axum_get", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| load(&f.client, &f.bare_url, None, iters))
    });
    g.bench_function("authenticated_get_user", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| load(&f.client, &f.authed_url, Some(&f.token), iters))
    });
    g.bench_function("authenticated_get_user_uncached", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            load(
                &uncached.client,
                &uncached.authed_url,
                Some(&uncached.token),
                iters,
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("tokens");
    g.throughput(Throughput::Elements(1));
    let jwt = f.token.splitn(3, '.').nth(2).expect("jwt").to_owned();
    let now = pitlane_cloud::accounts::now();
    g.bench_function("jwt_validate", |b| {
        b.iter(|| {
            f.state
                .tokens
                .verify(std::hint::black_box(&jwt), Audience::Users, now)
                .expect("valid")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("logins");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.bench_function("signin_argon2id", |b| {
        b.to_async(&rt).iter(|| async {
            let r = f
                .client
                .post(&f.signin_url)
                .json(&serde_json::json!({ "email": "bench@example.com", "password": PASSWORD }))
                .send()
                .await
                .expect("signin");
            assert!(r.status().is_success());
        })
    });
    g.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
