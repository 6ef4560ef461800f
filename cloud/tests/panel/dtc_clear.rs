//! Clearing trouble codes from the vehicle page: the confirmation step, the record cleared,
//! the car asked over MQTT (a real device on the embedded broker receives `dtc.clear` and
//! answers) only while its device is online, the command's status page and JSON (which the
//! page's script follows while it is pending), and nothing of it for another user or a form
//! without this session's CSRF token.

use std::time::Duration;

use pitlane_cloud::devices::error_codes::{self, Source};
use pitlane_cloud::devices::vehicles::UserDevice;
use reqwest::StatusCode;

use crate::device::{TestDevice, WAIT};
use crate::support::{Browser, Panel, backends};
use crate::vehicles::vehicle;

async fn report(panel: &Panel, car: &UserDevice, codes: &[&str]) {
    let codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    let codes = error_codes::parse_codes(&codes).expect("codes");
    error_codes::submit(&panel.state.db, car, &codes, Source::Device)
        .await
        .expect("submit");
}

async fn cleared(panel: &Panel, car: &UserDevice) -> bool {
    error_codes::list(&panel.state.db, car).await.expect("list")[0]
        .cleared_at
        .is_some()
}

/// Polls `path` until its body contains `text`.
async fn wait_for(b: &mut Browser, path: &str, text: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = b.get(path).await;
        if page.body.contains(text) {
            return page.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never showed {text:?}: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn codes_are_cleared_in_the_record_after_a_confirmation_by_their_owner_only() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        let (owner, mut a) = panel.logged_in("clear@example.com").await;
        let car = vehicle(&panel, &owner.id).await;
        let page_path = format!("/panel/vehicles/{}", car.id);
        let confirm_path = format!("{page_path}/clear-codes");
        let nothing = a.get(&confirm_path).await;
        assert!(
            nothing.body.contains("no trouble codes were reported"),
            "{}",
            nothing.body
        );
        report(&panel, &car, &["P0300", "P0171"]).await;

        let page = a.get(&page_path).await;
        assert!(
            page.body.contains(&format!("href=\"{confirm_path}\"")),
            "{}",
            page.body
        );
        let confirm = a.get(&confirm_path).await;
        assert_eq!(confirm.status, StatusCode::OK);
        for text in [
            "P0300",
            "P0171",
            "System Too Lean",
            "Pair an aftermarket device",
        ] {
            assert!(confirm.body.contains(text), "{text}: {}", confirm.body);
        }
        assert!(
            !confirm.body.contains("name=\"on_vehicle\""),
            "no device: the car cannot be asked"
        );
        let csrf = confirm.csrf();

        // Another user, a missing token, another session's token: nothing is cleared.
        let (_, mut b) = panel.logged_in("not-the-owner@example.com").await;
        let b_csrf = b.get("/panel/").await.csrf();
        assert_eq!(b.get(&confirm_path).await.status, StatusCode::NOT_FOUND);
        let theirs = b.post(&confirm_path, &[("csrf", &b_csrf)]).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND);
        for fields in [
            vec![],
            vec![("csrf", "forged")],
            vec![("csrf", b_csrf.as_str())],
        ] {
            let refused = a.post(&confirm_path, &fields).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{fields:?}");
        }
        // Asking the car without a device is refused before the record is touched.
        let no_car = a
            .post(&confirm_path, &[("csrf", &csrf), ("on_vehicle", "1")])
            .await;
        assert_eq!(no_car.status, StatusCode::CONFLICT);
        assert!(
            no_car.body.contains("Pair an aftermarket device"),
            "{}",
            no_car.body
        );
        assert!(!cleared(&panel, &car).await, "nothing cleared yet");

        let done = a.post(&confirm_path, &[("csrf", &csrf)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), format!("{page_path}?done=codes-cleared"));
        assert!(cleared(&panel, &car).await);
        let page = a.get(done.location()).await;
        assert!(
            page.body.contains("Trouble codes cleared in the record.")
                && page.body.contains(", cleared "),
            "{}",
            page.body
        );
        assert!(!page.body.contains(&format!("href=\"{confirm_path}\"")));

        let again = a.post(&confirm_path, &[("csrf", &csrf)]).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(again.body.contains("already cleared"), "{}", again.body);
        panel.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_car_is_asked_to_clear_its_codes_only_while_its_device_is_online() {
    let panel = Panel::start(false).await;
    let (owner, mut a) = panel.logged_in("garage@example.com").await;
    let car = vehicle(&panel, &owner.id).await;
    report(&panel, &car, &["P0420"]).await;
    let device = TestDevice::paired(&panel, &owner.id, &car.id).await;
    let page_path = format!("/panel/vehicles/{}", car.id);
    let confirm_path = format!("{page_path}/clear-codes");

    // Paired but never seen: only the record can be cleared.
    let confirm = a.get(&confirm_path).await;
    assert!(
        confirm.body.contains("offline") && !confirm.body.contains("name=\"on_vehicle\""),
        "{}",
        confirm.body
    );
    let csrf = confirm.csrf();
    let offline = a
        .post(&confirm_path, &[("csrf", &csrf), ("on_vehicle", "1")])
        .await;
    assert_eq!(offline.status, StatusCode::CONFLICT);
    assert!(!cleared(&panel, &car).await);

    let mut conn = device.connect(&panel).await;
    device.online(&conn).await;
    let confirm = wait_for(&mut a, &confirm_path, "name=\"on_vehicle\"").await;
    assert!(confirm.contains("OBD-II service 04"), "{confirm}");

    let sent = a
        .post(&confirm_path, &[("csrf", &csrf), ("on_vehicle", "1")])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let location = sent.location().to_owned();
    let prefix = format!("{page_path}?done=codes-cleared&command=");
    assert!(location.starts_with(&prefix), "{location}");
    let request_id = &location[prefix.len()..];
    assert!(cleared(&panel, &car).await);

    let (received, action) = device.next_command(&panel, &mut conn).await;
    assert_eq!(
        (received.as_str(), action.as_str()),
        (request_id, "dtc.clear")
    );
    let page = a.get(&location).await;
    assert!(
        page.body.contains("The car was asked to clear them too")
            && page.body.contains("Clear trouble codes: pending"),
        "{}",
        page.body
    );
    // While pending, the page names the status the script follows (without script: a
    // refresh link), and the status reads the same there.
    let status_path = format!("{page_path}/commands/{request_id}");
    assert!(
        page.body
            .contains(&format!("data-follow=\"{status_path}\""))
            && page
                .body
                .contains(&format!("href=\"{page_path}?command={request_id}\"")),
        "{}",
        page.body
    );
    assert_eq!(
        status_json(&mut a, &status_path).await,
        (
            StatusCode::OK,
            "pending".to_owned(),
            "Clear trouble codes: pending".to_owned()
        )
    );
    device.executed(&conn, request_id, "dtc.clear").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while status_json(&mut a, &status_path).await.1 == "pending" {
        assert!(tokio::time::Instant::now() < deadline, "still pending");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status_json(&mut a, &status_path).await,
        (
            StatusCode::OK,
            "executed".to_owned(),
            "Clear trouble codes: executed".to_owned()
        )
    );
    let settled = wait_for(&mut a, &location, "Clear trouble codes: executed").await;
    assert!(!settled.contains("data-follow"), "settled: {settled}");

    // Another user cannot read the command's status: not under the owner's vehicle, not
    // under a vehicle of their own that has a token and a device, not on their page.
    let (other, mut b) = panel.logged_in("curious@example.com").await;
    let theirs = vehicle(&panel, &other.id).await;
    let _their_device = TestDevice::paired(&panel, &other.id, &theirs.id).await;
    let their_page = format!("/panel/vehicles/{}", theirs.id);
    for path in [
        status_path.clone(),
        format!("{their_page}/commands/{request_id}"),
    ] {
        let (status, ..) = status_json(&mut b, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let shown = b
        .get(&format!(
            "{their_page}?done=codes-cleared&command={request_id}"
        ))
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        !shown.body.contains("Clear trouble codes:") && !shown.body.contains("data-follow"),
        "{}",
        shown.body
    );
    // Ids not shaped like ours, and a missing one, read the same for the owner.
    for rid in ["not-an-id".to_owned(), pitlane_cloud::devices::new_id()] {
        let (status, ..) = status_json(&mut a, &format!("{page_path}/commands/{rid}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{rid}");
    }
    drop(conn);
    panel.stop().await;
}

/// A command's status JSON as the page's script reads it: (HTTP status, status, text).
async fn status_json(b: &mut Browser, path: &str) -> (StatusCode, String, String) {
    let page = b.get(path).await;
    let body: serde_json::Value = serde_json::from_str(&page.body)
        .unwrap_or_else(|e| panic!("{path} answered no JSON ({e}): {}", page.body));
    let field = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    (page.status, field("status"), field("text"))
}
