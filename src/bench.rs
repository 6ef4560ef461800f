//! `pitlane bench`: end-to-end figures on this machine. Command round trip (API call to
//! `executed` status) with one and with many connected simulated cars, signed messages per
//! second ingested by the cloud against Mosquitto alone carrying the same messages, and the
//! idle memory and CPU of a real agent process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use pitlane_cloud::config::Config;
use pitlane_cloud::registry::Chain;
use pitlane_shared::envelope::Envelope;
use pitlane_shared::identity::DeviceKey;
use pitlane_shared::topics::{self, Ignition, TelemetryReport, UpKind};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use crate::client::{Api, ApiError};
use crate::fleet::{CarFiles, Intervals};
use crate::up::{self, Running, UpError, UpOptions};

mod ingest;
mod mosquitto;

pub use ingest::{
    FROM_CLI, FROM_RUMQTTC, GOAL_FIGURE, INGEST_FIGURE, NORMAL_FIGURE, per_round_name,
};
pub use mosquitto::CLI_MAX_MESSAGES;

/// How long any one step may take.
const WAIT: Duration = Duration::from_secs(120);

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Cars connected during the second round-trip run.
    pub cars: usize,
    /// Commands per round-trip run.
    pub commands: usize,
    /// Signed messages per ingest run (at most [`mosquitto::CLI_MAX_MESSAGES`] when
    /// Mosquitto's clients take part).
    pub messages: usize,
    /// Interleaved rounds of the ingest comparison (see [`ingest::compare`]).
    pub rounds: usize,
    /// Scratch directory (fresh data directories are made inside).
    pub dir: PathBuf,
}

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Up(#[from] UpError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{0}")]
    Step(String),
}

fn step(message: impl Into<String>) -> BenchError {
    BenchError::Step(message.into())
}

/// One line of the result table.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub value: String,
}

/// Runs every measurement; `progress` gets one line per step.
pub async fn run(opts: &BenchOptions, progress: &dyn Fn(&str)) -> Result<Vec<Figure>, BenchError> {
    let mut figures = Vec::new();
    // One car first (then the agent and ingest figures), then the fleet when it is larger.
    let fleets = if opts.cars > 1 {
        vec![1, opts.cars]
    } else {
        vec![1]
    };
    let mut rss = Vec::new();
    for cars in fleets {
        progress(&format!("round trip with {cars} connected car(s)"));
        let (mut stack, fleet) =
            start(&opts.dir.join(format!("rt-{cars}")), cars, progress).await?;
        rss.push((cars, fleet.rss_kb));
        figures.extend(fleet.figures(cars));
        let result = round_trip(&stack, opts.commands).await;
        if cars == 1 && result.is_ok() {
            progress("agent idle RSS and CPU (a separate agent process for car 1)");
            if let Some(device) = stack.devices.pop()
                && let Err(e) = device.stop().await
            {
                progress(&format!("in-process agent: {e}"));
            }
            match agent_idle(&stack).await {
                Ok(mut f) => figures.append(&mut f),
                Err(e) => progress(&format!("agent idle: {e}")),
            }
            figures.extend(
                ingest::compare(&stack, &opts.dir, opts.messages, opts.rounds, progress).await,
            );
        }
        stack.stop().await;
        let (p50, p99) = result?;
        figures.push(Figure {
            name: format!("command round trip, {cars} car(s) connected: p50 / p99"),
            value: format!("{:.1} ms / {:.1} ms", ms(p50), ms(p99)),
        });
    }
    if let [(1, one), (n, many)] = rss[..]
        && many > one
    {
        figures.push(Figure {
            name: "resident memory per additional in-process car (agent and simulated car)".into(),
            value: format!("{:.0} kB", (many - one) as f64 / (n - 1) as f64),
        });
    }
    figures
        .extend(mosquitto::baselines(&opts.dir.join("mosquitto"), opts.messages, progress).await);
    Ok(figures)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How a fleet came up.
struct FleetStart {
    /// `up::start` returned: every car provisioned and its agent running.
    started: Duration,
    /// Every device online in the cloud (its retained `online` status ingested).
    connected: Duration,
    /// This process's resident memory then (cloud, broker, agents and cars together).
    rss_kb: u64,
    /// This process's open files then.
    files: usize,
}

impl FleetStart {
    fn figures(&self, cars: usize) -> Vec<Figure> {
        vec![
            Figure {
                name: format!("{cars} car(s): agents running / all online in the cloud"),
                value: format!(
                    "{:.2} s / {:.2} s",
                    self.started.as_secs_f64(),
                    self.connected.as_secs_f64()
                ),
            },
            Figure {
                name: format!(
                    "process RSS with {cars} car(s) online (cloud, broker, agents, cars)"
                ),
                value: format!("{:.1} MB", self.rss_kb as f64 / 1024.0),
            },
            Figure {
                name: format!("open files with {cars} car(s) online"),
                value: self.files.to_string(),
            },
        ]
    }
}

/// Starts the cloud and `cars` cars, then waits until every device is online.
async fn start(
    dir: &Path,
    cars: usize,
    progress: &dyn Fn(&str),
) -> Result<(Running, FleetStart), BenchError> {
    let began = Instant::now();
    let stack = start_stack(dir, cars, None, progress).await?;
    let started = began.elapsed();
    if let Err(e) = wait_online(&stack).await {
        stack.stop().await;
        return Err(e);
    }
    let connected = began.elapsed();
    let rss_kb = proc_rss_kb(std::process::id()).unwrap_or(0);
    let files = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    settle(&stack).await;
    Ok((
        stack,
        FleetStart {
            started,
            connected,
            rss_kb,
            files,
        },
    ))
}

/// Waits (at most [`WAIT`]) until the cloud has ingested nothing new for half a second: the
/// cars' first readings (VIN, trouble codes, live data) are in, and round trips are measured
/// on an idle fleet.
async fn settle(stack: &Running) {
    let Some(mqtt) = &stack.state.mqtt else {
        return;
    };
    let total = || mqtt.ingest_counts().total();
    let deadline = Instant::now() + WAIT;
    let mut last = total();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = total();
        if now == last {
            return;
        }
        last = now;
    }
}

/// Waits until the cloud shows every device of `stack` online.
async fn wait_online(stack: &Running) -> Result<(), BenchError> {
    let deadline = Instant::now() + WAIT;
    for device in &stack.devices {
        loop {
            let state = pitlane_cloud::telemetry::state::get(&stack.state.db, &device.address)
                .await
                .map_err(|e| step(format!("device state: {e}")))?;
            if state.is_some_and(|s| s.online) {
                break;
            }
            if Instant::now() > deadline {
                return Err(step(format!(
                    "car {} ({}) not online after {WAIT:?}",
                    device.index + 1,
                    device.serial
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

/// A stack on free loopback ports in `dir`, without the demo account, its cars reading
/// rarely (they stay idle); `tweak` last changes the cloud's configuration.
async fn start_stack(
    dir: &Path,
    cars: usize,
    tweak: Option<fn(&mut Config)>,
    progress: &dyn Fn(&str),
) -> Result<Running, BenchError> {
    let opts = UpOptions {
        tweak,
        data_dir: Some(dir.to_owned()),
        http_addr: Some(([127, 0, 0, 1], 0).into()),
        mqtt_addr: Some(([127, 0, 0, 1], 0).into()),
        intervals: Intervals {
            dtc_secs: 3600.0,
            telemetry_secs: 3600.0,
            vin_secs: 3600.0,
        },
        demo: false,
        ..UpOptions::new(cars)
    };
    Ok(up::start(opts, progress).await?)
}

/// p50 and p99 of `n` commands (alternating unlock and lock) from the POST to the first poll
/// that sees `executed`; polls every millisecond.
async fn round_trip(stack: &Running, n: usize) -> Result<(Duration, Duration), BenchError> {
    let api = Api::new(format!("http://{}", stack.http_addr))?;
    let nft = Chain::from_config(&stack.state.config)
        .map_err(|(k, m)| step(format!("{k}: {m}")))?
        .vehicle_nft
        .to_checksum();
    let serial = &stack.devices.first().ok_or_else(|| step("no car"))?.serial;
    let owner = crate::journey::own(&api, serial, &nft, WAIT).await?;
    let mut times = Vec::with_capacity(n);
    for i in 0..n.max(1) {
        let action = if i % 2 == 0 {
            "doors/unlock"
        } else {
            "doors/lock"
        };
        let start = Instant::now();
        let id = api.command(&owner.privilege, owner.vehicle, action).await?;
        let outcome = api
            .wait_command(
                &owner.privilege,
                owner.vehicle,
                &id,
                Duration::from_millis(1),
                WAIT,
            )
            .await?;
        if outcome.status != "executed" {
            return Err(step(format!("command {action}: {}", outcome.body)));
        }
        times.push(start.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Ok((at(0.5), at(0.99)))
}

/// `n` telemetry envelopes signed by `key`, ready to publish.
fn signed_messages(key: &DeviceKey, n: usize) -> Result<Vec<Vec<u8>>, BenchError> {
    let address = key.address();
    (0..n)
        .map(|_| {
            Envelope::new(
                UpKind::Telemetry.event_type(),
                // Ids as the agent makes them (time-ordered UUIDv7).
                uuid::Uuid::now_v7().to_string(),
                topics::device_source(address),
                address.to_lowercase_hex(),
                SystemTime::now(),
                TelemetryReport {
                    ignition: Ignition::On,
                    values: Vec::new(),
                },
            )
            .sign(key)
            .and_then(|s| s.to_vec())
            .map_err(|e| step(format!("signing: {e}")))
        })
        .collect()
}

/// Publishes `messages` at QoS 1 as fast as the client allows (100 in flight).
async fn publish_all(
    host: &str,
    port: u16,
    login: Option<(String, String)>,
    client_id: &str,
    topic: &str,
    messages: Vec<Vec<u8>>,
) -> Result<(), BenchError> {
    let mut options = MqttOptions::new(client_id, host, port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    options.set_inflight(100);
    if let Some((user, password)) = login {
        options.set_credentials(user, password);
    }
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let n = messages.len();
    let topic = topic.to_owned();
    let publisher = tokio::spawn(async move {
        for m in messages {
            if client
                .publish(topic.clone(), QoS::AtLeastOnce, false, m)
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let mut acked = 0;
    while acked < n {
        match tokio::time::timeout(WAIT, eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(step(format!("publisher: {e}"))),
            Err(_) => return Err(step("publisher: no progress")),
        }
    }
    let _ = publisher.await;
    Ok(())
}

/// Kills the child on drop.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The device agent binary: `pitlane-agent` beside this executable when built, else
/// `pitlane agent`.
/// Also which binary that is, for the figure's name: `pitlane agent` is the whole `pitlane`
/// binary (cloud, simulator), so its memory is not the device agent's.
fn agent_command() -> (Command, &'static str) {
    let exe = std::env::current_exe().ok();
    let sibling = exe
        .as_ref()
        .and_then(|e| e.parent())
        .map(|d| d.join("pitlane-agent"))
        .filter(|p| p.exists());
    match (sibling, exe) {
        (Some(agent), _) => (Command::new(agent), "pitlane-agent"),
        (None, Some(exe)) => {
            let mut c = Command::new(exe);
            c.arg("agent");
            (
                c,
                "`pitlane agent`, not the device binary: build pitlane-agent beside it",
            )
        }
        (None, None) => (Command::new("pitlane-agent"), "pitlane-agent"),
    }
}

fn proc_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    proc_stat_ticks(&pid.to_string(), 11)
}

/// CPU time, in clock ticks, of this process (`self_cpu`) or of its children that have been
/// waited for (`children_cpu`).
fn self_cpu() -> Option<u64> {
    proc_stat_ticks("self", 11)
}

fn children_cpu() -> Option<u64> {
    proc_stat_ticks("self", 13)
}

/// Two adjacent tick counters of `/proc/<pid>/stat` summed, `at` counted after the command
/// name: 11 = utime + stime (fields 14, 15), 13 = cutime + cstime (16, 17).
fn proc_stat_ticks(pid: &str, at: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(fields.get(at)?.parse::<u64>().ok()? + fields.get(at + 1)?.parse::<u64>().ok()?)
}

/// Car 1's agent as its own process (the in-process one stopped), connected and idle, with
/// the car in another process (simulated in this one) reached over TCP as a socketcand bus,
/// the way a device reaches a car through its adapter: resident memory after warm-up and CPU
/// over ten seconds, of the agent alone.
async fn agent_idle(stack: &Running) -> Result<Vec<Figure>, BenchError> {
    let sim = pitlane_sim::Simulator::start(pitlane_sim::Options {
        scenario: pitlane_sim::Scenario::default_car(),
        slcan_pty: None,
        elm327_pty: None,
        elm327_tcp: None,
        socketcand: Some(([127, 0, 0, 1], 0).into()),
        socketcan: None,
    })
    .await
    .map_err(|e| step(format!("simulator: {e}")))?;
    let measured = agent_idle_on(stack, &sim).await;
    sim.shutdown().await;
    measured
}

async fn agent_idle_on(
    stack: &Running,
    sim: &pitlane_sim::Simulator,
) -> Result<Vec<Figure>, BenchError> {
    let bus = sim
        .endpoints()
        .iter()
        .find_map(|e| match e {
            pitlane_sim::Endpoint::Socketcand(addr) => Some(format!(
                "socketcand://{addr}/{}",
                pitlane_sim::adapter::socketcand::BUS_NAME
            )),
            _ => None,
        })
        .ok_or_else(|| step("the simulator serves no socketcand bus"))?;
    let car = CarFiles::new(&stack.data_dir, 0).agent_config();
    let text =
        std::fs::read_to_string(&car).map_err(|e| step(format!("{}: {e}", car.display())))?;
    let sim_bus = "bus = \"sim://\"";
    if !text.contains(sim_bus) {
        return Err(step(format!("{} names no sim:// bus", car.display())));
    }
    let config = stack.data_dir.join("agent-idle.toml");
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        // Mode 0600: it holds the MQTT password.
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&config)
            .and_then(|mut f| {
                f.write_all(
                    text.replacen(sim_bus, &format!("bus = {bus:?}"), 1)
                        .as_bytes(),
                )
            })
            .map_err(|e| step(format!("{}: {e}", config.display())))?;
    }
    let (mut command, binary) = agent_command();
    let mut child = Kill(
        command
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| step(e.to_string()))?,
    );
    let pid = child.0.id();
    tokio::time::sleep(Duration::from_secs(5)).await;
    // An agent that could not start (no `pitlane-agent` beside this binary, as in tests, or a
    // bad configuration) says so here rather than as a missing /proc entry.
    if let Ok(Some(status)) = child.0.try_wait() {
        return Err(step(format!(
            "the agent ({binary}) exited before it was measured: {status}"
        )));
    }
    let rss = proc_rss_kb(pid).ok_or_else(|| step("agent exited"))?;
    let t0 = proc_cpu_ticks(pid).ok_or_else(|| step("agent exited"))?;
    let window = Duration::from_secs(10);
    tokio::time::sleep(window).await;
    let t1 = proc_cpu_ticks(pid).ok_or_else(|| step("agent exited"))?;
    // Linux reports CPU time in clock ticks of 1/100 s (USER_HZ).
    let cpu = (t1 - t0) as f64 / 100.0 / window.as_secs_f64() * 100.0;
    drop(child);
    Ok(vec![
        Figure {
            name: format!("agent idle RSS ({binary}; own process, car over socketcand, connected)"),
            value: format!("{:.1} MB", rss as f64 / 1024.0),
        },
        Figure {
            name: "agent idle CPU".into(),
            value: format!("{cpu:.2} % of one core"),
        },
    ])
}

/// The figures as an aligned table.
pub fn table(figures: &[Figure]) -> String {
    let width = figures.iter().map(|f| f.name.len()).max().unwrap_or(0);
    figures
        .iter()
        .map(|f| format!("{:width$}  {}\n", f.name, f.value))
        .collect()
}
