//! `pitlane bench` end to end with small numbers: every figure it promises is measured (real
//! cloud, broker, agent and car; real Mosquitto and its command-line clients when installed),
//! the rates are real, and the goal line agrees with them.

use pitlane::bench::{self, BenchOptions, Figure};

fn find<'a>(figures: &'a [Figure], prefix: &str) -> Option<&'a Figure> {
    figures.iter().find(|f| f.name.starts_with(prefix))
}

/// The rate of the figure named `prefix…`, which must be there and read "N /s" with N > 0.
fn rate(figures: &[Figure], prefix: &str) -> f64 {
    let figure = find(figures, prefix).unwrap_or_else(|| panic!("no figure {prefix:?}"));
    let value: f64 = figure
        .value
        .strip_suffix(" /s")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{prefix:?} reads {:?}", figure.value));
    assert!(value > 0.0, "{prefix:?} reads {value}");
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_measures_every_figure_and_judges_the_goal_from_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = BenchOptions {
        cars: 1,
        commands: 3,
        messages: 300,
        dir: dir.path().to_owned(),
    };
    let figures = bench::run(&opts, &|line| eprintln!("bench: {line}"))
        .await
        .expect("the bench runs");
    eprint!("{}", bench::table(&figures));
    let round_trip =
        find(&figures, "command round trip, 1 car(s) connected").expect("round trip figure");
    assert!(round_trip.value.contains(" ms / "), "{}", round_trip.value);
    let mosquitto_cli = std::path::Path::new("/usr/bin/mosquitto_sub").exists()
        && std::path::Path::new("/usr/bin/mosquitto_pub").exists()
        && ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .iter()
            .any(|p| std::path::Path::new(p).exists());
    let full = rate(
        &figures,
        "signed messages stored by the cloud (300, QoS 1, from rumqttc",
    );
    let normal = rate(
        &figures,
        "signed messages stored by the cloud, ingest_sync = normal (300, QoS 1, from rumqttc",
    );
    if !mosquitto_cli {
        eprintln!("skipped: the Mosquitto baseline and goal (mosquitto or its clients missing)");
        return;
    }
    // With mosquitto_pub installed it also publishes to the cloud, its CPU counted apart.
    let fed = rate(
        &figures,
        "signed messages stored by the cloud (300, QoS 1, from mosquitto_pub)",
    );
    find(&figures, "  CPU per message (mosquitto_pub)").expect("the publisher's CPU");
    let carried = rate(
        &figures,
        "Mosquitto alone, mosquitto_pub → mosquitto_sub (300",
    );
    rate(&figures, "Mosquitto alone, rumqttc publisher");
    let goal = find(&figures, "ingest goal").expect("goal line");
    let verdict = |stored: f64| if stored >= carried { "met" } else { "not met" };
    let expected = format!(
        "flushed commits: {} ({:.2}×); ingest_sync = normal: {} ({:.2}×); \
         fed by mosquitto_pub: {} ({:.2}×)",
        verdict(full),
        full / carried,
        verdict(normal),
        normal / carried,
        verdict(fed),
        fed / carried
    );
    assert_eq!(goal.value, expected);
}
