//! The SLCAN adapter over a real pty and the socketcand server over real TCP, driven with raw
//! bytes: ISO-TP flow control is done by hand, as a tester would.

mod common;

use common::{Serial, Sim, read_until, tcp};
use std::io::Write;

fn has_line_starting(b: &[u8], prefix: &str) -> bool {
    String::from_utf8_lossy(b)
        .split('\r')
        .any(|l| l.starts_with(prefix))
}

fn lines_starting(b: &[u8], prefix: &str) -> Vec<String> {
    String::from_utf8_lossy(b)
        .split('\r')
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn slcan_vin_with_manual_flow_control() {
    let sim = Sim::start(&["--slcan-pty", "{dir}/slcan"]);
    let mut port = Serial::open(&sim.path("slcan"));
    // Closed channel: transmit refused with BEL.
    port.write(b"t7DF80209020000000000\r");
    assert_eq!(port.read_until(|b| !b.is_empty()), b"\x07");
    for cmd in [&b"C\r"[..], b"S6\r", b"O\r"] {
        port.write(cmd);
        assert_eq!(
            port.read_until(|b| b.starts_with(b"\r")).first(),
            Some(&b'\r')
        );
    }
    port.write(b"t7DF80209020000000000\r");
    let got = port.read_until(|b| has_line_starting(b, "t7E88"));
    assert!(has_line_starting(&got, "z"), "{got:?}");
    let ff = lines_starting(&got, "t7E88");
    assert_eq!(ff, ["t7E881014490201354E50"]);
    // Flow control to the engine's physical id: clear to send, no block limit, no gap.
    port.write(b"t7E08300000CCCCCCCCCC\r");
    let got = port.read_until(|b| has_line_starting(b, "t7E8822"));
    let cfs = lines_starting(&got, "t7E88");
    assert_eq!(cfs, ["t7E882145423441433944", "t7E882248353731333832"]);
    // Status frames of the body module flow too: doors locked.
    let got = port.read_until(|b| has_line_starting(b, "t2F18"));
    assert!(
        lines_starting(&got, "t2F18")[0].starts_with("t2F1801"),
        "{got:?}"
    );
    sim.stop();
}

#[test]
fn slcan_body_command_unlocks_the_doors() {
    let sim = Sim::start(&["--slcan-pty", "{dir}/slcan"]);
    let mut port = Serial::open(&sim.path("slcan"));
    port.write(b"S6\rO\r");
    port.read_until(|b| has_line_starting(b, "t2F18"));
    port.write(b"t2F080200000000000000\r");
    let got = port.read_until(|b| has_line_starting(b, "t2F1800"));
    assert!(has_line_starting(&got, "t2F1800"), "{got:?}");
    sim.stop();
}

#[test]
fn socketcand_raw_mode_session() {
    let sim = Sim::start(&["--socketcand", "127.0.0.1:0"]);
    let endpoint = sim.endpoint("socketcand");
    assert!(endpoint.ends_with(" can0"), "{endpoint}");
    let mut s = tcp(&sim.addr("socketcand"));
    let ends_with_gt = |b: &[u8]| b.ends_with(b">");
    assert_eq!(read_until(&mut s, true, ends_with_gt), b"< hi >");
    s.write_all(b"< open can0 >").unwrap();
    assert_eq!(read_until(&mut s, true, ends_with_gt), b"< ok >");
    s.write_all(b"< rawmode >").unwrap();
    assert_eq!(read_until(&mut s, true, ends_with_gt), b"< ok >");
    s.write_all(b"< send 7E0 8 02 09 02 00 00 00 00 00 >")
        .unwrap();
    let got = read_until(&mut s, true, |b| {
        String::from_utf8_lossy(b).contains("< frame 7E8 ")
    });
    let text = String::from_utf8_lossy(&got);
    let ff = text.split("< frame 7E8 ").nth(1).unwrap();
    let mut words = ff.split_whitespace();
    let stamp = words.next().unwrap();
    assert!(
        stamp.contains('.') && stamp.split('.').nth(1).unwrap().len() == 6,
        "{stamp}"
    );
    assert_eq!(words.next(), Some("1014490201354E50"));
    s.write_all(b"< send 7E0 3 30 00 00 >").unwrap();
    let got = read_until(&mut s, true, |b| {
        String::from_utf8_lossy(b).contains("2248353731333832")
    });
    assert!(String::from_utf8_lossy(&got).contains("2145423441433944"));
    s.write_all(b"< bogus >").unwrap();
    let got = read_until(&mut s, true, |b| {
        String::from_utf8_lossy(b).contains("< error")
    });
    assert!(String::from_utf8_lossy(&got).contains("unknown socketcand message"));
    sim.stop();
}

#[test]
fn bad_scenario_is_refused_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("car.toml");
    let text = pitlane_sim::scenario::DEFAULT_SCENARIO.replace("\"P0700\"", "\"X0700\"");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pitlane-sim"))
        .args(["--scenario", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ecu[1].stored[0]") && err.contains("X0700"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pitlane-sim"))
        .args(["--fault", "melt"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault \"melt\""));
}
