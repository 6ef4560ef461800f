//! Command-line subcommands of `pitlane-agent`, one file each.

pub mod actuate;
pub mod identity;
pub mod probe;
pub mod run;
pub mod sign;
pub mod status;

use clap::{Parser, Subcommand};

/// The Pitlane device agent: reads the car over CAN or an ELM327 adapter, holds the device
/// identity and signs its payloads.
#[derive(Debug, Parser)]
#[command(name = "pitlane-agent", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the car once: VIN, ECUs, trouble codes, supported PIDs and live values.
    Probe(probe::ProbeArgs),
    /// Manage the device's secp256k1 identity.
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// Sign an eth_signTypedData_v4 payload (EIP-712) with the device key.
    SignTypedData(sign::SignArgs),
    /// Lock or unlock the doors, open the trunk or frunk, and report the confirmed state.
    Actuate(actuate::ActuateArgs),
    /// The device service: read the car, sync over MQTT, execute remote commands.
    Run(run::RunArgs),
    /// Show the device service's state from its store: outbox depth, VIN, commands.
    Status(status::StatusArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Probe(args) => probe::run(args).await,
        Command::Identity(cmd) => identity::run(cmd),
        Command::SignTypedData(args) => sign::run(args),
        Command::Actuate(args) => actuate::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Status(args) => status::run(args),
    }
}
