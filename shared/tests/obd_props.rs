//! Properties of the OBD-II codecs: untrusted payloads never panic a parser, and what the
//! simulator encodes the agent parses back unchanged.

use pitlane_shared::can::isotp::{Addressing, Config, Endpoint};
use pitlane_shared::can::{CanFrame, CanId};
use pitlane_shared::obd::{
    Dtc, DtcKind, EcuName, PIDS, Request, Response, Vin, decode_pid, decode_vin, describe,
    encode_pid,
};
use proptest::prelude::*;

fn any_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..=6).prop_map(Request::CurrentData),
        Just(Request::Dtcs(DtcKind::Stored)),
        Just(Request::Dtcs(DtcKind::Pending)),
        Just(Request::Dtcs(DtcKind::Permanent)),
        Just(Request::ClearDtcs),
        any::<u8>().prop_map(Request::VehicleInfo),
        any::<u16>().prop_map(Request::ReadDataByIdentifier),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn parsers_never_panic_on_any_payload(
        request in any_request(),
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let _ = Response::parse(&request, &payload);
        let _ = Request::parse(&payload);
        let _ = decode_vin(&payload);
        let _ = EcuName::decode(&payload);
        if let Some(&pid) = payload.first() {
            let _ = decode_pid(pid, &payload[1..]);
        }
        let _ = Vin::parse(&String::from_utf8_lossy(&payload));
    }

    #[test]
    fn requests_round_trip(request in any_request()) {
        prop_assert_eq!(Request::parse(&request.encode()), Ok(request));
    }

    #[test]
    fn every_two_bytes_are_a_code_that_prints_and_parses_back(raw in any::<u16>()) {
        let dtc = Dtc::from_bytes(raw.to_be_bytes());
        let text = dtc.to_string();
        prop_assert_eq!(text.parse::<Dtc>(), Ok(dtc));
        let description = describe(dtc, Some("ford"));
        prop_assert_eq!(description.system, dtc.system());
        prop_assert!(description.to_string().starts_with(&text));
    }

    #[test]
    fn dtc_lists_round_trip(raw in prop::collection::vec(1u16.., 0..40)) {
        let codes: Vec<Dtc> = raw.iter().map(|r| Dtc::from_bytes(r.to_be_bytes())).collect();
        let response = Response::Dtcs { kind: DtcKind::Pending, codes };
        let request = Request::Dtcs(DtcKind::Pending);
        prop_assert_eq!(Response::parse(&request, &response.encode()), Ok(response));
    }

    #[test]
    fn pid_values_round_trip_within_resolution(index in 0..PIDS.len(), fraction in 0.0f64..=1.0) {
        let info = &PIDS[index];
        let max_raw = ((1u64 << (8 * info.bytes)) - 1) as f64;
        let value = info.offset + fraction * max_raw * info.scale;
        let bytes = encode_pid(info.pid, value).expect("known PID");
        let back = decode_pid(info.pid, &bytes).expect("known PID").value;
        prop_assert!((back - value).abs() <= info.scale / 2.0 + 1e-9, "{} -> {}", value, back);
    }

    /// Any frame sequence on the receiving id leaves an ISO-TP endpoint consistent.
    #[test]
    fn isotp_endpoint_survives_any_frames(
        frames in prop::collection::vec(
            (any::<bool>(), prop::collection::vec(any::<u8>(), 0..=8)), 0..64),
        steps in prop::collection::vec(0u64..2_000, 64),
    ) {
        let addr = Addressing::tester_11(0x7E0).expect("valid");
        let mut ep = Endpoint::new(Config::default(), addr);
        let mut now = std::time::Instant::now();
        let _ = ep.send(&[0x09, 0x02, 1, 2, 3, 4, 5, 6, 7, 8]);
        for ((on_rx, data), step) in frames.iter().zip(steps) {
            let id = if *on_rx { CanId::Standard(0x7E8) } else { CanId::Standard(0x7E9) };
            let frame = CanFrame::new(id, data).expect("at most 8 bytes");
            ep.handle_frame(now, &frame);
            now += std::time::Duration::from_millis(step);
            ep.handle_timeout(now);
            while let Some(f) = ep.poll_transmit(now) {
                prop_assert!(f.id() == CanId::Standard(0x7E0), "sent on {}", f.id());
                prop_assert_eq!(f.dlc(), 8);
            }
            while ep.poll_event().is_some() {}
            if let Some(deadline) = ep.poll_timeout() {
                prop_assert!(deadline <= now + std::time::Duration::from_secs(1));
            }
        }
    }
}
