//! ISO-TP sender/receiver pairs run in virtual time: transfers, timing, faults, properties.

mod faults;
mod pair;
mod props;
mod transfers;

use pitlane_shared::can::isotp::{Addressing, Config, Endpoint};

/// A tester talking to the engine ECU (7E0/7E8) with the given configs.
pub fn obd_pair(tester: Config, ecu: Config) -> pair::Pair {
    let addr = Addressing::tester_11(0x7E0).expect("7E0 is an OBD request id");
    pair::Pair::new(
        Endpoint::new(tester, addr),
        Endpoint::new(ecu, addr.reversed()),
    )
}
