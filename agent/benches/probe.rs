//! Wall time of a full probe (discovery, VIN, stored/pending/permanent codes, ECU names,
//! supported PIDs and a live snapshot of every ECU) per transport against the in-process
//! simulator, with the time the same bytes take on a 115200-baud line (10 bits a byte) and the
//! peak RSS (VmHWM) of the process.
//!
//! Clients are warm, as in the agent's service loop: they know the ECU count (so requests end
//! when every ECU answered) and the VIN query that worked.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pitlane_agent::bus::{SimBus, SlcanBus, line_time, open_serial};
use pitlane_agent::elm327::{Connector, Elm327Client, ElmConfig};
use pitlane_agent::obd::probe::probe;
use pitlane_agent::obd::{CanObd, ObdClient, ObdTransport, Transport};
use pitlane_shared::obd::DtcKind;
use pitlane_sim::{Endpoint, Options, Scenario, Simulator};
use tokio::runtime::Runtime;

const BAUD: u32 = 115_200;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Benchmarks `probe` on `client` and reports the bytes one probe moves, as line time.
fn bench_client<T: ObdTransport>(
    c: &mut Criterion,
    rt: &Runtime,
    name: &str,
    client: &mut ObdClient<T>,
    bytes: impl Fn(&ObdClient<T>) -> Option<(usize, usize)>,
) {
    // Warm up: discovery learns the ECU count, the VIN chain remembers its query.
    let first = rt.block_on(probe(client)).expect("probe works");
    assert!(first.vin.is_some() && first.errors.is_empty(), "{first:?}");
    let before = bytes(client);
    rt.block_on(probe(client)).expect("probe works");
    if let (Some(a), Some(b)) = (before, bytes(client)) {
        let n = (b.0 - a.0) + (b.1 - a.1);
        eprintln!(
            "{name}: one probe moves {n} bytes = {:.1} ms at {BAUD} baud",
            line_time(n, BAUD).as_secs_f64() * 1000.0
        );
    }
    c.bench_function(&format!("probe/{name}"), |b| {
        b.iter(|| rt.block_on(probe(client)).expect("probe works"))
    });

    // The "full probe": VIN and the codes of all ECUs (no names, PIDs or live values).
    let before = bytes(client);
    rt.block_on(vin_and_codes(client));
    if let (Some(a), Some(b)) = (before, bytes(client)) {
        let n = (b.0 - a.0) + (b.1 - a.1);
        eprintln!(
            "{name}: VIN + codes moves {n} bytes = {:.1} ms at {BAUD} baud",
            line_time(n, BAUD).as_secs_f64() * 1000.0
        );
    }
    c.bench_function(&format!("vin-and-codes/{name}"), |b| {
        b.iter(|| rt.block_on(vin_and_codes(client)))
    });
}

/// Discovery, VIN, and stored/pending/permanent codes of every ECU.
async fn vin_and_codes<T: ObdTransport>(client: &mut ObdClient<T>) {
    client.discover().await.expect("ECUs");
    client.vin().await.expect("VIN");
    for kind in [DtcKind::Stored, DtcKind::Pending, DtcKind::Permanent] {
        client.dtcs(kind).await.expect("codes");
    }
}

fn probes(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = rt
        .block_on(Simulator::start(Options {
            scenario: Scenario::default_car(),
            slcan_pty: Some(dir.path().join("slcan")),
            elm327_pty: Some(dir.path().join("elm327")),
            elm327_tcp: Some("127.0.0.1:0".parse().expect("addr")),
            socketcand: Some("127.0.0.1:0".parse().expect("addr")),
            socketcan: None,
        }))
        .expect("simulator");

    let _guard = rt.enter();
    let mut in_process = ObdClient::new(CanObd::new(SimBus::attach(sim.car())));
    bench_client(c, &rt, "in-process", &mut in_process, |_| None);

    for endpoint in sim.endpoints().to_vec() {
        match endpoint {
            Endpoint::SlcanPty { device, .. } => {
                let bus = rt
                    .block_on(async {
                        let port = open_serial(&device.display().to_string(), BAUD)?;
                        SlcanBus::open(port, 500_000)
                            .await
                            .map_err(std::io::Error::other)
                    })
                    .expect("SLCAN pty");
                let mut client = ObdClient::new(CanObd::new(bus));
                bench_client(c, &rt, "slcan-pty", &mut client, |cl| {
                    Some(cl.transport().bus().bytes())
                });
            }
            Endpoint::Elm327Pty { device, .. } => {
                let connector = Connector::Serial {
                    path: device.display().to_string(),
                    baud: 38_400,
                };
                let elm = rt
                    .block_on(Elm327Client::connect(connector, ElmConfig::default()))
                    .expect("ELM327 pty");
                let mut client = ObdClient::new(elm);
                bench_client(c, &rt, "elm327-pty", &mut client, |cl| {
                    Some(cl.transport().bytes())
                });
            }
            Endpoint::Elm327Tcp(addr) => {
                let spec = format!("elm327+tcp://{addr}").parse().expect("spec");
                let t = rt.block_on(Transport::open(&spec)).expect("ELM327 TCP");
                let mut client = ObdClient::new(t);
                bench_client(c, &rt, "elm327-tcp", &mut client, |cl| {
                    cl.transport().line_bytes()
                });
            }
            Endpoint::Socketcand(addr) => {
                let spec = format!("socketcand://{addr}/can0").parse().expect("spec");
                let t = rt.block_on(Transport::open(&spec)).expect("socketcand");
                let mut client = ObdClient::new(t);
                bench_client(c, &rt, "socketcand", &mut client, |_| None);
            }
            Endpoint::SocketCan(_) => {}
        }
    }
    if let Some(kib) = peak_rss_kib() {
        eprintln!("peak RSS (VmHWM) of the bench process, simulator included: {kib} KiB");
    }
    rt.block_on(sim.shutdown());
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = probes
}
criterion_main!(benches);
