//! The cloud, in-process on 127.0.0.1:0 with a fresh SQLite database, and its mail outbox.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use pitlane_cloud::app::{self, AppState};
use pitlane_cloud::config::Config;
use sqlx::Row;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct Cloud {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Cloud {
    pub async fn start() -> Result<Cloud> {
        let dir = tempfile::tempdir()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut config = Config::load_from(None, Vec::new())?;
        config.data_dir = dir.path().to_owned();
        config.token_secret = Some("browser-test-secret-browser-test-secret-01".into());
        config.public_url = format!("http://{addr}");
        config.mqtt_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let (router, state) = app::build(config).await.context("building the cloud")?;
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = app::serve(listener, router, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Cloud {
            addr,
            state,
            shutdown: Some(tx),
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The first link starting with `prefix` in the newest mail to `to` (mail leaves on a
    /// background task, so it is waited for).
    pub async fn link_in_mail(&self, to: &str, prefix: &str) -> Result<String> {
        for _ in 0..200 {
            let row = sqlx::query("SELECT text FROM outbox WHERE to_addr = $1 ORDER BY id DESC")
                .bind(to)
                .fetch_optional(&self.state.db.pool)
                .await?;
            if let Some(row) = row {
                let text: String = row.try_get("text")?;
                let start = text.find(prefix).context("no link in the mail")?;
                return Ok(text[start..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("no mail to {to} within 10 s")
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.state.db.close().await;
    }
}
