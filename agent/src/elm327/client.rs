//! The ELM327 OBD client: picks the header and protocol for each request, appends the
//! response-count digit, turns the answer into per-ECU payloads, and reconnects (and re-runs
//! the init) once when the adapter went away in the middle of a request.

use std::time::Duration;

use pitlane_shared::can::CanId;
use pitlane_shared::can::isotp::Addressing;

use pitlane_shared::wire::elm327::{
    AdapterError, Elm327Error, format_obd_request, parse_obd_lines, reply_lines,
};

use super::{AdapterInfo, ElmConn, ElmError, ElmStream, init};
use crate::isotp::Target;
use crate::obd::Answers;

/// How to reach the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connector {
    Serial { path: String, baud: u32 },
    Tcp { host: String, port: u16 },
}

impl std::fmt::Display for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Serial { path, baud } => write!(f, "{path} at {baud} baud"),
            Self::Tcp { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

impl Connector {
    async fn connect(&self, timeout: Duration) -> Result<Box<dyn ElmStream>, ElmError> {
        let fail = |detail: String| ElmError::Connect {
            target: self.to_string(),
            detail,
        };
        match self {
            Self::Serial { path, baud } => {
                let port = crate::bus::open_serial(path, *baud).map_err(|e| fail(e.to_string()))?;
                Ok(Box::new(port))
            }
            Self::Tcp { host, port } => {
                let stream = tokio::time::timeout(
                    timeout,
                    tokio::net::TcpStream::connect((host.as_str(), *port)),
                )
                .await
                .map_err(|_| fail(format!("no connection within {timeout:?}")))?
                .map_err(|e| fail(e.to_string()))?;
                stream.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
                Ok(Box::new(stream))
            }
        }
    }
}

/// Time limits of the client.
#[derive(Debug, Clone)]
pub struct ElmConfig {
    /// `ATZ` (a reset takes clones up to a couple of seconds).
    pub reset_timeout: Duration,
    /// Every other AT command, and connecting.
    pub command_timeout: Duration,
    /// An OBD request, up to the prompt: covers the protocol search of the first request
    /// and ECUs that answer "response pending" (P2* = 5 s).
    pub request_timeout: Duration,
}

impl Default for ElmConfig {
    fn default() -> Self {
        Self {
            reset_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(12),
        }
    }
}

/// Which protocol and header the adapter is set to, so unchanged settings are not re-sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Settings {
    extended: bool,
    header: Option<String>,
}

/// An ELM327 adapter, connected and initialised.
pub struct Elm327Client {
    connector: Connector,
    config: ElmConfig,
    conn: Option<ElmConn>,
    info: AdapterInfo,
    settings: Settings,
    reconnects: u32,
    /// Bytes of finished connections (the live one counts its own).
    bytes: (usize, usize),
}

impl Elm327Client {
    /// Connects and runs the init sequence.
    pub async fn connect(connector: Connector, config: ElmConfig) -> Result<Self, ElmError> {
        let (conn, info) = Self::open(&connector, &config).await?;
        Ok(Self {
            connector,
            config,
            conn: Some(conn),
            info,
            settings: Settings::default(),
            reconnects: 0,
            bytes: (0, 0),
        })
    }

    async fn open(
        connector: &Connector,
        config: &ElmConfig,
    ) -> Result<(ElmConn, AdapterInfo), ElmError> {
        let stream = connector.connect(config.command_timeout).await?;
        let mut conn = ElmConn::new(stream);
        let info = init(&mut conn, config.reset_timeout, config.command_timeout).await?;
        Ok((conn, info))
    }

    /// What the adapter reported at the last init.
    pub fn info(&self) -> &AdapterInfo {
        &self.info
    }

    /// How often the client reconnected.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// Bytes written to and read from the adapter so far.
    pub fn bytes(&self) -> (usize, usize) {
        let live = self
            .conn
            .as_ref()
            .map_or((0, 0), |c| (c.bytes_out, c.bytes_in));
        (self.bytes.0 + live.0, self.bytes.1 + live.1)
    }

    fn drop_conn(&mut self) {
        if let Some(c) = self.conn.take() {
            self.bytes.0 += c.bytes_out;
            self.bytes.1 += c.bytes_in;
        }
        self.settings = Settings::default();
    }

    /// Sends `payload` to `target` and returns each ECU's answer; reconnects once if the
    /// adapter went away.
    pub async fn request(
        &mut self,
        target: Target,
        payload: &[u8],
        expect: Option<usize>,
    ) -> Result<Answers, ElmError> {
        match self.request_once(target, payload, expect).await {
            Err(e) if e.is_disconnect() => {
                tracing::warn!(error = %e, "ELM327 went away; reconnecting");
                self.drop_conn();
                let (conn, info) =
                    Self::open(&self.connector, &self.config)
                        .await
                        .map_err(|again| ElmError::Gone {
                            request: hex::encode_upper(payload),
                            detail: format!("{e}; reconnecting failed: {again}"),
                        })?;
                self.conn = Some(conn);
                self.info = info;
                self.reconnects += 1;
                self.request_once(target, payload, expect).await
            }
            Err(e @ ElmError::Timeout { .. }) => {
                // A late reply would be read as the answer to the next command: start the
                // next request on a fresh connection instead.
                self.drop_conn();
                Err(e)
            }
            other => other,
        }
    }

    async fn request_once(
        &mut self,
        target: Target,
        payload: &[u8],
        expect: Option<usize>,
    ) -> Result<Answers, ElmError> {
        let wanted = settings_for(target).ok_or_else(|| ElmError::NoHeader {
            request: hex::encode_upper(payload),
            target: format!("{target:?}"),
        })?;
        let timeout = self.config.command_timeout;
        if wanted.extended != self.settings.extended {
            let cmds: &[&str] = if wanted.extended {
                &["ATSP7", "ATCP18"]
            } else {
                &["ATSP0"]
            };
            for cmd in cmds {
                self.setting(cmd, timeout).await?;
            }
            self.settings = Settings {
                extended: wanted.extended,
                header: None,
            };
        }
        if wanted.header != self.settings.header {
            let header = wanted.header.clone().unwrap_or_default();
            self.setting(&format!("ATSH{header}"), timeout).await?;
            self.settings.header = wanted.header;
        }
        // The response-count digit lets the adapter return as soon as that many answers came,
        // instead of waiting out its own timeout.
        let count = expect.and_then(|n| u8::try_from(n).ok());
        let line = format_obd_request(payload, count);
        let cmd = String::from_utf8_lossy(&line).trim_end().to_owned();
        let conn = self.conn.as_mut().ok_or_else(|| ElmError::Gone {
            request: cmd.clone(),
            detail: "not connected".into(),
        })?;
        let reply = conn.exchange(&cmd, self.config.request_timeout).await?;
        decode(&cmd, &reply)
    }

    async fn setting(&mut self, cmd: &str, timeout: Duration) -> Result<(), ElmError> {
        let conn = self.conn.as_mut().ok_or_else(|| ElmError::Gone {
            request: cmd.to_owned(),
            detail: "not connected".into(),
        })?;
        let answer = match conn.lines(cmd, timeout).await {
            Ok(lines) => lines,
            Err(e) if e.adapter_error().is_some() => vec![e.to_string()],
            Err(e) => return Err(e),
        };
        if answer.iter().any(|l| l == "OK") {
            Ok(())
        } else {
            Err(ElmError::Init {
                request: cmd.to_owned(),
                answer,
            })
        }
    }
}

/// The protocol and `ATSH` header a target needs.
fn settings_for(target: Target) -> Option<Settings> {
    let header = |id: CanId| match id {
        CanId::Standard(id) => format!("{id:03X}"),
        // The priority byte (0x18) goes through ATCP; ATSH takes the lower 24 bits.
        CanId::Extended(id) => format!("{:06X}", id & 0xFF_FFFF),
    };
    let id = match target {
        Target::Physical { response } => Addressing::tester_for_response(response)?.tx,
        Target::Functional { .. } => target.request_id()?,
    };
    Some(Settings {
        extended: id.is_extended(),
        header: Some(header(id)),
    })
}

/// Turns the reply to an OBD request into per-ECU payloads, or the adapter's error.
///
/// Lines that cannot be data (line noise on a serial link: non-hex characters) are dropped
/// and logged before parsing, so a noisy line does not cost the whole answer; a damaged
/// data line still fails the reassembly with a typed error.
fn decode(request: &str, reply: &[u8]) -> Result<Answers, ElmError> {
    let failed = |source| ElmError::Reply {
        request: request.to_owned(),
        source,
    };
    let lines = match reply_lines(request, reply) {
        Ok(lines) => lines,
        // Nobody answered: not an adapter fault.
        Err(Elm327Error::Adapter {
            error: AdapterError::NoData,
            ..
        }) => return Ok(Answers::default()),
        Err(e) => return Err(failed(e)),
    };
    let (data, noise): (Vec<String>, Vec<String>) = lines.into_iter().partition(|l| {
        l.chars()
            .all(|c| c.is_ascii_hexdigit() || c == ' ' || c == ':')
    });
    if !noise.is_empty() {
        tracing::warn!(
            ?noise,
            request,
            "dropping non-data lines from the ELM327 reply"
        );
    }
    let messages = parse_obd_lines(request, &data, true).map_err(failed)?;
    Ok(Answers::from_messages(
        messages
            .into_iter()
            // Invariant: headers are on (ATH1), so every message names its sender.
            .filter_map(|m| m.from.map(|id| (id, m.payload))),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_the_target() {
        let check = |target: Target, extended: bool, header: &str| {
            let s = settings_for(target).unwrap();
            assert_eq!((s.extended, s.header.as_deref()), (extended, Some(header)));
        };
        check(Target::Functional { extended: false }, false, "7DF");
        check(Target::Functional { extended: true }, true, "DB33F1");
        check(
            Target::Physical {
                response: CanId::Standard(0x7E8),
            },
            false,
            "7E0",
        );
        check(
            Target::Physical {
                response: CanId::Extended(0x18DA_F110),
            },
            true,
            "DA10F1",
        );
    }
}
