//! The ingest comparison of `pitlane bench` (issue 7's goal): signed messages per second the
//! cloud verifies, de-duplicates and stores, against Mosquitto alone carrying the same
//! messages from `mosquitto_pub` to `mosquitto_sub`.
//!
//! The machine's speed drifts from one minute to the next (other tenants), so the runs are
//! interleaved in rounds rather than measured in blocks: each round measures Mosquitto alone,
//! then the cloud fed by rumqttc with flushed commits and with `ingest_sync = normal`, then
//! the cloud fed by `mosquitto_pub`, all within seconds. The goal is judged on the median of
//! the per-round ratios, and every round's figures are printed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pitlane_cloud::config::IngestSync;
use pitlane_cloud::registry::{self, NewDevice};
use pitlane_shared::identity::DeviceKey;
use pitlane_shared::topics::{self, UpKind};

use super::mosquitto;
use super::{
    BenchError, Figure, WAIT, children_cpu, publish_all, self_cpu, signed_messages, start_stack,
    step,
};
use crate::up::Running;

/// Name of the cloud's ingest figure (the goal line and the tests look it up).
pub const INGEST_FIGURE: &str = "signed messages stored by the cloud";
/// The same with `ingest_sync = normal`.
pub const NORMAL_FIGURE: &str = "signed messages stored by the cloud, ingest_sync = normal";
/// Name of the goal line.
pub const GOAL_FIGURE: &str = "ingest goal: stored ≥ mosquitto_pub → mosquitto_sub";
/// How the ingest figures name their publisher.
pub const FROM_RUMQTTC: &str = "from rumqttc in this process";
pub const FROM_CLI: &str = "from mosquitto_pub";

/// Who publishes the signed messages to the cloud's broker.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Publisher {
    /// A rumqttc client with 100 messages in flight, in this process (whose CPU it shares):
    /// the client and window the agent publishes with. The goal is judged on this one.
    Rumqttc,
    /// Mosquitto's `mosquitto_pub -l`, the yardstick's own publisher, with its default 20
    /// messages in flight. Its CPU is its own process's, reported apart.
    Cli(PathBuf),
}

/// A publisher with what it publishes from.
enum Input<'a> {
    Cli(&'a Path, mosquitto::CliInput),
    Rumqttc(Vec<Vec<u8>>),
}

/// `n` messages signed by a fresh device key, for its telemetry topic.
pub struct SignedSet {
    pub key: DeviceKey,
    pub topic: String,
    pub messages: Vec<Vec<u8>>,
}

impl SignedSet {
    fn new(n: usize) -> Result<Self, BenchError> {
        let key = DeviceKey::generate();
        let messages = signed_messages(&key, n)?;
        Ok(SignedSet {
            topic: topics::up(key.address(), UpKind::Telemetry),
            key,
            messages,
        })
    }
}

/// What one run measured: messages per second (whole), and CPU per message of this process
/// and of the child processes it waited for (`mosquitto_pub`, Mosquitto), in µs.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub rate: f64,
    pub cpu_us: Option<f64>,
    pub children_cpu_us: Option<f64>,
}

/// CPU per message in µs from a tick difference (Linux ticks are 1/100 s, USER_HZ).
pub fn cpu_us(before: Option<u64>, after: Option<u64>, n: usize) -> Option<f64> {
    Some(after?.saturating_sub(before?) as f64 * 10_000.0 / n as f64)
}

/// One kind of run, measured once per round (`None`: that round's run failed).
struct Series {
    name: String,
    cpu_name: &'static str,
    children_cpu_name: Option<&'static str>,
    rounds: Vec<Option<Measured>>,
}

impl Series {
    fn new(name: String, cpu_name: &'static str, children_cpu_name: Option<&'static str>) -> Self {
        Series {
            name,
            cpu_name,
            children_cpu_name,
            rounds: Vec::new(),
        }
    }

    /// Records a run's result; a failure is reported and leaves a gap.
    fn record(&mut self, run: Result<Measured, BenchError>, progress: &dyn Fn(&str)) {
        match run {
            Ok(m) => self.rounds.push(Some(m)),
            Err(e) => {
                progress(&format!("{}: {e}", self.name));
                self.rounds.push(None);
            }
        }
    }

    /// The median rate, the per-round rates when there are several rounds, and the median
    /// CPU figures; nothing when no round succeeded.
    fn figures(&self) -> Vec<Figure> {
        let measured: Vec<Measured> = self.rounds.iter().flatten().copied().collect();
        let Some(rate) = median(measured.iter().map(|m| m.rate).collect()) else {
            return Vec::new();
        };
        let mut figures = vec![Figure {
            name: self.name.clone(),
            value: format!("{rate:.0} /s"),
        }];
        if self.rounds.len() > 1 {
            figures.push(Figure {
                name: per_round_name(&self.name),
                value: per_round(&self.rounds, |m| format!("{:.0}", m.rate)) + " /s",
            });
        }
        let mut cpu = |name: &str, pick: fn(&Measured) -> Option<f64>| {
            if let Some(us) = median(measured.iter().filter_map(pick).collect()) {
                figures.push(Figure {
                    name: name.to_owned(),
                    value: format!("{us:.0} µs"),
                });
            }
        };
        cpu(self.cpu_name, |m| m.cpu_us);
        if let Some(name) = self.children_cpu_name {
            cpu(name, |m| m.children_cpu_us);
        }
        figures
    }
}

/// The name of the per-round line under the figure `name`.
pub fn per_round_name(name: &str) -> String {
    format!("  per round: {name}")
}

/// `a / b / c`, a failed round as `failed`.
fn per_round<T>(rounds: &[Option<T>], show: impl Fn(&T) -> String) -> String {
    let shown: Vec<String> = rounds
        .iter()
        .map(|r| r.as_ref().map_or_else(|| "failed".to_owned(), &show))
        .collect();
    shown.join(" / ")
}

/// The median (the mean of the middle two of an even count); `None` for no values.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The comparison: `rounds` interleaved rounds of `n` messages each, on the running stack
/// `flushed` (default configuration) and on a second stack started here with
/// `ingest_sync = normal`. Runs that cannot be made (no Mosquitto, a failure) are reported
/// through `progress` and left out.
pub async fn compare(
    flushed: &Running,
    dir: &Path,
    n: usize,
    rounds: usize,
    progress: &dyn Fn(&str),
) -> Vec<Figure> {
    let cli = mosquitto::cli_clients();
    if cli.is_none() {
        progress(
            "mosquitto, mosquitto_pub or mosquitto_sub is not installed (Debian: apt-get install \
             mosquitto mosquitto-clients): no yardstick, and only rumqttc publishes",
        );
    }
    let normal = match start_stack(
        &dir.join("ingest-normal"),
        0,
        Some(|c| c.ingest_sync = IngestSync::Normal),
        progress,
    )
    .await
    {
        Ok(stack) => Some(stack),
        Err(e) => {
            progress(&format!("the ingest_sync = normal cloud: {e}"));
            None
        }
    };
    let this = "  CPU per stored message (this process: publisher, broker, cloud)";
    let mut carried = Series::new(
        format!("{} ({n}, QoS 1)", mosquitto::CLI_FIGURE),
        "  CPU per message (mosquitto, mosquitto_pub, mosquitto_sub)",
        None,
    );
    let mut full = Series::new(
        format!("{INGEST_FIGURE} ({n}, QoS 1, {FROM_RUMQTTC})"),
        this,
        None,
    );
    let mut relaxed = Series::new(
        format!("{NORMAL_FIGURE} ({n}, QoS 1, {FROM_RUMQTTC})"),
        this,
        None,
    );
    let mut fed = Series::new(
        format!("{INGEST_FIGURE} ({n}, QoS 1, {FROM_CLI})"),
        "  CPU per stored message (this process: broker, cloud)",
        Some("  CPU per message (mosquitto_pub)"),
    );
    for round in 1..=rounds {
        progress(&format!(
            "ingest round {round} of {rounds}: signing 2 × {n} messages"
        ));
        let (a, b) = match sign_two(n).await {
            Ok(sets) => sets,
            Err(e) => {
                progress(&format!("signing: {e}"));
                break;
            }
        };
        if let Some(cli) = &cli {
            progress("Mosquitto alone: mosquitto_pub → mosquitto_sub");
            carried.record(
                mosquitto::cli_rate(cli, &dir.join("mosquitto"), &a).await,
                progress,
            );
        }
        full.record(
            ingest_rate(flushed, &a, &Publisher::Rumqttc, progress).await,
            progress,
        );
        if let Some(normal) = &normal {
            relaxed.record(
                ingest_rate(normal, &a, &Publisher::Rumqttc, progress).await,
                progress,
            );
        }
        if let Some(cli) = &cli {
            let publisher = Publisher::Cli(cli.publisher.clone());
            fed.record(
                ingest_rate(flushed, &b, &publisher, progress).await,
                progress,
            );
        }
    }
    if let Some(normal) = normal {
        normal.stop().await;
    }
    let mut figures = Vec::new();
    for series in [&full, &fed, &relaxed, &carried] {
        figures.extend(series.figures());
    }
    let judged = [
        ("flushed commits", &full),
        ("ingest_sync = normal", &relaxed),
        ("fed by mosquitto_pub", &fed),
    ];
    figures.extend(goal(&carried, &judged));
    figures
}

/// Two sets of `n` signed messages, signed on two threads.
async fn sign_two(n: usize) -> Result<(SignedSet, SignedSet), BenchError> {
    let a = tokio::task::spawn_blocking(move || SignedSet::new(n));
    let b = tokio::task::spawn_blocking(move || SignedSet::new(n));
    let (a, b) = tokio::join!(a, b);
    let joined = |r: Result<Result<SignedSet, BenchError>, tokio::task::JoinError>| {
        r.map_err(|e| step(format!("signing: {e}")))?
    };
    Ok((joined(a)?, joined(b)?))
}

/// Issue 7's ingest goal, judged from this run's rounds: the cloud stores at least as many
/// signed messages per second as Mosquitto alone carries from `mosquitto_pub` to
/// `mosquitto_sub`. Each round's ratio compares runs made seconds apart; the verdict is on
/// their median. The cloud fed by rumqttc (the agent's client and window) is what the goal
/// is judged on, with flushed commits and with `ingest_sync = normal`; the figure fed by
/// `mosquitto_pub` (20 in flight) is compared too, for the record.
fn goal(carried: &Series, judged: &[(&str, &Series)]) -> Option<Figure> {
    let mut parts = Vec::new();
    for (label, series) in judged {
        let ratios: Vec<Option<f64>> = series
            .rounds
            .iter()
            .zip(&carried.rounds)
            .map(|(stored, carried)| Some(stored.as_ref()?.rate / carried.as_ref()?.rate))
            .collect();
        let Some(ratio) = median(ratios.iter().flatten().copied().collect()) else {
            continue;
        };
        let verdict = if ratio >= 1.0 { "met" } else { "not met" };
        let mut part = format!("{label}: {verdict} ({ratio:.2}×");
        if ratios.len() > 1 {
            let each = per_round(&ratios, |r| format!("{r:.2}"));
            part.push_str(&format!("; rounds {each}"));
        }
        part.push(')');
        parts.push(part);
    }
    if parts.is_empty() {
        return None;
    }
    let rounds = carried.rounds.len();
    Some(Figure {
        name: if rounds > 1 {
            format!("{GOAL_FIGURE} (median of {rounds} rounds)")
        } else {
            GOAL_FIGURE.to_owned()
        },
        value: parts.join("; "),
    })
}

/// Publishes `set` to `stack`'s embedded broker as a device registered for it, and measures
/// from the first publish until the cloud has counted every message as stored.
async fn ingest_rate(
    stack: &Running,
    set: &SignedSet,
    publisher: &Publisher,
    progress: &dyn Fn(&str),
) -> Result<Measured, BenchError> {
    let mqtt = stack
        .state
        .mqtt
        .as_ref()
        .ok_or_else(|| step("no MQTT layer"))?;
    let address = set.key.address();
    let registered = registry::register_device(
        &stack.state.db,
        NewDevice {
            serial: format!("BENCH-PUBLISHER-{}", address.to_lowercase_hex()),
            address,
            manufacturer: "Bench".into(),
        },
    )
    .await
    .map_err(|e| step(e.to_string()))?;
    let n = set.messages.len();
    progress(&format!(
        "publishing {n} signed messages to the cloud's broker, {}",
        match publisher {
            Publisher::Cli(_) => FROM_CLI,
            Publisher::Rumqttc => FROM_RUMQTTC,
        }
    ));
    let addr = mqtt
        .broker_addr()
        .ok_or_else(|| step("no embedded broker"))?;
    let user = address.to_lowercase_hex();
    // The publisher's input is made before the clock starts (a file for `mosquitto_pub`, a
    // copy of the messages for rumqttc).
    let input = match publisher {
        Publisher::Cli(bin) => Input::Cli(
            bin,
            mosquitto::CliInput::write(
                &stack.data_dir,
                &format!("messages-{}", addr.port()),
                &set.messages,
            )?,
        ),
        Publisher::Rumqttc => Input::Rumqttc(set.messages.clone()),
    };
    let before = mqtt.ingest_counts().stored;
    let (cpu_before, children_before) = (self_cpu(), children_cpu());
    let start = Instant::now();
    match input {
        Input::Cli(bin, input) => {
            let target = mosquitto::Target {
                port: addr.port(),
                login: (&user, &user, &registered.mqtt_password),
                topic: &set.topic,
            };
            mosquitto::publish_cli(bin, &input, target).await?;
        }
        Input::Rumqttc(messages) => {
            let login = Some((user.clone(), registered.mqtt_password));
            let host = addr.ip().to_string();
            publish_all(&host, addr.port(), login, &user, &set.topic, messages).await?;
        }
    }
    let deadline = Instant::now() + WAIT;
    while mqtt.ingest_counts().stored < before + n as u64 {
        if Instant::now() > deadline {
            return Err(step(format!(
                "stored {} of {n}",
                mqtt.ingest_counts().stored - before
            )));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rate = (n as f64 / start.elapsed().as_secs_f64()).round();
    Ok(Measured {
        rate,
        cpu_us: cpu_us(cpu_before, self_cpu(), n),
        children_cpu_us: match publisher {
            Publisher::Cli(_) => cpu_us(children_before, children_cpu(), n),
            Publisher::Rumqttc => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(rate: f64) -> Option<Measured> {
        Some(Measured {
            rate,
            cpu_us: Some(40.0),
            children_cpu_us: None,
        })
    }

    fn series(rates: &[Option<f64>]) -> Series {
        let mut s = Series::new("s".into(), "  cpu", None);
        s.rounds = rates.iter().map(|r| r.and_then(measured)).collect();
        s
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0]), Some(3.0));
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    /// The verdict is on the median of per-round ratios (runs seconds apart), not on the
    /// ratio of medians; a failed round is shown and left out.
    #[test]
    fn the_goal_pairs_runs_of_the_same_round() {
        let carried = series(&[Some(100.0), Some(200.0), Some(100.0)]);
        let stored = series(&[Some(110.0), Some(180.0), None]);
        let three = goal(&carried, &[("flushed", &stored)]).unwrap();
        assert_eq!(three.name, format!("{GOAL_FIGURE} (median of 3 rounds)"));
        // Ratios 1.10 and 0.90: median 1.00, met.
        assert_eq!(
            three.value,
            "flushed: met (1.00×; rounds 1.10 / 0.90 / failed)"
        );
        let one = goal_of(&[Some(100.0)], &[Some(99.0)]);
        assert_eq!(one.name, GOAL_FIGURE);
        assert_eq!(one.value, "flushed: not met (0.99×)");
        assert!(goal(&series(&[None]), &[("flushed", &series(&[Some(1.0)]))]).is_none());
    }

    fn goal_of(carried: &[Option<f64>], stored: &[Option<f64>]) -> Figure {
        goal(&series(carried), &[("flushed", &series(stored))]).unwrap()
    }

    #[test]
    fn series_figures_show_every_round() {
        let s = series(&[Some(10.0), None, Some(30.0)]);
        let figures = s.figures();
        let shown: Vec<(&str, &str)> = figures
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("s", "20 /s"),
                ("  per round: s", "10 / failed / 30 /s"),
                ("  cpu", "40 µs"),
            ]
        );
        assert!(series(&[None]).figures().is_empty());
    }
}
