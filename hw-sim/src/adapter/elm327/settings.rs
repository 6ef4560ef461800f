//! The ELM327's settings and its AT command interpreter (sans-IO): one command line in, the
//! lines to print (or an OBD request to carry out) out.

/// What the ELM327 identifies itself as.
pub const IDENTITY: &str = "ELM327 v1.5";
/// The answer to `AT@1`.
pub const DEVICE_DESCRIPTION: &str = "OBDII to RS232 Interpreter";
/// Default `ATST` value: 0x32 × 4 ms = 200 ms.
const DEFAULT_TIMEOUT_UNITS: u8 = 0x32;

/// An OBD protocol number as `ATSP` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol(pub u8);

impl Protocol {
    /// ISO 15765-4 CAN, 11-bit, 500 kbit/s: the simulated car's bus.
    pub const CAN_11_500: Self = Self(6);
    /// ISO 15765-4 CAN, 29-bit, 500 kbit/s.
    pub const CAN_29_500: Self = Self(7);

    /// The protocol's name as `ATDP` prints it.
    pub fn description(self) -> &'static str {
        match self.0 {
            0 => "AUTO",
            1 => "SAE J1850 PWM",
            2 => "SAE J1850 VPW",
            3 => "ISO 9141-2",
            4 => "ISO 14230-4 (KWP 5BAUD)",
            5 => "ISO 14230-4 (KWP FAST)",
            6 => "ISO 15765-4 (CAN 11/500)",
            7 => "ISO 15765-4 (CAN 29/500)",
            8 => "ISO 15765-4 (CAN 11/250)",
            9 => "ISO 15765-4 (CAN 29/250)",
            10 => "SAE J1939 (CAN 29/250)",
            11 => "USER1 CAN (11* /125)",
            _ => "USER2 CAN (11* /50)",
        }
    }

    /// Whether the protocol uses 29-bit identifiers.
    pub fn extended(self) -> bool {
        matches!(self.0, 7 | 9 | 10)
    }
}

/// The adapter's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub echo: bool,
    pub linefeeds: bool,
    pub spaces: bool,
    pub headers: bool,
    pub dlc: bool,
    /// CAN auto formatting (PCI bytes added and removed, flow control sent).
    pub caf: bool,
    /// `ATSP 0` / `ATSP Ah`: search when the chosen protocol does not answer.
    pub auto: bool,
    /// The protocol chosen or found; `0` while an automatic search is still due.
    pub protocol: Protocol,
    /// `ATSH`: the id requests go to (`None`: functional 7DF / 18DB33F1).
    pub header: Option<u32>,
    /// `ATCP`: bits 28–24 of a 29-bit id.
    pub priority: u8,
    /// `ATCRA`: only frames with this id are shown.
    pub receive_filter: Option<u32>,
    /// `ATST`: the wait for an answer in units of 4 ms.
    pub timeout_units: u8,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            echo: true,
            linefeeds: false,
            spaces: true,
            headers: false,
            dlc: false,
            caf: true,
            auto: true,
            protocol: Protocol(0),
            header: None,
            priority: 0x18,
            receive_filter: None,
            timeout_units: DEFAULT_TIMEOUT_UNITS,
        }
    }
}

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Print these lines.
    Reply(Vec<String>),
    /// Print the battery voltage (`ATRV`).
    Voltage,
    /// Send `data` on the bus and print the answers; stop after `responses` answers.
    Obd {
        data: Vec<u8>,
        responses: Option<u8>,
    },
}

fn ok() -> Action {
    Action::Reply(vec!["OK".into()])
}

fn unknown() -> Action {
    Action::Reply(vec!["?".into()])
}

fn flag(arg: &str) -> Option<bool> {
    match arg {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

fn hex_u32(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

impl Settings {
    /// Interprets one command line (without its `\r`). Spaces and case do not matter.
    pub fn handle(&mut self, line: &str) -> Action {
        let cmd: String = line
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect::<String>()
            .to_ascii_uppercase();
        match cmd.strip_prefix("AT") {
            Some(at) => self.at_command(at),
            None => obd_request(&cmd),
        }
    }

    fn set(&mut self, arg: &str, field: fn(&mut Self) -> &mut bool) -> Action {
        match flag(arg) {
            Some(v) => {
                *field(self) = v;
                ok()
            }
            None => unknown(),
        }
    }

    fn at_command(&mut self, at: &str) -> Action {
        // Longest names first where one is a prefix of another (ATD / ATDP / ATDPN).
        if let Some(arg) = at.strip_prefix("SP").or_else(|| at.strip_prefix("TP")) {
            return self.set_protocol(arg);
        }
        if let Some(arg) = at.strip_prefix("SH") {
            return match hex_u32(arg) {
                Some(h) if matches!(arg.len(), 3 | 6 | 8) => {
                    self.header = Some(h);
                    ok()
                }
                _ => unknown(),
            };
        }
        if let Some(arg) = at.strip_prefix("CRA") {
            if arg.is_empty() {
                self.receive_filter = None;
                return ok();
            }
            return match hex_u32(arg) {
                Some(id) if matches!(arg.len(), 3 | 8) => {
                    self.receive_filter = Some(id);
                    ok()
                }
                _ => unknown(),
            };
        }
        if let Some(arg) = at.strip_prefix("CAF") {
            return self.set(arg, |s| &mut s.caf);
        }
        if let Some(arg) = at.strip_prefix("CP") {
            return match hex_u32(arg) {
                Some(p) if arg.len() == 2 && p <= 0x1F => {
                    // Invariant: p <= 0x1F.
                    self.priority = p as u8;
                    ok()
                }
                _ => unknown(),
            };
        }
        if let Some(arg) = at.strip_prefix("ST") {
            return match hex_u32(arg) {
                Some(t) if arg.len() <= 2 => {
                    // Invariant: at most two hex digits. 0 restores the default.
                    self.timeout_units = if t == 0 {
                        DEFAULT_TIMEOUT_UNITS
                    } else {
                        t as u8
                    };
                    ok()
                }
                _ => unknown(),
            };
        }
        match at {
            "Z" | "WS" => {
                *self = Self::default();
                Action::Reply(vec![String::new(), IDENTITY.into()])
            }
            "D" => {
                *self = Self {
                    echo: self.echo,
                    linefeeds: self.linefeeds,
                    ..Self::default()
                };
                ok()
            }
            "I" => Action::Reply(vec![IDENTITY.into()]),
            "@1" => Action::Reply(vec![DEVICE_DESCRIPTION.into()]),
            "RV" => Action::Voltage,
            "DP" => Action::Reply(vec![self.describe_protocol()]),
            "DPN" => Action::Reply(vec![format!(
                "{}{:X}",
                if self.auto { "A" } else { "" },
                self.protocol.0
            )]),
            "AT0" | "AT1" | "AT2" | "M0" | "M1" | "PC" | "AL" | "NL" | "CFC0" | "CFC1" | "V0"
            | "V1" | "AR" => ok(),
            _ => {
                // The last character is the argument; split on its boundary, not its last
                // byte (the line may hold any UTF-8, and a byte split would panic).
                let cut = at.char_indices().next_back().map_or(0, |(i, _)| i);
                let (name, arg) = at.split_at(cut);
                match name {
                    "E" => self.set(arg, |s| &mut s.echo),
                    "L" => self.set(arg, |s| &mut s.linefeeds),
                    "S" => self.set(arg, |s| &mut s.spaces),
                    "H" => self.set(arg, |s| &mut s.headers),
                    "D" => self.set(arg, |s| &mut s.dlc),
                    _ => unknown(),
                }
            }
        }
    }

    fn set_protocol(&mut self, arg: &str) -> Action {
        let (auto, digit) = match arg.strip_prefix('A') {
            Some(d) => (true, d),
            None => (false, arg),
        };
        let Some(number) = hex_u32(digit).filter(|&n| digit.len() == 1 && n <= 0xC) else {
            return unknown();
        };
        // Invariant: number <= 0xC.
        self.protocol = Protocol(number as u8);
        self.auto = auto || number == 0;
        ok()
    }

    fn describe_protocol(&self) -> String {
        match (self.auto, self.protocol.0) {
            (true, 0) => "AUTO".into(),
            (true, _) => format!("AUTO, {}", self.protocol.description()),
            (false, _) => self.protocol.description().into(),
        }
    }

    /// The line ending in use.
    pub fn eol(&self) -> &'static str {
        if self.linefeeds { "\r\n" } else { "\r" }
    }

    /// The id requests go to under `protocol`.
    pub fn request_id(&self, protocol: Protocol) -> pitlane_shared::can::CanId {
        use pitlane_shared::can::CanId;
        match (protocol.extended(), self.header) {
            (false, None) => CanId::Standard(0x7DF),
            // Invariant: masked to 11 bits.
            (false, Some(h)) => CanId::Standard((h & 0x7FF) as u16),
            (true, None) => CanId::Extended(0x18DB_33F1),
            (true, Some(h)) if h > 0xFF_FFFF => CanId::Extended(h & 0x1FFF_FFFF),
            (true, Some(h)) => CanId::Extended((u32::from(self.priority) << 24) | h),
        }
    }

    /// The answer wait.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.timeout_units) * 4)
    }
}

/// `010C`, `0902`, `010C1` (response count): hex bytes, optionally one more hex digit.
fn obd_request(cmd: &str) -> Action {
    if cmd.is_empty() || cmd.len() > 17 || !cmd.bytes().all(|b| b.is_ascii_hexdigit()) {
        return unknown();
    }
    let (bytes, count) = if cmd.len() % 2 == 1 {
        cmd.split_at(cmd.len() - 1)
    } else {
        (cmd, "")
    };
    let Ok(data) = hex::decode(bytes) else {
        return unknown();
    };
    if data.is_empty() || data.len() > 8 {
        return unknown();
    }
    let responses = u8::from_str_radix(count, 16).ok().filter(|&n| n > 0);
    Action::Obd { data, responses }
}

#[cfg(test)]
mod tests {
    use pitlane_shared::can::CanId;

    use super::*;

    fn reply(lines: &[&str]) -> Action {
        Action::Reply(lines.iter().map(|l| l.to_string()).collect())
    }

    fn check(s: &mut Settings, line: &str, expected: Action) {
        assert_eq!(s.handle(line), expected, "{line:?}");
    }

    #[test]
    fn at_commands() {
        let s = &mut Settings::default();
        check(s, "ATZ", reply(&["", "ELM327 v1.5"]));
        check(s, "ATI", reply(&["ELM327 v1.5"]));
        check(s, "at@1", reply(&["OBDII to RS232 Interpreter"]));
        check(s, "AT E0", ok());
        check(s, "ATL1", ok());
        check(s, "ATS0", ok());
        check(s, "ATH1", ok());
        check(s, "ATE2", unknown());
        // Found by the no-panic proptest: a multi-byte last character.
        check(s, "aT¡", unknown());
        check(s, "ATE¡", unknown());
        check(s, "AT€", unknown());
        assert!(!s.echo && s.linefeeds && !s.spaces && s.headers);
        check(s, "ATDP", reply(&["AUTO"]));
        check(s, "ATDPN", reply(&["A0"]));
        check(s, "ATSP6", ok());
        check(s, "ATDP", reply(&["ISO 15765-4 (CAN 11/500)"]));
        check(s, "ATDPN", reply(&["6"]));
        check(s, "ATSPA7", ok());
        check(s, "ATDPN", reply(&["A7"]));
        check(s, "ATDP", reply(&["AUTO, ISO 15765-4 (CAN 29/500)"]));
        check(s, "ATSPX", unknown());
        check(s, "ATSH7E0", ok());
        assert_eq!(s.request_id(Protocol::CAN_11_500), CanId::Standard(0x7E0));
        check(s, "ATSHDA10F1", ok());
        assert_eq!(
            s.request_id(Protocol::CAN_29_500),
            CanId::Extended(0x18DA_10F1)
        );
        check(s, "ATSH18DA18F1", ok());
        assert_eq!(
            s.request_id(Protocol::CAN_29_500),
            CanId::Extended(0x18DA_18F1)
        );
        check(s, "ATSH7E", unknown());
        check(s, "ATSTFF", ok());
        assert_eq!(s.timeout(), std::time::Duration::from_millis(1020));
        check(s, "ATST0", ok());
        assert_eq!(s.timeout(), std::time::Duration::from_millis(200));
        check(s, "ATCAF0", ok());
        check(s, "ATCRA2F1", ok());
        assert_eq!(s.receive_filter, Some(0x2F1));
        check(s, "ATAT1", ok());
        check(s, "ATRV", Action::Voltage);
        check(s, "ATMA", unknown());
        check(s, "ATD", ok());
        assert!(s.caf && !s.headers && s.header.is_none() && s.linefeeds && !s.echo);
    }

    #[test]
    fn obd_requests() {
        let s = &mut Settings::default();
        let obd = |data: &[u8], responses| Action::Obd {
            data: data.to_vec(),
            responses,
        };
        check(s, "0100", obd(&[0x01, 0x00], None));
        check(s, "01 0C", obd(&[0x01, 0x0C], None));
        check(s, "010C1", obd(&[0x01, 0x0C], Some(1)));
        check(s, "0902A", obd(&[0x09, 0x02], Some(10)));
        check(s, "03", obd(&[0x03], None));
        check(s, "0", unknown());
        check(s, "01G0", unknown());
        check(s, "0100010203040506070", unknown());
        check(s, "HELLO", unknown());
    }
}
