//! Splitting one ELM327 reply into clean lines: echo, `SEARCHING...`, blank lines and NULs
//! removed, error replies turned into [`AdapterError`]s.

use super::{AdapterError, Elm327Error};

/// A command as the adapter would echo it: no spaces, upper case.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether `line` is the adapter echoing `command`, possibly with the response-count digit
/// the caller left out of `command`.
fn is_echo(line: &str, command: &str) -> bool {
    !command.is_empty()
        && line.strip_prefix(command).is_some_and(|rest| {
            rest.is_empty() || (rest.len() == 1 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
        })
}

/// The meaningful lines of `reply` (the bytes before the `>` prompt) to `command`.
pub fn reply_lines(command: &str, reply: &[u8]) -> Result<Vec<String>, Elm327Error> {
    let text: String = String::from_utf8_lossy(reply)
        .chars()
        .filter(|c| *c == '\r' || *c == '\n' || !c.is_control())
        .filter(|c| *c != '>')
        .collect();
    let echo = squash(command);
    let mut lines = Vec::new();
    for (i, raw) in text.split(['\r', '\n']).enumerate() {
        let line = raw.trim().to_ascii_uppercase();
        let squashed = squash(&line);
        if line.is_empty() || (i == 0 && is_echo(&squashed, &echo)) {
            continue;
        }
        let without_dots: String = squashed.chars().filter(|c| *c != '.').collect();
        if without_dots == "SEARCHING"
            || without_dots == "BUSINIT:OK"
            || without_dots == "BUSINITOK"
        {
            continue;
        }
        if let Some(error) = AdapterError::from_line(&line) {
            return Err(Elm327Error::Adapter {
                command: command.to_owned(),
                error,
            });
        }
        lines.push(line);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(command: &str, reply: &str, expected: Result<&[&str], AdapterError>) {
        let got = reply_lines(command, reply.as_bytes());
        match expected {
            Ok(lines) => assert_eq!(
                got,
                Ok(lines.iter().map(|l| l.to_string()).collect()),
                "{reply:?}"
            ),
            Err(error) => assert_eq!(
                got,
                Err(Elm327Error::Adapter {
                    command: command.into(),
                    error
                }),
                "{reply:?}"
            ),
        }
    }

    #[test]
    fn cleans_replies() {
        check("ATZ", "ATZ\r\r\rELM327 v1.5\r\r>", Ok(&["ELM327 V1.5"]));
        check("ATE0", "ATE0\rOK\r\r>", Ok(&["OK"]));
        check("ATL0", "OK\r\n\r\n>", Ok(&["OK"]));
        check(
            "0100",
            "0100\rSEARCHING...\r41 00 BE 3F A8 13 \r\r>",
            Ok(&["41 00 BE 3F A8 13"]),
        );
        check(
            "0100",
            "SEARCHING\r41 00 BE 3F A8 13\r>",
            Ok(&["41 00 BE 3F A8 13"]),
        );
        check(
            "01 00",
            "0100\r41 00 BE 3F A8 13\r>",
            Ok(&["41 00 BE 3F A8 13"]),
        );
        check("0902", "09021\r49 02 01\r>", Ok(&["49 02 01"]));
        check("0902", "090212\r>", Ok(&["090212"]));
        check(
            "0100",
            "\x00\x0041 00 BE 3F A8 13\r>",
            Ok(&["41 00 BE 3F A8 13"]),
        );
        check(
            "0100",
            "BUS INIT: ...OK\r41 00 BE 3F A8 13\r>",
            Ok(&["41 00 BE 3F A8 13"]),
        );
        check("ATDPN", "A6\r>", Ok(&["A6"]));
        check("0100", ">", Ok(&[]));
        // An echo is only dropped as the first line.
        check("0100", "41 00\r0100\r>", Ok(&["41 00", "0100"]));
    }

    #[test]
    fn every_error_string_is_typed() {
        let cases = [
            ("NO DATA", AdapterError::NoData),
            ("UNABLE TO CONNECT", AdapterError::UnableToConnect),
            ("CAN ERROR", AdapterError::CanError),
            ("BUFFER FULL", AdapterError::BufferFull),
            ("STOPPED", AdapterError::Stopped),
            ("BUS INIT: ERROR", AdapterError::BusInit),
            ("BUS INIT: ...ERROR", AdapterError::BusInit),
            ("BUS INIT:...ERROR", AdapterError::BusInit),
            ("BUS BUSY", AdapterError::BusBusy),
            ("BUS ERROR", AdapterError::BusError),
            ("<DATA ERROR", AdapterError::DataError),
            ("DATA ERROR", AdapterError::DataError),
            ("FB ERROR", AdapterError::FeedbackError),
            ("<RX ERROR", AdapterError::RxError),
            ("LV RESET", AdapterError::LowVoltageReset),
            ("ACT ALERT", AdapterError::ActivityAlert),
            ("ERR94", AdapterError::Internal("94".into())),
            ("?", AdapterError::UnknownCommand),
            ("no data", AdapterError::NoData),
        ];
        for (line, error) in cases {
            check("0902", &format!("0902\r{line}\r\r>"), Err(error.clone()));
            check("0902", &format!("SEARCHING...\r{line}\r>"), Err(error));
        }
        // Data from one ECU followed by an error still fails: the answer is incomplete.
        check(
            "0100",
            "41 00 BE 3F A8 13\rBUFFER FULL\r>",
            Err(AdapterError::BufferFull),
        );
    }
}
