//! Ingest's in-process subscription to the embedded broker: a rumqttd local link instead of
//! a TCP client, so device messages reach the pipeline without being encoded, sent over
//! loopback, decoded and acknowledged again.
//!
//! Why: over TCP rumqttd 0.20 hands a subscriber at most 100 unacknowledged messages (a
//! constant in its `router/iobufs.rs`), and ingest acknowledges a message only once it is
//! stored, so the pipeline could never hold more than 100 messages: it waited on that round
//! trip with a core idle. The local link has no such window. The router copies up to
//! `max_outgoing_packet_count` messages into the link's buffer at a time, then pauses the
//! link (`Notification::Unschedule`) until it asks for more, which [`run`] does only after
//! every message before the pause is in the pipeline's bounded queue. So a slow pipeline
//! makes the router hold messages in its log, as before, and this process does not grow.
//!
//! What changes for durability: nothing a crash could tell apart. The link subscribes at
//! QoS 0 (the only level rumqttd's local links have), so nothing is acknowledged to the
//! router. Acknowledging after storage protected against a lost *connection* between the
//! cloud and its broker; here there is none to lose, and a crash of this process loses the
//! embedded broker's in-memory log either way (see [`super::broker`]). An external broker
//! keeps the TCP link with acknowledgements after storage ([`super::link`]).

use rumqttc::{Publish, QoS};
use rumqttd::Notification;
use rumqttd::local::LinkRx;
use tokio::sync::{mpsc, watch};

/// The pipeline's form of a message forwarded by the router (QoS 0: nothing to acknowledge,
/// so [`super::ingest::Acker`] does nothing for it).
fn publish(forwarded: rumqttd::protocol::Publish) -> Publish {
    Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        // rumqttd checked the topic is UTF-8; a lossy copy of anything else is refused by
        // ingest's topic check rather than dropped unseen.
        topic: String::from_utf8_lossy(&forwarded.topic).into_owned(),
        pkid: 0,
        payload: forwarded.payload,
    }
}

/// Passes every message the router forwards on `link` to `incoming` until `shutdown`, the
/// pipeline closes, or the router goes away.
pub async fn run(
    mut link: LinkRx,
    incoming: mpsc::Sender<Publish>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let notification = tokio::select! {
            n = link.next() => n,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        match notification {
            Ok(Some(Notification::Forward(forward))) => {
                let p = publish(forward.publish);
                tokio::select! {
                    sent = incoming.send(p) => if sent.is_err() { return },
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
            // The router paused this link (its buffer was full): everything it sent before
            // is queued now, so ask for more.
            Ok(Some(Notification::Unschedule)) => {
                if let Err(e) = link.wake().await {
                    tracing::error!(error = %e, "ingest's link to the embedded broker closed");
                    return;
                }
            }
            // Acknowledgements of the link's own subscription, or an empty wake-up.
            Ok(Some(_) | None) => {}
            Err(e) => {
                tracing::error!(error = %e, "ingest's link to the embedded broker closed");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_messages_need_no_acknowledgement() {
        let forwarded =
            rumqttd::protocol::Publish::new(&b"pitlane/v1/dev/x/up/status"[..], &b"{}"[..], true);
        let p = publish(forwarded);
        assert_eq!(p.topic, "pitlane/v1/dev/x/up/status");
        assert_eq!(p.qos, QoS::AtMostOnce);
        assert_eq!(&p.payload[..], b"{}");
        let invalid = publish(rumqttd::protocol::Publish::new(
            &b"a/\xff"[..],
            &b""[..],
            false,
        ));
        assert_eq!(invalid.topic, "a/\u{fffd}");
    }
}
