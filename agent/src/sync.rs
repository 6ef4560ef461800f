//! The MQTT sync service: connects as the device (MQTT 3.1.1, `clean_session = false`,
//! client id = the device address), keeps a retained status with an `offline` last will,
//! publishes the outbox in order at QoS 1 and deletes a row only when its PUBACK arrives,
//! passes `down/command` messages to the executor, and reconnects with backoff.
//!
//! Each connection gets a fresh `rumqttc` event loop, so the client never retransmits on its
//! own: after a reconnect the outbox is replayed from its oldest row (a message whose PUBACK
//! was lost is sent twice; receivers drop duplicates by envelope id). Within one connection
//! the client assigns packet ids in the order of the publish requests, so the FIFO of row ids
//! lines up with `Outgoing::Publish(pkid)` events. The window of unacknowledged publishes
//! stays below the client's in-flight limit, so packet ids never collide.
//!
//! `mqtts://` brokers are reached over TLS (`tls.rs`); a refused handshake is logged in plain
//! words ("certificate not trusted …") and retried with the same backoff as any other failure.

mod tls;
pub use tls::TlsError;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pitlane_shared::topics::Presence;
use rumqttc::{
    AsyncClient, Event, LastWill, MqttOptions, NetworkOptions, Outgoing, Packet, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::{Notify, mpsc, watch};

use crate::config::MqttConfig;
use crate::store::Store;

/// Unacknowledged publishes at most (the client's in-flight limit is twice this).
const WINDOW: usize = 50;
/// Largest command message accepted from the broker.
const MAX_INCOMING: usize = 64 * 1024;

/// Largest password file accepted (a password is a line, not a document).
const MAX_PASSWORD_FILE: u64 = 4096;

/// Sync errors.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("setting `mqtt.url`: {0:?} is not mqtt://host[:port] or mqtts://host[:port]")]
    Url(String),
    #[error(
        "setting `mqtt.url`: {0:?}: TLS to an IPv6 address literal is not supported (rumqttc \
         checks the certificate against a host name); use a host name"
    )]
    TlsIpv6(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("[mqtt] login: {0}")]
    Login(String),
    #[error("[mqtt] password_file {path}: {source}")]
    PasswordFile {
        path: String,
        source: std::io::Error,
    },
}

/// The broker login (MQTT CONNECT user name and password).
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The login `[mqtt]` configures: `username` with `password` or `password_file` (its first
/// line), or none at all (a broker that allows anonymous clients).
pub fn login(mqtt: &MqttConfig) -> Result<Option<Login>, SyncError> {
    let password = match (&mqtt.password, &mqtt.password_file) {
        (Some(_), Some(_)) => {
            return Err(SyncError::Login(
                "set either password or password_file, not both".into(),
            ));
        }
        (Some(p), None) => Some(p.expose().to_owned()),
        (None, Some(path)) => Some(read_password_file(path)?),
        (None, None) => None,
    };
    match (&mqtt.username, password) {
        (Some(username), password) => Ok(Some(Login {
            username: username.clone(),
            password: password.unwrap_or_default(),
        })),
        (None, Some(_)) => Err(SyncError::Login(
            "a password needs a username (the device address)".into(),
        )),
        (None, None) => Ok(None),
    }
}

fn read_password_file(path: &std::path::Path) -> Result<String, SyncError> {
    use std::io::Read;
    let err = |source| SyncError::PasswordFile {
        path: path.display().to_string(),
        source,
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(err)?
        .take(MAX_PASSWORD_FILE)
        .read_to_string(&mut text)
        .map_err(err)?;
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err(SyncError::Login(format!(
            "password_file {} is empty",
            path.display()
        )));
    }
    Ok(line.to_owned())
}

/// Signs a fresh status envelope (a new id each time, so receivers never take a new status
/// for a duplicate).
pub type StatusSigner = Box<dyn Fn(Presence) -> Vec<u8> + Send + Sync>;

/// Where the sync task connects: the broker's host and port, and TLS for `mqtts://`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: Option<tls::Tls>,
}

impl Endpoint {
    /// The broker `[mqtt]` names; for `mqtts://` the TLS files are read and checked now, so a
    /// bad one stops the start with an error naming its setting.
    pub fn from_config(mqtt: &MqttConfig) -> Result<Endpoint, SyncError> {
        let url = parse_url(&mqtt.url)?;
        let tls = tls::from_config(mqtt, url.tls)?;
        Ok(Endpoint {
            host: url.host,
            port: url.port,
            tls,
        })
    }
}

/// What the service needs.
pub struct SyncSettings {
    pub endpoint: Endpoint,
    /// Longest wait for one connection attempt (TCP, TLS, CONNACK).
    pub connect_timeout: Duration,
    pub client_id: String,
    pub status_topic: String,
    pub command_topic: String,
    pub keep_alive: Duration,
    pub backoff_max: Duration,
    pub status: StatusSigner,
    /// The broker login, if the broker wants one.
    pub login: Option<Login>,
}

/// A broker URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    /// `mqtts://`.
    pub tls: bool,
}

/// Splits `mqtt://host[:port]` (port 1883) or `mqtts://host[:port]` (TLS, port 8883).
pub fn parse_url(url: &str) -> Result<BrokerUrl, SyncError> {
    let bad = || SyncError::Url(url.to_owned());
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    let (tls, default_port) = match parsed.scheme() {
        "mqtt" | "tcp" => (false, 1883),
        "mqtts" => (true, 8883),
        _ => return Err(bad()),
    };
    if tls && matches!(parsed.host(), Some(url::Host::Ipv6(_))) {
        return Err(SyncError::TlsIpv6(url.to_owned()));
    }
    let host = parsed.host_str().ok_or_else(bad)?.to_owned();
    Ok(BrokerUrl {
        host,
        port: parsed.port().unwrap_or(default_port),
        tls,
    })
}

/// Runs until `shutdown` turns true.
pub async fn run(
    settings: SyncSettings,
    store: Arc<Mutex<Store>>,
    outbox: Arc<Notify>,
    commands: mpsc::Sender<Vec<u8>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let connected = tokio::select! {
            c = connection(&settings, &store, &outbox, &commands) => c,
            _ = stopped(&mut shutdown) => return,
        };
        if connected {
            backoff = Duration::from_millis(200);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stopped(&mut shutdown) => return,
        }
        backoff = (backoff * 2).min(settings.backoff_max);
    }
}

/// Resolves once `shutdown` turns true (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The borrow guard is dropped here, so callers' futures stay `Send`.
    let _ = shutdown.wait_for(|s| *s).await;
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    // A panic while holding the lock leaves SQLite consistent (transactions roll back), so a
    // poisoned lock is safe to keep using.
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// One connection, until it fails. Returns whether it got connected at all.
async fn connection(
    settings: &SyncSettings,
    store: &Mutex<Store>,
    outbox: &Notify,
    commands: &mpsc::Sender<Vec<u8>>,
) -> bool {
    let endpoint = &settings.endpoint;
    let mut options = MqttOptions::new(&settings.client_id, &endpoint.host, endpoint.port);
    options
        .set_keep_alive(settings.keep_alive)
        .set_clean_session(false)
        .set_inflight((WINDOW * 2) as u16)
        .set_max_packet_size(MAX_INCOMING, 1 << 20)
        .set_last_will(LastWill::new(
            &settings.status_topic,
            (settings.status)(Presence::Offline),
            QoS::AtLeastOnce,
            true,
        ));
    if let Some(login) = &settings.login {
        options.set_credentials(&login.username, &login.password);
    }
    if let Some(tls) = &endpoint.tls {
        // rumqttc checks the broker's certificate against `endpoint.host`.
        options.set_transport(Transport::Tls(TlsConfiguration::Rustls(tls.config.clone())));
    }
    let (client, mut events) = AsyncClient::new(options, WINDOW * 2 + 8);
    events.set_network_options(network_options(settings.connect_timeout));
    let mut connected = false;
    // Row ids in publish order (None: the status, which is not in the outbox).
    let mut queued: VecDeque<Option<i64>> = VecDeque::new();
    let mut in_flight: HashMap<u16, Option<i64>> = HashMap::new();
    let mut last_sent = 0i64;
    loop {
        let event = tokio::select! {
            e = events.poll() => e,
            _ = outbox.notified(), if connected => {
                fill(&client, store, &mut queued, &in_flight, &mut last_sent);
                continue;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(code = ?ack.code, session = ack.session_present, "connected");
                connected = true;
                if let Err(e) = client.try_subscribe(&settings.command_topic, QoS::AtLeastOnce) {
                    tracing::warn!("subscribe: {e}");
                }
                let online = (settings.status)(Presence::Online);
                if client
                    .try_publish(&settings.status_topic, QoS::AtLeastOnce, true, online)
                    .is_ok()
                {
                    queued.push_back(None);
                }
                fill(&client, store, &mut queued, &in_flight, &mut last_sent);
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                if let Some(row) = queued.pop_front() {
                    in_flight.insert(pkid, row);
                }
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                if let Some(Some(row)) = in_flight.remove(&ack.pkid)
                    && let Err(e) = lock(store).acknowledge(row)
                {
                    tracing::warn!("outbox: {e}");
                }
                fill(&client, store, &mut queued, &in_flight, &mut last_sent);
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == settings.command_topic => {
                if commands.try_send(p.payload.to_vec()).is_err() {
                    tracing::warn!("command queue full or closed; command dropped");
                }
            }
            Ok(_) => {}
            Err(e) => {
                // A refused handshake is a setting to fix, not a passing outage: said louder.
                match (endpoint.tls.as_ref()).and_then(|t| tls::explain(&e, t, &endpoint.host)) {
                    Some(text) => tracing::warn!("MQTT connection: {text}"),
                    None => tracing::info!("MQTT connection: {e}"),
                }
                return connected;
            }
        }
    }
}

/// TCP options of the broker connection: Nagle off. MQTT packets are small and each one is
/// waited for (a command, its PUBACK, a result); with Nagle on, a packet written while the
/// previous one is still unacknowledged waits for the broker's delayed ACK (40 ms on Linux).
/// rumqttc's connection timeout covers TCP, TLS and the CONNACK (whole seconds, at least 1).
fn network_options(connect_timeout: Duration) -> NetworkOptions {
    let mut options = NetworkOptions::new();
    options.set_tcp_nodelay(true);
    options.set_connection_timeout(connect_timeout.as_secs().max(1));
    options
}

/// Publishes outbox rows after `last_sent` until the window is full.
fn fill(
    client: &AsyncClient,
    store: &Mutex<Store>,
    queued: &mut VecDeque<Option<i64>>,
    in_flight: &HashMap<u16, Option<i64>>,
    last_sent: &mut i64,
) {
    let room = WINDOW.saturating_sub(queued.len() + in_flight.len());
    if room == 0 {
        return;
    }
    let rows = match lock(store).pending(*last_sent, room) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!("outbox: {e}");
            return;
        }
    };
    for row in rows {
        if client
            .try_publish(&row.topic, QoS::AtLeastOnce, row.retain, row.payload)
            .is_err()
        {
            return;
        }
        queued.push_back(Some(row.id));
        *last_sent = row.id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use crate::config::Password;

    fn mqtt(username: Option<&str>, password: Option<&str>, file: Option<PathBuf>) -> MqttConfig {
        MqttConfig {
            url: "mqtt://127.0.0.1:1883".into(),
            cloud_command_address: "0x9858effd232b4033e47d90003d41ec34ecaeda94"
                .parse()
                .unwrap(),
            keep_alive_secs: 30,
            backoff_max_secs: 30,
            username: username.map(str::to_owned),
            password: password.map(Password::new),
            password_file: file,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            connect_timeout_secs: 10,
        }
    }

    fn check(config: MqttConfig, expected: Result<Option<(&str, &str)>, &str>) {
        match (login(&config), expected) {
            (Ok(got), Ok(want)) => assert_eq!(
                got.map(|l| (l.username, l.password)),
                want.map(|(u, p)| (u.to_owned(), p.to_owned()))
            ),
            (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{e}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn login_from_password_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mqtt.password");
        std::fs::write(&file, "s3cret-from-file\nignored second line\n").unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        check(mqtt(None, None, None), Ok(None));
        check(
            mqtt(Some("0xab"), Some("pw"), None),
            Ok(Some(("0xab", "pw"))),
        );
        check(mqtt(Some("0xab"), None, None), Ok(Some(("0xab", ""))));
        check(
            mqtt(Some("0xab"), None, Some(file.clone())),
            Ok(Some(("0xab", "s3cret-from-file"))),
        );
        check(
            mqtt(Some("0xab"), Some("pw"), Some(file.clone())),
            Err("not both"),
        );
        check(mqtt(None, Some("pw"), None), Err("needs a username"));
        check(mqtt(Some("0xab"), None, Some(empty)), Err("is empty"));
        check(
            mqtt(Some("0xab"), None, Some(dir.path().join("missing"))),
            Err("password_file"),
        );
    }

    #[test]
    fn broker_urls() {
        let check = |url: &str, expected: Option<(&str, u16, bool)>| {
            let want = expected.map(|(host, port, tls)| BrokerUrl {
                host: host.to_owned(),
                port,
                tls,
            });
            assert_eq!(parse_url(url).ok(), want, "{url}");
        };
        check("mqtt://127.0.0.1:1883", Some(("127.0.0.1", 1883, false)));
        check(
            "mqtt://broker.example",
            Some(("broker.example", 1883, false)),
        );
        check("tcp://[::1]:1884", Some(("[::1]", 1884, false)));
        check(
            "mqtts://broker.example",
            Some(("broker.example", 8883, true)),
        );
        check("mqtts://localhost:18883", Some(("localhost", 18883, true)));
        check("http://broker.example", None);
        check("mqtts://[::1]:8883", None);
        check("mqtts://", None);
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let config = mqtt(Some("0xab"), Some("hunter2-hunter2"), None);
        assert!(!format!("{config:?}").contains("hunter2"));
        let login = login(&config).unwrap().unwrap();
        assert!(!format!("{login:?}").contains("hunter2"));
    }
}
