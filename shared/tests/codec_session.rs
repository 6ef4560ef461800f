//! A VIN exchange carried through the adapter codecs end to end, in virtual time: the tester's
//! ISO-TP frames are encoded as host commands, decoded on the adapter side, fed to the ECU,
//! and the ECU's frames come back as adapter output, split into arbitrary read sizes.

use std::time::Instant;

use pitlane_shared::can::CanFrame;
use pitlane_shared::can::isotp::{Addressing, Config, Endpoint, Event};
use pitlane_shared::obd::{Request, Response, decode_vin};
use pitlane_shared::wire::{slcan, socketcand};

/// One transport: host → adapter and adapter → host byte codecs for frames.
trait Transport {
    fn host_to_adapter(&mut self, frame: &CanFrame) -> Vec<u8>;
    fn adapter_decode(&mut self, bytes: &[u8]) -> Vec<CanFrame>;
    fn adapter_to_host(&mut self, frame: &CanFrame) -> Vec<u8>;
    fn host_decode(&mut self, bytes: &[u8]) -> Vec<CanFrame>;
}

#[derive(Default)]
struct Slcan {
    adapter: slcan::Decoder,
    host: slcan::Decoder,
}

impl Transport for Slcan {
    fn host_to_adapter(&mut self, frame: &CanFrame) -> Vec<u8> {
        slcan::Command::Transmit(*frame).to_bytes()
    }
    fn adapter_decode(&mut self, bytes: &[u8]) -> Vec<CanFrame> {
        self.adapter.push(bytes);
        std::iter::from_fn(|| self.adapter.next_command())
            .map(|c| match c {
                Ok(slcan::Command::Transmit(f)) => f,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }
    fn adapter_to_host(&mut self, frame: &CanFrame) -> Vec<u8> {
        // The acknowledgement of the host's last transmit may come first, as on real adapters.
        let mut out = slcan::Response::Transmitted { extended: false }.to_bytes();
        slcan::Response::Frame {
            frame: *frame,
            timestamp: Some(0x1234),
        }
        .encode(&mut out);
        out
    }
    fn host_decode(&mut self, bytes: &[u8]) -> Vec<CanFrame> {
        self.host.push(bytes);
        std::iter::from_fn(|| self.host.next_response())
            .filter_map(|r| match r {
                Ok(slcan::Response::Frame { frame, .. }) => Some(frame),
                Ok(_) => None,
                Err(e) => panic!("{e}"),
            })
            .collect()
    }
}

#[derive(Default)]
struct Socketcand {
    adapter: socketcand::Decoder,
    host: socketcand::Decoder,
}

impl Transport for Socketcand {
    fn host_to_adapter(&mut self, frame: &CanFrame) -> Vec<u8> {
        socketcand::ClientMessage::Send(*frame).to_bytes()
    }
    fn adapter_decode(&mut self, bytes: &[u8]) -> Vec<CanFrame> {
        self.adapter.push(bytes);
        std::iter::from_fn(|| self.adapter.next_client())
            .map(|c| match c {
                Ok(socketcand::ClientMessage::Send(f)) => f,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }
    fn adapter_to_host(&mut self, frame: &CanFrame) -> Vec<u8> {
        let timestamp = socketcand::Timestamp {
            secs: 1_700_000_000,
            micros: 42,
        };
        socketcand::ServerMessage::Frame {
            frame: *frame,
            timestamp,
        }
        .to_bytes()
    }
    fn host_decode(&mut self, bytes: &[u8]) -> Vec<CanFrame> {
        self.host.push(bytes);
        std::iter::from_fn(|| self.host.next_server())
            .map(|r| match r {
                Ok(socketcand::ServerMessage::Frame { frame, .. }) => frame,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }
}

/// Runs a VIN request over `transport`, delivering bytes `chunk` at a time.
fn read_vin(transport: &mut dyn Transport, chunk: usize) -> String {
    let now = Instant::now();
    let addr = Addressing::tester_11(0x7E0).expect("OBD id");
    let mut tester = Endpoint::new(Config::default(), addr);
    let mut ecu = Endpoint::new(Config::default(), addr.reversed());
    let request = Request::VehicleInfo(0x02);
    tester.send(&request.encode()).expect("idle");
    let mut answer = None;
    for _ in 0..100 {
        while let Some(f) = tester.poll_transmit(now) {
            let bytes = transport.host_to_adapter(&f);
            for piece in bytes.chunks(chunk) {
                for frame in transport.adapter_decode(piece) {
                    ecu.handle_frame(now, &frame);
                }
            }
        }
        while let Some(event) = ecu.poll_event() {
            if let Event::Received(req) = event {
                assert_eq!(Request::parse(&req), Ok(request.clone()));
                let vin = b"\x011D4GP00R55B123456".to_vec();
                let response = Response::VehicleInfo {
                    pid: 0x02,
                    data: vin,
                };
                ecu.send(&response.encode()).expect("idle");
            }
        }
        while let Some(f) = ecu.poll_transmit(now) {
            let bytes = transport.adapter_to_host(&f);
            for piece in bytes.chunks(chunk) {
                for frame in transport.host_decode(piece) {
                    tester.handle_frame(now, &frame);
                }
            }
        }
        while let Some(event) = tester.poll_event() {
            if let Event::Received(payload) = event {
                answer = Some(payload);
            }
        }
        if let Some(payload) = &answer {
            let Ok(Response::VehicleInfo { data, .. }) = Response::parse(&request, payload) else {
                panic!("not a VIN answer: {payload:02X?}");
            };
            return decode_vin(&data).expect("valid VIN").to_string();
        }
    }
    panic!("no answer");
}

#[test]
fn vin_over_slcan_and_socketcand_in_any_read_size() {
    for chunk in [1, 2, 3, 7, 64, 4096] {
        assert_eq!(read_vin(&mut Slcan::default(), chunk), "1D4GP00R55B123456");
        assert_eq!(
            read_vin(&mut Socketcand::default(), chunk),
            "1D4GP00R55B123456"
        );
    }
}
