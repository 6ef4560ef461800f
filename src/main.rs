//! `pitlane`: everything on one machine (`pitlane up`) and end-to-end benchmarks
//! (`pitlane bench`).

use clap::{Parser, Subcommand};

/// Pitlane: connect cars to a fleet backend. `pitlane up` runs the whole system here.
#[derive(Debug, Parser)]
#[command(name = "pitlane", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the cloud (embedded broker, SQLite), simulated cars and their agents.
    Up {
        /// How many simulated cars (each with its own agent).
        #[arg(long, default_value_t = 1)]
        cars: u32,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Up { cars } => anyhow::bail!("`pitlane up --cars {cars}` is not implemented yet"),
    }
}
