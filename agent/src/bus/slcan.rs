//! The SLCAN (Lawicel) backend: CANable, USBtin and CANtact adapters on a serial port (or the
//! simulator's pty). The codec is `pitlane_shared::wire::slcan`; this file only does I/O.

use std::collections::VecDeque;
use std::time::Duration;

use pitlane_shared::can::CanFrame;
use pitlane_shared::wire::slcan::{Bitrate, Command, Decoder, Response, SlcanError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::{BusError, CanBus, SETUP_TIMEOUT};

const TRANSPORT: &str = "SLCAN";

/// An open SLCAN channel on a byte stream.
pub struct SlcanBus<S> {
    stream: S,
    decoder: Decoder,
    /// Frames that arrived while waiting for a command's answer.
    queued: VecDeque<CanFrame>,
    /// Transmit commands whose `z`/`Z`/BEL answer has not arrived yet.
    unacked: usize,
    /// Lines that were not valid SLCAN (line noise, a confused adapter); skipped and counted.
    malformed: u64,
    last_malformed: Option<SlcanError>,
    /// Bytes written and read, for the line-time estimate.
    bytes: (usize, usize),
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> SlcanBus<S> {
    /// Resets the adapter (close, set `bitrate`, open) and returns the open channel.
    pub async fn open(stream: S, bitrate: u32) -> Result<Self, BusError> {
        let rate = Bitrate::from_bps(bitrate).ok_or_else(|| BusError::Refused {
            transport: TRANSPORT,
            request: format!("bit rate {bitrate}"),
            answer: "no S0-S8 code for it".into(),
        })?;
        let mut bus = Self {
            stream,
            decoder: Decoder::default(),
            queued: VecDeque::new(),
            unacked: 0,
            malformed: 0,
            last_malformed: None,
            bytes: (0, 0),
        };
        // Empty lines flush whatever half-command a previous user left in the adapter.
        bus.write(b"\r\r\r").await?;
        // Closing an already closed channel is answered with BEL: that is fine.
        let _ = bus.command(Command::Close).await;
        bus.command(Command::SetBitrate(rate)).await?;
        bus.command(Command::Open).await?;
        Ok(bus)
    }

    /// How many malformed lines were skipped so far, and the last one.
    pub fn malformed(&self) -> (u64, Option<&SlcanError>) {
        (self.malformed, self.last_malformed.as_ref())
    }

    /// Bytes written to and read from the adapter so far.
    pub fn bytes(&self) -> (usize, usize) {
        self.bytes
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), BusError> {
        self.bytes.0 += bytes.len();
        self.stream
            .write_all(bytes)
            .await
            .map_err(BusError::io(TRANSPORT))?;
        self.stream.flush().await.map_err(BusError::io(TRANSPORT))
    }

    /// Sends a setup command and waits for its `\r` (or BEL).
    async fn command(&mut self, cmd: Command) -> Result<(), BusError> {
        let request = String::from_utf8_lossy(&cmd.to_bytes())
            .trim_end()
            .to_owned();
        self.write(&cmd.to_bytes()).await?;
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.next_response()).await;
            match next {
                Err(_) => {
                    return Err(BusError::Timeout {
                        transport: TRANSPORT,
                        request,
                        timeout: SETUP_TIMEOUT,
                    });
                }
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Response::Ok)) => return Ok(()),
                Ok(Ok(Response::Error)) => {
                    return Err(BusError::Refused {
                        transport: TRANSPORT,
                        request,
                        answer: "BEL".into(),
                    });
                }
                Ok(Ok(Response::Frame { frame, .. })) => self.queued.push_back(frame),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The next well-formed message from the adapter; malformed ones are skipped and counted.
    async fn next_response(&mut self) -> Result<Response, BusError> {
        loop {
            match self.decoder.next_response() {
                Some(Ok(r)) => return Ok(r),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "skipping malformed SLCAN input");
                    self.malformed += 1;
                    self.last_malformed = Some(e);
                    continue;
                }
                None => {}
            }
            let mut chunk = [0u8; 256];
            // Cancel-safe: bytes are pushed into the decoder only after a completed read.
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(BusError::io(TRANSPORT))?;
            if n == 0 {
                return Err(BusError::Closed {
                    transport: TRANSPORT,
                });
            }
            self.bytes.1 += n;
            self.decoder.push(&chunk[..n]);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> CanBus for SlcanBus<S> {
    async fn send(&mut self, frame: &CanFrame) -> Result<(), BusError> {
        // Acknowledgements are not awaited here (that would halve throughput on a slow line);
        // `recv` matches them up and reports a refused transmit.
        self.write(&Command::Transmit(*frame).to_bytes()).await?;
        self.unacked += 1;
        Ok(())
    }

    async fn recv(&mut self) -> Result<CanFrame, BusError> {
        if let Some(frame) = self.queued.pop_front() {
            return Ok(frame);
        }
        loop {
            match self.next_response().await? {
                Response::Frame { frame, .. } => return Ok(frame),
                Response::Transmitted { .. } => self.unacked = self.unacked.saturating_sub(1),
                Response::Error if self.unacked > 0 => {
                    self.unacked -= 1;
                    return Err(BusError::Refused {
                        transport: TRANSPORT,
                        request: "transmit".into(),
                        answer: "BEL (transmit buffer full or bus off)".into(),
                    });
                }
                _ => {}
            }
        }
    }
}

/// How long an SLCAN exchange of `bytes` takes on a serial line at `baud` (8N1: 10 bits a byte).
pub fn line_time(bytes: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(baud))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitlane_shared::can::CanId;
    use tokio::io::{AsyncBufReadExt, BufReader, DuplexStream};

    /// A scripted adapter: answers each host line from `answers`, in order.
    async fn adapter(stream: DuplexStream, answers: Vec<(&'static str, &'static [u8])>) {
        let (rd, mut wr) = tokio::io::split(stream);
        let mut lines = BufReader::new(rd).split(b'\r');
        let mut answers = answers.into_iter();
        while let Ok(Some(line)) = lines.next_segment().await {
            if line.is_empty() {
                continue;
            }
            let Some((want, answer)) = answers.next() else {
                return;
            };
            assert_eq!(String::from_utf8_lossy(&line), want);
            wr.write_all(answer).await.unwrap();
        }
    }

    #[tokio::test]
    async fn opens_sends_and_receives() {
        let (host, dev) = tokio::io::duplex(1024);
        let task = tokio::spawn(adapter(
            dev,
            vec![
                ("C", b"\x07"),
                ("S6", b"\r"),
                ("O", b"\r"),
                (
                    "t7DF80201000000000000",
                    b"z\r!!garbage\rt7E8806410098180013AA\r",
                ),
                ("t7DF80201000000000000", b"\x07"),
            ],
        ));
        let mut bus = SlcanBus::open(host, 500_000).await.unwrap();
        let req = CanFrame::new(CanId::Standard(0x7DF), &[2, 1, 0, 0, 0, 0, 0, 0]).unwrap();
        bus.send(&req).await.unwrap();
        let got = bus.recv().await.unwrap();
        assert_eq!(got.to_string(), "7E8#06410098180013AA");
        assert_eq!(bus.malformed().0, 1);
        bus.send(&req).await.unwrap();
        let err = bus.recv().await.unwrap_err();
        assert!(matches!(err, BusError::Refused { .. }), "{err}");
        drop(bus);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_adapter_times_out_during_setup() {
        let (host, _dev) = tokio::io::duplex(1024);
        let err = SlcanBus::open(host, 500_000).await.err().unwrap();
        assert!(matches!(err, BusError::Timeout { .. }), "{err}");
    }

    #[tokio::test]
    async fn unsupported_bitrates_and_vanished_adapters_are_errors() {
        let (host, dev) = tokio::io::duplex(1024);
        assert!(SlcanBus::open(host, 33_333).await.is_err());
        drop(dev);
        let (host, dev) = tokio::io::duplex(1024);
        drop(dev);
        let err = SlcanBus::open(host, 500_000).await.err().unwrap();
        assert!(
            matches!(err, BusError::Io { .. } | BusError::Closed { .. }),
            "{err}"
        );
    }

    #[test]
    fn line_time_counts_ten_bits_a_byte() {
        assert_eq!(line_time(11_520, 115_200), Duration::from_secs(1));
    }
}
