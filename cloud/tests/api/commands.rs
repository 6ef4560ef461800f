//! Remote commands end to end over a real broker: the owner's privilege token sends an
//! unlock, a test device verifies the signed command (the agent's own verifier) and answers,
//! and the status follows; other users are refused; unanswered commands expire, and only a
//! genuine result may still change an expired one; the device signer gets a signature.

use std::time::{Duration, SystemTime};

use pitlane_shared::command::{
    CommandResult, CommandVerifier, RejectCode, ResultStatus, SeenCommands, Verdict,
};
use pitlane_shared::eip712::TypedData;
use pitlane_shared::topics::UpKind;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::devices_support::{call, expect_error};
use crate::helpers::TestApp;
use crate::mqtt_support::{DeviceConn, TestDevice, eventually};
use crate::mqtt_test;
use crate::vehicle_steps::{commandable, publish_result, refused, send_command, stored};

struct Fresh;
impl SeenCommands for Fresh {
    fn seen(&self, _: &str) -> bool {
        false
    }
    fn highest_seq(&self) -> Option<u64> {
        None
    }
}

/// Receives the next command and checks it as the agent would.
async fn receive(
    app: &TestApp,
    device: &TestDevice,
    conn: &mut DeviceConn,
) -> (String, String, u64, Value) {
    let bytes = conn.next_command().await;
    let cloud = app.state.mqtt.as_ref().expect("mqtt").command_address();
    match CommandVerifier::new(cloud, device.address).verify(&bytes, SystemTime::now(), &Fresh) {
        Verdict::Execute(v) => (
            v.command.request_id,
            v.command.action,
            v.command.seq,
            v.command.params,
        ),
        Verdict::Reject(r) => panic!("the device would refuse the command: {r:?}"),
    }
}

fn result(
    request_id: &str,
    action: &str,
    status: ResultStatus,
    code: Option<RejectCode>,
    state: Value,
) -> Value {
    let mut r = json!({
        "request_id": request_id, "action": action,
        "status": status, "state": state, "output": null,
    });
    if let Some(code) = code {
        r["code"] = json!(code);
        r["reason"] = json!("test");
    }
    r
}

async fn command_status(
    app: &TestApp,
    token: &str,
    vehicle: u64,
    request_id: &str,
) -> (StatusCode, Value) {
    call(
        app,
        Method::GET,
        &format!("/v1/vehicle/{vehicle}/commands/{request_id}"),
        token,
        None,
    )
    .await
}

async fn wait_status(
    app: &TestApp,
    token: &str,
    vehicle: u64,
    request_id: &str,
    want: &str,
) -> Value {
    eventually(&format!("status {want}"), || async {
        let (s, body) = command_status(app, token, vehicle, request_id).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        (body["status"] == want).then_some(body)
    })
    .await
}

async fn unlock_and_lock_round_trip(app: &mut TestApp) {
    let device = TestDevice::register(app).await;
    let mut conn = device.connect(app).await;
    let vehicle = commandable(app, &device).await;
    let (token, v) = (vehicle.token.clone(), vehicle.vehicle);

    let mut seqs = Vec::new();
    for (path, action, locked) in [
        ("doors/unlock", "doors.unlock", false),
        ("doors/lock", "doors.lock", true),
    ] {
        let request_id = send_command(app, &token, v, path).await;
        let pending = wait_status(app, &token, v, &request_id, "pending").await;
        assert_eq!(pending["action"], action);
        let (got_id, got_action, seq, _) = receive(app, &device, &mut conn).await;
        assert_eq!(
            (got_id.as_str(), got_action.as_str()),
            (request_id.as_str(), action)
        );
        seqs.push(seq);
        let executed = result(
            &request_id,
            action,
            ResultStatus::Executed,
            None,
            json!({"doors_locked": locked}),
        );
        publish_result(&conn, &device, executed).await;
        let done = wait_status(app, &token, v, &request_id, "executed").await;
        assert_eq!(done["state"]["doors_locked"], locked, "{done}");
        assert!(done["completedAt"].is_string() && done["issuedAt"].is_string());
    }
    assert!(seqs[1] > seqs[0], "seq must grow: {seqs:?}");

    // Someone else: cannot exchange a token for this vehicle, nor use one of theirs on it.
    let other_device = TestDevice::register(app).await;
    let theirs = commandable(app, &other_device).await;
    let exchange = json!({"nftContractAddress": app.state.config.vehicle_nft_address, "privileges": [2], "tokenId": v});
    let (s, _) = call(
        app,
        Method::POST,
        "/v1/tokens/exchange",
        &theirs.owner,
        Some(exchange),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let their_token = theirs.token.clone();
    let unlock = format!("/v1/vehicle/{v}/commands/doors/unlock");
    refused(
        app,
        Method::POST,
        &unlock,
        &their_token,
        None,
        StatusCode::FORBIDDEN,
        "",
    )
    .await;
    let (s, _) = command_status(app, &their_token, v, "2bh8fNMoix9qduuiE9NHUzTGpZx").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A request id of another vehicle is not found through this one.
    let theirs_id = send_command(app, &their_token, theirs.vehicle, "trunk/open").await;
    expect_error(
        command_status(app, &token, v, &theirs_id).await,
        StatusCode::NOT_FOUND,
        "not found",
    );
    // No token at all.
    let r = app
        .client
        .post(app.url(&format!("/v1/vehicle/{v}/commands/doors/lock")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
mqtt_test!(
    commands_round_trip_and_owner_checks,
    unlock_and_lock_round_trip
);

async fn unpaired_vehicles_get_a_clear_answer(app: &mut TestApp) {
    let device = TestDevice::register(app).await;
    let vehicle = commandable(app, &device).await;
    sqlx::query("DELETE FROM pairings WHERE vehicle_token_id = $1")
        .bind(vehicle.vehicle as i64)
        .execute(&app.state.db.pool)
        .await
        .expect("unpair");
    let frunk = format!("/v1/vehicle/{}/commands/frunk/open", vehicle.vehicle);
    let needle = "no paired aftermarket device";
    refused(
        app,
        Method::POST,
        &frunk,
        &vehicle.token,
        None,
        StatusCode::CONFLICT,
        needle,
    )
    .await;
}
mqtt_test!(
    commands_need_a_paired_device,
    unpaired_vehicles_get_a_clear_answer
);

async fn unanswered_commands_expire(app: &mut TestApp) {
    let device = TestDevice::register(app).await;
    let mut conn = device.connect(app).await;
    let vehicle = commandable(app, &device).await;
    let (token, v) = (vehicle.token.clone(), vehicle.vehicle);
    let id = send_command(app, &token, v, "doors/unlock").await;
    let _ = receive(app, &device, &mut conn).await;
    let expired = wait_status(app, &token, v, &id, "expired").await;
    assert!(
        expired["reason"]
            .as_str()
            .expect("reason")
            .contains("no result")
    );

    // Results that must not count: they answer possibly forged or replayed envelopes.
    let stored_before = stored(app);
    for code in [
        RejectCode::ForeignSigner,
        RejectCode::Malformed,
        RejectCode::WrongSubject,
        RejectCode::Replayed,
    ] {
        let rejected = result(
            &id,
            "doors.unlock",
            ResultStatus::Rejected,
            Some(code),
            json!({}),
        );
        publish_result(&conn, &device, rejected).await;
    }
    eventually("four results stored", || async {
        (stored(app) >= stored_before + 4).then_some(())
    })
    .await;
    assert_eq!(
        command_status(app, &token, v, &id).await.1["status"],
        "expired"
    );

    // A genuine late result says what the car did: it replaces the cloud's own "expired".
    let late = result(
        &id,
        "doors.unlock",
        ResultStatus::Executed,
        None,
        json!({"doors_locked": false}),
    );
    publish_result(&conn, &device, late).await;
    wait_status(app, &token, v, &id, "executed").await;
    // After that, nothing changes it.
    let stored_before = stored(app);
    let failed = result(&id, "doors.unlock", ResultStatus::Failed, None, json!({}));
    publish_result(&conn, &device, failed).await;
    eventually("the late failure stored", || async {
        (stored(app) > stored_before).then_some(())
    })
    .await;
    assert_eq!(
        command_status(app, &token, v, &id).await.1["status"],
        "executed"
    );
}
mqtt_test!(
    commands_expire_and_only_genuine_results_count,
    unanswered_commands_expire,
    |c: &mut pitlane_cloud::config::Config| {
        c.command_ttl_secs = 1;
    }
);

async fn the_device_signs_on_request(app: &mut TestApp) {
    let device = TestDevice::register(app).await;
    let signer = app.state.device_signer.clone().expect("device signer");
    let payload = json!({
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
            "Hello": [{"name": "who", "type": "string"}]
        },
        "primaryType": "Hello",
        "domain": {"name": "Test", "version": "1"},
        "message": {"who": "pitlane"}
    });
    // Never heard from: offline, at once.
    let err = signer
        .sign_typed_data(&device.address, payload.clone(), Duration::from_secs(30))
        .await
        .expect_err("offline");
    assert!(err.to_string().contains("offline"), "{err}");

    let mut conn = device.connect(app).await;
    conn.publish(UpKind::Status, device.status("online")).await;
    eventually("online", || async {
        pitlane_cloud::telemetry::state::get(&app.state.db, &device.address)
            .await
            .expect("state")
            .filter(|s| s.online)
    })
    .await;
    let asked = signer.sign_typed_data(&device.address, payload.clone(), Duration::from_secs(50));
    let answer = async {
        let (id, action, _, params) = receive(app, &device, &mut conn).await;
        assert_eq!(action, "sign.typed_data");
        let typed = TypedData::from_value(&params["typed_data"]).expect("typed data");
        let mut r = result(&id, &action, ResultStatus::Executed, None, json!({}));
        r["output"] = json!(typed.sign(&device.key));
        publish_result(&conn, &device, r).await;
        typed
    };
    let (signature, typed) = tokio::join!(asked, answer);
    let signature = signature.expect("signature");
    assert_eq!(
        typed.recover_signer(&signature).expect("recover"),
        device.address
    );

    // A refusal by the device's policy comes back as such.
    let asked = signer.sign_typed_data(&device.address, payload, Duration::from_secs(50));
    let answer = async {
        let (id, action, _, _) = receive(app, &device, &mut conn).await;
        let mut r = result(
            &id,
            &action,
            ResultStatus::Failed,
            Some(RejectCode::Policy),
            json!({}),
        );
        r["reason"] = json!("refused by rule `primary type`");
        publish_result(&conn, &device, r).await;
    };
    let (refused, ()) = tokio::join!(asked, answer);
    let err = refused.expect_err("refused");
    assert!(err.to_string().contains("primary type"), "{err}");
}
mqtt_test!(device_signer_round_trip, the_device_signs_on_request);

#[test]
fn results_serialise_as_the_agent_sends_them() {
    let r: CommandResult = serde_json::from_value(result(
        "r",
        "doors.lock",
        ResultStatus::Rejected,
        Some(RejectCode::StaleSeq),
        json!({}),
    ))
    .expect("result");
    assert_eq!(r.code, Some(RejectCode::StaleSeq));
}
