//! Fuzzes the socketcand decoder for both the client and the server side.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitlane_shared::wire::socketcand::{ClientMessage, Decoder, ServerMessage};

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::default();
    dec.push(data);
    // Each call consumes at least one byte or returns None, so this terminates.
    while let Some(item) = dec.next_server() {
        if let Ok(ServerMessage::Frame { frame, timestamp }) = item {
            let again = ServerMessage::Frame { frame, timestamp };
            assert_eq!(ServerMessage::parse(&again.to_bytes()), Ok(again));
        }
    }
    let mut dec = Decoder::default();
    dec.push(data);
    while let Some(item) = dec.next_client() {
        if let Ok(msg) = item {
            assert_eq!(ClientMessage::parse(&msg.to_bytes()), Ok(msg));
        }
    }
});
