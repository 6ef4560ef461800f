//! Fuzzes ELM327 reply framing and OBD answer parsing with headers on and off.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitlane_shared::wire::elm327::{Decoder, parse_obd_reply, reply_lines};

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::default();
    dec.push(data);
    while let Some(reply) = dec.next_reply() {
        let Ok(reply) = reply else { continue };
        let _ = reply_lines("ATZ", &reply);
        for headers in [false, true] {
            if let Ok(messages) = parse_obd_reply("0902", &reply, headers) {
                assert!(messages.iter().all(|m| m.payload.len() <= 4095 || !headers));
            }
        }
    }
});
