//! The embedded broker: rumqttd's router and one MQTT 3.1.1 listener, run on the service's
//! own tokio runtime (not through `rumqttd::Broker::start`, which blocks and cannot stop).
//!
//! Devices log in with user name = their lowercase address, client id = the same, and the
//! password issued at provisioning (checked by [`crate::registry::check_mqtt_login`]). The
//! cloud's own client uses a random login generated at each start.
//!
//! What rumqttd cannot do, and why it is still safe: it has no per-topic ACLs, so a logged-in
//! device could publish on another device's topics or subscribe to them. Publishing there
//! achieves nothing, because ingest accepts only envelopes signed by the topic's own device and
//! devices accept only commands signed by the cloud's command key for themselves (with a
//! strictly increasing `seq`, so replays fail too). Reading other devices' traffic is the
//! residual risk: run Mosquitto or EMQX with an ACL (`pattern readwrite pitlane/v1/dev/%u/#`)
//! when devices belong to different owners who must not see each other's telemetry. rumqttd
//! also keeps everything in memory: retained statuses and queued commands of offline devices
//! do not survive a restart of the cloud (devices keep their own unsent messages in their
//! outbox, and commands are short-lived anyway).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rumqttd::local::{LinkBuilder, LinkRx, LinkTx};
use rumqttd::{ConnectionSettings, Router, RouterConfig, Server, ServerSettings};
use tokio::task::JoinHandle;

use crate::db::Db;

/// A login the broker accepts besides devices' (the cloud's own client).
#[derive(Clone)]
pub struct InternalLogin {
    pub client_id: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for InternalLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalLogin")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl InternalLogin {
    /// A fresh random login.
    pub fn generate() -> Self {
        let id = crate::devices::new_id();
        InternalLogin {
            client_id: format!("pitlane-cloud-{id}"),
            username: format!("pitlane-cloud-{id}"),
            password: crate::accounts::secrets::random_token(),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    // Constant time in the contents (the lengths of random passwords are not secret).
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether a CONNECT may proceed.
async fn authorise(
    db: &Db,
    internal: &InternalLogin,
    client_id: &str,
    username: &str,
    password: &str,
) -> bool {
    if username == internal.username {
        return client_id == internal.client_id && same(password, &internal.password);
    }
    // One device, one session: the client id must be the device's own address.
    if client_id != username {
        tracing::info!(
            client_id,
            username,
            "MQTT login refused: client id is not the user name"
        );
        return false;
    }
    match crate::registry::check_mqtt_login(db, username, password).await {
        Ok(true) => true,
        Ok(false) => {
            tracing::info!(username, "MQTT login refused");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "MQTT login check failed");
            false
        }
    }
}

/// The running embedded broker.
pub struct EmbeddedBroker {
    pub addr: SocketAddr,
    server: JoinHandle<()>,
    watchdog: JoinHandle<()>,
    router_alive: Arc<dyn Fn() -> bool + Send + Sync>,
    /// The sending half of ingest's local link, kept for as long as the broker runs.
    _ingest: LinkTx,
}

impl std::fmt::Debug for EmbeddedBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBroker")
            .field("addr", &self.addr)
            .field("router_alive", &(self.router_alive)())
            .finish_non_exhaustive()
    }
}

/// How long the listener may take to appear (rumqttd binds it in its own task).
const LISTENER_WAIT: Duration = Duration::from_secs(5);
/// How often the watchdog looks at the router thread.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(500);

impl EmbeddedBroker {
    /// Starts the router and a listener on `addr` (port 0: a free port), and turns Nagle's
    /// algorithm off on the listener before returning (see [`super::nagle`]).
    ///
    /// Also returns ingest's local link, already subscribed to every device's messages
    /// (`filter`) before the listener accepts its first device (see [`super::local`]).
    pub async fn start(
        addr: SocketAddr,
        db: Db,
        internal: InternalLogin,
        filter: &str,
    ) -> std::io::Result<(Self, LinkRx)> {
        // rumqttd binds the address itself; binding it here first makes a taken port fail
        // the start instead of a background task, and resolves port 0 to a free port.
        let addr = std::net::TcpListener::bind(addr)?.local_addr()?;
        let router = Router::new(
            0,
            RouterConfig {
                max_connections: 20_010,
                max_outgoing_packet_count: 1_000,
                max_segment_size: 100 << 20,
                max_segment_count: 10,
                ..RouterConfig::default()
            },
        );
        let router_tx = router.spawn();
        // The router runs on its own thread and holds the channel's only receiver: once the
        // thread ends (a panic inside rumqttd), the channel is disconnected.
        let probe = router_tx.clone();
        let router_alive: Arc<dyn Fn() -> bool + Send + Sync> =
            Arc::new(move || !probe.is_disconnected());
        // Ingest's local link, subscribed before any device can connect. The router answers
        // a link's connection from its own thread at once, but the wait for that answer
        // blocks, hence a blocking thread.
        let (link_id, link_router, filter) = (
            format!("{}-ingest", internal.client_id),
            router_tx.clone(),
            filter.to_owned(),
        );
        let (ingest_tx, ingest_rx) = tokio::task::spawn_blocking(move || {
            let (mut tx, rx, _connack) = LinkBuilder::new(&link_id, link_router)
                .dynamic_filters(true)
                .build()
                .map_err(|e| format!("ingest's local link: {e}"))?;
            tx.subscribe(filter)
                .map_err(|e| format!("ingest's subscription: {e}"))?;
            Ok::<_, String>((tx, rx))
        })
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;
        let internal = Arc::new(internal);
        let mut connections = ConnectionSettings {
            connection_timeout_ms: 10_000,
            // Whole packets, checked on receipt: a device publishing more is disconnected.
            // Never more than the cloud's link accepts (MAX_PAYLOAD + 1 KiB), or one such
            // message would break the link again at every redelivery.
            max_payload_size: super::verify::MAX_PAYLOAD,
            // Despite the name, how many packets rumqttd reads from a socket at once. What it
            // sends a TCP subscriber unacknowledged is capped at 100 inside rumqttd 0.20
            // (`MAX_INFLIGHT`, router/iobufs.rs), whatever is set here; ingest reads through
            // a local link instead (see `super::local`).
            max_inflight_count: 1_000,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        };
        connections.set_auth_handler(move |client_id: String, user: String, pass: String| {
            let (db, internal) = (db.clone(), internal.clone());
            async move { authorise(&db, &internal, &client_id, &user, &pass).await }
        });
        let settings = ServerSettings {
            name: "pitlane-mqtt".into(),
            listen: addr,
            tls: None,
            next_connection_delay_ms: 0,
            connections,
        };
        let mut server = Server::new(settings, router_tx, rumqttd::protocol::v4::V4);
        let server = tokio::spawn(async move {
            if let Err(e) = server.start(rumqttd::LinkType::Remote).await {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        });
        disable_nagle(addr).await;
        let watchdog = tokio::spawn(watch_router(router_alive.clone()));
        tracing::info!(%addr, "embedded MQTT broker listening");
        let broker = EmbeddedBroker {
            addr,
            server,
            watchdog,
            router_alive,
            _ingest: ingest_tx,
        };
        Ok((broker, ingest_rx))
    }

    /// Whether rumqttd's router thread still runs (it routes every message; when it has
    /// died, connections are accepted but nothing is delivered).
    pub fn router_alive(&self) -> bool {
        (self.router_alive)()
    }

    /// Stops accepting connections (connections already open end with the runtime).
    pub fn stop(&self) {
        self.server.abort();
        self.watchdog.abort();
    }
}

/// Waits for rumqttd's listener and sets `TCP_NODELAY` on it; warns when it cannot.
async fn disable_nagle(addr: SocketAddr) {
    let deadline = tokio::time::Instant::now() + LISTENER_WAIT;
    loop {
        match super::nagle::disable_on_listener(addr) {
            Ok(true) => return,
            Ok(false) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Ok(false) => {
                tracing::warn!(%addr, "the embedded broker's listener did not appear within \
                    {LISTENER_WAIT:?}; Nagle's algorithm stays on (round trips up to 40 ms slower)");
                return;
            }
            Err(e) => {
                tracing::warn!(%addr, error = %e, "cannot turn Nagle's algorithm off on the \
                    embedded broker's listener; round trips may take up to 40 ms longer");
                return;
            }
        }
    }
}

/// Logs once, loudly, when the router thread has died: from then on the broker accepts
/// connections but routes nothing, and `/readyz` fails (see [`EmbeddedBroker::router_alive`]).
async fn watch_router(alive: Arc<dyn Fn() -> bool + Send + Sync>) {
    let mut tick = tokio::time::interval(WATCHDOG_PERIOD);
    loop {
        tick.tick().await;
        if !alive() {
            tracing::error!(
                "the embedded MQTT broker's router thread has stopped (a panic inside rumqttd); \
                 no device message or command is delivered any more: restart the cloud"
            );
            return;
        }
    }
}
