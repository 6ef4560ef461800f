//! Data-driven tests of response parsing and encoding.

use super::*;

fn dtcs(codes: &[&str]) -> Vec<Dtc> {
    codes
        .iter()
        .map(|c| c.parse().expect("valid code"))
        .collect()
}

fn check(request: Request, payload: &[u8], expected: Result<Response, &str>) {
    match (Response::parse(&request, payload), expected) {
        (Ok(got), Ok(want)) => assert_eq!(got, want, "{payload:02X?}"),
        (Err(e), Err(fragment)) => {
            assert!(e.to_string().contains(fragment), "{payload:02X?}: {e}")
        }
        (got, want) => panic!("{payload:02X?}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn parses_current_data() {
    let one = |pid, data: &[u8]| PidData {
        pid,
        data: data.to_vec(),
    };
    check(
        Request::CurrentData(vec![0x00]),
        &[0x41, 0x00, 0xBE, 0x3F, 0xA8, 0x13],
        Ok(Response::CurrentData(vec![one(
            0x00,
            &[0xBE, 0x3F, 0xA8, 0x13],
        )])),
    );
    check(
        Request::CurrentData(vec![0x0C, 0x0D, 0x05]),
        &[0x41, 0x0C, 0x1A, 0xF8, 0x0D, 0x32, 0x05, 0x7B],
        Ok(Response::CurrentData(vec![
            one(0x0C, &[0x1A, 0xF8]),
            one(0x0D, &[0x32]),
            one(0x05, &[0x7B]),
        ])),
    );
    check(
        Request::CurrentData(vec![0x02]),
        &[0x41, 0x02, 0x01, 0x03],
        Ok(Response::CurrentData(vec![one(0x02, &[0x01, 0x03])])),
    );
    check(
        Request::CurrentData(vec![0x0C]),
        &[0x41, 0x0C, 0x1A],
        Err("carries 1 data bytes; 2 expected"),
    );
    check(
        Request::CurrentData(vec![0x0C]),
        &[0x41, 0x0D, 0x32],
        Err("answers PID 0x0D"),
    );
    check(Request::CurrentData(vec![0x0C]), &[0x41], Err("cut short"));
    let reading = PidData {
        pid: 0x0C,
        data: vec![0x1A, 0xF8],
    }
    .reading()
    .expect("known");
    assert_eq!(reading.to_string(), "engine_rpm = 1726 rpm");
}

#[test]
fn parses_trouble_codes() {
    let stored = Request::Dtcs(DtcKind::Stored);
    check(
        stored.clone(),
        &[0x43, 0x02, 0x03, 0x01, 0x01, 0x33],
        Ok(Response::Dtcs {
            kind: DtcKind::Stored,
            codes: dtcs(&["P0301", "P0133"]),
        }),
    );
    check(
        stored.clone(),
        &[0x43, 0x00],
        Ok(Response::Dtcs {
            kind: DtcKind::Stored,
            codes: vec![],
        }),
    );
    // Legacy (non-CAN) layout: no count byte, 00 00 padding.
    check(
        stored.clone(),
        &[0x43, 0x01, 0x33, 0x00, 0x00, 0x00, 0x00],
        Ok(Response::Dtcs {
            kind: DtcKind::Stored,
            codes: dtcs(&["P0133"]),
        }),
    );
    check(
        Request::Dtcs(DtcKind::Permanent),
        &[0x4A, 0x01, 0xC1, 0x00],
        Ok(Response::Dtcs {
            kind: DtcKind::Permanent,
            codes: dtcs(&["U0100"]),
        }),
    );
    check(
        stored.clone(),
        &[0x43, 0x03, 0x03, 0x01],
        Err("announces 3 trouble codes but carries 1"),
    );
    check(
        stored,
        &[0x47, 0x00],
        Err("expected a response to service 0x03, got [47 00]"),
    );
    check(Request::ClearDtcs, &[0x44], Ok(Response::Cleared));
}

#[test]
fn parses_negative_responses() {
    let pending = NegativeResponse {
        service: 0x09,
        code: Nrc::RESPONSE_PENDING,
    };
    check(
        Request::VehicleInfo(0x02),
        &[0x7F, 0x09, 0x78],
        Ok(Response::Negative(pending)),
    );
    assert!(pending.is_pending());
    assert_eq!(
        pending.to_string(),
        "negative response to service 0x09: 0x78 (response pending)"
    );
    check(
        Request::ReadDataByIdentifier(0xF190),
        &[0x7F, 0x22, 0x31],
        Ok(Response::Negative(NegativeResponse {
            service: 0x22,
            code: Nrc::REQUEST_OUT_OF_RANGE,
        })),
    );
    check(
        Request::VehicleInfo(0x02),
        &[0x7F, 0x01, 0x11],
        Err("got [7F 01 11]"),
    );
    check(Request::VehicleInfo(0x02), &[0x7F, 0x09], Err("cut short"));
    check(Request::VehicleInfo(0x02), &[], Err("empty"));
}

#[test]
fn parses_vehicle_info_and_identifiers() {
    check(
        Request::VehicleInfo(0x02),
        b"\x49\x02\x011D4GP00R55B123456",
        Ok(Response::VehicleInfo {
            pid: 0x02,
            data: b"\x011D4GP00R55B123456".to_vec(),
        }),
    );
    check(
        Request::VehicleInfo(0x02),
        &[0x49, 0x0A, 0x01],
        Err("answers PID 0x0A"),
    );
    check(
        Request::ReadDataByIdentifier(0xF190),
        b"\x62\xF1\x901D4GP00R55B123456",
        Ok(Response::DataByIdentifier {
            did: 0xF190,
            data: b"1D4GP00R55B123456".to_vec(),
        }),
    );
    check(
        Request::ReadDataByIdentifier(0xF190),
        &[0x62, 0xF1],
        Err("cut short"),
    );
}

#[test]
fn encoded_responses_parse_back() {
    let cases = [
        (
            Request::CurrentData(vec![0x0C, 0x0D]),
            Response::CurrentData(vec![
                PidData {
                    pid: 0x0C,
                    data: vec![0x0C, 0x80],
                },
                PidData {
                    pid: 0x0D,
                    data: vec![0x00],
                },
            ]),
        ),
        (
            Request::Dtcs(DtcKind::Pending),
            Response::Dtcs {
                kind: DtcKind::Pending,
                codes: dtcs(&["P0420", "B1234", "C0035"]),
            },
        ),
        (
            Request::Dtcs(DtcKind::Stored),
            Response::Dtcs {
                kind: DtcKind::Stored,
                codes: vec![],
            },
        ),
        (Request::ClearDtcs, Response::Cleared),
        (
            Request::VehicleInfo(0x0A),
            Response::VehicleInfo {
                pid: 0x0A,
                data: b"\x01ECM\0-EngineControl\0\0".to_vec(),
            },
        ),
        (
            Request::ReadDataByIdentifier(0xF190),
            Response::DataByIdentifier {
                did: 0xF190,
                data: b"1D4GP00R55B123456".to_vec(),
            },
        ),
        (
            Request::Dtcs(DtcKind::Stored),
            Response::Negative(NegativeResponse {
                service: 0x03,
                code: Nrc::CONDITIONS_NOT_CORRECT,
            }),
        ),
    ];
    for (request, response) in cases {
        assert_eq!(Response::parse(&request, &response.encode()), Ok(response));
    }
}
