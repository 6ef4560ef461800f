//! `pitlane-agent run` under a systemd-like manager: the real binary sends `READY=1` with a
//! `STATUS=` line, `WATCHDOG=1` at half of `WATCHDOG_USEC`, and `STOPPING=1` on SIGTERM, to a
//! real unix datagram socket given as `NOTIFY_SOCKET`; its logs are JSON when asked.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: the machine is small and shared.
const WAIT: Duration = Duration::from_secs(60);

fn next(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = socket
        .recv(&mut buf)
        .expect("a notification before the timeout");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Reads notifications until one contains `want`; returns it and everything before it.
fn until(socket: &UnixDatagram, want: &str) -> (String, Vec<String>) {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "no {want:?} in {seen:?}");
        let msg = next(socket);
        if msg.lines().any(|l| l == want || l.starts_with(want)) {
            return (msg, seen);
        }
        seen.push(msg);
    }
}

#[test]
fn ready_status_watchdog_and_stopping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("device.key");
    let made = Command::new(env!("CARGO_BIN_EXE_pitlane-agent"))
        .args(["identity", "init", "--key"])
        .arg(&key)
        .output()
        .expect("identity init");
    assert!(made.status.success(), "{made:?}");
    // No broker listens on port 1: the agent keeps its messages and retries, and is still
    // ready, since it serves the car and queues while offline.
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "bus = \"sim://\"\n[identity]\nkey = {:?}\n[mqtt]\nurl = \"mqtt://127.0.0.1:1\"\n\
             cloud_command_address = \"0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c\"\n\
             [store]\npath = {:?}\n",
            key.display().to_string(),
            dir.path().join("agent.db").display().to_string(),
        ),
    )
    .expect("config");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind notify socket");
    socket.set_read_timeout(Some(WAIT)).expect("timeout");

    let mut child = Command::new(env!("CARGO_BIN_EXE_pitlane-agent"))
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .env("PITLANE_LOG_FORMAT", "json")
        .env("RUST_LOG", "pitlane_agent=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn agent");

    let (ready, before) = until(&socket, "READY=1");
    assert!(before.is_empty(), "READY=1 comes first: {before:?}");
    assert!(ready.contains("STATUS=running on sim://"), "{ready:?}");
    let (status, _) = until(&socket, "STATUS=running on sim://; outbox");
    assert!(status.contains("outbox"), "{status:?}");
    // Half of 400 ms: several pings arrive; count three in a row.
    for _ in 0..3 {
        until(&socket, "WATCHDOG=1");
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let (stopping, _) = until(&socket, "STOPPING=1");
    assert!(stopping.contains("STATUS=stopping"), "{stopping:?}");
    let deadline = Instant::now() + WAIT;
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");

    // PITLANE_LOG_FORMAT=json: every log line is one JSON object.
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty(), "the agent logged at debug level");
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert!(
            event["level"].is_string() && event["fields"].is_object(),
            "{line}"
        );
    }
}
