//! `pitlane-agent probe --bus SPEC [--json]`: read the car once.

use std::fmt::Write as _;

use crate::bus::BusSpec;
use crate::obd::probe::{ProbeReport, probe};
use crate::obd::{ObdClient, Transport};
use anyhow::Context as _;

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// Bus specification, e.g. `sim://`, `slcan:///dev/ttyACM0?baud=115200&bitrate=500000`,
    /// `elm327:///dev/ttyUSB0?baud=38400`, `elm327+tcp://192.168.0.10:35000`,
    /// `socketcand://host:29536/can0`, `socketcan://can0`.
    #[arg(long)]
    pub bus: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let spec: BusSpec = args.bus.parse()?;
    let transport = Transport::open(&spec)
        .await
        .with_context(|| format!("opening {spec}"))?;
    let mut client = ObdClient::new(transport);
    let report = probe(&mut client)
        .await
        .with_context(|| format!("probing {spec}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// The report as readable text.
pub fn table(r: &ProbeReport) -> String {
    let mut out = String::new();
    match &r.vin {
        Some(v) => {
            let check = if v.check_digit_valid {
                "check digit ok".to_owned()
            } else {
                format!(
                    "check digit {} (expected {})",
                    v.check_digit.found, v.check_digit.expected
                )
            };
            let _ = writeln!(out, "VIN      {}  ({check}; via {})", v.vin, v.query);
        }
        None => out.push_str("VIN      (not read)\n"),
    }
    out.push_str("\nECU       NAME\n");
    for e in &r.ecus {
        let _ = writeln!(out, "{:<9} {}", e.id, e.name.as_deref().unwrap_or("-"));
    }
    out.push_str("\nECU       LIST       CODE   DESCRIPTION\n");
    let lists = [
        ("stored", &r.dtcs.stored),
        ("pending", &r.dtcs.pending),
        ("permanent", &r.dtcs.permanent),
    ];
    let mut any = false;
    for (kind, list) in lists {
        for (ecu, codes) in list {
            for c in codes {
                any = true;
                let _ = writeln!(
                    out,
                    "{ecu:<9} {kind:<10} {}  {}",
                    c.code,
                    c.description.as_deref().unwrap_or("(no description known)")
                );
            }
        }
    }
    if !any {
        out.push_str("(no trouble codes)\n");
    }
    out.push_str("\nECU       PID  NAME                                      VALUE\n");
    for (ecu, p) in &r.pids {
        for v in &p.values {
            let _ = writeln!(
                out,
                "{ecu:<9} {:<4} {:<41} {:.2} {}",
                v.pid, v.name, v.value, v.unit
            );
        }
        let _ = writeln!(out, "{ecu:<9} supported PIDs: {}", p.supported.join(" "));
    }
    if !r.errors.is_empty() {
        out.push_str("\nerrors:\n");
        for e in &r.errors {
            let _ = writeln!(out, "  {e}");
        }
    }
    out
}
