//! One connection to an ELM327: write a command, read its reply up to the `>` prompt (framing
//! and clean-up by `pitlane_shared::wire::elm327`), skipping stray prompts.

use std::time::Duration;

use pitlane_shared::wire::elm327::{Decoder, reply_lines};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::ElmError;

/// A byte stream to an adapter: a serial port, a pty or a TCP connection.
pub trait ElmStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ElmStream for T {}

/// An open connection, with the bytes read so far.
pub struct ElmConn {
    stream: Box<dyn ElmStream>,
    decoder: Decoder,
    /// Bytes written and read, for the line-time estimate.
    pub(crate) bytes_out: usize,
    pub(crate) bytes_in: usize,
}

impl ElmConn {
    pub fn new(stream: Box<dyn ElmStream>) -> Self {
        Self {
            stream,
            decoder: Decoder::default(),
            bytes_out: 0,
            bytes_in: 0,
        }
    }

    /// Sends `cmd` and returns its reply (the bytes before the prompt), waiting at most
    /// `timeout` for it. A reply with no content (a stray prompt from an earlier command or a
    /// clone's power-up) is skipped: the real one is still to come.
    pub async fn exchange(&mut self, cmd: &str, timeout: Duration) -> Result<Vec<u8>, ElmError> {
        let line = format!("{cmd}\r");
        let io = |source| ElmError::Io {
            request: cmd.to_owned(),
            source,
        };
        self.stream.write_all(line.as_bytes()).await.map_err(io)?;
        self.stream.flush().await.map_err(io)?;
        self.bytes_out += line.len();
        let deadline = Instant::now() + timeout;
        loop {
            let reply = tokio::time::timeout_at(deadline, self.next_reply(cmd))
                .await
                .map_err(|_| ElmError::Timeout {
                    request: cmd.to_owned(),
                    timeout,
                })??;
            if !matches!(reply_lines(cmd, &reply), Ok(lines) if lines.is_empty()) {
                return Ok(reply);
            }
        }
    }

    /// Sends `cmd` and returns the clean lines of its reply (AT commands).
    pub async fn lines(&mut self, cmd: &str, timeout: Duration) -> Result<Vec<String>, ElmError> {
        let reply = self.exchange(cmd, timeout).await?;
        reply_lines(cmd, &reply).map_err(|source| ElmError::Reply {
            request: cmd.to_owned(),
            source,
        })
    }

    async fn next_reply(&mut self, cmd: &str) -> Result<Vec<u8>, ElmError> {
        loop {
            if let Some(reply) = self.decoder.next_reply() {
                return reply.map_err(|source| ElmError::Reply {
                    request: cmd.to_owned(),
                    source,
                });
            }
            let mut chunk = [0u8; 1024];
            // Cancel-safe: bytes reach the decoder only after a completed read.
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|source| ElmError::Io {
                    request: cmd.to_owned(),
                    source,
                })?;
            if n == 0 {
                return Err(ElmError::Gone {
                    request: cmd.to_owned(),
                    detail: "end of stream".into(),
                });
            }
            self.bytes_in += n;
            self.decoder.push(&chunk[..n]);
        }
    }

    /// Forgets buffered input (after a reset, whose banner may arrive in pieces).
    pub fn discard_buffered(&mut self) {
        self.decoder.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stray_prompts_are_skipped_and_the_answer_returned() {
        let (host, mut dev) = tokio::io::duplex(256);
        let mut conn = ElmConn::new(Box::new(host));
        dev.write_all(b">\r>ATE0\rOK\r\r>").await.unwrap();
        let lines = conn.lines("ATE0", Duration::from_secs(5)).await.unwrap();
        assert_eq!(lines, ["OK"]);
    }

    #[tokio::test]
    async fn adapter_errors_are_typed() {
        let (host, mut dev) = tokio::io::duplex(256);
        let mut conn = ElmConn::new(Box::new(host));
        dev.write_all(b"CAN ERROR\r\r>").await.unwrap();
        let err = conn
            .lines("0100", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(err.adapter_error().is_some(), "{err}");
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
        assert!(err.is_disconnect(), "{err}");
    }
}
