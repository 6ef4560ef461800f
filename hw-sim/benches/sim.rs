//! Simulator costs: one J1979 request through an ECU's logic, and a whole in-process VIN
//! exchange (request, first frame, flow control, consecutive frames) over the virtual bus.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pitlane_shared::can::isotp::{self, Addressing, Event};
use pitlane_shared::can::{CanFrame, CanId};
use pitlane_sim::ecu::Ecu;
use pitlane_sim::{Car, Scenario};

fn ecu_logic(c: &mut Criterion) {
    let s = Scenario::default_car();
    let mut ecu = Ecu::new(s.ecus[0].clone(), s.live.clone(), s.vin.clone());
    c.bench_function("ecu_request_0100_010C_0902", |b| {
        b.iter(|| {
            let t = Duration::from_secs(30);
            let _ = ecu.handle_request(&[0x01, 0x00], true, t);
            let _ = ecu.handle_request(&[0x01, 0x0C], true, t);
            ecu.handle_request(&[0x09, 0x02], true, t)
        })
    });
}

fn vin_exchange(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let car = rt.block_on(async { Car::start(Scenario::default_car()) });
    let mut port = rt.block_on(async { car.connect() });
    let request = CanFrame::new(CanId::Standard(0x7E0), &[0x02, 0x09, 0x02, 0, 0, 0, 0, 0])
        .expect("valid frame");
    let addressing = Addressing::tester_11(0x7E0).expect("OBD id");
    c.bench_function("in_process_vin_exchange", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut rx = isotp::Receiver::new(isotp::Config::default(), addressing);
                port.send(request);
                loop {
                    let f = port.recv().await.expect("bus open");
                    let now = std::time::Instant::now();
                    rx.handle_frame(now, &f);
                    while let Some(fc) = rx.poll_transmit(now) {
                        port.send(fc);
                    }
                    if let Some(Event::Received(vin)) = rx.poll_event() {
                        return vin;
                    }
                }
            })
        })
    });
}

criterion_group!(benches, ecu_logic, vin_exchange);
criterion_main!(benches);
