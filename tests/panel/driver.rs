//! Headless Chromium through chromedriver (Debian's packages): finding them, starting
//! chromedriver on a port it picks itself, a WebDriver session, and screenshots.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long any single browser wait may take (the machine is small and shared).
pub const WAIT: Duration = Duration::from_secs(30);

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Chromedriver and a Chromium, or the reason the browser tests cannot run here.
pub fn find() -> Result<(PathBuf, PathBuf), String> {
    let driver = on_path(&["chromedriver"]).ok_or("chromedriver is not installed")?;
    let browser = on_path(&["chromium", "chromium-browser", "google-chrome"])
        .ok_or("no Chromium (chromium, chromium-browser or google-chrome) is installed")?;
    Ok((driver, browser))
}

/// A running chromedriver; killed when dropped.
pub struct Driver {
    _child: Child,
    pub url: String,
    _profile: tempfile::TempDir,
    browser: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free port (`--port=0`) and reads the port it announces.
    pub async fn start(driver: &Path, browser: &Path) -> Result<Driver> {
        let mut child = Command::new(driver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting chromedriver")?;
        let stdout = child.stdout.take().context("chromedriver stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let marker = "started successfully on port ";
        let port = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(at) = line.find(marker) {
                    let digits: String = line[at + marker.len()..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    return Ok::<_, anyhow::Error>(Some(digits.parse::<u16>()?));
                }
            }
            Ok(None)
        })
        .await
        .context("chromedriver did not announce its port in time")??
        .context("chromedriver exited before announcing its port")?;
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Driver {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
            _profile: tempfile::tempdir().context("profile dir")?,
            browser: browser.to_owned(),
        })
    }

    /// A new headless browser session with a window `width` × `height`.
    pub async fn session(&self, width: u32, height: u32) -> Result<Client> {
        let caps = json!({
            "goog:chromeOptions": {
                "binary": self.browser,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    format!("--user-data-dir={}", self._profile.path().join(format!("p{width}")).display()),
                    format!("--window-size={width},{height}"),
                ],
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            bail!("capabilities are an object");
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        let client = tokio::time::timeout(WAIT, builder.connect(&self.url))
            .await
            .context("WebDriver session timed out")?
            .context("WebDriver session")?;
        Ok(client)
    }
}

/// Where screenshots go: `target/panel-screenshots/` (or under `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("panel-screenshots")
}

/// Saves a screenshot of the current page as `<name>.png`; answers its path.
pub async fn screenshot(client: &Client, name: &str) -> Result<PathBuf> {
    let png = client.screenshot().await.context("screenshot")?;
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).context("screenshot dir")?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).context("writing screenshot")?;
    Ok(path)
}
