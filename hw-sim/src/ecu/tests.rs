//! Unit tests of the J1979 services, request bytes in, response bytes out.

use std::time::Duration;

use super::service::Reply;
use super::*;
use crate::scenario::Scenario;

fn engine() -> Ecu {
    let s = Scenario::default_car();
    Ecu::new(s.ecus[0].clone(), s.live.clone(), s.vin.clone())
}

fn transmission() -> Ecu {
    let s = Scenario::default_car();
    Ecu::new(s.ecus[1].clone(), s.live.clone(), s.vin.clone())
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// `request` to `ecu` at t = 0; `expected` is the hex answer or `None` for silence.
fn check(ecu: &mut Ecu, request: &str, functional: bool, expected: Option<&str>) {
    let got = ecu.handle_request(&hex(request), functional, Duration::ZERO);
    let expected = match expected {
        Some(h) => Reply::Send(hex(h)),
        None => Reply::None,
    };
    assert_eq!(got, expected, "request {request} functional={functional}");
}

#[test]
fn service_01_answers_bitmaps_and_values() {
    let e = &mut engine();
    // 01 04 05 0C 0D 0F 11 1C 1F | 21 2F 31 42 46 5C A6
    check(e, "01 00", true, Some("41 00 98 1A 80 13"));
    check(e, "01 20", false, Some("41 20 80 02 80 01"));
    check(e, "01 40", false, Some("41 40 44 00 00 11"));
    check(e, "01 A0", false, Some("41 A0 04 00 00 00"));
    check(e, "01 C0", false, Some("7F 01 12"));
    check(e, "01 0C", true, Some("41 0C 0C 30"));
    check(e, "01 0C 0D", true, Some("41 0C 0C 30 0D 00"));
    check(e, "01 01", true, Some("41 01 82 00 00 00"));
    check(e, "01 0A", true, None);
    check(e, "01 0A", false, Some("7F 01 12"));
    check(e, "01", false, Some("7F 01 13"));
}

#[test]
fn trouble_code_services() {
    let e = &mut engine();
    check(e, "03", true, Some("43 02 03 01 04 20"));
    check(e, "07", true, Some("47 01 01 71"));
    check(e, "0A", true, Some("4A 01 04 20"));
    check(e, "03 00", false, Some("7F 03 13"));
    check(e, "04", true, Some("44"));
    check(e, "03", true, Some("43 00"));
    check(e, "07", true, Some("47 00"));
    check(e, "0A", true, Some("4A 01 04 20"));
    check(e, "01 01", true, Some("41 01 00 00 00 00"));
    assert_eq!(e.dtcs().permanent, vec!["P0420".to_string()]);
    assert!(e.dtcs().stored.is_empty());
}

#[test]
fn service_09_vin_and_name() {
    let e = &mut engine();
    let vin = hex::encode_upper("5NPEB4AC9DH571382");
    check(e, "09 02", true, Some(&format!("49 02 01 {vin}")));
    let name = format!("45434D002D{}0000", hex::encode_upper("EngineControl"));
    check(e, "09 0A", true, Some(&format!("49 0A 01 {name}")));
    check(e, "09 00", true, Some("49 00 40 40 00 00"));
    check(e, "22 F1 90", false, Some(&format!("62 F1 90 {vin}")));
    check(e, "22 F1 91", false, Some("7F 22 31"));
    check(e, "22 F1", false, Some("7F 22 13"));
    check(e, "09 02 0A", false, Some("7F 09 13"));
    let t = &mut transmission();
    check(t, "09 02", true, None);
    check(t, "09 02", false, Some("7F 09 12"));
    check(t, "09 00", false, Some("49 00 00 40 00 00"));
    check(t, "22 F1 90", true, None);
}

#[test]
fn ignored_vin_requests_go_unanswered_then_the_vin_comes() {
    let s = Scenario::default_car();
    let mut config = s.ecus[0].clone();
    config.faults.ignore_vin_requests = 3;
    let e = &mut Ecu::new(config, s.live.clone(), s.vin.clone());
    let vin = hex::encode_upper("5NPEB4AC9DH571382");
    // Other requests are answered meanwhile and do not use up the fault.
    check(e, "09 00", true, Some("49 00 40 40 00 00"));
    check(e, "09 02", true, None);
    check(e, "09 02", false, None);
    check(e, "09 00", true, Some("49 00 40 40 00 00"));
    check(e, "22 F1 90", false, None);
    check(e, "22 F1 90", false, Some(&format!("62 F1 90 {vin}")));
    check(e, "09 02", true, Some(&format!("49 02 01 {vin}")));
}

#[test]
fn unknown_services_are_refused_only_when_asked_physically() {
    let e = &mut engine();
    check(e, "10 03", false, Some("7F 10 11"));
    check(e, "10 03", true, None);
    check(e, "", false, None);
}
