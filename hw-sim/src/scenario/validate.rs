//! Checks a parsed scenario value by value, naming the field that is wrong.

use std::collections::HashSet;

use pitlane_shared::obd::Dtc;

use super::{Scenario, ScenarioError};
use crate::ecu::live;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Scenario {
    /// Check every value; the error names the first field that is wrong.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.vin.len() != 17 || !self.vin.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "vin",
                format!("{:?} is not 17 printable ASCII characters", self.vin),
            ));
        }
        if self.ecus.is_empty() {
            return Err(invalid("ecu", "a scenario needs at least one [[ecu]]"));
        }
        self.validate_ecus()?;
        self.validate_live()?;
        self.validate_body()
    }

    fn validate_ecus(&self) -> Result<(), ScenarioError> {
        let mut ids = HashSet::new();
        let mut addresses = HashSet::new();
        for (i, ecu) in self.ecus.iter().enumerate() {
            let at = |field: &str| format!("ecu[{i}].{field}");
            let name_ok = ecu.name.is_ascii()
                && ecu.name.split_once('-').is_some_and(|(acronym, name)| {
                    (1..=4).contains(&acronym.len()) && (1..=15).contains(&name.len())
                });
            if !name_ok {
                return Err(invalid(
                    at("name"),
                    format!(
                        "{:?} is not ACRONYM-Name (1-4 and 1-15 ASCII characters, as service 09 \
                         PID 0A carries it)",
                        ecu.name
                    ),
                ));
            }
            for (field, id) in [
                ("request_id", ecu.request_id),
                ("response_id", ecu.response_id),
            ] {
                if id > 0x7FF {
                    return Err(invalid(at(field), format!("0x{id:X} is not an 11-bit id")));
                }
                if id == 0x7DF {
                    return Err(invalid(at(field), "0x7DF is the functional request id"));
                }
                if !ids.insert(id) {
                    return Err(invalid(at(field), format!("0x{id:X} is used twice")));
                }
            }
            if !(0x7E0..=0x7E7).contains(&ecu.request_id) {
                return Err(invalid(
                    at("request_id"),
                    format!(
                        "0x{:X} is outside the OBD-II physical range 0x7E0..=0x7E7",
                        ecu.request_id
                    ),
                ));
            }
            if ecu.response_id != ecu.request_id + 8 {
                return Err(invalid(
                    at("response_id"),
                    format!(
                        "must be request_id + 8 (0x{:X}), as ISO 15765-4 pairs them",
                        ecu.request_id + 8
                    ),
                ));
            }
            if ecu.address29 == 0x33 || ecu.address29 == 0xF1 {
                return Err(invalid(
                    at("address29"),
                    "0x33 (functional) and 0xF1 (tester) are reserved",
                ));
            }
            if !addresses.insert(ecu.address29) {
                return Err(invalid(
                    at("address29"),
                    format!("0x{:02X} is used twice", ecu.address29),
                ));
            }
            for (j, &pid) in ecu.pids.iter().enumerate() {
                if pid % 0x20 == 0 {
                    return Err(invalid(
                        format!("ecu[{i}].pids[{j}]"),
                        format!("0x{pid:02X} is a supported-PID bitmap; those are implied"),
                    ));
                }
                if !live::is_supported(pid) {
                    return Err(invalid(
                        format!("ecu[{i}].pids[{j}]"),
                        format!(
                            "the simulator has no model for PID 0x{pid:02X}; it knows {}",
                            live::supported_list()
                        ),
                    ));
                }
            }
            let f = &ecu.faults;
            for (field, value, max) in [
                ("faults.response_delay_ms", f.response_delay_ms, 60_000),
                ("faults.pending_interval_ms", f.pending_interval_ms, 60_000),
                (
                    "faults.pending_responses",
                    u64::from(f.pending_responses),
                    1_000,
                ),
            ] {
                if value > max {
                    return Err(invalid(at(field), format!("{value} is more than {max}")));
                }
            }
            for (field, codes) in [
                ("stored", &ecu.stored),
                ("pending", &ecu.pending),
                ("permanent", &ecu.permanent),
            ] {
                for (j, code) in codes.iter().enumerate() {
                    if let Err(e) = code.parse::<Dtc>() {
                        return Err(invalid(format!("ecu[{i}].{field}[{j}]"), e.to_string()));
                    }
                }
            }
        }
        Ok(())
    }

    fn validate_live(&self) -> Result<(), ScenarioError> {
        let l = &self.live;
        let checks = [
            ("live.cycle_s", l.cycle_s, 1.0, 86_400.0),
            ("live.idle_rpm", l.idle_rpm, 0.0, 8_000.0),
            ("live.max_speed_kmh", l.max_speed_kmh, 0.0, 255.0),
            ("live.ambient_c", l.ambient_c, -40.0, 60.0),
            ("live.coolant_target_c", l.coolant_target_c, -40.0, 215.0),
            ("live.battery_v", l.battery_v, 0.0, 65.0),
            ("live.fuel_level_pct", l.fuel_level_pct, 0.0, 100.0),
            ("live.odometer_km", l.odometer_km, 0.0, 400_000_000.0),
        ];
        for (field, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(invalid(field, format!("{value} is outside {min}..={max}")));
            }
        }
        Ok(())
    }

    fn validate_body(&self) -> Result<(), ScenarioError> {
        let b = &self.body;
        for (field, id) in [
            ("body.command_id", b.command_id),
            ("body.status_id", b.status_id),
        ] {
            if id > 0x7FF {
                return Err(invalid(field, format!("0x{id:X} is not an 11-bit id")));
            }
        }
        if b.command_id == b.status_id {
            return Err(invalid(
                "body.status_id",
                "must differ from body.command_id",
            ));
        }
        if !(1..=60_000).contains(&b.status_period_ms) {
            return Err(invalid("body.status_period_ms", "must be 1..=60000"));
        }
        if !(b.closes_after_s > 0.0 && b.closes_after_s <= 86_400.0) {
            return Err(invalid(
                "body.closes_after_s",
                "must be more than 0 and at most 86400 seconds",
            ));
        }
        Ok(())
    }
}
