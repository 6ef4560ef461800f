//! The ELM327 emulator over a real pty and real TCP, driven with raw bytes.

mod common;

use common::{Serial, Sim, elm_tcp, tcp};

const VIN_LINES: &str =
    "014\r0: 49 02 01 35 4E 50\r1: 45 42 34 41 43 39 44\r2: 48 35 37 31 33 38 32\r\r>";

#[test]
fn elm327_pty_answers_like_a_v1_5() {
    let sim = Sim::start(&["--elm327-pty", "{dir}/elm"]);
    let link = sim.path("elm");
    assert!(
        sim.endpoint("elm327-pty")
            .starts_with(&format!("{} -> /dev/pts/", link.display()))
    );
    let mut port = Serial::open(&link);
    let check = |port: &mut Serial, cmd: &str, expected: &str| {
        assert_eq!(port.elm(cmd), expected, "{cmd}");
    };
    check(&mut port, "ATZ", "ATZ\r\rELM327 v1.5\r\r>");
    check(&mut port, "ATE0", "ATE0\rOK\r\r>");
    check(&mut port, "ATI", "ELM327 v1.5\r\r>");
    check(&mut port, "ATDPN", "A0\r\r>");
    check(&mut port, "0902", &format!("SEARCHING...\r{VIN_LINES}"));
    check(&mut port, "ATDPN", "A6\r\r>");
    check(&mut port, "0902", VIN_LINES);
    check(&mut port, "0902 1", VIN_LINES);
    check(&mut port, "ATH1", "OK\r\r>");
    check(
        &mut port,
        "0902",
        "7E8 10 14 49 02 01 35 4E 50\r7E8 21 45 42 34 41 43 39 44\r7E8 22 48 35 37 31 33 38 32\r\r>",
    );
    check(&mut port, "ATS0", "OK\r\r>");
    check(&mut port, "ATSH7E0", "OK\r\r>");
    check(&mut port, "03", "7E806430203010420\r\r>");
    check(&mut port, "0A", "7E8044A010420\r\r>");
    check(&mut port, "22F191", "7E8037F2231\r\r>");
    check(&mut port, "ATSH7E5", "OK\r\r>");
    check(&mut port, "0100", "NO DATA\r\r>");
    check(&mut port, "ATL1", "OK\r\n\r\n>");
    check(&mut port, "BOGUS", "?\r\n\r\n>");
    check(&mut port, "ATSP3", "OK\r\n\r\n>");
    check(&mut port, "0100", "BUS INIT: ...ERROR\r\n\r\n>");
    let rv = port.elm("ATRV");
    assert!(
        rv.starts_with("14.") && rv.ends_with("V\r\n\r\n>"),
        "{rv:?}"
    );
    sim.stop();
    assert!(!link.exists(), "the symlink is removed at shutdown");
}

#[test]
fn elm327_tcp_lists_each_ecus_codes_with_headers() {
    let sim = Sim::start(&["--elm327-tcp", "127.0.0.1:0"]);
    let mut s = tcp(&sim.addr("elm327-tcp"));
    assert_eq!(elm_tcp(&mut s, "ATE0"), "ATE0\rOK\r\r>");
    assert_eq!(elm_tcp(&mut s, "ATH1"), "OK\r\r>");
    assert_eq!(elm_tcp(&mut s, "ATSP6"), "OK\r\r>");
    let answer = elm_tcp(&mut s, "03");
    let mut lines: Vec<&str> = answer.trim_end_matches("\r\r>").split('\r').collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "7E8 06 43 02 03 01 04 20",
            "7E9 04 43 01 07 00",
            "7EA 02 43 00"
        ]
    );
    // Only the engine knows its rpm; the count digit ends the wait after its answer.
    assert_eq!(elm_tcp(&mut s, "010C1"), "7E8 04 41 0C 0C 30\r\r>");
    // A second client gets its own adapter state.
    let mut other = tcp(&sim.addr("elm327-tcp"));
    assert_eq!(elm_tcp(&mut other, "ATE0"), "ATE0\rOK\r\r>");
    assert_eq!(
        elm_tcp(&mut other, "0902"),
        format!("SEARCHING...\r{VIN_LINES}")
    );
    sim.stop();
}

#[test]
fn twenty_nine_bit_scenario_is_found_by_the_search() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = pitlane_sim::scenario::DEFAULT_SCENARIO
        .replace("addressing = \"11bit\"", "addressing = \"29bit\"");
    std::fs::write(dir.path().join("car.toml"), scenario).unwrap();
    let path = dir.path().join("car.toml");
    let sim = Sim::start(&[
        "--scenario",
        path.to_str().unwrap(),
        "--elm327-tcp",
        "127.0.0.1:0",
    ]);
    let mut s = tcp(&sim.addr("elm327-tcp"));
    elm_tcp(&mut s, "ATE0");
    elm_tcp(&mut s, "ATH1");
    let answer = elm_tcp(&mut s, "0902");
    assert!(
        answer.starts_with("SEARCHING...\r18 DA F1 10 10 14 49 02 01 35 4E 50\r"),
        "{answer:?}"
    );
    assert_eq!(
        elm_tcp(&mut s, "ATDP"),
        "AUTO, ISO 15765-4 (CAN 29/500)\r\r>"
    );
    sim.stop();
}

#[test]
fn input_during_an_exchange_stops_it() {
    let sim = Sim::start(&["--elm327-tcp", "127.0.0.1:0"]);
    let mut s = tcp(&sim.addr("elm327-tcp"));
    elm_tcp(&mut s, "ATE0");
    elm_tcp(&mut s, "ATSP6");
    // Wait about a second for further answers, then interrupt the wait with a keystroke.
    assert_eq!(elm_tcp(&mut s, "ATSTFF"), "OK\r\r>");
    std::io::Write::write_all(&mut s, b"0100\r").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::io::Write::write_all(&mut s, b"x").unwrap();
    let answer = common::read_until(&mut s, true, common::prompt);
    assert_eq!(answer, b"STOPPED\r\r>");
    sim.stop();
}
