//! Bus specifications (`--bus`, config `bus =`) as DESIGN.md defines them, parsed once into a
//! typed [`BusSpec`] with an error that names what is wrong with a bad one.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// Default serial speed of SLCAN adapters (CANable, USBtin, CANtact).
pub const DEFAULT_SLCAN_BAUD: u32 = 115_200;
/// Default CAN bit rate, the one every OBD-II CAN car uses.
pub const DEFAULT_BITRATE: u32 = 500_000;
/// Default serial speed of ELM327 adapters.
pub const DEFAULT_ELM327_BAUD: u32 = 38_400;
/// The TCP port socketcand listens on by default.
pub const DEFAULT_SOCKETCAND_PORT: u16 = 29536;
/// The TCP port most Wi-Fi ELM327 adapters listen on.
pub const DEFAULT_ELM327_TCP_PORT: u16 = 35000;

/// A parsed bus specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusSpec {
    /// `socketcan://can0`
    SocketCan { interface: String },
    /// `slcan:///dev/ttyACM0?baud=115200&bitrate=500000`
    Slcan {
        path: String,
        baud: u32,
        bitrate: u32,
    },
    /// `elm327:///dev/ttyUSB0?baud=38400`
    Elm327Serial { path: String, baud: u32 },
    /// `elm327+tcp://192.168.0.10:35000`
    Elm327Tcp { host: String, port: u16 },
    /// `socketcand://host:29536/can0`
    Socketcand {
        host: String,
        port: u16,
        channel: String,
    },
    /// `sim://` (optionally `sim:///path/to/scenario.toml`)
    Sim { scenario: Option<String> },
}

/// Why a bus specification was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error(
        "bus spec `{spec}` is not a URL ({reason}); expected e.g. `slcan:///dev/ttyACM0` or `sim://`"
    )]
    NotUrl { spec: String, reason: String },
    #[error(
        "bus spec `{spec}`: unknown scheme `{scheme}`; expected socketcan, slcan, elm327, elm327+tcp, socketcand or sim"
    )]
    UnknownScheme { spec: String, scheme: String },
    #[error("bus spec `{spec}`: {what} is missing")]
    Missing { spec: String, what: &'static str },
    #[error("bus spec `{spec}`: `{key}={value}` is not a valid {what}")]
    BadValue {
        spec: String,
        key: String,
        value: String,
        what: &'static str,
    },
    #[error("bus spec `{spec}`: unknown option `{key}` (allowed: {allowed})")]
    UnknownOption {
        spec: String,
        key: String,
        allowed: &'static str,
    },
}

/// The bit rates SLCAN's `S0`–`S8` commands can select.
pub const SLCAN_BITRATES: [u32; 9] = [
    10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000,
];

impl FromStr for BusSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let url = Url::parse(spec).map_err(|e| SpecError::NotUrl {
            spec: spec.to_owned(),
            reason: e.to_string(),
        })?;
        let p = Parts { spec, url: &url };
        match url.scheme() {
            "socketcan" => {
                p.options(&[], "none")?;
                let interface = p.host_or_path("interface name (socketcan://can0)")?;
                Ok(Self::SocketCan { interface })
            }
            "slcan" => {
                p.options(&["baud", "bitrate"], "baud, bitrate")?;
                let bitrate = p.number("bitrate", DEFAULT_BITRATE)?;
                if !SLCAN_BITRATES.contains(&bitrate) {
                    return Err(p.bad("bitrate", bitrate.to_string(), "SLCAN bit rate (S0-S8)"));
                }
                Ok(Self::Slcan {
                    path: p.path("serial device path (slcan:///dev/ttyACM0)")?,
                    baud: p.number("baud", DEFAULT_SLCAN_BAUD)?,
                    bitrate,
                })
            }
            "elm327" => {
                p.options(&["baud"], "baud")?;
                Ok(Self::Elm327Serial {
                    path: p.path("serial device path (elm327:///dev/ttyUSB0)")?,
                    baud: p.number("baud", DEFAULT_ELM327_BAUD)?,
                })
            }
            "elm327+tcp" => {
                p.options(&[], "none")?;
                Ok(Self::Elm327Tcp {
                    host: p.host("adapter host (elm327+tcp://192.168.0.10:35000)")?,
                    port: url.port().unwrap_or(DEFAULT_ELM327_TCP_PORT),
                })
            }
            "socketcand" => {
                p.options(&[], "none")?;
                let channel = url.path().trim_matches('/').to_owned();
                if channel.is_empty() {
                    return Err(p.missing("CAN channel (socketcand://host:29536/can0)"));
                }
                Ok(Self::Socketcand {
                    host: p.host("daemon host (socketcand://host:29536/can0)")?,
                    port: url.port().unwrap_or(DEFAULT_SOCKETCAND_PORT),
                    channel,
                })
            }
            "sim" => {
                p.options(&[], "none")?;
                let scenario = match url.path() {
                    "" | "/" => None,
                    path => Some(path.to_owned()),
                };
                Ok(Self::Sim { scenario })
            }
            other => Err(SpecError::UnknownScheme {
                spec: spec.to_owned(),
                scheme: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for BusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SocketCan { interface } => write!(f, "socketcan://{interface}"),
            Self::Slcan {
                path,
                baud,
                bitrate,
            } => write!(f, "slcan://{path}?baud={baud}&bitrate={bitrate}"),
            Self::Elm327Serial { path, baud } => write!(f, "elm327://{path}?baud={baud}"),
            Self::Elm327Tcp { host, port } => write!(f, "elm327+tcp://{host}:{port}"),
            Self::Socketcand {
                host,
                port,
                channel,
            } => write!(f, "socketcand://{host}:{port}/{channel}"),
            Self::Sim { scenario: None } => write!(f, "sim://"),
            Self::Sim {
                scenario: Some(path),
            } => write!(f, "sim://{path}"),
        }
    }
}

impl BusSpec {
    /// Whether this spec names a raw CAN bus (as opposed to an ELM327, which speaks OBD-II).
    pub fn is_raw_can(&self) -> bool {
        !matches!(self, Self::Elm327Serial { .. } | Self::Elm327Tcp { .. })
    }
}

/// The pieces of a URL, with errors that quote the whole spec.
struct Parts<'a> {
    spec: &'a str,
    url: &'a Url,
}

impl Parts<'_> {
    fn missing(&self, what: &'static str) -> SpecError {
        SpecError::Missing {
            spec: self.spec.to_owned(),
            what,
        }
    }

    fn bad(&self, key: &str, value: String, what: &'static str) -> SpecError {
        SpecError::BadValue {
            spec: self.spec.to_owned(),
            key: key.to_owned(),
            value,
            what,
        }
    }

    fn options(&self, allowed: &[&str], list: &'static str) -> Result<(), SpecError> {
        match self
            .url
            .query_pairs()
            .find(|(k, _)| !allowed.contains(&k.as_ref()))
        {
            Some((key, _)) => Err(SpecError::UnknownOption {
                spec: self.spec.to_owned(),
                key: key.into_owned(),
                allowed: list,
            }),
            None => Ok(()),
        }
    }

    fn number(&self, key: &str, default: u32) -> Result<u32, SpecError> {
        match self.url.query_pairs().find(|(k, _)| k == key) {
            None => Ok(default),
            Some((_, v)) => match v.parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(self.bad(key, v.into_owned(), "positive number")),
            },
        }
    }

    fn host(&self, what: &'static str) -> Result<String, SpecError> {
        match self.url.host_str() {
            Some(h) if !h.is_empty() => Ok(h.trim_matches(['[', ']']).to_owned()),
            _ => Err(self.missing(what)),
        }
    }

    fn path(&self, what: &'static str) -> Result<String, SpecError> {
        if self.url.host_str().is_some_and(|h| !h.is_empty()) {
            // `slcan://dev/ttyACM0` (two slashes) would silently drop `dev`: refuse it.
            return Err(self.missing(what));
        }
        match self.url.path() {
            "" | "/" => Err(self.missing(what)),
            p => Ok(p.to_owned()),
        }
    }

    fn host_or_path(&self, what: &'static str) -> Result<String, SpecError> {
        match self.url.host_str() {
            Some(h) if !h.is_empty() => Ok(h.to_owned()),
            _ => match self.url.path().trim_matches('/') {
                "" => Err(self.missing(what)),
                p => Ok(p.to_owned()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: &str, expected: Result<BusSpec, &str>) {
        let got = spec.parse::<BusSpec>();
        match (got, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{spec}"),
            (Err(e), Err(fragment)) => {
                let msg = e.to_string();
                assert!(msg.contains(fragment), "{spec}: `{msg}` lacks `{fragment}`");
            }
            (got, want) => panic!("{spec}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn design_md_specs_parse() {
        check(
            "socketcan://can0",
            Ok(BusSpec::SocketCan {
                interface: "can0".into(),
            }),
        );
        check(
            "slcan:///dev/ttyACM0?baud=115200&bitrate=500000",
            Ok(BusSpec::Slcan {
                path: "/dev/ttyACM0".into(),
                baud: 115_200,
                bitrate: 500_000,
            }),
        );
        check(
            "slcan:///dev/pts/7",
            Ok(BusSpec::Slcan {
                path: "/dev/pts/7".into(),
                baud: DEFAULT_SLCAN_BAUD,
                bitrate: DEFAULT_BITRATE,
            }),
        );
        check(
            "elm327:///dev/ttyUSB0?baud=38400",
            Ok(BusSpec::Elm327Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 38_400,
            }),
        );
        check(
            "elm327+tcp://192.168.0.10:35000",
            Ok(BusSpec::Elm327Tcp {
                host: "192.168.0.10".into(),
                port: 35000,
            }),
        );
        check(
            "elm327+tcp://adapter.local",
            Ok(BusSpec::Elm327Tcp {
                host: "adapter.local".into(),
                port: DEFAULT_ELM327_TCP_PORT,
            }),
        );
        check(
            "socketcand://host:29536/can0",
            Ok(BusSpec::Socketcand {
                host: "host".into(),
                port: 29536,
                channel: "can0".into(),
            }),
        );
        check("sim://", Ok(BusSpec::Sim { scenario: None }));
        check(
            "sim:///tmp/car.toml",
            Ok(BusSpec::Sim {
                scenario: Some("/tmp/car.toml".into()),
            }),
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        check("/dev/ttyACM0", Err("is not a URL"));
        check("can://can0", Err("unknown scheme `can`"));
        check("socketcan://", Err("interface name"));
        check("slcan://", Err("serial device path"));
        check("slcan://dev/ttyACM0", Err("serial device path"));
        check(
            "slcan:///dev/x?baud=fast",
            Err("`baud=fast` is not a valid"),
        );
        check("slcan:///dev/x?baud=0", Err("`baud=0`"));
        check("slcan:///dev/x?bitrate=33333", Err("SLCAN bit rate"));
        check("slcan:///dev/x?speed=1", Err("unknown option `speed`"));
        check("elm327+tcp://:35000", Err("not a URL"));
        check("socketcand://host:29536", Err("CAN channel"));
        check("socketcand://host:99999/can0", Err("not a URL"));
    }

    #[test]
    fn specs_round_trip_through_display() {
        for s in [
            "socketcan://vcan0",
            "slcan:///dev/ttyACM0?baud=115200&bitrate=250000",
            "elm327:///dev/ttyUSB0?baud=38400",
            "elm327+tcp://10.0.0.1:35000",
            "socketcand://127.0.0.1:29536/can0",
            "sim://",
        ] {
            let spec: BusSpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
            assert_eq!(spec.to_string().parse::<BusSpec>().unwrap(), spec);
        }
    }
}
