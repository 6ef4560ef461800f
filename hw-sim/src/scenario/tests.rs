//! Scenario parsing and validation tests.

use super::*;

#[test]
fn default_scenario_is_valid() {
    let s = Scenario::default_car();
    assert_eq!(s.vin, "5NPEB4AC9DH571382");
    assert_eq!(s.ecus.len(), 3);
    assert_eq!(s.ecus[0].request_id, 0x7E0);
    assert_eq!(s.ecus[0].response_id, 0x7E8);
    assert!(s.ecus[0].reports_vin);
    assert_eq!(s.addressing, Addressing::Standard);
    assert_eq!(s.body.command_id, 0x2F0);
}

const MINIMAL: &str = r#"
vin = "5NPEB4AC9DH571382"
[[ecu]]
name = "ECM-Engine"
request_id = 0x7E0
response_id = 0x7E8
address29 = 0x10
"#;

#[test]
fn minimal_scenario_takes_defaults() {
    let s = Scenario::from_toml(MINIMAL).unwrap();
    assert_eq!(s.live, LiveConfig::default());
    assert_eq!(s.body, BodyConfig::default());
    assert_eq!(s.ecus[0].faults, EcuFaults::default());
}

/// `edit` is applied to MINIMAL; the error message must contain `expected`.
fn check(edit: &str, expected: &str) {
    let text = format!("{MINIMAL}{edit}");
    let err = Scenario::from_toml(&text).expect_err(edit).to_string();
    assert!(
        err.contains(expected),
        "{edit:?}: {err:?} lacks {expected:?}"
    );
}

#[test]
fn bad_scenarios_name_the_field() {
    check("pids = [0x0C, 0x99]", "ecu[0].pids[1]");
    check("pids = [0x20]", "bitmap");
    check("stored = [\"P0301\", \"X0301\"]", "ecu[0].stored[1]");
    check("pending = [\"P03\"]", "ecu[0].pending[0]");
    check("name2 = 1", "name2");
    check("[ecu.faults]\nslow = 1", "slow");
    check(
        "[[ecu]]\nname = \"TCM-Gearbox\"\nrequest_id = 0x7E0\nresponse_id = 0x7E9\naddress29 = 0x18",
        "ecu[1].request_id",
    );
    check(
        "[[ecu]]\nname = \"TCM-Gearbox\"\nrequest_id = 0x7E1\nresponse_id = 0x7E9\naddress29 = 0x10",
        "ecu[1].address29",
    );
    check("[live]\nbattery_v = -3.0", "live.battery_v");
    check(
        "[[ecu]]\nname = \"TCM-Gearbox\"\nrequest_id = 0x7E1\nresponse_id = 0x7EA\naddress29 = 0x18",
        "ecu[1].response_id",
    );
    check(
        "[[ecu]]\nname = \"TCM-Gearbox\"\nrequest_id = 0x6E1\nresponse_id = 0x6E9\naddress29 = 0x18",
        "ecu[1].request_id",
    );
    check("[body]\nstatus_id = 0x2F0", "body.status_id");
    check("[body]\ncommand_id = 0x800", "body.command_id");
    check("[body]\nstatus_period_ms = 0", "body.status_period_ms");
    check("[body]\ncloses_after_s = 1e300", "body.closes_after_s");
    check(
        "[ecu.faults]\nresponse_delay_ms = 99999999999",
        "ecu[0].faults.response_delay_ms",
    );
    check(
        "[ecu.faults]\npending_responses = 5000",
        "ecu[0].faults.pending_responses",
    );
}

#[test]
fn an_ecu_name_without_acronym_is_refused() {
    let err = Scenario::from_toml(&MINIMAL.replace("ECM-Engine", "ENGINE"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ecu[0].name"), "{err}");
}

#[test]
fn a_short_vin_is_refused() {
    let err = Scenario::from_toml(&MINIMAL.replace("5NPEB4AC9DH571382", "5NPEB4AC9"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("scenario field `vin`"), "{err}");
}

#[test]
fn wrong_types_and_missing_fields_are_reported() {
    let err = Scenario::from_toml("vin = 5").unwrap_err().to_string();
    assert!(err.contains("vin"), "{err}");
    let err = Scenario::from_toml("vin = \"5NPEB4AC9DH571382\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("ecu"), "{err}");
    let err = Scenario::from_toml(&MINIMAL.replace("0x7E8", "\"7E8\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("response_id"), "{err}");
    let err = Scenario::from_toml(&format!("{MINIMAL}addressing = \"30bit\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("addressing"), "{err}");
}

#[test]
fn missing_file_names_the_path() {
    let err = Scenario::from_file(Path::new("/nonexistent/car.toml")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/car.toml"));
}
