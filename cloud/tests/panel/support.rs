//! A real cloud on 127.0.0.1:0 (SQLite always, PostgreSQL too when
//! `PITLANE_TEST_DATABASE_URL` is set) and a minimal cookie-keeping browser over reqwest.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use pitlane_cloud::accounts::users::{self, NewUser, User};
use pitlane_cloud::app::{self, AppState};
use pitlane_cloud::config::Config;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use sqlx::{Connection, Row};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const TOKEN_SECRET: &str = "panel-test-secret-panel-test-secret-0123";
pub const PASSWORD: &str = "correct-horse-battery";

/// SQLite always; PostgreSQL when `PITLANE_TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<bool> {
    let pg = std::env::var("PITLANE_TEST_DATABASE_URL").is_ok();
    if !pg {
        eprintln!("PITLANE_TEST_DATABASE_URL unset: PostgreSQL runs skipped");
    }
    if pg { vec![false, true] } else { vec![false] }
}

/// A running cloud.
pub struct Panel {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Panel {
    pub async fn start(postgres: bool) -> Panel {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut pg = None;
        let database_url = if postgres {
            let admin = std::env::var("PITLANE_TEST_DATABASE_URL").expect("set");
            let name = format!(
                "pitlane_panel_{}",
                &pitlane_cloud::accounts::secrets::random_token()[..16]
            );
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create database");
            let url = with_db_name(&admin, &name);
            pg = Some((admin, name));
            url
        } else {
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("panel.db").display()
            )
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = Config::load_from(None, Vec::new()).expect("defaults");
        config.data_dir = dir.path().to_owned();
        config.database_url = Some(database_url);
        config.token_secret = Some(TOKEN_SECRET.into());
        config.public_url = format!("http://{addr}");
        config.mqtt_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.login_per_ip_per_minute = 1000;
        config.login_per_account_per_minute = 1000;
        let (router, state) = app::build(config).await.expect("build app");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app::serve(listener, router, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Panel {
            addr,
            state,
            shutdown: Some(tx),
            server: Some(server),
            pg,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn browser(&self) -> Browser {
        Browser {
            base: self.url(""),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    /// An account with a password, made directly in storage.
    pub async fn user(&self, email: &str) -> User {
        let hash = self
            .state
            .passwords
            .hash(PASSWORD.into())
            .await
            .expect("hash");
        users::create(
            &self.state.db,
            NewUser {
                email: Some(email.into()),
                name: format!("Name of {email}"),
                password_hash: Some(hash),
                email_verified: true,
                ..NewUser::default()
            },
        )
        .await
        .expect("create user")
    }

    /// A browser logged in as a new account `email`.
    pub async fn logged_in(&self, email: &str) -> (User, Browser) {
        let user = self.user(email).await;
        let mut b = self.browser();
        let page = b.login(email, PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        (user, b)
    }

    /// The text of the newest mail to `to` in the outbox (mail leaves in the background).
    pub async fn mail_to(&self, to: &str) -> String {
        for _ in 0..200 {
            let row = sqlx::query("SELECT text FROM outbox WHERE to_addr = $1 ORDER BY id DESC")
                .bind(to)
                .fetch_optional(&self.state.db.pool)
                .await
                .expect("outbox");
            if let Some(row) = row {
                return row.try_get("text").expect("text");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} within 10 s");
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
        self.state.db.close().await;
        if let Some((admin, name)) = self.pg.take() {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

fn with_db_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let start = base.find("://").map_or(0, |i| i + 3);
    let base = base[start..]
        .find('/')
        .map_or(base, |slash| &base[..start + slash]);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The first link in a mail text that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[start..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_owned()
}

/// An answer as the browser saw it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body))
            + marker.len();
        self.body[start..]
            .split('"')
            .next()
            .expect("value")
            .to_owned()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// Keeps cookies like a browser (for one host), follows no redirects by itself.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        for c in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let pair = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let body = response.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.finish(r).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(path, fields, &[]).await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(fields);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("POST");
        self.finish(r).await
    }

    /// Posts a `multipart/form-data` body: (name, file name, value) per part.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        parts: &[(&str, Option<&str>, &str)],
    ) -> Page {
        let boundary = "pitlane-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = String::new();
        for (name, file, value) in parts {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
            ));
            if let Some(file) = file {
                body.push_str(&format!("; filename=\"{file}\"\r\nContent-Type: text/csv"));
            }
            body.push_str(&format!("\r\n\r\n{value}\r\n"));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("POST");
        self.finish(r).await
    }

    /// Submits a JSON body as the panel's scripts do.
    pub async fn post_json(&mut self, path: &str, csrf: &str, body: serde_json::Value) -> Page {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await
            .expect("POST");
        self.finish(r).await
    }

    /// Loads `form_page`, then posts `fields` with its CSRF token to `action`.
    pub async fn submit(&mut self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Page {
        self.submit(
            "/panel/login",
            "/panel/login",
            &[("email", email), ("password", password)],
        )
        .await
    }
}
