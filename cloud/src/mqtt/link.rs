//! The cloud's MQTT client (rumqttc), the same against the embedded broker and an external
//! one: persistent session (`clean_session = false`), QoS 1, the shared subscription, and
//! manual acknowledgements — a device message is acknowledged only after it was stored (or
//! dropped for good), so a crash between receipt and storage means redelivery, not loss.
//! Over TLS for an `mqtts://` external broker (see `tls.rs`).

use std::time::Duration;

use std::sync::Arc;

use rumqttc::{
    AsyncClient, Event, MqttOptions, NetworkOptions, Packet, Publish, QoS, TlsConfiguration,
    Transport,
};
use tokio::sync::{mpsc, watch};

use super::verify::MAX_PAYLOAD;

/// Where and as whom the client connects.
#[derive(Clone)]
pub struct LinkSettings {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub login: Option<(String, String)>,
    /// TLS (an `mqtts://` external broker), checked against `host`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The subscription filter (the shared subscription); none when the link only sends
    /// (with the embedded broker, ingest reads through [`super::local`]).
    pub filter: Option<String>,
    /// Room in the client's request channel: acknowledgements must never wait for it.
    pub request_capacity: usize,
}

impl std::fmt::Debug for LinkSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("client_id", &self.client_id)
            .field("tls", &self.tls.is_some())
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

/// Creates the client; [`run`] drives it.
pub fn client(settings: &LinkSettings) -> (AsyncClient, rumqttc::EventLoop) {
    let mut options = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_inflight(1_000)
        .set_max_packet_size(MAX_PAYLOAD + 1024, 1 << 20);
    if let Some((user, password)) = &settings.login {
        options.set_credentials(user, password);
    }
    if let Some(tls) = &settings.tls {
        options.set_transport(Transport::Tls(TlsConfiguration::Rustls(tls.clone())));
    }
    let (client, mut events) = AsyncClient::new(options, settings.request_capacity);
    // Nagle off: a command written while the previous packet (often a PUBACK) is still
    // unacknowledged would otherwise wait for the broker's delayed ACK, 40 ms on Linux.
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    events.set_network_options(network);
    (client, events)
}

/// Polls the event loop until `shutdown`: subscribes on every connect, passes device
/// messages to `incoming` (waiting when ingest is behind, so the broker holds the rest), and
/// reports readiness (subscribed, or connected when there is nothing to subscribe to) on
/// `ready`.
pub async fn run(
    settings: LinkSettings,
    client: AsyncClient,
    mut events: rumqttc::EventLoop,
    incoming: mpsc::Sender<Publish>,
    ready: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let event = tokio::select! {
            e = events.poll() => e,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(100);
                tracing::info!(session = ack.session_present, "MQTT link connected");
                match &settings.filter {
                    Some(filter) => {
                        if let Err(e) = client.try_subscribe(filter, QoS::AtLeastOnce) {
                            tracing::warn!(error = %e, "MQTT subscribe");
                        }
                    }
                    None => {
                        ready.send_replace(true);
                    }
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                ready.send_replace(true);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if incoming.send(p).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                ready.send_replace(false);
                match super::tls::explain(&e, &settings.host) {
                    Some(tls) => {
                        tracing::warn!(error = %tls, "MQTT link down; reconnecting in {backoff:?}");
                    }
                    None => {
                        tracing::warn!(error = %e, "MQTT link down; reconnecting in {backoff:?}")
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|s| *s) => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    ready.send_replace(false);
    let _ = client.try_disconnect();
    // Let the DISCONNECT go out, briefly.
    let _ = tokio::time::timeout(Duration::from_millis(200), events.poll()).await;
}
