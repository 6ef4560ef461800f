//! Bringing an ELM327 (genuine or clone) into a known state: reset, echo off, linefeeds off,
//! spaces off, headers on, automatic protocol, and ask which protocol it uses.

use std::time::Duration;

use super::{ElmConn, ElmError};

/// What the adapter said about itself during init.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdapterInfo {
    /// The `ATZ` banner, e.g. `ELM327 v1.5`.
    pub banner: String,
    /// The `ATDPN` answer, e.g. `A6` (automatic, ISO 15765-4 CAN 11/500).
    pub protocol: String,
}

/// Runs the init sequence; `reset_timeout` bounds `ATZ` (clones take up to a second or two),
/// `timeout` every other command.
pub async fn init(
    conn: &mut ElmConn,
    reset_timeout: Duration,
    timeout: Duration,
) -> Result<AdapterInfo, ElmError> {
    let banner = conn.lines("ATZ", reset_timeout).await?;
    // Whatever the reset printed after its prompt (some clones print the banner twice) is noise.
    conn.discard_buffered();
    let banner = banner
        .iter()
        .find(|l| l.to_ascii_uppercase().contains("ELM"))
        .or(banner.last())
        .cloned()
        .unwrap_or_default();
    for cmd in ["ATE0", "ATL0", "ATS0", "ATH1", "ATSP0"] {
        let answer = match conn.lines(cmd, timeout).await {
            Ok(lines) => lines,
            Err(e) if e.adapter_error().is_some() => vec![e.to_string()],
            Err(e) => return Err(e),
        };
        if !answer.iter().any(|l| l == "OK") {
            return Err(ElmError::Init {
                request: cmd.to_owned(),
                answer,
            });
        }
    }
    let protocol = conn
        .lines("ATDPN", timeout)
        .await?
        .last()
        .cloned()
        .unwrap_or_default();
    Ok(AdapterInfo { banner, protocol })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A clone that keeps echo on for one more command and sprinkles stray prompts.
    async fn sloppy_clone(stream: tokio::io::DuplexStream) {
        let (rd, mut wr) = tokio::io::split(stream);
        let mut lines = BufReader::new(rd).split(b'\r');
        let mut echo = true;
        while let Ok(Some(line)) = lines.next_segment().await {
            let cmd = String::from_utf8_lossy(&line).into_owned();
            let mut out = String::new();
            if echo {
                out.push_str(&cmd);
                out.push('\r');
            }
            match cmd.as_str() {
                "ATZ" => out.push_str("\r\rELM327 v1.5\r\r>"),
                "ATE0" => {
                    out.push_str("OK\r\r>");
                    echo = false;
                }
                "ATDPN" => out.push_str("A0\r\r>"),
                _ => out.push_str(">\rOK\r\r>"),
            }
            wr.write_all(out.as_bytes()).await.unwrap();
        }
    }

    #[tokio::test]
    async fn init_tolerates_echo_and_stray_prompts() {
        let (host, dev) = tokio::io::duplex(1024);
        tokio::spawn(sloppy_clone(dev));
        let mut conn = ElmConn::new(Box::new(host));
        let info = init(&mut conn, Duration::from_secs(5), Duration::from_secs(5))
            .await
            .unwrap();
        // The shared reply parser upper-cases lines.
        assert_eq!(info.banner, "ELM327 V1.5");
        assert_eq!(info.protocol, "A0");
    }

    #[tokio::test]
    async fn a_refused_setting_is_an_init_error() {
        let (host, dev) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            let (rd, mut wr) = tokio::io::split(dev);
            let mut lines = BufReader::new(rd).split(b'\r');
            for answer in ["ELM327 v2.1\r\r>", "?\r\r>"] {
                if lines.next_segment().await.ok().flatten().is_none() {
                    return;
                }
                wr.write_all(answer.as_bytes()).await.unwrap();
            }
            std::future::pending::<()>().await;
        });
        let mut conn = ElmConn::new(Box::new(host));
        let err = init(&mut conn, Duration::from_secs(5), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ElmError::Init { ref request, .. } if request == "ATE0"),
            "{err}"
        );
    }
}
