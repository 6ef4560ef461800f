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

/// The per-round rates under the figure named `name` ("a / b /s"), each > 0.
fn per_round(figures: &[Figure], name: &str) -> Vec<f64> {
    let line = bench::per_round_name(name);
    let figure = find(figures, &line).unwrap_or_else(|| panic!("no figure {line:?}"));
    let values: Vec<f64> = figure
        .value
        .strip_suffix(" /s")
        .unwrap_or_else(|| panic!("{line:?} reads {:?}", figure.value))
        .split(" / ")
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{line:?} reads {:?}", figure.value))
        })
        .collect();
    assert!(values.iter().all(|v| *v > 0.0), "{line:?}: {values:?}");
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_measures_every_figure_and_judges_the_goal_from_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rounds = 3;
    let opts = BenchOptions {
        cars: 1,
        commands: 3,
        messages: 300,
        rounds,
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
    let full_name = format!(
        "{} (300, QoS 1, {})",
        bench::INGEST_FIGURE,
        bench::FROM_RUMQTTC
    );
    let normal_name = format!(
        "{} (300, QoS 1, {})",
        bench::NORMAL_FIGURE,
        bench::FROM_RUMQTTC
    );
    let fed_name = format!("{} (300, QoS 1, {})", bench::INGEST_FIGURE, bench::FROM_CLI);
    let carried_name = "Mosquitto alone, mosquitto_pub → mosquitto_sub (300, QoS 1)";
    // Every round of every series is measured; the headline is their median.
    let series = |name: &str| {
        let each = per_round(&figures, name);
        assert_eq!(each.len(), rounds, "{name}");
        let mut sorted = each.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(rate(&figures, name), sorted[rounds / 2], "{name}");
        each
    };
    let full = series(&full_name);
    let normal = series(&normal_name);
    if !mosquitto_cli {
        eprintln!("skipped: the Mosquitto baseline and goal (mosquitto or its clients missing)");
        return;
    }
    // With mosquitto_pub installed it also publishes to the cloud, its CPU counted apart.
    let fed = series(&fed_name);
    find(&figures, "  CPU per message (mosquitto_pub)").expect("the publisher's CPU");
    let carried = series(carried_name);
    rate(&figures, "Mosquitto alone, rumqttc publisher");
    // The goal: the median of the per-round ratios, each round's shown.
    let goal = find(&figures, bench::GOAL_FIGURE).expect("goal line");
    assert_eq!(
        goal.name,
        format!("{} (median of {rounds} rounds)", bench::GOAL_FIGURE)
    );
    let judged = |label: &str, stored: &[f64]| {
        let ratios: Vec<f64> = stored.iter().zip(&carried).map(|(s, c)| s / c).collect();
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[rounds / 2];
        let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        format!(
            "{label}: {} ({median:.2}×; rounds {})",
            if median >= 1.0 { "met" } else { "not met" },
            each.join(" / ")
        )
    };
    let expected = [
        judged("flushed commits", &full),
        judged("ingest_sync = normal", &normal),
        judged("fed by mosquitto_pub", &fed),
    ]
    .join("; ");
    assert_eq!(goal.value, expected);
}
