//! `pitlane-agent status --config FILE [--json]`: what the device service's store holds —
//! outbox depth, last known VIN, the command ledger — and the device identity.

use std::path::PathBuf;

use pitlane_shared::command::SeenCommands as _;

use crate::config::Config;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The agent's TOML configuration.
    #[arg(long)]
    pub config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: StatusArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let key = super::identity::load(&Config::key_path(Some(&config), None))?;
    // WAL: reading while the service runs neither blocks it nor sees half a transaction.
    let store = Store::open(&config.store.path, config.store.max_outbox_bytes)?;
    let (rows, bytes) = store.outbox_depth()?;
    let report = serde_json::json!({
        "address": key.address().to_lowercase_hex(),
        "bus": config.bus,
        "broker": config.mqtt.as_ref().map(|m| m.url.clone()),
        "store": config.store.path,
        "outbox": { "messages": rows, "bytes": bytes, "max_bytes": config.store.max_outbox_bytes },
        "vin": store.fact("vin")?,
        "highest_command_seq": store.highest_seq(),
        "interrupted_commands": store.interrupted_commands()?.len(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("address  {}", report["address"].as_str().unwrap_or("-"));
        println!("bus      {}", config.bus.as_deref().unwrap_or("-"));
        println!("broker   {}", report["broker"].as_str().unwrap_or("-"));
        println!("outbox   {rows} messages, {bytes} bytes");
        println!(
            "vin      {}",
            report["vin"].as_str().unwrap_or("(not read yet)")
        );
        match store.highest_seq() {
            Some(seq) => println!("commands highest seq {seq}"),
            None => println!("commands none yet"),
        }
    }
    Ok(())
}
