//! The user journey of issue 7 over real HTTP and MQTT, with the simulator as the car: log in
//! with a wallet (the account is created), claim the device (it signs over MQTT), create the
//! vehicle from the VIN its agent reported, mint, pair, exchange a privilege token, then
//! unlock and lock and watch the simulated car's doors follow.

use std::time::Duration;

use crate::support::{WAIT, options, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_user_unlocks_and_locks_the_car() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = start(options(&dir, 1), dir).await;
    let owner = stack.own(0).await;
    let car = stack.running.cars[0].clone();
    assert_eq!(
        owner.vin,
        car.scenario().vin,
        "the VIN the agent read off the car"
    );

    let vehicles = reqwest::Client::new()
        .get(format!("{}/v1/user/devices/me", stack.base()))
        .bearer_auth(&owner.access)
        .send()
        .await
        .expect("list")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert_eq!(
        vehicles["userDevices"][0]["id"],
        owner.user_device_id.as_str()
    );

    let mut body = car.watch_body();
    assert!(
        body.borrow_and_update().doors_locked,
        "the car starts locked"
    );
    for (action, locked) in [("doors/unlock", false), ("doors/lock", true)] {
        let request = stack
            .api
            .command(&owner.privilege, owner.vehicle, action)
            .await
            .expect("command accepted");
        let outcome = stack
            .api
            .wait_command(
                &owner.privilege,
                owner.vehicle,
                &request,
                Duration::from_millis(50),
                WAIT,
            )
            .await
            .expect("final status");
        assert_eq!(outcome.status, "executed", "{}", outcome.body);
        assert_eq!(
            outcome.body["state"]["doors_locked"], locked,
            "{}",
            outcome.body
        );
        tokio::time::timeout(WAIT, body.wait_for(|b| b.doors_locked == locked))
            .await
            .expect("the car's doors change in time")
            .expect("car running");
        assert_eq!(car.body_state().doors_locked, locked);
    }

    // The privilege covers this vehicle only, and only with the token.
    let other = stack
        .api
        .command(&owner.privilege, owner.vehicle + 1, "doors/unlock")
        .await;
    assert!(
        matches!(
            other,
            Err(pitlane::client::ApiError::Status {
                status: 403 | 404,
                ..
            })
        ),
        "{other:?}"
    );
    let anonymous = stack
        .api
        .command("not-a-token", owner.vehicle, "doors/unlock")
        .await;
    assert!(
        matches!(
            anonymous,
            Err(pitlane::client::ApiError::Status { status: 401, .. })
        ),
        "{anonymous:?}"
    );
    assert!(
        car.body_state().doors_locked,
        "refused commands never reach the car"
    );
    stack.running.stop().await;
}
