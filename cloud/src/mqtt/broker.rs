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
#[derive(Debug)]
pub struct EmbeddedBroker {
    pub addr: SocketAddr,
    server: JoinHandle<()>,
}

impl EmbeddedBroker {
    /// Starts the router and a listener on `addr` (port 0: a free port).
    pub fn start(addr: SocketAddr, db: Db, internal: InternalLogin) -> std::io::Result<Self> {
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
        let internal = Arc::new(internal);
        let mut connections = ConnectionSettings {
            connection_timeout_ms: 10_000,
            max_payload_size: 256 * 1024,
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
        tracing::info!(%addr, "embedded MQTT broker listening");
        Ok(EmbeddedBroker { addr, server })
    }

    /// Stops accepting connections (connections already open end with the runtime).
    pub fn stop(&self) {
        self.server.abort();
    }
}
