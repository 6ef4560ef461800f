//! A WebDriver session with named steps: waits that poll with a deadline, a stand-in
//! browser wallet (`window.ethereum`) whose signatures are made here, and a screenshot
//! named after the step that failed.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use fantoccini::{Client, Locator};
use pitlane_shared::identity::DeviceKey;
use serde_json::json;

use super::driver::{self, WAIT};

pub struct Browser {
    pub client: Client,
    base: String,
    step: &'static str,
}

/// A stand-in for a wallet extension: answers `eth_requestAccounts` with one address and
/// parks `personal_sign` requests until the test signs them; announces itself the way
/// late-injected wallets do.
const WALLET: &str = r#"
var address = arguments[0];
window.__pitlaneSign = null;
window.ethereum = { request: function (req) {
  if (req.method === "eth_requestAccounts") return Promise.resolve([address]);
  if (req.method === "personal_sign") return new Promise(function (resolve) {
    window.__pitlaneSign = { message: req.params[0], resolve: resolve };
  });
  return Promise.reject(new Error("unsupported " + req.method));
} };
window.dispatchEvent(new Event("ethereum#initialized"));
"#;

fn unhex(text: &str) -> Result<Vec<u8>> {
    let digits = text.strip_prefix("0x").context("0x-hex message")?;
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .context("hex digit pair")
        })
        .collect()
}

impl Browser {
    pub fn new(client: Client, base: String) -> Browser {
        Browser {
            client,
            base,
            step: "start",
        }
    }

    /// Names the step that follows (for the failure message and screenshot).
    pub fn step(&mut self, name: &'static str) {
        self.step = name;
    }

    /// Panics with the failed step's name and screenshot, or closes the session.
    pub async fn finish(self, outcome: Result<()>) {
        if let Err(e) = outcome {
            let shot = driver::screenshot(&self.client, &format!("failed-{}", self.step)).await;
            let url = self.client.current_url().await.map(|u| u.to_string());
            let _ = self.client.close().await;
            panic!(
                "browser step `{}` failed: {e:#}\n  at {url:?}\n  screenshot: {shot:?}",
                self.step
            );
        }
        let _ = self.client.close().await;
    }

    pub async fn open(&self, path: &str) -> Result<()> {
        self.client.goto(&format!("{}{path}", self.base)).await?;
        Ok(())
    }

    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .context(css.to_owned())?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        self.client
            .find(Locator::Css(css))
            .await
            .context(css.to_owned())?
            .click()
            .await?;
        Ok(())
    }

    /// Waits until the element `css` contains `text` (pages may reload meanwhile).
    pub async fn wait_text(&self, css: &str, text: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if t.contains(text) {
                        return Ok(());
                    }
                    last = t;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("`{css}` never contained {text:?}; last seen: {last:?}")
    }

    /// Waits until the address bar contains `part`.
    pub async fn wait_url(&self, part: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            last = self.client.current_url().await?.to_string();
            if last.contains(part) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("the URL never contained {part:?}; last: {last}")
    }

    /// Fetches `path` from the page (with its cookies) and answers the body.
    pub async fn fetch_text(&self, path: &str) -> Result<String> {
        let script = "var done = arguments[arguments.length - 1];\
                      fetch(arguments[0], { credentials: 'same-origin' })\
                        .then(function (r) { return r.text(); })\
                        .then(done, function (e) { done('FETCH FAILED ' + e); });";
        let body = self.client.execute_async(script, vec![json!(path)]).await?;
        let body = body.as_str().context("text body")?.to_owned();
        if body.starts_with("FETCH FAILED") {
            bail!("{body}");
        }
        Ok(body)
    }

    /// Puts the stand-in wallet for `key` into the current page.
    pub async fn install_wallet(&self, key: &DeviceKey) -> Result<()> {
        self.client
            .execute(WALLET, vec![json!(key.address().to_checksum())])
            .await?;
        Ok(())
    }

    /// Waits for the page to ask the wallet for a signature, then signs with `key`.
    pub async fn sign_pending(&self, key: &DeviceKey) -> Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            let pending = self
                .client
                .execute(
                    "return window.__pitlaneSign ? window.__pitlaneSign.message : null;",
                    vec![],
                )
                .await?;
            if let Some(hex) = pending.as_str() {
                let signature = key.sign_message(&unhex(hex)?).to_string();
                self.client
                    .execute(
                        "var s = window.__pitlaneSign; window.__pitlaneSign = null; s.resolve(arguments[0]);",
                        vec![json!(signature)],
                    )
                    .await?;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the page never asked the wallet to sign")
    }
}
