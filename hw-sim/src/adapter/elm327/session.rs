//! One ELM327 session over a byte link (pty or TCP): reads command lines, echoes, answers,
//! prints the `>` prompt, and turns input during a bus exchange into `STOPPED`.

use std::io;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::exchange;
use super::settings::{Action, Settings};
use crate::adapter::{AnswerFate, FaultState, first_half};
use crate::bus::BusPort;
use crate::ecu::live;
use crate::pty::Pty;
use crate::scenario::LiveConfig;

/// Longest command line kept; real adapters have a small buffer too.
const MAX_LINE: usize = 128;

/// A byte link to the tester.
pub(crate) trait Link {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    async fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
}

impl Link for &Pty {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Pty::read(self, buf).await
    }
    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        Pty::write_all(self, data).await
    }
}

impl Link for TcpStream {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        AsyncReadExt::read(self, buf).await
    }
    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(self, data).await
    }
}

/// What the car shows the adapter besides its bus: the battery voltage for `ATRV`.
#[derive(Debug, Clone)]
pub struct CarView {
    pub live: LiveConfig,
    pub start: Instant,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Shutdown, or the tester went away.
    Closed,
    /// The adapter vanished (fault injection).
    Vanished,
}

/// Runs one session until the link closes, `shutdown`, or a vanish fault.
pub(crate) async fn run<L: Link>(
    mut link: L,
    mut port: BusPort,
    car: &CarView,
    faults: &Arc<Mutex<FaultState>>,
    shutdown: &CancellationToken,
) -> End {
    let mut settings = Settings::default();
    let mut line = Vec::new();
    let mut last: Option<String> = None;
    let mut buf = [0u8; 256];
    loop {
        let n = tokio::select! {
            () = shutdown.cancelled() => return End::Closed,
            read = link.read(&mut buf) => match read {
                Ok(0) | Err(_) => return End::Closed,
                Ok(n) => n,
            },
        };
        for &byte in &buf[..n] {
            match byte {
                b'\r' => {}
                b'\n' | 0 => continue,
                _ if line.len() < MAX_LINE => {
                    line.push(byte);
                    continue;
                }
                _ => continue,
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            line.clear();
            // An empty line repeats the last command, as on a real ELM327.
            let command = if text.trim().is_empty() {
                match &last {
                    Some(l) => l.clone(),
                    None => {
                        if link.write_all(b">").await.is_err() {
                            return End::Closed;
                        }
                        continue;
                    }
                }
            } else {
                text.clone()
            };
            let mut out = Vec::new();
            if settings.echo {
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(settings.eol().as_bytes());
            }
            let (lines, is_answer) = match settings.handle(&command) {
                Action::Reply(lines) => (lines, false),
                Action::Voltage => {
                    let v = live::snapshot(&car.live, Instant::now() - car.start).voltage_v;
                    (vec![format!("{v:.1}V")], false)
                }
                Action::Obd { data, responses } => {
                    let exchange =
                        exchange::obd_request(&mut port, &mut settings, &data, responses);
                    let mut scratch = [0u8; 64];
                    let lines = tokio::select! {
                        lines = exchange => lines,
                        read = link.read(&mut scratch) => match read {
                            Ok(0) | Err(_) => return End::Closed,
                            Ok(_) => vec!["STOPPED".to_string()],
                        },
                        () = shutdown.cancelled() => return End::Closed,
                    };
                    (lines, true)
                }
            };
            last = Some(command);
            let eol = settings.eol();
            let mut answer = Vec::new();
            for l in &lines {
                answer.extend_from_slice(l.as_bytes());
                answer.extend_from_slice(eol.as_bytes());
            }
            answer.extend_from_slice(eol.as_bytes());
            answer.push(b'>');
            if is_answer {
                let (noise, fate) = match faults.lock() {
                    Ok(mut f) => (f.serial_noise(), f.next_answer()),
                    Err(_) => (None, AnswerFate::Deliver),
                };
                out.extend(noise.unwrap_or_default());
                if fate == AnswerFate::Vanish {
                    out.extend_from_slice(first_half(&answer));
                    let _ = link.write_all(&out).await;
                    // Bytes already on the wire reach the tester before the hang-up does.
                    tokio::time::sleep(crate::adapter::VANISH_LINGER).await;
                    tracing::info!("ELM327 adapter vanishes (fault injection)");
                    return End::Vanished;
                }
            }
            out.extend(answer);
            if link.write_all(&out).await.is_err() {
                return End::Closed;
            }
        }
    }
}
