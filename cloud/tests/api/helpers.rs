//! `spawn_app()`: a real server on 127.0.0.1:0 with a fresh database (SQLite always,
//! PostgreSQL too when `PITLANE_TEST_DATABASE_URL` is set), a real SMTP receiver on
//! loopback, and a fake reCAPTCHA siteverify endpoint.

use std::net::SocketAddr;
use std::time::Duration;

use pitlane_cloud::accounts::jwt::{Audience, Binding, NewToken, TokenKeys};
use pitlane_cloud::accounts::secrets::DerivedKeys;
use pitlane_cloud::accounts::users::{self, NewUser, User};
use pitlane_cloud::app::{self, AppState};
use pitlane_cloud::config::{Config, SmtpSecurity};
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

pub const TOKEN_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const CAPTCHA_SECRET: &str = "siteverify-secret";
pub const GOOD_CAPTCHA: &str = "solved-captcha";
pub const UA: &str = "pitlane-tests/1.0";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL when `PITLANE_TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var("PITLANE_TEST_DATABASE_URL").is_ok() {
        v.push(Backend::Postgres);
    } else {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| eprintln!("PITLANE_TEST_DATABASE_URL unset: PostgreSQL runs skipped"));
    }
    v
}

/// A running service and everything needed to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    pub mail: mpsc::UnboundedReceiver<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates an account directly in storage.
    pub async fn user(&self, email: &str, password: &str, admin: bool) -> User {
        let hash = self
            .state
            .passwords
            .hash(password.into())
            .await
            .expect("hash");
        users::create(
            &self.state.db,
            NewUser {
                email: Some(email.into()),
                username: Some(email.split('@').next().unwrap_or(email).into()),
                name: format!("Name of {email}"),
                password_hash: Some(hash),
                admin,
                email_verified: true,
                wallet_address: None,
            },
        )
        .await
        .expect("create user")
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// POST with a bearer token and a JSON body (`None`: no body).
    pub async fn post_bearer(
        &self,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    pub async fn delete_bearer(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// The next email the SMTP receiver got, decoded: (to, subject, text body).
    pub async fn next_mail(&mut self) -> ReceivedMail {
        let raw = tokio::time::timeout(Duration::from_secs(20), self.mail.recv())
            .await
            .expect("no mail within 20 s")
            .expect("smtp receiver alive");
        let parsed = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parse mail");
        ReceivedMail {
            to: parsed
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned(),
            subject: parsed.subject().unwrap_or_default().to_owned(),
            text: parsed
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: parsed
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        }
    }

    /// Asserts that no mail arrives within a short grace period.
    pub async fn no_mail(&mut self) {
        let got = tokio::time::timeout(Duration::from_millis(1500), self.mail.recv()).await;
        assert!(got.is_err(), "unexpected mail: {got:?}");
    }

    /// Signs a token with the test secret, for crafting hostile tokens.
    pub fn forge(
        &self,
        aud: Audience,
        user_id: &str,
        sid: &str,
        now: i64,
        ttl: i64,
        binding: Option<Binding>,
    ) -> String {
        TokenKeys::new(&DerivedKeys::new(TOKEN_SECRET.as_bytes()).jwt)
            .issue(
                aud,
                NewToken {
                    user_id,
                    session_id: sid,
                    role: "client",
                    now,
                    ttl_secs: ttl,
                    binding,
                    team: None,
                },
            )
            .expect("forge")
    }

    /// Stops the server gracefully and drops the PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
        app::shutdown(&self.state).await;
        if let Some((admin_url, name)) = self.pg.take() {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    /// The first `http://` link in the text body.
    pub fn link(&self) -> String {
        let start = self.text.find("http://").expect("a link in the mail");
        self.text[start..]
            .split_whitespace()
            .next()
            .expect("link")
            .to_owned()
    }
}

/// Starts the service on `backend` with test defaults, then `tweak` applied.
pub async fn spawn_app(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let (smtp_addr, mail) = smtp_receiver().await;
    let siteverify = fake_siteverify().await;
    let mut pg = None;
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
        Backend::Postgres => {
            let admin_url = std::env::var("PITLANE_TEST_DATABASE_URL").expect("set");
            let name = format!(
                "pitlane_test_{}",
                pitlane_cloud::accounts::secrets::random_token()[..16].to_owned()
            );
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create database");
            let url = replace_db_name(&admin_url, &name);
            pg = Some((admin_url, name));
            url
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = Config::load_from(None, Vec::new()).expect("defaults");
    config.data_dir = dir.path().to_owned();
    config.database_url = Some(database_url);
    config.token_secret = Some(TOKEN_SECRET.into());
    config.public_url = format!("http://{addr}");
    config.smtp_host = Some("127.0.0.1".into());
    config.smtp_port = smtp_addr.port();
    config.smtp_security = SmtpSecurity::None;
    config.captcha_siteverify_url = Some(format!("http://{siteverify}/siteverify"));
    config.captcha_secret = Some(CAPTCHA_SECRET.into());
    config.login_per_ip_per_minute = 1000;
    config.login_per_account_per_minute = 1000;
    config.exist_email_per_minute = 1000;
    config.mqtt_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    tweak(&mut config);
    let (router, state) = app::build(config).await.expect("build app");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app::serve(listener, router, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    let client = reqwest::Client::builder()
        .user_agent(UA)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    TestApp {
        addr,
        state,
        client,
        mail,
        shutdown: Some(tx),
        server: Some(server),
        pg,
        _dir: dir,
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A minimal SMTP server on loopback: accepts every message and forwards its raw text.
async fn smtp_receiver() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 test-smtp ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Ok(Some(line))) =
                    tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await
                {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(std::mem::take(buf));
                            data = None;
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            buf.push_str(
                                line.strip_prefix('.')
                                    .filter(|_| line.starts_with(".."))
                                    .unwrap_or(&line),
                            );
                            buf.push_str("\r\n");
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-test-smtp\r\n250 8BITMIME\r\n",
                        "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (addr, rx)
}

/// A reCAPTCHA-compatible siteverify endpoint accepting [`GOOD_CAPTCHA`] for [`CAPTCHA_SECRET`].
async fn fake_siteverify() -> SocketAddr {
    use axum::{Form, Json, Router, routing::post};
    #[derive(serde::Deserialize)]
    struct Verify {
        secret: String,
        response: String,
    }
    let router = Router::new().route(
        "/siteverify",
        post(|Form(v): Form<Verify>| async move {
            Json(serde_json::json!({ "success": v.secret == CAPTCHA_SECRET && v.response == GOOD_CAPTCHA }))
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// Runs an async test body once per backend, each on a fresh app.
#[macro_export]
macro_rules! api_test {
    ($name:ident, $body:path) => {
        $crate::api_test!($name, $body, |_c: &mut pitlane_cloud::config::Config| {});
    };
    ($name:ident, $body:path, $tweak:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in $crate::helpers::backends() {
                let mut app = $crate::helpers::spawn_app(backend, $tweak).await;
                $body(&mut app).await;
                app.stop().await;
            }
        }
    };
}
