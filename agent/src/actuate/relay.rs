//! Relay actuation: an embedded-hal 1.0 `OutputPin` closed for a configurable pulse, the way
//! aftermarket devices wire a relay across a car's lock or trunk switch.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use embedded_hal::digital::{Error as _, OutputPin};

use super::profile::RelaySpec;

/// Why a relay could not be pulsed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("GPIO line {line}: {detail}")]
    Pin { line: u32, detail: String },
    #[error("no relay on GPIO line {line} is configured in this agent")]
    NoSuchLine { line: u32 },
    #[error(
        "the profile drives a relay, but this build has no GPIO support (build with `--features gpio`)"
    )]
    NoGpio,
}

/// One relay on one output pin.
pub struct Relay<P> {
    pin: P,
    line: u32,
    active_low: bool,
}

impl<P: OutputPin> Relay<P> {
    /// A relay on `pin` (GPIO `line`, for error messages); it is opened (released) at once.
    pub fn new(pin: P, line: u32, active_low: bool) -> Result<Self, RelayError> {
        let mut relay = Self {
            pin,
            line,
            active_low,
        };
        relay.set(false)?;
        Ok(relay)
    }

    fn set(&mut self, closed: bool) -> Result<(), RelayError> {
        let r = if closed != self.active_low {
            self.pin.set_high()
        } else {
            self.pin.set_low()
        };
        r.map_err(|e| RelayError::Pin {
            line: self.line,
            detail: format!("{:?}", e.kind()),
        })
    }

    /// Closes the relay for `pulse`, then opens it again (also when the wait is cancelled
    /// half-way, the next pulse starts from open).
    pub async fn pulse(&mut self, pulse: Duration) -> Result<(), RelayError> {
        self.set(true)?;
        tokio::time::sleep(pulse).await;
        self.set(false)
    }

    /// The pin, for inspection in tests.
    pub fn pin(&self) -> &P {
        &self.pin
    }
}

/// The relays an agent can drive, by GPIO line.
pub trait RelayBank: Send {
    /// Pulses the relay `spec` names.
    fn pulse(&mut self, spec: &RelaySpec) -> impl Future<Output = Result<(), RelayError>> + Send;
}

/// For builds and buses without relays: every pulse fails with [`RelayError::NoGpio`].
pub struct NoRelays;

impl RelayBank for NoRelays {
    async fn pulse(&mut self, _spec: &RelaySpec) -> Result<(), RelayError> {
        Err(RelayError::NoGpio)
    }
}

/// Relays on output pins, keyed by GPIO line.
pub struct PinRelays<P> {
    relays: BTreeMap<u32, Relay<P>>,
}

impl<P: OutputPin + Send> PinRelays<P> {
    pub fn new(relays: impl IntoIterator<Item = Relay<P>>) -> Self {
        Self {
            relays: relays.into_iter().map(|r| (r.line, r)).collect(),
        }
    }

    pub fn get(&self, line: u32) -> Option<&Relay<P>> {
        self.relays.get(&line)
    }
}

impl<P: OutputPin + Send> RelayBank for PinRelays<P> {
    async fn pulse(&mut self, spec: &RelaySpec) -> Result<(), RelayError> {
        let relay = self
            .relays
            .get_mut(&spec.line)
            .ok_or(RelayError::NoSuchLine { line: spec.line })?;
        relay.pulse(Duration::from_millis(spec.pulse_ms)).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use embedded_hal::digital::{ErrorKind, ErrorType};
    use tokio::time::Instant;

    /// A pin that records every level it is driven to, with the (virtual) time.
    #[derive(Default)]
    pub struct RecordingPin {
        pub levels: Vec<(bool, Instant)>,
        pub broken: bool,
    }

    impl ErrorType for RecordingPin {
        type Error = ErrorKind;
    }

    impl OutputPin for RecordingPin {
        fn set_low(&mut self) -> Result<(), ErrorKind> {
            self.record(false)
        }
        fn set_high(&mut self) -> Result<(), ErrorKind> {
            self.record(true)
        }
    }

    impl RecordingPin {
        fn record(&mut self, high: bool) -> Result<(), ErrorKind> {
            if self.broken {
                return Err(ErrorKind::Other);
            }
            self.levels.push((high, Instant::now()));
            Ok(())
        }
        fn highs(&self) -> Vec<bool> {
            self.levels.iter().map(|l| l.0).collect()
        }
    }

    fn spec(line: u32, pulse_ms: u64) -> RelaySpec {
        RelaySpec {
            chip: "/dev/gpiochip0".into(),
            line,
            pulse_ms,
            active_low: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pulse_closes_the_relay_for_its_duration() {
        let relay = Relay::new(RecordingPin::default(), 17, false).unwrap();
        let mut bank = PinRelays::new([relay]);
        bank.pulse(&spec(17, 300)).await.unwrap();
        let pin = bank.get(17).unwrap().pin();
        assert_eq!(pin.highs(), [false, true, false]);
        assert_eq!(
            pin.levels[2].1 - pin.levels[1].1,
            Duration::from_millis(300)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn active_low_relays_invert_the_line() {
        let mut relay = Relay::new(RecordingPin::default(), 4, true).unwrap();
        relay.pulse(Duration::from_millis(50)).await.unwrap();
        assert_eq!(relay.pin().highs(), [true, false, true]);
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_lines_and_broken_pins_are_reported() {
        let mut bank = PinRelays::new([Relay::new(RecordingPin::default(), 1, false).unwrap()]);
        let err = bank.pulse(&spec(2, 10)).await.unwrap_err();
        assert!(matches!(err, RelayError::NoSuchLine { line: 2 }), "{err}");
        let broken = RecordingPin {
            broken: true,
            ..Default::default()
        };
        let err = Relay::new(broken, 9, false).err().unwrap();
        assert!(err.to_string().contains("GPIO line 9"), "{err}");
        assert!(matches!(
            NoRelays.pulse(&spec(1, 1)).await,
            Err(RelayError::NoGpio)
        ));
    }
}
