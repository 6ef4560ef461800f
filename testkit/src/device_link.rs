//! A stand-in device's MQTT link for the cloud's tests: logs in (client id and user name are
//! the device's id), subscribes to one topic (its command topic) and waits for the broker's
//! SUBACK with a deadline, so a refused login answers `None` rather than hanging; then
//! collects every message it receives and publishes at QoS 1. Its event loop is a task that
//! is aborted on drop, which the broker sees as a lost link (it sends the will, if any).
//! What goes into the payloads (signed envelopes, topic names) is the caller's business.

use std::net::SocketAddr;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Requests the client queues before `publish` waits for the event loop.
const REQUEST_QUEUE: usize = 256;
/// Largest packet either way: envelopes are small, 1 MiB leaves room for any test's.
const MAX_PACKET: usize = 1 << 20;

/// How a device logs in to `addr`: client id and user name `id`, `password`, a 30 s
/// keep-alive and packets up to 1 MiB. Callers add a will or a persistent session.
pub fn device_options(addr: SocketAddr, id: &str, password: &str) -> MqttOptions {
    let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_credentials(id, password)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET);
    options
}

/// A connected client subscribed to one topic; disconnects (without DISCONNECT) on drop.
pub struct DeviceLink {
    client: AsyncClient,
    received: mpsc::UnboundedReceiver<Vec<u8>>,
    task: JoinHandle<()>,
}

impl Drop for DeviceLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DeviceLink {
    /// Connects with `options` and subscribes to `topic` at QoS 1. None when the broker
    /// refuses the login, the connection fails, or no SUBACK comes within `wait`.
    pub async fn connect(options: MqttOptions, topic: &str, wait: Duration) -> Option<DeviceLink> {
        let (client, mut events) = AsyncClient::new(options, REQUEST_QUEUE);
        client.subscribe(topic, QoS::AtLeastOnce).await.ok()?;
        let (tx, received) = mpsc::unbounded_channel();
        let (up_tx, mut up_rx) = mpsc::unbounded_channel::<bool>();
        let task = tokio::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = up_tx.send(true);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send(p.payload.to_vec());
                    }
                    Ok(_) => {}
                    Err(_) => {
                        let _ = up_tx.send(false);
                        return;
                    }
                }
            }
        });
        match tokio::time::timeout(wait, up_rx.recv()).await {
            Ok(Some(true)) => Some(DeviceLink {
                client,
                received,
                task,
            }),
            _ => {
                task.abort();
                None
            }
        }
    }

    /// The client, for anything this type does not wrap.
    pub fn client(&self) -> &AsyncClient {
        &self.client
    }

    /// Publishes `payload` on `topic` at QoS 1; panics when the link is gone.
    pub async fn publish(&self, topic: &str, retain: bool, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .expect("publish on the device's MQTT link");
    }

    /// The next message received on the subscribed topic; panics when none comes within
    /// `wait` or the link is gone.
    pub async fn next(&mut self, wait: Duration) -> Vec<u8> {
        tokio::time::timeout(wait, self.received.recv())
            .await
            .unwrap_or_else(|_| panic!("no message on the device's topic within {wait:?}"))
            .expect("the device's MQTT link is alive")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mosquitto, MosquittoConfig};

    const WAIT: Duration = Duration::from_secs(60);

    fn addr(broker: &Mosquitto) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], broker.port()))
    }

    /// Two links on a broker with logins: each receives what the other publishes on its
    /// topic, in order; a wrong password is refused with `None`, not a hang.
    #[tokio::test]
    async fn links_log_in_subscribe_and_exchange_messages() {
        let config = MosquittoConfig::new().logins(&[("dev-a", "pa"), ("dev-b", "pb")]);
        let Some(broker) = Mosquitto::start(config).await else {
            eprintln!("skipped: mosquitto or mosquitto_passwd not installed");
            return;
        };
        let at = addr(&broker);
        let mut a = DeviceLink::connect(device_options(at, "dev-a", "pa"), "to/a", WAIT)
            .await
            .expect("dev-a connects");
        let mut b = DeviceLink::connect(device_options(at, "dev-b", "pb"), "to/b", WAIT)
            .await
            .expect("dev-b connects");
        for n in 0..3u8 {
            b.publish("to/a", false, vec![b'a', n]).await;
            a.publish("to/b", false, vec![b'b', n]).await;
        }
        for n in 0..3u8 {
            assert_eq!(a.next(WAIT).await, vec![b'a', n]);
            assert_eq!(b.next(WAIT).await, vec![b'b', n]);
        }
        let refused = DeviceLink::connect(device_options(at, "dev-a", "wrong"), "to/a", WAIT).await;
        assert!(refused.is_none(), "a wrong password is refused");
    }

    /// A link dropped without DISCONNECT makes the broker publish its will.
    #[tokio::test]
    async fn a_dropped_link_leaves_its_will() {
        let Some(broker) = Mosquitto::start(MosquittoConfig::new()).await else {
            eprintln!("skipped: mosquitto not installed");
            return;
        };
        let at = addr(&broker);
        let mut watcher = DeviceLink::connect(device_options(at, "watcher", ""), "wills", WAIT)
            .await
            .expect("watcher connects");
        let mut options = device_options(at, "mortal", "");
        options.set_last_will(rumqttc::LastWill::new(
            "wills",
            "gone",
            QoS::AtLeastOnce,
            false,
        ));
        let mortal = DeviceLink::connect(options, "to/mortal", WAIT)
            .await
            .expect("mortal connects");
        drop(mortal);
        assert_eq!(watcher.next(WAIT).await, b"gone".to_vec());
    }
}
