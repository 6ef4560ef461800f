//! The ingest goal's yardstick: Mosquitto alone carrying the same signed messages, measured
//! in the same run. Two ways: Mosquitto's own command-line clients (`mosquitto_pub -l` to
//! `mosquitto_sub -C`, QoS 1), which is what issue 7's goal names (measured in every round
//! of [`super::ingest::compare`]), and the Rust client the cloud uses (rumqttc, 100 in
//! flight) on both ends, a harder bar (measured once).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pitlane_shared::identity::DeviceKey;
use pitlane_shared::topics::{self, UpKind};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::task::JoinHandle;

use super::ingest::{Measured, SignedSet, cpu_us};
use super::{BenchError, Figure, Kill, WAIT, children_cpu, publish_all, signed_messages, step};

/// Name of the command-line baseline's figure (the goal line looks it up).
pub const CLI_FIGURE: &str = "Mosquitto alone, mosquitto_pub → mosquitto_sub";

/// A private Mosquitto on a free loopback port; killed when dropped.
struct Broker {
    port: u16,
    _process: Kill,
}

fn installed(names: &[&str]) -> Option<PathBuf> {
    names.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Starts Mosquitto with `max_queued_messages 0` (unlimited): its default of 1,000 silently
/// drops QoS 1 messages queued for a slow subscriber, which would flatter the figure.
async fn broker(dir: &Path) -> Result<Broker, BenchError> {
    let bin = installed(&["/usr/sbin/mosquitto", "/usr/bin/mosquitto"])
        .ok_or_else(|| step("mosquitto is not installed (Debian: apt-get install mosquitto)"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| step(e.to_string()))?
        .port();
    std::fs::create_dir_all(dir).map_err(|e| step(e.to_string()))?;
    let conf = dir.join(format!("mosquitto-{port}.conf"));
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"
        ),
    )
    .map_err(|e| step(e.to_string()))?;
    let process = Kill(
        Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| step(e.to_string()))?,
    );
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            return Err(step("mosquitto does not listen"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Broker {
        port,
        _process: process,
    })
}

/// The Rust-clients baseline with `n` freshly signed telemetry messages; when it cannot run,
/// that is reported through `progress` and it is left out.
pub async fn baselines(dir: &Path, n: usize, progress: &dyn Fn(&str)) -> Vec<Figure> {
    progress("Mosquitto alone: Rust clients on both ends");
    match rust_clients_rate(dir, n).await {
        Ok(f) => vec![f],
        Err(e) => {
            progress(&format!("mosquitto with Rust clients: {e}"));
            Vec::new()
        }
    }
}

/// Mosquitto's command-line clients, and the broker they need.
pub struct CliClients {
    pub publisher: PathBuf,
    subscriber: PathBuf,
}

/// The command-line clients, when they and Mosquitto itself are installed.
pub fn cli_clients() -> Option<CliClients> {
    installed(&["/usr/sbin/mosquitto", "/usr/bin/mosquitto"])?;
    Some(CliClients {
        publisher: installed(&["/usr/bin/mosquitto_pub", "/usr/local/bin/mosquitto_pub"])?,
        subscriber: installed(&["/usr/bin/mosquitto_sub", "/usr/local/bin/mosquitto_sub"])?,
    })
}

/// Most messages one `mosquitto_pub -l` delivers: it numbers messages with 16-bit ids and,
/// at the end of its input, disconnects when the id of the last message is first
/// acknowledged. Past 65,535 messages that id has been used before, so it stops early.
pub const CLI_MAX_MESSAGES: usize = 65_535;

/// Writes `messages` to `path`, one per line, for `mosquitto_pub -l`.
fn write_lines(path: &Path, messages: &[Vec<u8>]) -> Result<(), BenchError> {
    if messages.len() > CLI_MAX_MESSAGES {
        return Err(step(format!(
            "mosquitto_pub delivers at most {CLI_MAX_MESSAGES} messages per run, not {}",
            messages.len()
        )));
    }
    let mut lines = Vec::with_capacity(messages.iter().map(|m| m.len() + 1).sum());
    for message in messages {
        // Compact JSON never holds a raw newline, so each message is one line.
        if message.contains(&b'\n') {
            return Err(step("a signed message spans lines"));
        }
        lines.extend_from_slice(message);
        lines.push(b'\n');
    }
    std::fs::write(path, lines).map_err(|e| step(e.to_string()))
}

/// Where and as whom `mosquitto_pub` publishes.
pub struct Target<'a> {
    pub port: u16,
    /// Client id, user name and password.
    pub login: (&'a str, &'a str, &'a str),
    pub topic: &'a str,
}

/// `messages` written to a file in `dir`, one per line, for [`publish_cli`] (done before its
/// clock starts; the file is removed when this is dropped).
pub struct CliInput(PathBuf);

impl CliInput {
    pub fn write(dir: &Path, name: &str, messages: &[Vec<u8>]) -> Result<Self, BenchError> {
        std::fs::create_dir_all(dir).map_err(|e| step(e.to_string()))?;
        let path = dir.join(format!("{name}.txt"));
        write_lines(&path, messages)?;
        Ok(CliInput(path))
    }
}

impl Drop for CliInput {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `mosquitto_pub -l` (QoS 1) publishing the lines of `input` to a broker on loopback, as the
/// device `target.login` names; returns once it has exited, every message acknowledged.
pub async fn publish_cli(
    bin: &Path,
    input: &CliInput,
    target: Target<'_>,
) -> Result<(), BenchError> {
    let (id, user, password) = target.login;
    let port = target.port.to_string();
    let args = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-q",
        "1",
        "-t",
        target.topic,
        "-i",
        id,
        "-u",
        user,
        "-P",
        password,
    ];
    finished(publish_lines(bin, &args, &input.0)?).await
}

/// `mosquitto_pub -l` with `args`, publishing one message per line of `input`; waited for on
/// a blocking thread (see [`finished`]).
fn publish_lines(
    bin: &Path,
    args: &[&str],
    input: &Path,
) -> Result<JoinHandle<std::io::Result<Output>>, BenchError> {
    let publisher = Command::new(bin)
        .args(args)
        .arg("-l")
        .stdin(std::fs::File::open(input).map_err(|e| step(e.to_string()))?)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| step(format!("mosquitto_pub: {e}")))?;
    Ok(tokio::task::spawn_blocking(move || {
        publisher.wait_with_output()
    }))
}

/// Waits for a publisher from [`publish_lines`]; an error names its exit status and what it
/// wrote to stderr.
async fn finished(publisher: JoinHandle<std::io::Result<Output>>) -> Result<(), BenchError> {
    let output = publisher
        .await
        .map_err(|e| step(e.to_string()))?
        .map_err(|e| step(format!("mosquitto_pub: {e}")))?;
    if !output.status.success() {
        return Err(step(format!(
            "mosquitto_pub: {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// `mosquitto_pub -l` publishing `set`, one message per line of a file, to `mosquitto_sub
/// -C` through a fresh Mosquitto, all QoS 1. The clock runs from starting the publisher to
/// the subscriber exiting after the last message. The subscriber is known to be subscribed
/// when it has printed a retained marker message, which it receives on subscribing. CPU is
/// the three processes' (the broker's counts once it has been waited for, like the clients').
pub async fn cli_rate(
    cli: &CliClients,
    dir: &Path,
    set: &SignedSet,
) -> Result<Measured, BenchError> {
    let n = set.messages.len();
    let broker = broker(dir).await?;
    let port = broker.port.to_string();
    let input = CliInput::write(dir, "messages", &set.messages)?;
    let output = dir.join("received.txt");
    let marker = "pitlane-bench-ready";
    // Broker, QoS 1 and topic: the same for the marker, the subscriber and the publisher.
    let common = ["-h", "127.0.0.1", "-p", &port, "-q", "1", "-t", &set.topic];
    let status = Command::new(&cli.publisher)
        .args(common)
        .args(["-r", "-m", marker])
        .status()
        .map_err(|e| step(format!("mosquitto_pub: {e}")))?;
    if !status.success() {
        return Err(step(format!("mosquitto_pub (marker): {status}")));
    }
    let received = std::fs::File::create(&output).map_err(|e| step(e.to_string()))?;
    let mut sub = Kill(
        Command::new(&cli.subscriber)
            .args(common)
            .args(["-C", &(n + 1).to_string()])
            .stdout(received)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| step(format!("mosquitto_sub: {e}")))?,
    );
    let deadline = Instant::now() + WAIT;
    while !std::fs::read_to_string(&output)
        .map_err(|e| step(e.to_string()))?
        .starts_with(marker)
    {
        if Instant::now() > deadline {
            return Err(step("mosquitto_sub did not subscribe"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu_before = children_cpu();
    let start = Instant::now();
    let published = publish_lines(&cli.publisher, &common, &input.0)?;
    loop {
        if let Some(status) = sub.0.try_wait().map_err(|e| step(e.to_string()))? {
            if !status.success() {
                return Err(step(format!("mosquitto_sub: {status}")));
            }
            break;
        }
        if Instant::now() > deadline + WAIT {
            return Err(step("mosquitto_sub did not get every message in time"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = start.elapsed();
    finished(published).await?;
    let got = std::fs::read_to_string(&output)
        .map_err(|e| step(e.to_string()))?
        .lines()
        .count();
    let _ = std::fs::remove_file(&output);
    if got != n + 1 {
        return Err(step(format!(
            "mosquitto_sub got {} of {n}",
            got.saturating_sub(1)
        )));
    }
    drop(sub);
    drop(broker);
    Ok(Measured {
        rate: (n as f64 / elapsed.as_secs_f64()).round(),
        cpu_us: cpu_us(cpu_before, children_cpu(), n),
        children_cpu_us: None,
    })
}

/// The same messages from a rumqttc publisher (100 in flight) to a rumqttc subscriber.
async fn rust_clients_rate(dir: &Path, n: usize) -> Result<Figure, BenchError> {
    let broker = broker(dir).await?;
    let port = broker.port;
    let key = DeviceKey::generate();
    let topic = topics::up(key.address(), UpKind::Telemetry);
    let messages = signed_messages(&key, n)?;

    let mut options = MqttOptions::new("bench-sub", "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (sub, mut sub_loop) = AsyncClient::new(options, 1000);
    sub.subscribe(topic.clone(), QoS::AtLeastOnce)
        .await
        .map_err(|e| step(e.to_string()))?;
    loop {
        match tokio::time::timeout(WAIT, sub_loop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => break,
            Ok(Ok(_)) => {}
            _ => return Err(step("subscriber did not subscribe")),
        }
    }
    let received = tokio::spawn(async move {
        let mut got = 0;
        while got < n {
            match tokio::time::timeout(WAIT, sub_loop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(_)))) => got += 1,
                Ok(Ok(_)) => {}
                _ => break,
            }
        }
        got
    });
    let start = Instant::now();
    publish_all("127.0.0.1", port, None, "bench-pub", &topic, messages).await?;
    let got = received.await.map_err(|e| step(e.to_string()))?;
    let elapsed = start.elapsed();
    if got < n {
        return Err(step(format!("the subscriber got {got} of {n}")));
    }
    Ok(Figure {
        name: format!("Mosquitto alone, rumqttc publisher → rumqttc subscriber ({n}, QoS 1)"),
        value: format!("{:.0} /s", n as f64 / elapsed.as_secs_f64()),
    })
}
