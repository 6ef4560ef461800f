//! The broker login of `[mqtt]`: against a Mosquitto that allows no anonymous clients, an
//! agent with the right `username` and `password_file` connects and reports, and one with a
//! wrong password gets nothing through.

mod sync_support;

use pitlane_shared::identity::DeviceKey;
use pitlane_shared::topics::{Presence, StatusReport, VinReport};
use pitlane_sim::Scenario;
use sync_support::{Broker, Subscriber, config_text, free_port, run_agent, verified};

const OBSERVER: (&str, &str) = ("observer", "observer-password");

fn spawn_agent(
    dir: &std::path::Path,
    name: &str,
    url: &str,
    key: DeviceKey,
    password: &str,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let password_file = dir.join(format!("{name}.password"));
    std::fs::write(&password_file, format!("{password}\n")).unwrap();
    let text = config_text(
        &dir.join(format!("{name}.db")),
        url,
        DeviceKey::generate().address(),
        600.0,
    )
    .replace(
        "backoff_max_secs = 1\n",
        &format!(
            "backoff_max_secs = 1\nusername = \"{}\"\npassword_file = \"{}\"\n",
            key.address().to_lowercase_hex(),
            password_file.display()
        ),
    );
    run_agent(&text, key, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_right_password_gets_through() {
    let good_key = DeviceKey::generate();
    let good = good_key.address();
    let bad_key = DeviceKey::generate();
    let bad = bad_key.address();
    let good_user = good.to_lowercase_hex();
    let bad_user = bad.to_lowercase_hex();
    let logins = [
        (good_user.as_str(), "right-password"),
        (bad_user.as_str(), "its-real-password"),
        OBSERVER,
    ];
    let Some(broker) = Broker::start_with_logins(free_port(), &logins).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut good_sub = Subscriber::start_as(broker.port, good, Some(OBSERVER)).await;
    let mut bad_sub = Subscriber::start_as(broker.port, bad, Some(OBSERVER)).await;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    // The agent with the wrong password starts first, so it has had every chance.
    let bad_agent = spawn_agent(
        dir.path(),
        "bad",
        &broker.url(),
        bad_key,
        "a-wrong-password",
        shutdown.clone(),
    );
    let good_agent = spawn_agent(
        dir.path(),
        "good",
        &broker.url(),
        good_key,
        "right-password",
        shutdown,
    );

    let status: StatusReport = verified(&good_sub.next_where("up/status", |_| true).await, good);
    assert_eq!(status.state, Presence::Online);
    let vin: VinReport = verified(&good_sub.next_where("up/vin", |_| true).await, good);
    assert_eq!(vin.vin, Scenario::default_car().vin);
    assert!(
        bad_sub.rx.try_recv().is_err(),
        "the agent with a wrong password got a message through"
    );

    stop.send(true).unwrap();
    good_agent.await.unwrap();
    bad_agent.await.unwrap();
}
