//! Service 01 parameter IDs: names, lengths, units, and the J1979 scaling both ways.

use std::fmt;

use serde::{Serialize, Serializer};

use super::ObdError;

/// The unit of a decoded value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Percent,
    Celsius,
    Rpm,
    KmPerHour,
    Seconds,
    Kilometers,
    Volts,
    Kilopascals,
    GramsPerSecond,
    Degrees,
    LitersPerHour,
}

impl Unit {
    /// The unit symbol (`%`, `°C`, `rpm`, …).
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Percent => "%",
            Self::Celsius => "°C",
            Self::Rpm => "rpm",
            Self::KmPerHour => "km/h",
            Self::Seconds => "s",
            Self::Kilometers => "km",
            Self::Volts => "V",
            Self::Kilopascals => "kPa",
            Self::GramsPerSecond => "g/s",
            Self::Degrees => "°",
            Self::LitersPerHour => "L/h",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

/// How one numeric PID is carried: `bytes` big-endian, value = raw × scale + offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PidInfo {
    pub pid: u8,
    /// Short machine name (`engine_rpm`), used as the JSON key.
    pub name: &'static str,
    pub bytes: usize,
    pub scale: f64,
    pub offset: f64,
    pub unit: Unit,
}

impl PidInfo {
    /// The value carried by `data` (exactly [`bytes`](Self::bytes) long).
    pub fn decode(&self, data: &[u8]) -> Result<f64, ObdError> {
        if data.len() != self.bytes {
            return Err(ObdError::PidLength {
                pid: self.pid,
                expected: self.bytes,
                got: data.len(),
            });
        }
        let raw = data.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        Ok(raw as f64 * self.scale + self.offset)
    }

    /// The bytes carrying `value`, rounded to the PID's resolution and clamped to its range.
    pub fn encode(&self, value: f64) -> Vec<u8> {
        let max = (1u64 << (8 * self.bytes)) - 1;
        let raw = ((value - self.offset) / self.scale).round();
        // Invariant: clamped to 0..=max, which fits the PID's byte count; NaN becomes 0.
        let raw = if raw.is_nan() {
            0
        } else {
            raw.clamp(0.0, max as f64) as u64
        };
        raw.to_be_bytes()[8 - self.bytes..].to_vec()
    }
}

const fn pid(
    pid: u8,
    name: &'static str,
    bytes: usize,
    scale: f64,
    offset: f64,
    unit: Unit,
) -> PidInfo {
    PidInfo {
        pid,
        name,
        bytes,
        scale,
        offset,
        unit,
    }
}

const PCT: f64 = 100.0 / 255.0;
const TRIM: f64 = 100.0 / 128.0;

/// Numeric PIDs this crate decodes (SAE J1979 / ISO 15031-5 scaling).
pub const PIDS: &[PidInfo] = &[
    pid(0x04, "engine_load", 1, PCT, 0.0, Unit::Percent),
    pid(0x05, "coolant_temp", 1, 1.0, -40.0, Unit::Celsius),
    pid(0x06, "short_fuel_trim_1", 1, TRIM, -100.0, Unit::Percent),
    pid(0x07, "long_fuel_trim_1", 1, TRIM, -100.0, Unit::Percent),
    pid(0x0A, "fuel_pressure", 1, 3.0, 0.0, Unit::Kilopascals),
    pid(0x0B, "intake_pressure", 1, 1.0, 0.0, Unit::Kilopascals),
    pid(0x0C, "engine_rpm", 2, 0.25, 0.0, Unit::Rpm),
    pid(0x0D, "vehicle_speed", 1, 1.0, 0.0, Unit::KmPerHour),
    pid(0x0E, "timing_advance", 1, 0.5, -64.0, Unit::Degrees),
    pid(0x0F, "intake_air_temp", 1, 1.0, -40.0, Unit::Celsius),
    pid(0x10, "maf_rate", 2, 0.01, 0.0, Unit::GramsPerSecond),
    pid(0x11, "throttle_position", 1, PCT, 0.0, Unit::Percent),
    pid(0x1F, "run_time", 2, 1.0, 0.0, Unit::Seconds),
    pid(0x21, "distance_with_mil", 2, 1.0, 0.0, Unit::Kilometers),
    pid(0x2F, "fuel_level", 1, PCT, 0.0, Unit::Percent),
    pid(0x31, "distance_since_clear", 2, 1.0, 0.0, Unit::Kilometers),
    pid(0x33, "barometric_pressure", 1, 1.0, 0.0, Unit::Kilopascals),
    pid(0x42, "module_voltage", 2, 0.001, 0.0, Unit::Volts),
    pid(0x46, "ambient_air_temp", 1, 1.0, -40.0, Unit::Celsius),
    pid(0x5C, "oil_temp", 1, 1.0, -40.0, Unit::Celsius),
    pid(0x5E, "fuel_rate", 2, 0.05, 0.0, Unit::LitersPerHour),
    pid(0xA6, "odometer", 4, 0.1, 0.0, Unit::Kilometers),
];

/// The numeric PID `pid`, if this crate knows its scaling.
pub fn pid_info(pid: u8) -> Option<&'static PidInfo> {
    PIDS.iter().find(|p| p.pid == pid)
}

/// How many data bytes follow `pid` in a service 01 response, for splitting answers to
/// multi-PID requests. `None` for PIDs of unknown length.
pub fn data_len(pid: u8) -> Option<usize> {
    match pid {
        p if p % 0x20 == 0 => Some(4),
        0x01 | 0x41 => Some(4),
        0x03 => Some(2),
        0x12 | 0x13 | 0x1C | 0x1D | 0x1E | 0x51 => Some(1),
        p => pid_info(p).map(|i| i.bytes),
    }
}

/// A decoded service 01 value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reading {
    pub pid: u8,
    pub name: &'static str,
    pub value: f64,
    pub unit: Unit,
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {} {}", self.name, self.value, self.unit)
    }
}

/// Decodes the data bytes of a numeric PID.
pub fn decode_pid(pid: u8, data: &[u8]) -> Result<Reading, ObdError> {
    let info = pid_info(pid).ok_or(ObdError::UnknownPid { pid })?;
    Ok(Reading {
        pid,
        name: info.name,
        value: info.decode(data)?,
        unit: info.unit,
    })
}

/// Encodes a physical value as the data bytes of a numeric PID (for the simulator).
pub fn encode_pid(pid: u8, value: f64) -> Result<Vec<u8>, ObdError> {
    Ok(pid_info(pid)
        .ok_or(ObdError::UnknownPid { pid })?
        .encode(value))
}

/// PID 01: malfunction indicator lamp and number of stored emission-related codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MonitorStatus {
    pub mil: bool,
    pub dtc_count: u8,
}

impl MonitorStatus {
    /// Decodes the 4 data bytes of PID 01 (readiness bits are not interpreted).
    pub fn decode(data: &[u8]) -> Result<Self, ObdError> {
        match data {
            [a, _, _, _] => Ok(Self {
                mil: a & 0x80 != 0,
                dtc_count: a & 0x7F,
            }),
            _ => Err(ObdError::PidLength {
                pid: 0x01,
                expected: 4,
                got: data.len(),
            }),
        }
    }

    /// The 4 data bytes of PID 01 (no readiness monitors reported).
    pub fn encode(self) -> [u8; 4] {
        [
            (u8::from(self.mil) << 7) | self.dtc_count.min(0x7F),
            0,
            0,
            0,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pid: u8, data: &[u8], value: f64, unit: Unit) {
        let r = decode_pid(pid, data).expect("known PID");
        assert!(
            (r.value - value).abs() < 1e-9,
            "PID {pid:02X}: {} != {value}",
            r.value
        );
        assert_eq!(r.unit, unit, "PID {pid:02X}");
        assert_eq!(
            encode_pid(pid, value).expect("known PID"),
            data,
            "PID {pid:02X}"
        );
        assert_eq!(data_len(pid), Some(data.len()));
    }

    #[test]
    fn decodes_the_common_pids() {
        check(0x04, &[0xFF], 100.0, Unit::Percent);
        check(0x04, &[0x00], 0.0, Unit::Percent);
        check(0x05, &[0x7B], 83.0, Unit::Celsius);
        check(0x05, &[0x00], -40.0, Unit::Celsius);
        check(0x0C, &[0x1A, 0xF8], 1726.0, Unit::Rpm);
        check(0x0D, &[0x32], 50.0, Unit::KmPerHour);
        check(0x0F, &[0x41], 25.0, Unit::Celsius);
        check(0x11, &[0x33], 20.0, Unit::Percent);
        check(0x1F, &[0x01, 0x2C], 300.0, Unit::Seconds);
        check(0x2F, &[0x80], 128.0 * PCT, Unit::Percent);
        check(0x31, &[0x04, 0xD2], 1234.0, Unit::Kilometers);
        check(0x42, &[0x36, 0xB0], 14.0, Unit::Volts);
        check(0x46, &[0x3C], 20.0, Unit::Celsius);
        check(0x5C, &[0x82], 90.0, Unit::Celsius);
        check(0xA6, &[0x00, 0x1E, 0x84, 0x80], 200_000.0, Unit::Kilometers);
        check(0x0E, &[0x80], 0.0, Unit::Degrees);
        check(0x06, &[0x80], 0.0, Unit::Percent);
    }

    #[test]
    fn encoding_clamps_and_rounds() {
        assert_eq!(encode_pid(0x05, -100.0), Ok(vec![0x00]));
        assert_eq!(encode_pid(0x05, 500.0), Ok(vec![0xFF]));
        assert_eq!(encode_pid(0x0C, 800.1), Ok(vec![0x0C, 0x80]));
        assert_eq!(encode_pid(0x0D, f64::NAN), Ok(vec![0x00]));
        assert_eq!(
            encode_pid(0x99, 1.0),
            Err(ObdError::UnknownPid { pid: 0x99 })
        );
    }

    #[test]
    fn rejects_wrong_lengths() {
        assert_eq!(
            decode_pid(0x0C, &[0x1A]),
            Err(ObdError::PidLength {
                pid: 0x0C,
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            decode_pid(0x02, &[0]),
            Err(ObdError::UnknownPid { pid: 0x02 })
        );
    }

    #[test]
    fn monitor_status_round_trips() {
        let s = MonitorStatus::decode(&[0x83, 0x07, 0xE5, 0x00]).expect("4 bytes");
        assert_eq!(
            s,
            MonitorStatus {
                mil: true,
                dtc_count: 3
            }
        );
        assert_eq!(MonitorStatus::decode(&s.encode()), Ok(s));
        assert!(MonitorStatus::decode(&[0x83]).is_err());
    }
}
