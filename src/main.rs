//! `pitlane`: everything on one machine (`pitlane up`), a fresh command token for the demo
//! vehicle (`pitlane token`), and end-to-end benchmarks (`pitlane bench`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use pitlane::client::Api;
use pitlane::fleet::Intervals;
use pitlane::up::{self, UpOptions};
use pitlane_cloud::observability::{self, LogFormat};

/// Pitlane: connect cars to a fleet backend. `pitlane up` runs the whole system here.
#[derive(Debug, Parser)]
#[command(name = "pitlane", version, about, long_about = None)]
struct Cli {
    /// Log format on stderr; the level comes from `RUST_LOG` (default `warn`).
    #[arg(long, global = true, env = "PITLANE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the cloud (embedded broker, SQLite), simulated cars and their agents, and a demo
    /// account owning the first car; print what to open and try. Ctrl-C stops everything.
    Up {
        /// How many simulated cars (each with its own device and agent).
        #[arg(long, default_value_t = 1)]
        cars: usize,
        /// Data directory (database, keys, agent stores); default $PITLANE_DATA_DIR or
        /// ./pitlane-data.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// HTTP API address; default $PITLANE_HTTP_ADDR or 127.0.0.1:8080 (port 0: any).
        #[arg(long, value_name = "ADDR")]
        http_addr: Option<SocketAddr>,
        /// Embedded MQTT broker address; default $PITLANE_MQTT_ADDR or 127.0.0.1:1883.
        #[arg(long, value_name = "ADDR")]
        mqtt_addr: Option<SocketAddr>,
        /// Seconds between the agents' live-data readings.
        #[arg(long, default_value_t = 30.0)]
        telemetry_secs: f64,
    },
    /// End-to-end figures: command round trip with 1 and with N cars, signed messages/s
    /// ingested against Mosquitto alone, agent idle RSS and CPU. Prints a table.
    Bench {
        /// Cars connected during the second round-trip run.
        #[arg(long, default_value_t = 100)]
        cars: usize,
        /// Commands per round-trip run.
        #[arg(long, default_value_t = 200)]
        commands: usize,
        /// Signed messages per ingest run, at most 65535: `mosquitto_pub -l`, which both
        /// feeds the cloud and carries the yardstick, stops early past 65,535 messages
        /// (its 16-bit message ids wrap).
        #[arg(long, default_value_t = 20_000, value_parser = bench_messages)]
        messages: usize,
        /// Interleaved rounds of the ingest comparison: each round measures Mosquitto alone
        /// and the cloud seconds apart, and the goal is judged on the median of the rounds'
        /// ratios (the machine's speed drifts from minute to minute).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
        rounds: u16,
    },
    /// The device agent (`pitlane-agent`'s commands), e.g. `pitlane agent run --config FILE`.
    Agent {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<String>,
    },
    /// Print a fresh privilege token for commands on the demo vehicle of a running
    /// `pitlane up` (logs in with the demo wallet saved in the data directory).
    Token {
        /// The data directory `pitlane up` uses.
        #[arg(
            long,
            value_name = "DIR",
            env = "PITLANE_DATA_DIR",
            default_value = "./pitlane-data"
        )]
        data_dir: PathBuf,
        /// The HTTP API of the running `pitlane up`.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    observability::init_logging(cli.log_format);
    match run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Up {
            cars,
            data_dir,
            http_addr,
            mqtt_addr,
            telemetry_secs,
        } => {
            let opts = UpOptions {
                data_dir,
                http_addr,
                mqtt_addr,
                intervals: Intervals {
                    telemetry_secs,
                    ..Intervals::default()
                },
                ..UpOptions::new(cars)
            };
            let progress = |line: &str| eprintln!("pitlane up: {line}");
            let running = tokio::select! {
                r = up::start(opts, &progress) => r?,
                _ = shutdown_signal() => {
                    eprintln!("pitlane up: interrupted while starting");
                    return Ok(());
                }
            };
            println!("{}", running.instructions());
            shutdown_signal().await;
            eprintln!("pitlane up: stopping");
            running.stop().await;
            eprintln!("pitlane up: stopped");
            Ok(())
        }
        Command::Bench {
            cars,
            commands,
            messages,
            rounds,
        } => {
            let dir = tempfile::tempdir().context("scratch directory")?;
            let opts = pitlane::bench::BenchOptions {
                cars,
                commands,
                messages,
                rounds: usize::from(rounds),
                dir: dir.path().to_owned(),
            };
            let progress = |line: &str| eprintln!("pitlane bench: {line}");
            let figures = pitlane::bench::run(&opts, &progress).await?;
            print!("{}", pitlane::bench::table(&figures));
            Ok(())
        }
        Command::Agent { args } => {
            let argv = std::iter::once("pitlane agent".to_owned()).chain(args);
            let cli = match <pitlane_agent::cli::Cli as clap::Parser>::try_parse_from(argv) {
                Ok(cli) => cli,
                Err(e) => e.exit(),
            };
            pitlane_agent::cli::run(cli).await
        }
        Command::Token { data_dir, url } => {
            let api = Api::new(url)?;
            let token = up::privilege_token(&api, &pitlane::demo::Saved::path(&data_dir))
                .await
                .context("getting a privilege token")?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        Some(_) = async { match term.as_mut() { Some(t) => t.recv().await, None => None } } => {}
    }
}

/// The error and its causes on one line, skipping a cause an outer message already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// `--messages`: 1 to [`pitlane::bench::CLI_MAX_MESSAGES`].
fn bench_messages(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    let max = pitlane::bench::CLI_MAX_MESSAGES;
    if !(1..=max).contains(&n) {
        return Err(format!(
            "{n} is outside 1..={max}: mosquitto_pub -l (the yardstick's publisher, and one \
             of the cloud's) numbers messages with 16-bit ids and stops early past {max}"
        ));
    }
    Ok(n)
}
