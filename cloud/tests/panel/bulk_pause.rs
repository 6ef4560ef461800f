//! Pausing and resuming a bulk decode from its page. The service's own workers are stopped
//! and the test runs worker rounds itself, so the bulk is still waiting when it is paused:
//! a round decodes nothing of a paused bulk, and everything once it is resumed.

use pitlane_cloud::vin::Decoder;
use pitlane_cloud::vin::worker::{self, WorkerConfig};
use reqwest::StatusCode;

use crate::support::{Browser, Panel, backends};

const VINS: [&str; 3] = [
    "1HGCM82633A004352",
    "JH4DC4340RS003205",
    "KNAE55HD7R6000001",
];

async fn submit_bulk(b: &mut Browser) -> String {
    let csrf = b.get("/panel/decode").await.csrf();
    let page = b
        .post_multipart(
            "/panel/decode",
            &[("csrf", None, &csrf), ("vins", None, &VINS.join("\n"))],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page.location().to_owned()
}

/// One worker round as the service's loops run it; answers the tasks decoded.
async fn worker_round(panel: &Panel) -> usize {
    let decoder = Decoder::new().expect("decoder data");
    worker::step(&panel.state.db, &decoder, &WorkerConfig::default(), "test")
        .await
        .expect("worker round")
}

fn state_of(body: &str) -> &str {
    let marker = "id=\"bulk-state\" data-state=\"";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no state in {body}"))
        + marker.len();
    body[start..].split('"').next().expect("state")
}

#[tokio::test]
async fn a_waiting_bulk_is_paused_and_resumed_by_its_owner_only() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        panel.state.vin_workers.stop().await;
        let (_, mut a) = panel.logged_in("pause@example.com").await;
        let bulk = submit_bulk(&mut a).await;
        let page = a.get(&bulk).await;
        assert_eq!(state_of(&page.body), "running");
        assert!(
            page.body.contains(&format!("action=\"{bulk}/pause\""))
                && !page.body.contains(&format!("action=\"{bulk}/resume\"")),
            "{}",
            page.body
        );
        let csrf = page.csrf();

        // Another user, a missing or forged token: still waiting.
        let (_, mut b) = panel.logged_in("pause-intruder@example.com").await;
        let b_csrf = b.get("/panel/decode").await.csrf();
        for action in ["pause", "resume"] {
            let theirs = b
                .post(&format!("{bulk}/{action}"), &[("csrf", &b_csrf)])
                .await;
            assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{action}");
        }
        for fields in [
            vec![],
            vec![("csrf", "forged")],
            vec![("csrf", b_csrf.as_str())],
        ] {
            let refused = a.post(&format!("{bulk}/pause"), &fields).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{fields:?}");
        }
        assert_eq!(state_of(&a.get(&bulk).await.body), "running");

        let paused = a.post(&format!("{bulk}/pause"), &[("csrf", &csrf)]).await;
        assert_eq!(paused.location(), format!("{bulk}?done=paused"));
        let page = a.get(paused.location()).await;
        assert_eq!(state_of(&page.body), "paused");
        assert!(
            page.body.contains("Bulk paused")
                && page.body.contains("0 of 3 decoded, 3 paused")
                && page.body.contains(&format!("action=\"{bulk}/resume\""))
                && !page.body.contains(&format!("action=\"{bulk}/pause\"")),
            "{}",
            page.body
        );
        assert_eq!(worker_round(&panel).await, 0, "a paused bulk waits");
        let progress: serde_json::Value =
            serde_json::from_str(&a.get(&format!("{bulk}/progress")).await.body).expect("json");
        assert_eq!(progress["state"], "paused", "{progress}");
        assert_eq!(progress["paused"], 3, "{progress}");
        assert_eq!(progress["done"], 0, "{progress}");
        let twice = a.post(&format!("{bulk}/pause"), &[("csrf", &csrf)]).await;
        assert_eq!(twice.location(), format!("{bulk}?done=nothing-to-pause"));

        let resumed = a.post(&format!("{bulk}/resume"), &[("csrf", &csrf)]).await;
        assert_eq!(resumed.location(), format!("{bulk}?done=resumed"));
        assert_eq!(state_of(&a.get(&bulk).await.body), "running");
        assert_eq!(worker_round(&panel).await, 3, "resumed VINs are decoded");
        let page = a.get(&bulk).await;
        assert_eq!(state_of(&page.body), "done");
        assert!(
            page.body.contains("3 of 3 decoded")
                && !page.body.contains(&format!("action=\"{bulk}/resume\""))
                && !page.body.contains(&format!("action=\"{bulk}/pause\"")),
            "{}",
            page.body
        );
        let late = a.post(&format!("{bulk}/resume"), &[("csrf", &csrf)]).await;
        assert_eq!(late.location(), format!("{bulk}?done=nothing-to-resume"));
        assert!(
            a.get(late.location())
                .await
                .body
                .contains("Nothing to resume"),
            "a clear answer"
        );
        panel.stop().await;
    }
}
