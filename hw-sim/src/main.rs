//! `pitlane-sim`: runs a simulated car and prints each endpoint, one per line.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use pitlane_sim::{Options, Scenario, Simulator};

/// A simulated car for Pitlane: ECUs and a body module on a virtual CAN bus, exposed as the
/// adapters aftermarket devices use.
///
/// Prints one line per endpoint, then `ready`:
///
///   slcan-pty /tmp/slcan -> /dev/pts/5
///   elm327-pty /tmp/elm -> /dev/pts/6
///   elm327-tcp 127.0.0.1:35000
///   socketcand 127.0.0.1:29536 can0
///   socketcan vcan0
///
/// An adapter that vanishes (fault injection) comes back on a new pty and prints its line
/// again. Runs until Ctrl-C or SIGTERM, then removes its symlinks.
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment)]
struct Cli {
    /// Scenario TOML (VIN, ECUs, codes, live data, body module, faults); the built-in
    /// 2013 Hyundai Sonata when omitted.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Serve an SLCAN (Lawicel) adapter on a pty; PATH becomes a symlink to it.
    #[arg(long, value_name = "PATH")]
    slcan_pty: Option<PathBuf>,
    /// Serve an ELM327 v1.5 on a pty; PATH becomes a symlink to it.
    #[arg(long, value_name = "PATH")]
    elm327_pty: Option<PathBuf>,
    /// Serve an ELM327 v1.5 on TCP, like a Wi-Fi adapter (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    elm327_tcp: Option<SocketAddr>,
    /// Serve the bus as a socketcand daemon (raw mode) on TCP (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    socketcand: Option<SocketAddr>,
    /// Bridge the bus to a SocketCAN interface such as vcan0.
    #[arg(long, value_name = "IFACE")]
    socketcan: Option<String>,
    /// Inject a fault (repeatable), on every ECU or adapter: slow-ecu[=MS] (default 300),
    /// response-pending[=N] (default 2), drop-cf[=N] (default 1), no-fc, ignore-fc,
    /// garbage, vanish[=N] (default 1: during the first answer), body-ignore.
    #[arg(long, value_name = "FAULT")]
    fault: Vec<String>,
    /// Print the built-in scenario and exit.
    #[arg(long)]
    print_default_scenario: bool,
}

fn apply_fault(scenario: &mut Scenario, spec: &str) -> anyhow::Result<()> {
    let (name, value) = match spec.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (spec, None),
    };
    let number = |default: u64| -> anyhow::Result<u64> {
        value.map_or(Ok(default), |v| {
            v.parse()
                .with_context(|| format!("--fault {name}={v}: {v:?} is not a number"))
        })
    };
    let ecus = scenario.ecus.iter_mut().map(|e| &mut e.faults);
    match name {
        "slow-ecu" => {
            let ms = number(300)?;
            ecus.for_each(|f| f.response_delay_ms = ms);
        }
        "response-pending" => {
            let n = u32::try_from(number(2)?).context("--fault response-pending: too many")?;
            ecus.for_each(|f| f.pending_responses = n);
        }
        "drop-cf" => {
            let n = u32::try_from(number(1)?).context("--fault drop-cf: too large")?;
            ecus.for_each(|f| f.drop_consecutive_frame = Some(n));
        }
        "no-fc" => ecus.for_each(|f| f.no_flow_control = true),
        "ignore-fc" => ecus.for_each(|f| f.ignore_flow_control = true),
        "garbage" => scenario.faults.garbage_on_serial = true,
        "vanish" => {
            let n = u32::try_from(number(1)?).context("--fault vanish: too large")?;
            scenario.faults.vanish_mid_answer = Some(n);
        }
        "body-ignore" => scenario.body.ignore_commands = true,
        _ => bail!(
            "unknown fault {name:?}; known: slow-ecu, response-pending, drop-cf, no-fc, \
             ignore-fc, garbage, vanish, body-ignore"
        ),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    if cli.print_default_scenario {
        print!("{}", pitlane_sim::scenario::DEFAULT_SCENARIO);
        return Ok(());
    }
    let mut scenario = match &cli.scenario {
        Some(path) => Scenario::from_file(path)?,
        None => Scenario::default_car(),
    };
    for spec in &cli.fault {
        apply_fault(&mut scenario, spec)?;
    }
    scenario.validate().context("after applying --fault")?;
    // Installed before the endpoints are printed, so a supervisor that stops us as soon as it
    // has read them gets a clean shutdown.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot install the SIGINT handler")?;
    let mut sim = Simulator::start(Options {
        scenario,
        slcan_pty: cli.slcan_pty,
        elm327_pty: cli.elm327_pty,
        elm327_tcp: cli.elm327_tcp,
        socketcand: cli.socketcand,
        socketcan: cli.socketcan,
    })
    .await?;
    let vin = &sim.car().scenario().vin;
    eprintln!("pitlane-sim: {} (VIN {vin})", sim.car().scenario().name);
    for endpoint in sim.endpoints() {
        println!("{endpoint}");
    }
    println!("ready");

    let mut adapters = true;
    let result = loop {
        tokio::select! {
            _ = sigint.recv() => break Ok(()),
            _ = sigterm.recv() => break Ok(()),
            event = sim.next_event(), if adapters => match event {
                Ok(Some(endpoint)) => println!("{endpoint}"),
                // Every adapter has ended; keep the car running until told to stop.
                Ok(None) => adapters = false,
                Err(e) => break Err(e),
            },
        }
    };
    sim.shutdown().await;
    Ok(result?)
}
