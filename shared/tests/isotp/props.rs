//! Property: any payload up to 4095 bytes survives segmentation and reassembly under any block
//! size and STmin, and STmin is never violated.

use pitlane_shared::can::isotp::{Config, Event, StMin};
use proptest::prelude::*;

use crate::obd_pair;
use crate::pair::Side;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_payload_survives_any_block_size_and_stmin(
        payload in prop::collection::vec(any::<u8>(), 1..=4095),
        block_size in any::<u8>(),
        st_min in any::<u8>(),
        padding in prop::option::of(any::<u8>()),
    ) {
        let receiver = Config {
            block_size,
            st_min: StMin::from_byte(st_min),
            ..Config::default()
        };
        let sender = Config { padding, ..Config::default() };
        let mut p = obd_pair(receiver, sender);
        p.ecu.send(&payload).expect("idle");
        p.drive();
        prop_assert_eq!(&p.ecu_events, &vec![Event::Sent]);
        prop_assert_eq!(&p.tester_events, &vec![Event::Received(payload.clone())]);

        let gap = StMin::from_byte(st_min).duration();
        let mut last_cf = None;
        for l in &p.log {
            match (l.from, l.frame.data()[0] >> 4) {
                (Side::Ecu, 2) => {
                    if let Some(prev) = last_cf {
                        prop_assert!(l.at - prev >= gap, "STmin violated at {:?}", l.at);
                    }
                    last_cf = Some(l.at);
                }
                // Flow control starts a new block: the first CF after it may go at once.
                (Side::Tester, 3) => last_cf = None,
                _ => {}
            }
        }
    }
}
