//! Fuzzes the OBD-II request and response decoders with untrusted payloads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitlane_shared::obd::{DtcKind, EcuName, Request, Response, decode_vin};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::parse(data) {
        assert_eq!(Request::parse(&request.encode()), Ok(request));
    }
    let requests = [
        Request::CurrentData(vec![0x00]),
        Request::CurrentData(vec![0x0C, 0x0D, 0x05]),
        Request::Dtcs(DtcKind::Stored),
        Request::ClearDtcs,
        Request::VehicleInfo(0x02),
        Request::ReadDataByIdentifier(0xF190),
    ];
    for request in &requests {
        let _ = Response::parse(request, data);
    }
    let _ = decode_vin(data);
    let _ = EcuName::decode(data);
});
