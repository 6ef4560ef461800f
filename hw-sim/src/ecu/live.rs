//! Live data: a repeating drive cycle (idle, accelerate, cruise, brake) as a pure function of
//! simulated time, and the SAE J1979 encoding of each service 01 PID the simulator models.

use std::time::Duration;

use pitlane_shared::obd::{MonitorStatus, encode_pid};

use crate::scenario::LiveConfig;

/// The service 01 PIDs the simulator can answer (besides the 0x00/0x20/.. bitmaps).
pub const SUPPORTED: &[u8] = &[
    0x01, 0x04, 0x05, 0x0C, 0x0D, 0x0F, 0x11, 0x1C, 0x1F, 0x21, 0x2F, 0x31, 0x42, 0x46, 0x5C, 0xA6,
];

/// Whether the simulator models `pid`.
pub fn is_supported(pid: u8) -> bool {
    SUPPORTED.contains(&pid)
}

/// The modelled PIDs as text, for error messages.
pub fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|p| format!("0x{p:02X}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fraction of the cycle spent idling, accelerating, cruising; the rest is braking.
const IDLE: f64 = 0.2;
const ACCEL: f64 = 0.2;
const CRUISE: f64 = 0.4;

/// The car's physical state at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub seconds: f64,
    pub speed_kmh: f64,
    pub rpm: f64,
    pub load_pct: f64,
    pub throttle_pct: f64,
    pub coolant_c: f64,
    pub intake_c: f64,
    pub oil_c: f64,
    pub ambient_c: f64,
    pub voltage_v: f64,
    pub fuel_pct: f64,
    /// Distance driven since the car started, km.
    pub distance_km: f64,
    pub odometer_km: f64,
}

/// Where in the cycle `phase` (0..1) is, and the speed there as a fraction of cruise speed.
fn speed_fraction(phase: f64) -> f64 {
    if phase < IDLE {
        0.0
    } else if phase < IDLE + ACCEL {
        (phase - IDLE) / ACCEL
    } else if phase < IDLE + ACCEL + CRUISE {
        1.0
    } else {
        1.0 - (phase - IDLE - ACCEL - CRUISE) / (1.0 - IDLE - ACCEL - CRUISE)
    }
}

/// Integral of `speed_fraction` from 0 to `phase`, in units of (fraction × cycle).
fn distance_fraction(phase: f64) -> f64 {
    let brake = 1.0 - IDLE - ACCEL - CRUISE;
    if phase < IDLE {
        0.0
    } else if phase < IDLE + ACCEL {
        let x = phase - IDLE;
        x * x / (2.0 * ACCEL)
    } else if phase < IDLE + ACCEL + CRUISE {
        ACCEL / 2.0 + (phase - IDLE - ACCEL)
    } else {
        let x = phase - IDLE - ACCEL - CRUISE;
        ACCEL / 2.0 + CRUISE + x - x * x / (2.0 * brake)
    }
}

/// The state of the car `elapsed` after it started.
pub fn snapshot(cfg: &LiveConfig, elapsed: Duration) -> Snapshot {
    let t = elapsed.as_secs_f64();
    let cycles = t / cfg.cycle_s;
    let phase = cycles.fract();
    let frac = speed_fraction(phase);
    let speed_kmh = cfg.max_speed_kmh * frac;
    let per_cycle = distance_fraction(1.0);
    let distance_km = cfg.max_speed_kmh * cfg.cycle_s / 3600.0
        * (cycles.floor() * per_cycle + distance_fraction(phase));
    let accelerating = (IDLE..IDLE + ACCEL).contains(&phase);
    let braking = phase >= IDLE + ACCEL + CRUISE;
    let rpm = if speed_kmh < 1.0 {
        cfg.idle_rpm
    } else {
        cfg.idle_rpm + speed_kmh * 16.0 + if accelerating { 700.0 } else { 0.0 }
    };
    let (load_pct, throttle_pct) = if speed_kmh < 1.0 {
        (21.0, 13.7)
    } else if accelerating {
        (64.0, 41.0)
    } else if braking {
        (11.0, 12.2)
    } else {
        (34.0, 21.5)
    };
    let warm = 1.0 - (-t / 240.0).exp();
    let oil_warm = 1.0 - (-t / 420.0).exp();
    Snapshot {
        seconds: t,
        speed_kmh,
        rpm,
        load_pct,
        throttle_pct,
        coolant_c: cfg.ambient_c + (cfg.coolant_target_c - cfg.ambient_c) * warm,
        intake_c: cfg.ambient_c + 6.0 + 4.0 * frac,
        oil_c: cfg.ambient_c + (cfg.coolant_target_c + 8.0 - cfg.ambient_c) * oil_warm,
        ambient_c: cfg.ambient_c,
        voltage_v: cfg.battery_v + 0.05 * (t / 7.0).sin(),
        fuel_pct: (cfg.fuel_level_pct - distance_km * 0.12).max(0.0),
        distance_km,
        odometer_km: cfg.odometer_km + distance_km,
    }
}

/// What an ECU's own state adds to the live values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcuContext {
    /// Number of stored (confirmed) codes; the MIL is on when there are any.
    pub stored_codes: usize,
    /// Distance since the codes were last cleared, km.
    pub since_clear_km: f64,
}

/// The data bytes of `pid` (without the PID byte itself), or `None` when it is not modelled.
/// Scaling is the shared J1979 table's, so simulator and agent agree by construction.
pub fn encode(pid: u8, s: &Snapshot, ecu: &EcuContext) -> Option<Vec<u8>> {
    let value = match pid {
        0x01 => {
            let status = MonitorStatus {
                mil: ecu.stored_codes > 0,
                // Invariant: min(0x7F) keeps the count in 7 bits.
                dtc_count: ecu.stored_codes.min(0x7F) as u8,
            };
            return Some(status.encode().to_vec());
        }
        // OBD-II as defined by CARB.
        0x1C => return Some(vec![0x01]),
        0x04 => s.load_pct,
        0x05 => s.coolant_c,
        0x0C => s.rpm,
        0x0D => s.speed_kmh,
        0x0F => s.intake_c,
        0x11 => s.throttle_pct,
        0x1F => s.seconds,
        0x21 if ecu.stored_codes > 0 => ecu.since_clear_km,
        0x21 => 0.0,
        0x2F => s.fuel_pct,
        0x31 => ecu.since_clear_km,
        0x42 => s.voltage_v,
        0x46 => s.ambient_c,
        0x5C => s.oil_c,
        0xA6 => s.odometer_km,
        _ => return None,
    };
    encode_pid(pid, value).ok()
}

/// The supported-PID bitmap answered for `base` (0x00, 0x20, ..): bit 31 is PID base+1, and
/// bit 0 says that the next bitmap PID is supported too.
pub fn bitmap(pids: &[u8], base: u8) -> u32 {
    let mut bits = 0u32;
    for &pid in pids {
        let offset = u32::from(pid).wrapping_sub(u32::from(base));
        if (1..=32).contains(&offset) {
            bits |= 1 << (32 - offset);
        }
    }
    if pids.iter().any(|&p| u32::from(p) > u32::from(base) + 32) {
        bits |= 1;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> Snapshot {
        snapshot(&LiveConfig::default(), Duration::from_secs_f64(secs))
    }

    #[test]
    fn drive_cycle_idles_accelerates_cruises_and_brakes() {
        let cfg = LiveConfig::default();
        assert_eq!(at(5.0).speed_kmh, 0.0);
        assert_eq!(at(5.0).rpm, cfg.idle_rpm);
        assert!((at(18.0).speed_kmh - 45.0).abs() < 1e-9);
        assert_eq!(at(30.0).speed_kmh, 90.0);
        assert!((at(54.0).speed_kmh - 45.0).abs() < 1e-9);
        assert_eq!(at(65.0).speed_kmh, 0.0);
        // One cycle: 90 km/h for (0.1 + 0.4 + 0.1) of 60 s = 0.9 km.
        assert!((at(60.0).distance_km - 0.9).abs() < 1e-9);
        assert!((at(120.0).distance_km - 1.8).abs() < 1e-9);
        assert!(at(900.0).coolant_c > 85.0);
        assert!(at(0.0).coolant_c < 22.0);
    }

    fn check(pid: u8, s: &Snapshot, expected: &[u8]) {
        let ecu = EcuContext {
            stored_codes: 2,
            since_clear_km: 1523.0,
        };
        assert_eq!(
            encode(pid, s, &ecu).as_deref(),
            Some(expected),
            "PID {pid:02X}"
        );
    }

    #[test]
    fn pids_encode_per_j1979() {
        let idle = at(0.0);
        check(0x01, &idle, &[0x82, 0x00, 0x00, 0x00]);
        check(0x0C, &idle, &[0x0C, 0x30]); // 780 rpm × 4 = 3120
        check(0x0D, &idle, &[0]);
        check(0x05, &idle, &[61]); // 21 °C
        check(0x1F, &at(300.0), &[0x01, 0x2C]);
        check(0x31, &idle, &[0x05, 0xF3]);
        check(0x46, &idle, &[61]);
        check(0xA6, &idle, &[0x00, 0x07, 0x5B, 0x52]); // 48 213.0 km in 0.1 km
        check(0x0D, &at(30.0), &[90]);
        assert_eq!(
            encode(
                0x99,
                &idle,
                &EcuContext {
                    stored_codes: 0,
                    since_clear_km: 0.0
                }
            ),
            None
        );
    }

    #[test]
    fn every_supported_pid_encodes() {
        let ctx = EcuContext {
            stored_codes: 0,
            since_clear_km: 0.0,
        };
        for &pid in SUPPORTED {
            assert!(encode(pid, &at(12.5), &ctx).is_some(), "PID {pid:02X}");
        }
    }

    #[test]
    fn bitmaps_chain_to_the_next_range() {
        assert_eq!(bitmap(&[0x01, 0x0C, 0x0D], 0x00), 0x8018_0000);
        assert_eq!(bitmap(&[0x0C, 0x42], 0x00) & 1, 1);
        assert_eq!(bitmap(&[0x0C, 0x42], 0x20) & 1, 1);
        assert_eq!(bitmap(&[0x0C, 0x42], 0x40), 0x4000_0000);
        assert_eq!(bitmap(&[0x20 + 0x20], 0x20), 1);
        assert_eq!(bitmap(&[0xA6], 0xA0), 0x0400_0000);
    }
}
