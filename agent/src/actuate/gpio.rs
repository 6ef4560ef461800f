//! Relays on Linux GPIO character devices (`/dev/gpiochipN`), for real hardware builds
//! (`--features gpio`).

use linux_embedded_hal::CdevPin;
use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};

use super::profile::Profile;
use super::relay::{PinRelays, Relay, RelayError};

/// Requests every relay line the profile uses as an output, released (relay open).
pub fn open_relays(profile: &Profile) -> Result<PinRelays<CdevPin>, RelayError> {
    let mut relays = Vec::new();
    let mut lines = std::collections::BTreeSet::new();
    for plan in profile.actions.values() {
        let Some(spec) = &plan.relay else { continue };
        // Two actions may share a relay; a line can be requested only once.
        if !lines.insert((spec.chip.clone(), spec.line)) {
            continue;
        }
        let err = |e: &dyn std::fmt::Display| RelayError::Pin {
            line: spec.line,
            detail: format!("{}: {e}", spec.chip),
        };
        let mut chip = Chip::new(&spec.chip).map_err(|e| err(&e))?;
        let idle = u8::from(spec.active_low);
        let handle = chip
            .get_line(spec.line)
            .and_then(|l| l.request(LineRequestFlags::OUTPUT, idle, "pitlane-agent"))
            .map_err(|e| err(&e))?;
        let pin = CdevPin::new(handle).map_err(|e| err(&e))?;
        relays.push(Relay::new(pin, spec.line, spec.active_low)?);
    }
    Ok(PinRelays::new(relays))
}
