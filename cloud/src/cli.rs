//! Command-line subcommands of `pitlane-cloud`, one file each.

pub mod decode;
pub mod device;
pub mod serve;
pub mod user;

use clap::{Parser, Subcommand};

/// The Pitlane cloud service.
#[derive(Debug, Parser)]
#[command(name = "pitlane-cloud", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the cloud service (HTTP API, embedded MQTT broker, ingest).
    Serve(serve::ServeArgs),
    /// Decode VINs offline: one JSON object per VIN.
    Decode(decode::DecodeArgs),
    /// Manage accounts (create the first admin).
    User(user::UserArgs),
    /// Provision aftermarket devices (MQTT credentials and agent configuration).
    Device(device::DeviceArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Decode(args) => decode::run(args),
        Command::User(args) => user::run(args).await,
        Command::Device(args) => device::run(args).await,
    }
}
