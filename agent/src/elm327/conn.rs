//! One connection to an ELM327: write a command, read its answer up to the `>` prompt, and
//! clean it of what real adapters add (echo, stray prompts, `SEARCHING...`, NULs, line noise).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::ElmError;
use crate::bus::LineError;
use crate::bus::line::{RecordReader, until_any};

/// A byte stream to an adapter: a serial port, a pty or a TCP connection.
pub trait ElmStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ElmStream for T {}

/// Longest answer accepted before the prompt: a 4095-byte ISO-TP message printed with headers
/// and spaces is about 15 KiB; anything longer is a runaway line.
const MAX_ANSWER: usize = 32 * 1024;

/// An open connection, with the bytes read so far.
pub struct ElmConn {
    reader: RecordReader<Box<dyn ElmStream>>,
    /// Bytes written and read, for the line-time estimate.
    pub(crate) bytes_out: usize,
    pub(crate) bytes_in: usize,
}

impl ElmConn {
    pub fn new(stream: Box<dyn ElmStream>) -> Self {
        Self {
            reader: RecordReader::new(stream, MAX_ANSWER, "ELM327"),
            bytes_out: 0,
            bytes_in: 0,
        }
    }

    /// Sends `cmd` and returns the lines of its answer (without echo, prompt and
    /// `SEARCHING...`), waiting at most `timeout` for the prompt.
    pub async fn exchange(
        &mut self,
        cmd: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, ElmError> {
        let stream = self.reader.get_mut();
        let line = format!("{cmd}\r");
        let io = |source| ElmError::Io {
            request: cmd.to_owned(),
            source,
        };
        stream.write_all(line.as_bytes()).await.map_err(io)?;
        stream.flush().await.map_err(io)?;
        self.bytes_out += line.len();
        let deadline = Instant::now() + timeout;
        loop {
            let record =
                tokio::time::timeout_at(deadline, self.reader.next_record(until_any(b">")))
                    .await
                    .map_err(|_| ElmError::Timeout {
                        request: cmd.to_owned(),
                        timeout,
                    })?
                    .map_err(|e| match e {
                        LineError::Closed { .. } => ElmError::Gone {
                            request: cmd.to_owned(),
                            detail: "end of stream".into(),
                        },
                        LineError::Io { source, .. } => ElmError::Io {
                            request: cmd.to_owned(),
                            source,
                        },
                        e @ LineError::TooLong { .. } => ElmError::Garbled {
                            request: cmd.to_owned(),
                            detail: e.to_string(),
                        },
                    })?;
            self.bytes_in += record.len();
            let lines = clean(&record, cmd);
            // An answer with nothing in it is a stray prompt (from an earlier command or a
            // clone's power-up banner): the real answer is still to come.
            if !lines.is_empty() {
                return Ok(lines);
            }
        }
    }

    /// Forgets buffered input (after a reset, whose banner may arrive in pieces).
    pub fn discard_buffered(&mut self) {
        self.reader.discard_buffered();
    }
}

/// Splits an answer into trimmed lines and drops what is not part of it.
fn clean(record: &[u8], cmd: &str) -> Vec<String> {
    let text: String = record
        .iter()
        .filter(|b| b.is_ascii_graphic() || **b == b' ' || **b == b'\r' || **b == b'\n')
        .map(|&b| char::from(b))
        .collect();
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let echo = squash(cmd);
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != ">")
        .filter(|l| squash(l) != echo)
        .map(|l| l.trim_start_matches("SEARCHING...").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(record: &str, cmd: &str, expected: &[&str]) {
        assert_eq!(clean(record.as_bytes(), cmd), expected, "{record:?}");
    }

    #[test]
    fn answers_are_cleaned_of_echo_prompts_and_searching() {
        check("OK\r\r>", "ATE0", &["OK"]);
        check("ATE0\rOK\r\r>", "ATE0", &["OK"]);
        check("AT E0\r\nOK\r\n>", "ATE0", &["OK"]);
        check(
            "0100\rSEARCHING...\r7E8064100BE3FA813\r\r>",
            "0100",
            &["7E8064100BE3FA813"],
        );
        check("SEARCHING...7E8 06 41 00\r>", "0100", &["7E8 06 41 00"]);
        check("\0\0ELM327 v1.5\r\r>", "ATZ", &["ELM327 v1.5"]);
        check(">", "0100", &[]);
        check("\r\r>", "0100", &[]);
        check("NO DATA\r\r>", "0100", &["NO DATA"]);
        check(
            "7E8 10 14 49 02 01 35 4E 50\r7E8 21 45 42\r>",
            "0902",
            &["7E8 10 14 49 02 01 35 4E 50", "7E8 21 45 42"],
        );
    }

    #[tokio::test]
    async fn stray_prompts_are_skipped_and_the_answer_returned() {
        let (host, mut dev) = tokio::io::duplex(256);
        let mut conn = ElmConn::new(Box::new(host));
        dev.write_all(b">\r>ATE0\rOK\r\r>").await.unwrap();
        let lines = conn.exchange("ATE0", Duration::from_secs(5)).await.unwrap();
        assert_eq!(lines, ["OK"]);
    }

    #[tokio::test(start_paused = true)]
    async fn silence_times_out_and_hang_up_is_gone() {
        let (host, dev) = tokio::io::duplex(256);
        let mut conn = ElmConn::new(Box::new(host));
        let err = conn
            .exchange("0100", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, ElmError::Timeout { .. }), "{err}");
        drop(dev);
        let err = conn
            .exchange("0100", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ElmError::Gone { .. } | ElmError::Io { .. }),
            "{err}"
        );
    }
}
