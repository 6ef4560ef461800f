//! Service configuration: a TOML file overlaid with `PITLANE_*` environment variables.
//!
//! Every setting is a flat TOML key and has a variable named `PITLANE_` + the key in upper
//! case (`http_addr` ↔ `PITLANE_HTTP_ADDR`); `DATABASE_URL` is honoured as well. Unknown keys
//! in the file and values that do not parse are rejected with an error naming the setting.
//! Unknown `PITLANE_*` variables are ignored: other tools (tests, the agent) use the prefix too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The parsed, validated configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub http_addr: SocketAddr,
    /// Address of the embedded MQTT broker (loopback by default); unused with `mqtt_url`.
    pub mqtt_addr: SocketAddr,
    /// An external MQTT broker (`mqtt://host:port`); when set, nothing is embedded and the
    /// cloud consumes device traffic through the shared subscription.
    pub mqtt_url: Option<String>,
    /// User name the cloud presents to the broker (external broker; the embedded broker
    /// needs none for the cloud's in-process link).
    pub mqtt_username: Option<String>,
    /// Password the cloud presents to the broker.
    pub mqtt_password: Option<Secret>,
    /// Client id at an external broker; give each instance its own (its persistent session).
    pub mqtt_client_id: String,
    /// Shared-subscription group: instances in one group split the device traffic.
    pub mqtt_share_group: String,
    /// PEM file of the CA(s) that sign an `mqtts://` broker's certificate; unset: the
    /// system's root certificates. Only with an `mqtts://` `mqtt_url`.
    pub mqtt_ca_file: Option<PathBuf>,
    /// Client certificate (PEM) the cloud presents to an `mqtts://` broker (mutual TLS).
    pub mqtt_client_cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM, mode 0600).
    pub mqtt_client_key_file: Option<PathBuf>,
    /// The cloud's command key file; default `<data_dir>/command.key` (created, mode 0600).
    pub command_key_file: Option<PathBuf>,
    /// How long a command stays executable after it is issued, seconds.
    pub command_ttl_secs: u64,
    /// When a device message counts as stored, so that the broker may forget it (SQLite;
    /// PostgreSQL commits are always flushed): `full` on disk, `normal` handed to the OS.
    pub ingest_sync: IngestSync,
    /// Directory for the SQLite database and generated secrets.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `sqlite://<data_dir>/pitlane.db`.
    pub database_url: Option<String>,
    /// Secret for signing tokens (at least 32 bytes). Generated into `<data_dir>/token-secret`
    /// when unset; set it explicitly when several instances share a database.
    pub token_secret: Option<Secret>,
    /// Public base URL used in links inside emails.
    pub public_url: String,
    /// Header carrying the client address when behind a reverse proxy (`x-forwarded-for`
    /// uses its right-most entry, any other header its whole value). Unset: the peer address.
    pub trusted_proxy_header: Option<String>,
    /// Lifetime of access tokens, seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of apikey-hmac access tokens, seconds.
    pub hmac_token_ttl_secs: u64,
    /// Absolute lifetime of a login session (refresh tokens never outlive it), seconds.
    pub session_max_age_secs: u64,
    /// Lifetime of email verification and password reset links, seconds (at most 3600).
    pub email_link_ttl_secs: u64,
    /// Whole-request timeout, seconds.
    pub request_timeout_secs: u64,
    /// Largest accepted request body, bytes.
    pub body_limit_bytes: usize,
    /// Origins allowed by CORS; empty allows none.
    pub cors_origins: Vec<String>,
    /// Login-type attempts allowed per client address per minute.
    pub login_per_ip_per_minute: u32,
    /// Login-type attempts allowed per account per minute.
    pub login_per_account_per_minute: u32,
    /// `/api/exist-email` look-ups allowed per client address per minute.
    pub exist_email_per_minute: u32,
    /// SMTP relay host; unset keeps mail in the outbox table (and the log).
    pub smtp_host: Option<String>,
    /// SMTP port.
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub smtp_security: SmtpSecurity,
    /// SMTP user name.
    pub smtp_username: Option<String>,
    /// SMTP password.
    pub smtp_password: Option<Secret>,
    /// Sender address of outgoing mail.
    pub smtp_from: String,
    /// Timeout of each SMTP step, seconds.
    pub smtp_timeout_secs: u64,
    /// reCAPTCHA-compatible siteverify URL; unset uses the development verifier.
    pub captcha_siteverify_url: Option<String>,
    /// Secret sent to the siteverify URL.
    pub captcha_secret: Option<Secret>,
    /// Token the development verifier accepts; unset: it accepts none.
    pub captcha_test_token: Option<String>,
    /// Domain named in Web3 login challenges.
    pub web3_domain: String,
    /// Lifetime of a Web3 challenge, seconds.
    pub web3_challenge_ttl_secs: u64,
    // --- performance knobs (helper "perf") ---
    /// How long this instance trusts that a session is still active before asking the
    /// database again, milliseconds; 0 disables the cache. A logout, reset or refresh-token
    /// reuse handled by another instance reaches this one within this delay.
    pub session_cache_ttl_ms: u64,
    /// Most sessions the cache holds.
    pub session_cache_capacity: usize,
    /// Bulk-decode worker loops per instance.
    pub vin_worker_concurrency: usize,
    /// Bulk-decode tasks a worker loop claims at once.
    pub vin_worker_batch: u32,
    /// How often an idle bulk-decode worker looks for new tasks, milliseconds (new tasks
    /// submitted to this instance wake it at once).
    pub vin_worker_poll_ms: u64,
    // --- end performance knobs ---
    // --- device registry (helper "registry") ---
    /// EIP-155 chain id of the registry's EIP-712 domain.
    pub registry_chain_id: u64,
    /// The registry contract (EIP-712 `verifyingContract` of claim, pair, unpair and mint).
    pub registry_address: String,
    /// The vehicle NFT contract (`nftContractAddress` of token exchange).
    pub vehicle_nft_address: String,
    /// The aftermarket device NFT contract.
    pub aftermarket_device_nft_address: String,
    /// The synthetic device NFT contract.
    pub synthetic_device_nft_address: String,
    /// SHA-256 hex digest of the provisioning API key (admin devices API); unset: only
    /// admin accounts may register devices over HTTP.
    pub provisioning_api_key_sha256: Option<String>,
    /// Lifetime of privilege tokens (token exchange), seconds.
    pub privilege_token_ttl_secs: u64,
    /// Minimum time between two refresh requests of one vehicle, seconds.
    pub refresh_interval_secs: u64,
    /// How long to wait for a device to sign a claim or pairing payload, seconds.
    pub device_sign_timeout_secs: u64,
    // --- end device registry ---
    /// The `[smartcar]` section (helper "smartcar"): the Smartcar-compatible OAuth and API
    /// servers, the app's credentials and the key that encrypts stored tokens.
    pub smartcar: crate::smartcar::SmartcarConfig,
}

/// A configuration value that never appears in `Debug` output (logs, panics).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// How durable an ingest commit is before the messages in it are acknowledged to the broker
/// (and so deleted from the devices' outboxes). SQLite only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestSync {
    /// `synchronous = FULL`: the write-ahead log is flushed to disk at every commit, so an
    /// acknowledged message survives a power cut. One flush per batch bounds the rate on a
    /// slow disk.
    #[default]
    Full,
    /// `synchronous = NORMAL`: the commit is handed to the operating system, so an
    /// acknowledged message survives a crash of the cloud but not of the machine (its last
    /// commits may be lost on a power cut).
    Normal,
}

/// Transport security of the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            mqtt_addr: SocketAddr::from(([127, 0, 0, 1], 1883)),
            mqtt_url: None,
            mqtt_username: None,
            mqtt_password: None,
            mqtt_client_id: "pitlane-cloud".into(),
            mqtt_share_group: "pitlane-cloud".into(),
            mqtt_ca_file: None,
            mqtt_client_cert_file: None,
            mqtt_client_key_file: None,
            command_key_file: None,
            command_ttl_secs: 30,
            ingest_sync: IngestSync::Full,
            data_dir: PathBuf::from("./pitlane-data"),
            database_url: None,
            token_secret: None,
            public_url: "http://127.0.0.1:8080".into(),
            trusted_proxy_header: None,
            access_token_ttl_secs: 3600,
            hmac_token_ttl_secs: 7200,
            session_max_age_secs: 14 * 24 * 3600,
            email_link_ttl_secs: 3600,
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            cors_origins: Vec::new(),
            login_per_ip_per_minute: 30,
            login_per_account_per_minute: 10,
            exist_email_per_minute: 5,
            smtp_host: None,
            smtp_port: 587,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_from: "Pitlane <no-reply@pitlane.invalid>".into(),
            smtp_timeout_secs: 10,
            captcha_siteverify_url: None,
            captcha_secret: None,
            captcha_test_token: None,
            web3_domain: "pitlane.invalid".into(),
            web3_challenge_ttl_secs: 300,
            session_cache_ttl_ms: 1000,
            session_cache_capacity: 50_000,
            vin_worker_concurrency: 4,
            vin_worker_batch: 16,
            vin_worker_poll_ms: 500,
            // Chain and registry as in the agent's example; the NFT contract addresses are
            // development placeholders, not deployed contracts: set them for a real chain.
            registry_chain_id: 80002,
            registry_address: "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c".into(),
            vehicle_nft_address: "0x0000000000000000000000000000000000001001".into(),
            aftermarket_device_nft_address: "0x0000000000000000000000000000000000001002".into(),
            synthetic_device_nft_address: "0x0000000000000000000000000000000000001003".into(),
            provisioning_api_key_sha256: None,
            privilege_token_ttl_secs: 600,
            refresh_interval_secs: 3600,
            device_sign_timeout_secs: 10,
            smartcar: crate::smartcar::SmartcarConfig::default(),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("setting `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// The type of each key, so that environment strings become the right TOML value.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    List,
}

const KEYS: &[(&str, Kind)] = &[
    ("http_addr", Kind::Str),
    ("mqtt_addr", Kind::Str),
    ("mqtt_url", Kind::Str),
    ("mqtt_username", Kind::Str),
    ("mqtt_password", Kind::Str),
    ("mqtt_client_id", Kind::Str),
    ("mqtt_share_group", Kind::Str),
    ("mqtt_ca_file", Kind::Str),
    ("mqtt_client_cert_file", Kind::Str),
    ("mqtt_client_key_file", Kind::Str),
    ("command_key_file", Kind::Str),
    ("command_ttl_secs", Kind::Int),
    ("ingest_sync", Kind::Str),
    ("data_dir", Kind::Str),
    ("database_url", Kind::Str),
    ("token_secret", Kind::Str),
    ("public_url", Kind::Str),
    ("trusted_proxy_header", Kind::Str),
    ("access_token_ttl_secs", Kind::Int),
    ("hmac_token_ttl_secs", Kind::Int),
    ("session_max_age_secs", Kind::Int),
    ("email_link_ttl_secs", Kind::Int),
    ("request_timeout_secs", Kind::Int),
    ("body_limit_bytes", Kind::Int),
    ("cors_origins", Kind::List),
    ("login_per_ip_per_minute", Kind::Int),
    ("login_per_account_per_minute", Kind::Int),
    ("exist_email_per_minute", Kind::Int),
    ("smtp_host", Kind::Str),
    ("smtp_port", Kind::Int),
    ("smtp_security", Kind::Str),
    ("smtp_username", Kind::Str),
    ("smtp_password", Kind::Str),
    ("smtp_from", Kind::Str),
    ("smtp_timeout_secs", Kind::Int),
    ("captcha_siteverify_url", Kind::Str),
    ("captcha_secret", Kind::Str),
    ("captcha_test_token", Kind::Str),
    ("web3_domain", Kind::Str),
    ("web3_challenge_ttl_secs", Kind::Int),
    ("session_cache_ttl_ms", Kind::Int),
    ("session_cache_capacity", Kind::Int),
    ("vin_worker_concurrency", Kind::Int),
    ("vin_worker_batch", Kind::Int),
    ("vin_worker_poll_ms", Kind::Int),
    ("registry_chain_id", Kind::Int),
    ("registry_address", Kind::Str),
    ("vehicle_nft_address", Kind::Str),
    ("aftermarket_device_nft_address", Kind::Str),
    ("synthetic_device_nft_address", Kind::Str),
    ("provisioning_api_key_sha256", Kind::Str),
    ("privilege_token_ttl_secs", Kind::Int),
    ("refresh_interval_secs", Kind::Int),
    ("device_sign_timeout_secs", Kind::Int),
];

/// Keys of TOML sections: `PITLANE_<SECTION>_<KEY>` ↔ `[section] key`.
const SECTION_KEYS: &[(&str, &str, Kind)] = &[
    ("smartcar", "auth_url", Kind::Str),
    ("smartcar", "api_url", Kind::Str),
    ("smartcar", "client_id", Kind::Str),
    ("smartcar", "client_secret", Kind::Str),
    ("smartcar", "client_secret_file", Kind::Str),
    ("smartcar", "timeout_secs", Kind::Int),
    ("smartcar", "encryption_key_file", Kind::Str),
    ("smartcar", "refresh_concurrency", Kind::Int),
    ("smartcar", "refresh_poll_ms", Kind::Int),
];

impl Config {
    /// Loads the file (if any) and overlays the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Loads the file (if any) and overlays the given variables; testable without touching
    /// the process environment.
    pub fn load_from(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>().map_err(|e| ConfigError::File {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        for (var, value) in &vars {
            let key = if var == "DATABASE_URL" {
                "database_url".to_owned()
            } else if let Some(rest) = var.strip_prefix("PITLANE_") {
                rest.to_ascii_lowercase()
            } else {
                continue;
            };
            if let Some((section, name, kind)) = SECTION_KEYS
                .iter()
                .find(|(s, k, _)| key.strip_prefix(s).and_then(|r| r.strip_prefix('_')) == Some(k))
            {
                let entry = table
                    .entry((*section).to_owned())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(t) = entry {
                    t.insert((*name).to_owned(), env_value(var, value, *kind)?);
                }
                continue;
            }
            let Some((key, kind)) = KEYS.iter().find(|(k, _)| *k == key) else {
                continue;
            };
            // PITLANE_DATABASE_URL wins over the conventional DATABASE_URL.
            if var == "DATABASE_URL" && vars.iter().any(|(v, _)| v == "PITLANE_DATABASE_URL") {
                continue;
            }
            table.insert((*key).to_owned(), env_value(var, value, *kind)?);
        }
        // Round-trip through text so that errors point at the offending key's line.
        let merged = toml::to_string(&table).map_err(|e| ConfigError::File {
            path: file
                .map(Path::to_owned)
                .unwrap_or_else(|| "<environment>".into()),
            message: e.to_string(),
        })?;
        let config: Config = toml::from_str(&merged).map_err(|e| ConfigError::File {
            path: file
                .map(Path::to_owned)
                .unwrap_or_else(|| "<environment>".into()),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| ConfigError::Invalid {
            key,
            message: message.to_owned(),
        };
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if let Some(secret) = &self.token_secret
            && secret.expose().len() < 32
        {
            return Err(invalid("token_secret", "must be at least 32 bytes"));
        }
        if self.email_link_ttl_secs == 0 || self.email_link_ttl_secs > 3600 {
            return Err(invalid("email_link_ttl_secs", "must be between 1 and 3600"));
        }
        if self.session_cache_ttl_ms > 60_000 {
            return Err(invalid(
                "session_cache_ttl_ms",
                "must be at most 60000 (one minute)",
            ));
        }
        if !(1..=256).contains(&self.vin_worker_concurrency) {
            return Err(invalid(
                "vin_worker_concurrency",
                "must be between 1 and 256",
            ));
        }
        if !(1..=1000).contains(&self.vin_worker_batch) {
            return Err(invalid("vin_worker_batch", "must be between 1 and 1000"));
        }
        if !(10..=60_000).contains(&self.vin_worker_poll_ms) {
            return Err(invalid(
                "vin_worker_poll_ms",
                "must be between 10 and 60000",
            ));
        }
        for (key, value) in [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("hmac_token_ttl_secs", self.hmac_token_ttl_secs),
            ("session_max_age_secs", self.session_max_age_secs),
            ("request_timeout_secs", self.request_timeout_secs),
            ("smtp_timeout_secs", self.smtp_timeout_secs),
            ("web3_challenge_ttl_secs", self.web3_challenge_ttl_secs),
            ("privilege_token_ttl_secs", self.privilege_token_ttl_secs),
            ("device_sign_timeout_secs", self.device_sign_timeout_secs),
            ("command_ttl_secs", self.command_ttl_secs),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0"));
            }
        }
        for (key, value) in [
            ("login_per_ip_per_minute", self.login_per_ip_per_minute),
            (
                "login_per_account_per_minute",
                self.login_per_account_per_minute,
            ),
            ("exist_email_per_minute", self.exist_email_per_minute),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0"));
            }
        }
        if self.captcha_siteverify_url.is_some() && self.captcha_secret.is_none() {
            return Err(invalid(
                "captcha_secret",
                "is required with captcha_siteverify_url",
            ));
        }
        if let Some(url) = &self.mqtt_url
            && !(url.starts_with("mqtt://")
                || url.starts_with("tcp://")
                || url.starts_with("mqtts://"))
        {
            return Err(invalid(
                "mqtt_url",
                "must be mqtt://host[:port] or mqtts://host[:port]",
            ));
        }
        self.validate_mqtt_tls()
            .map_err(|(key, message)| invalid(key, message))?;
        if self.mqtt_password.is_some() && self.mqtt_username.is_none() {
            return Err(invalid("mqtt_username", "is required with mqtt_password"));
        }
        for (key, value) in [
            ("mqtt_client_id", &self.mqtt_client_id),
            ("mqtt_share_group", &self.mqtt_share_group),
        ] {
            let ok = !value.is_empty()
                && value.len() <= 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(invalid(key, "must be 1-64 letters, digits, - or _"));
            }
        }
        crate::registry::validate_config(self).map_err(|(key, message)| invalid(key, &message))?;
        self.smartcar
            .validate()
            .map_err(|(key, message)| invalid(key, &message))?;
        if self.smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid("smtp_from", "is not a valid mailbox"));
        }
        Ok(())
    }

    /// TLS settings go with an external `mqtts://` broker only: the embedded broker stays plain
    /// TCP on loopback (rumqttd 0.20 runs its TLS handshakes in its accept loop without a
    /// timeout, so one stalled client would block every new connection).
    fn validate_mqtt_tls(&self) -> Result<(), (&'static str, &'static str)> {
        let set = [
            ("mqtt_ca_file", self.mqtt_ca_file.is_some()),
            (
                "mqtt_client_cert_file",
                self.mqtt_client_cert_file.is_some(),
            ),
            ("mqtt_client_key_file", self.mqtt_client_key_file.is_some()),
        ];
        let Some((key, _)) = set.iter().find(|(_, is_set)| *is_set) else {
            return Ok(());
        };
        match &self.mqtt_url {
            None => {
                return Err((
                    key,
                    "applies to an external broker (mqtt_url = \"mqtts://host:port\") only; the \
                     embedded broker listens on loopback without TLS",
                ));
            }
            Some(url) if !url.starts_with("mqtts://") => {
                return Err((key, "needs an mqtts:// mqtt_url (TLS)"));
            }
            Some(_) => {}
        }
        if self.mqtt_client_cert_file.is_some() != self.mqtt_client_key_file.is_some() {
            return Err((
                "mqtt_client_key_file",
                "goes with mqtt_client_cert_file: set both (mutual TLS) or neither",
            ));
        }
        Ok(())
    }

    /// The command key file in effect.
    pub fn command_key_path(&self) -> PathBuf {
        self.command_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("command.key"))
    }

    /// The database URL in effect.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("pitlane.db").display()
            ),
        }
    }
}

fn env_value(var: &str, value: &str, kind: Kind) -> Result<toml::Value, ConfigError> {
    Ok(match kind {
        Kind::Str => toml::Value::String(value.to_owned()),
        Kind::Int => toml::Value::Integer(value.trim().parse().map_err(|_| ConfigError::Env {
            var: var.to_owned(),
            message: format!("expected a whole number, got {value:?}"),
        })?),
        Kind::List => toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn load_toml(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cloud.toml");
        std::fs::write(&path, text).expect("write");
        Config::load_from(Some(&path), env(vars))
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = Config::load_from(None, env(&[("PITLANE_SMTP_PASSWORD", "hunter2-hunter2")]))
            .expect("c");
        assert_eq!(
            c.smtp_password.as_ref().map(Secret::expose),
            Some("hunter2-hunter2")
        );
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn defaults_follow_design() {
        let c = Config::load_from(None, env(&[])).expect("defaults");
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./pitlane-data"));
        assert_eq!(c.mqtt_addr.to_string(), "127.0.0.1:1883");
        assert_eq!(
            c.command_key_path(),
            PathBuf::from("./pitlane-data/command.key")
        );
        assert_eq!(c.command_ttl_secs, 30);
        assert_eq!(c.ingest_sync, IngestSync::Full);
        assert!(c.mqtt_url.is_none());
        let normal = Config::load_from(None, env(&[("PITLANE_INGEST_SYNC", "normal")]))
            .expect("ingest_sync from the environment");
        assert_eq!(normal.ingest_sync, IngestSync::Normal);
        assert!(
            c.effective_database_url()
                .starts_with("sqlite://./pitlane-data/pitlane.db")
        );
    }

    #[test]
    fn environment_overrides_file() {
        let c = load_toml(
            "http_addr = \"127.0.0.1:9000\"\nsmtp_port = 25\n",
            &[
                ("PITLANE_HTTP_ADDR", "127.0.0.1:9100"),
                ("PITLANE_CORS_ORIGINS", "https://a, https://b"),
            ],
        )
        .expect("config");
        assert_eq!(c.http_addr.port(), 9100);
        assert_eq!(c.smtp_port, 25);
        assert_eq!(c.cors_origins, vec!["https://a", "https://b"]);
    }

    #[test]
    fn database_url_variables() {
        let c = Config::load_from(None, env(&[("DATABASE_URL", "postgres://x/y")])).expect("c");
        assert_eq!(c.effective_database_url(), "postgres://x/y");
        let c = Config::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://x/y"),
                ("PITLANE_DATABASE_URL", "sqlite://z.db"),
            ]),
        )
        .expect("c");
        assert_eq!(c.effective_database_url(), "sqlite://z.db");
    }

    #[test]
    fn performance_knobs() {
        let c = Config::load_from(None, env(&[])).expect("defaults");
        assert_eq!(
            (c.session_cache_ttl_ms, c.session_cache_capacity),
            (1000, 50_000)
        );
        assert_eq!(
            (
                c.vin_worker_concurrency,
                c.vin_worker_batch,
                c.vin_worker_poll_ms
            ),
            (4, 16, 500)
        );
        let c = Config::load_from(
            None,
            env(&[
                ("PITLANE_SESSION_CACHE_TTL_MS", "0"),
                ("PITLANE_VIN_WORKER_CONCURRENCY", "2"),
                ("PITLANE_VIN_WORKER_BATCH", "64"),
                ("PITLANE_VIN_WORKER_POLL_MS", "100"),
            ]),
        )
        .expect("overrides");
        assert_eq!(c.session_cache_ttl_ms, 0);
        assert_eq!(
            (
                c.vin_worker_concurrency,
                c.vin_worker_batch,
                c.vin_worker_poll_ms
            ),
            (2, 64, 100)
        );
        check_error(
            "session_cache_ttl_ms = 60001\n",
            &[],
            "session_cache_ttl_ms",
        );
        check_error(
            "vin_worker_concurrency = 0\n",
            &[],
            "vin_worker_concurrency",
        );
        check_error("", &[("PITLANE_VIN_WORKER_BATCH", "0")], "vin_worker_batch");
        check_error("vin_worker_poll_ms = 1\n", &[], "vin_worker_poll_ms");
    }

    #[test]
    fn smartcar_section() {
        let c = load_toml(
            "[smartcar]\nclient_id = \"id\"\ntimeout_secs = 3\n",
            &[
                ("PITLANE_SMARTCAR_CLIENT_SECRET", "s3cret-value"),
                ("PITLANE_SMARTCAR_TIMEOUT_SECS", "5"),
                ("PITLANE_SMARTCAR_API_URL", "http://127.0.0.1:9"),
            ],
        )
        .expect("config");
        assert_eq!(c.smartcar.client_id.as_deref(), Some("id"));
        assert_eq!(c.smartcar.timeout_secs, 5);
        assert_eq!(c.smartcar.api_url, "http://127.0.0.1:9");
        assert_eq!(c.smartcar.auth_url, "https://auth.smartcar.com");
        assert!(!format!("{c:?}").contains("s3cret"));
        check_error(
            "[smartcar]\nclient_id = \"id\"\n",
            &[],
            "smartcar.client_id",
        );
        check_error(
            "",
            &[("PITLANE_SMARTCAR_TIMEOUT_SECS", "soon")],
            "PITLANE_SMARTCAR_TIMEOUT_SECS",
        );
        check_error("[smartcar]\nbogus = 1\n", &[], "bogus");
    }

    #[test]
    fn unknown_env_vars_are_ignored() {
        Config::load_from(None, env(&[("PITLANE_TEST_DATABASE_URL", "postgres://x")])).expect("ok");
    }

    fn check_error(text: &str, vars: &[(&str, &str)], needle: &str) {
        let err = load_toml(text, vars).expect_err("must fail").to_string();
        assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    }

    #[test]
    fn mqtt_tls_settings_go_with_an_mqtts_url() {
        let c = load_toml(
            "mqtt_url = \"mqtts://b:8883\"\nmqtt_ca_file = \"/ca.pem\"\n\
             mqtt_client_cert_file = \"/c.pem\"\nmqtt_client_key_file = \"/k.pem\"\n",
            &[],
        )
        .expect("valid");
        assert_eq!(c.mqtt_ca_file, Some(PathBuf::from("/ca.pem")));
        assert_eq!(c.mqtt_client_key_file, Some(PathBuf::from("/k.pem")));
    }

    #[test]
    fn errors_name_the_setting() {
        check_error("htp_addr = \"x\"\n", &[], "htp_addr");
        check_error("http_addr = \"nonsense\"\n", &[], "invalid socket address");
        check_error("", &[("PITLANE_SMTP_PORT", "lots")], "PITLANE_SMTP_PORT");
        check_error("", &[("PITLANE_SMTP_PORT", "70000")], "smtp_port");
        check_error("smtp_security = \"maybe\"\n", &[], "maybe");
        check_error("ingest_sync = \"sometimes\"\n", &[], "sometimes");
        check_error("email_link_ttl_secs = 7200\n", &[], "email_link_ttl_secs");
        check_error("token_secret = \"short\"\n", &[], "token_secret");
        check_error("database_url = \"mysql://x\"\n", &[], "database_url");
        check_error("mqtt_url = \"http://x\"\n", &[], "mqtt_url");
        check_error("mqtt_ca_file = \"/ca.pem\"\n", &[], "embedded broker");
        check_error(
            "mqtt_url = \"mqtt://b:1883\"\nmqtt_ca_file = \"/ca.pem\"\n",
            &[],
            "needs an mqtts://",
        );
        check_error(
            "mqtt_url = \"mqtts://b:8883\"\nmqtt_client_cert_file = \"/c.pem\"\n",
            &[],
            "set both",
        );
        check_error(
            "",
            &[("PITLANE_MQTT_CLIENT_KEY_FILE", "/k.pem")],
            "mqtt_client_key_file",
        );
        check_error("mqtt_password = \"p\"\n", &[], "mqtt_username");
        check_error("command_ttl_secs = 0\n", &[], "command_ttl_secs");
        check_error("mqtt_share_group = \"a/b\"\n", &[], "mqtt_share_group");
        check_error("mqtt_client_id = \"\"\n", &[], "mqtt_client_id");
        check_error(
            "captcha_siteverify_url = \"http://x\"\n",
            &[],
            "captcha_secret",
        );
    }
}
