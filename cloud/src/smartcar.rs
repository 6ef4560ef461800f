//! Smartcar connections: vehicles a user connects through Smartcar Connect (a software
//! connection instead of an aftermarket device).
//!
//! [`client`] speaks Smartcar's OAuth and vehicle API (any server with the same shape: the
//! base URLs are configurable), [`crypto`] encrypts the tokens and synthetic device keys we
//! must keep, [`store`] holds authorizations and connections, [`connect`] is the
//! `fromsmartcar` flow, [`synthetic`] mints the synthetic device of a connected vehicle once it
//! is minted, and [`worker`] processes the refresh queue.
//!
//! **Architecture invariant:** nothing here knows about HTTP routes or bodies of our API; tokens
//! never appear in logs, errors or `Debug` output.

pub mod client;
pub mod connect;
pub mod crypto;
pub mod refresh;
pub mod store;
pub mod synthetic;
pub mod worker;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::Secret;

pub use client::{CallError, SmartcarClient};
pub use crypto::TokenCipher;

/// The `[smartcar]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmartcarConfig {
    /// Base URL of the OAuth server (`{auth_url}/oauth/token`).
    pub auth_url: String,
    /// Base URL of the vehicle API (`{api_url}/v2.0/vehicles…`).
    pub api_url: String,
    /// The Smartcar application's client id; unset: `fromsmartcar` answers 503.
    pub client_id: Option<String>,
    /// The application's client secret.
    pub client_secret: Option<Secret>,
    /// A file holding the client secret (instead of `client_secret`).
    pub client_secret_file: Option<PathBuf>,
    /// Timeout of each call to Smartcar, seconds.
    pub timeout_secs: u64,
    /// Key that encrypts stored tokens and synthetic device keys (64 hex digits); default
    /// `<data_dir>/smartcar.key`, created with mode 0600. Instances sharing a database must
    /// share this file.
    pub encryption_key_file: Option<PathBuf>,
    /// Refresh requests processed at once per instance.
    pub refresh_concurrency: usize,
    /// How often an idle refresh worker looks for queued requests and for minted vehicles
    /// whose synthetic device is missing, milliseconds.
    pub refresh_poll_ms: u64,
}

impl Default for SmartcarConfig {
    fn default() -> Self {
        SmartcarConfig {
            auth_url: "https://auth.smartcar.com".into(),
            api_url: "https://api.smartcar.com".into(),
            client_id: None,
            client_secret: None,
            client_secret_file: None,
            timeout_secs: 10,
            encryption_key_file: None,
            refresh_concurrency: 2,
            refresh_poll_ms: 1000,
        }
    }
}

impl SmartcarConfig {
    /// Checks the section: `(key, message)` for the first bad setting.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, url) in [
            ("smartcar.auth_url", &self.auth_url),
            ("smartcar.api_url", &self.api_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err((key, "must be an http:// or https:// URL".into()));
            }
        }
        if self.client_secret.is_some() && self.client_secret_file.is_some() {
            return Err((
                "smartcar.client_secret_file",
                "give client_secret or client_secret_file, not both".into(),
            ));
        }
        let has_secret = self.client_secret.is_some() || self.client_secret_file.is_some();
        if self.client_id.is_some() != has_secret {
            return Err((
                "smartcar.client_id",
                "client_id and a client secret go together".into(),
            ));
        }
        if !(1..=120).contains(&self.timeout_secs) {
            return Err(("smartcar.timeout_secs", "must be between 1 and 120".into()));
        }
        if !(1..=64).contains(&self.refresh_concurrency) {
            return Err((
                "smartcar.refresh_concurrency",
                "must be between 1 and 64".into(),
            ));
        }
        if !(10..=60_000).contains(&self.refresh_poll_ms) {
            return Err((
                "smartcar.refresh_poll_ms",
                "must be between 10 and 60000".into(),
            ));
        }
        Ok(())
    }

    /// The encryption key file in effect.
    pub fn key_path(&self, data_dir: &Path) -> PathBuf {
        self.encryption_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("smartcar.key"))
    }
}

/// Why Smartcar could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("setting `smartcar.client_secret_file` ({path}): {source}")]
    SecretFile {
        path: String,
        source: std::io::Error,
    },
    #[error("setting `smartcar.client_secret_file` ({0}): the file is empty")]
    EmptySecret(String),
    #[error(transparent)]
    Key(#[from] crypto::KeyFileError),
    #[error("Smartcar HTTP client: {0}")]
    Http(String),
}

/// Why a Smartcar operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SmartcarError {
    /// Input of ours is malformed; the text names the field.
    #[error("{0}")]
    BadInput(String),
    /// No Smartcar application is configured.
    #[error(
        "Smartcar is not configured on this server (set smartcar.client_id and a client secret)"
    )]
    NotConfigured,
    /// A call to Smartcar failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The record does not exist or is not the caller's.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Devices(#[from] crate::devices::DevicesError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// What the service keeps for Smartcar: the client and the cipher of stored secrets, both
/// only when an application is configured (so a server without Smartcar writes no key file).
#[derive(Debug, Clone)]
pub struct Smartcar {
    client: Option<(SmartcarClient, TokenCipher)>,
}

impl Smartcar {
    /// Loads the client secret and the encryption key (created on first start).
    pub fn from_config(config: &SmartcarConfig, data_dir: &Path) -> Result<Self, SetupError> {
        let secret = match (&config.client_secret, &config.client_secret_file) {
            (Some(secret), _) => Some(secret.clone()),
            (None, Some(path)) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| SetupError::SecretFile {
                        path: path.display().to_string(),
                        source,
                    })?;
                let text = text.trim();
                if text.is_empty() {
                    return Err(SetupError::EmptySecret(path.display().to_string()));
                }
                Some(Secret::new(text))
            }
            (None, None) => None,
        };
        let (Some(id), Some(secret)) = (&config.client_id, secret) else {
            return Ok(Smartcar { client: None });
        };
        let client = SmartcarClient::new(
            &config.auth_url,
            &config.api_url,
            id,
            secret,
            Duration::from_secs(config.timeout_secs),
        )
        .map_err(|e| SetupError::Http(e.to_string()))?;
        let cipher = TokenCipher::load_or_create(&config.key_path(data_dir))?;
        Ok(Smartcar {
            client: Some((client, cipher)),
        })
    }

    /// The client, or [`SmartcarError::NotConfigured`].
    pub fn client(&self) -> Result<&SmartcarClient, SmartcarError> {
        self.client
            .as_ref()
            .map(|(client, _)| client)
            .ok_or(SmartcarError::NotConfigured)
    }

    /// The cipher of stored secrets, or [`SmartcarError::NotConfigured`].
    pub fn cipher(&self) -> Result<&TokenCipher, SmartcarError> {
        self.client
            .as_ref()
            .map(|(_, cipher)| cipher)
            .ok_or(SmartcarError::NotConfigured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(edit: impl FnOnce(&mut SmartcarConfig), error_key: Option<&str>) {
        let mut c = SmartcarConfig::default();
        edit(&mut c);
        assert_eq!(c.validate().err().map(|(k, _)| k), error_key);
    }

    #[test]
    fn validates_the_section() {
        check(|_| {}, None);
        check(
            |c| {
                c.client_id = Some("id".into());
                c.client_secret = Some("s".into());
            },
            None,
        );
        check(
            |c| c.client_id = Some("id".into()),
            Some("smartcar.client_id"),
        );
        check(
            |c| c.client_secret = Some("s".into()),
            Some("smartcar.client_id"),
        );
        check(
            |c| {
                c.client_id = Some("id".into());
                c.client_secret = Some("s".into());
                c.client_secret_file = Some("f".into());
            },
            Some("smartcar.client_secret_file"),
        );
        check(|c| c.auth_url = "ftp://x".into(), Some("smartcar.auth_url"));
        check(|c| c.api_url = "api".into(), Some("smartcar.api_url"));
        check(|c| c.timeout_secs = 0, Some("smartcar.timeout_secs"));
        check(
            |c| c.refresh_concurrency = 0,
            Some("smartcar.refresh_concurrency"),
        );
        check(|c| c.refresh_poll_ms = 5, Some("smartcar.refresh_poll_ms"));
    }
}
