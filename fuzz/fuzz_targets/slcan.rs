//! Fuzzes the SLCAN decoder in both directions; every message that parses must re-encode to
//! bytes that parse to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitlane_shared::wire::slcan::{Command, Decoder, Response};

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::default();
    dec.push(data);
    while let Some(item) = dec.next_response() {
        if let Ok(resp) = item {
            assert_eq!(Response::parse(&resp.to_bytes()), Ok(resp));
        }
    }
    let mut dec = Decoder::default();
    dec.push(data);
    while let Some(item) = dec.next_command() {
        if let Ok(cmd) = item {
            assert_eq!(Command::parse(&cmd.to_bytes()), Ok(cmd));
        }
    }
});
