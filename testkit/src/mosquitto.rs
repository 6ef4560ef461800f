//! A private Mosquitto for one test: found on the machine, configured from a
//! [`MosquittoConfig`], listening on free 127.0.0.1 ports, waited for with a deadline (a
//! broker that does not come up panics with its log), killed on drop, and restartable on the
//! same ports (for out-of-coverage tests). Anonymous unless given logins, which go into a
//! password file written by `mosquitto_passwd -b`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::logins::{PASSWORD_FILE, mosquitto_passwd, write_password_file};

/// How long a broker may take to accept connections: generous, the machine is small and shared.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Fresh starts tried when a free port was taken by another process before Mosquitto bound it.
const PORT_ATTEMPTS: usize = 5;
/// The line Mosquitto logs once its listeners are open.
const RUNNING: &str = " running";

/// The Mosquitto binary: `/usr/sbin/mosquitto` (Debian), `/usr/bin/mosquitto`, else `PATH`.
pub fn mosquitto_binary() -> Option<PathBuf> {
    let fixed = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].map(PathBuf::from);
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("mosquitto"))
                .collect()
        })
        .unwrap_or_default();
    fixed.into_iter().chain(on_path).find(|p| p.is_file())
}

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port on 127.0.0.1")
        .port()
}

/// A TLS listener's files (PEM) and whether it demands a client certificate.
#[derive(Debug, Clone)]
pub struct TlsListener {
    /// CA that signs client certificates (Mosquitto's `cafile`).
    pub ca_file: PathBuf,
    /// The server certificate (`certfile`).
    pub cert_file: PathBuf,
    /// The server key (`keyfile`).
    pub key_file: PathBuf,
    /// `require_certificate`: mutual TLS.
    pub require_certificate: bool,
}

/// What the broker runs with: anonymous clients (or only [`MosquittoConfig::logins`]), no
/// persistence, one plain listener unless [`MosquittoConfig::without_plain`] (on a free port
/// or [`MosquittoConfig::plain_port`]), a TLS listener with [`MosquittoConfig::tls`].
#[derive(Debug, Clone)]
pub struct MosquittoConfig {
    plain: bool,
    plain_port: Option<u16>,
    tls: Option<TlsListener>,
    max_queued_messages: Option<u64>,
    max_inflight_messages: Option<u64>,
    logins: Vec<(String, String)>,
}

impl Default for MosquittoConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl MosquittoConfig {
    /// One plain listener, anonymous clients, no persistence, Mosquitto's queue defaults.
    pub fn new() -> Self {
        MosquittoConfig {
            plain: true,
            plain_port: None,
            tls: None,
            max_queued_messages: None,
            max_inflight_messages: None,
            logins: Vec::new(),
        }
    }

    /// The plain listener on `port` rather than a free one (a port a client was already told
    /// about, to start the broker after it); no retry when the port turns out taken.
    pub fn plain_port(mut self, port: u16) -> Self {
        self.plain = true;
        self.plain_port = Some(port);
        self
    }

    /// Only these (user name, password) logins may connect; none: anonymous clients.
    pub fn logins(mut self, logins: &[(&str, &str)]) -> Self {
        self.logins = logins
            .iter()
            .map(|(user, password)| ((*user).to_owned(), (*password).to_owned()))
            .collect();
        self
    }

    /// `max_queued_messages` (0: unlimited; Mosquitto's default of 1000 silently drops QoS 1
    /// messages to a slow subscriber).
    pub fn max_queued_messages(mut self, n: u64) -> Self {
        self.max_queued_messages = Some(n);
        self
    }

    /// `max_inflight_messages` (0: unlimited).
    pub fn max_inflight_messages(mut self, n: u64) -> Self {
        self.max_inflight_messages = Some(n);
        self
    }

    /// Adds a TLS listener on a port of its own ([`Mosquitto::tls_port`]).
    pub fn tls(mut self, listener: TlsListener) -> Self {
        self.tls = Some(listener);
        self
    }

    /// No plain listener: TLS only.
    pub fn without_plain(mut self) -> Self {
        self.plain = false;
        self
    }

    /// The config file; `password_file` holds the logins, if any.
    fn render(&self, plain: Option<u16>, tls: Option<u16>, password_file: &Path) -> String {
        // `user root` keeps a root-started broker from switching to the `mosquitto` user, who
        // could not read this test's 0600 key files (a non-root broker ignores it).
        let mut text = String::from(
            "per_listener_settings false\npersistence false\nlog_dest stderr\nuser root\n",
        );
        if self.logins.is_empty() {
            text.push_str("allow_anonymous true\n");
        } else {
            text.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                password_file.display()
            ));
        }
        if let Some(n) = self.max_queued_messages {
            text.push_str(&format!("max_queued_messages {n}\n"));
        }
        if let Some(n) = self.max_inflight_messages {
            text.push_str(&format!("max_inflight_messages {n}\n"));
        }
        if let Some(port) = plain {
            text.push_str(&format!("listener {port} 127.0.0.1\n"));
        }
        if let (Some(port), Some(listener)) = (tls, &self.tls) {
            text.push_str(&format!(
                "listener {port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n\
                 require_certificate {}\n",
                listener.ca_file.display(),
                listener.cert_file.display(),
                listener.key_file.display(),
                listener.require_certificate,
            ));
        }
        text
    }
}

/// A running private Mosquitto; killed on drop.
pub struct Mosquitto {
    bin: PathBuf,
    config: MosquittoConfig,
    dir: tempfile::TempDir,
    plain_port: Option<u16>,
    tls_port: Option<u16>,
    child: Option<Child>,
}

impl Mosquitto {
    /// Starts a broker and waits until every listener accepts connections. None when Mosquitto
    /// is not installed (the caller says the test was skipped); panics with the broker's log
    /// when it does not come up within a minute.
    pub async fn start(config: MosquittoConfig) -> Option<Mosquitto> {
        let bin = mosquitto_binary()?;
        let dir = tempfile::tempdir().expect("a temporary directory for mosquitto");
        if !config.logins.is_empty() {
            let Some(passwd) = mosquitto_passwd(&bin) else {
                eprintln!("mosquitto_passwd not installed: no broker with logins");
                return None;
            };
            write_password_file(&passwd, &dir.path().join(PASSWORD_FILE), &config.logins);
        }
        let mut broker = Mosquitto {
            bin,
            config,
            dir,
            plain_port: None,
            tls_port: None,
            child: None,
        };
        let mut attempt = 1;
        loop {
            let fixed = broker.config.plain_port;
            broker.plain_port = broker.config.plain.then(|| fixed.unwrap_or_else(free_port));
            broker.tls_port = broker.config.tls.is_some().then(free_port);
            match broker.launch().await {
                Ok(()) => return Some(broker),
                // Another process took the port between `free_port` and Mosquitto's bind.
                Err(log)
                    if attempt < PORT_ATTEMPTS
                        && fixed.is_none()
                        && log.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                Err(log) => panic!("mosquitto did not start:\n{log}"),
            }
        }
    }

    /// Kills the broker (like a crash: clients see the connection drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same ports (stopping it first if it runs).
    pub async fn restart(&mut self) {
        self.stop();
        if let Err(log) = self.launch().await {
            panic!("mosquitto did not restart:\n{log}");
        }
    }

    /// The plain listener's port.
    pub fn port(&self) -> u16 {
        self.plain_port.expect("this broker has no plain listener")
    }

    /// The TLS listener's port.
    pub fn tls_port(&self) -> u16 {
        self.tls_port.expect("this broker has no TLS listener")
    }

    /// `mqtt://127.0.0.1:PORT` of the plain listener.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port())
    }

    /// `mqtts://127.0.0.1:PORT` of the TLS listener.
    pub fn tls_url(&self) -> String {
        format!("mqtts://127.0.0.1:{}", self.tls_port())
    }

    /// Everything the broker logged so far (all its runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    /// Writes the config, spawns the broker and waits until it runs and every listener
    /// accepts; on failure, returns the log of this run.
    async fn launch(&mut self) -> Result<(), String> {
        let conf = self.dir.path().join("mosquitto.conf");
        let password_file = self.dir.path().join(PASSWORD_FILE);
        let text = self
            .config
            .render(self.plain_port, self.tls_port, &password_file);
        std::fs::write(&conf, &text).expect("write mosquitto.conf");
        let log_start = self.log().len();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open the mosquitto log");
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        self.child = Some(child);
        let ports: Vec<u16> = self.plain_port.into_iter().chain(self.tls_port).collect();
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let this_run = |broker: &Self| broker.log().get(log_start..).unwrap_or("").to_owned();
        loop {
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                _ => None,
            };
            if let Some(status) = exited {
                self.child = None;
                return Err(format!(
                    "{}(exited: {status}; config:\n{text})",
                    this_run(self)
                ));
            }
            if this_run(self).contains(RUNNING) && accepts_all(&ports).await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "{}(not accepting within {START_TIMEOUT:?}; config:\n{text})",
                    this_run(self)
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The broker's working directory (config and log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

async fn accepts_all(ports: &[u16]) -> bool {
    for &port in ports {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
        if !matches!(
            tokio::time::timeout(Duration::from_secs(1), connect).await,
            Ok(Ok(_))
        ) {
            return false;
        }
    }
    true
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lists_the_listeners_and_limits() {
        let tls = TlsListener {
            ca_file: "/pki/ca.pem".into(),
            cert_file: "/pki/server.pem".into(),
            key_file: "/pki/server.key".into(),
            require_certificate: true,
        };
        let text = MosquittoConfig::new()
            .max_queued_messages(0)
            .max_inflight_messages(100)
            .tls(tls)
            .render(Some(1001), Some(1002), Path::new("/run/passwords"));
        for line in [
            "allow_anonymous true",
            "max_queued_messages 0",
            "max_inflight_messages 100",
            "listener 1001 127.0.0.1",
            "listener 1002 127.0.0.1",
            "cafile /pki/ca.pem",
            "certfile /pki/server.pem",
            "keyfile /pki/server.key",
            "require_certificate true",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
        let plain = MosquittoConfig::new().render(Some(1001), None, Path::new("/p"));
        assert!(!plain.contains("max_queued_messages"), "{plain}");
        assert!(!plain.contains("cafile"), "{plain}");
        assert!(!plain.contains("password_file"), "{plain}");
        let logins = MosquittoConfig::new().logins(&[("u", "p")]).render(
            Some(1001),
            None,
            Path::new("/run/passwords"),
        );
        for line in ["allow_anonymous false", "password_file /run/passwords"] {
            assert!(logins.lines().any(|l| l == line), "{line:?} in\n{logins}");
        }
        assert!(!logins.contains("allow_anonymous true"), "{logins}");
    }

    /// Only the configured logins get in: a wrong password and an anonymous client are
    /// refused (checked with `mosquitto_pub`).
    #[tokio::test]
    async fn logins_are_required() {
        let config = MosquittoConfig::new().logins(&[("alice", "s3cret"), ("bob", "hunter2")]);
        let Some(broker) = Mosquitto::start(config).await else {
            eprintln!("skipped: mosquitto or mosquitto_passwd not installed");
            return;
        };
        let publish = |login: Option<(&str, &str)>| {
            let mut cmd = Command::new("mosquitto_pub");
            cmd.args(["-h", "127.0.0.1", "-p", &broker.port().to_string()])
                .args(["-t", "t", "-m", "m"]);
            if let Some((user, password)) = login {
                cmd.args(["-u", user, "-P", password]);
            }
            cmd.stderr(Stdio::null()).status().map(|s| s.success())
        };
        let Ok(accepted) = publish(Some(("alice", "s3cret"))) else {
            eprintln!("skipped: mosquitto_pub not installed");
            return;
        };
        assert!(accepted, "{}", broker.log());
        assert_eq!(publish(Some(("bob", "hunter2"))).ok(), Some(true));
        assert_eq!(publish(Some(("alice", "wrong"))).ok(), Some(false));
        assert_eq!(publish(None).ok(), Some(false));
    }

    #[tokio::test]
    async fn plain_listener_on_a_chosen_port() {
        let port = free_port();
        let Some(broker) = Mosquitto::start(MosquittoConfig::new().plain_port(port)).await else {
            eprintln!("skipped: mosquitto not installed");
            return;
        };
        assert_eq!(broker.port(), port);
        assert!(accepts_all(&[port]).await);
    }

    #[tokio::test]
    async fn starts_restarts_and_stops() {
        let Some(mut broker) = Mosquitto::start(MosquittoConfig::new()).await else {
            eprintln!("skipped: mosquitto not installed");
            return;
        };
        let port = broker.port();
        assert!(accepts_all(&[port]).await);
        broker.stop();
        assert!(
            !accepts_all(&[port]).await,
            "a stopped broker still accepts"
        );
        broker.restart().await;
        assert_eq!(broker.port(), port);
        assert!(accepts_all(&[port]).await);
        assert!(broker.log().contains(RUNNING), "{}", broker.log());
    }

    /// The test PKI works with Mosquitto's OpenSSL: `mosquitto_pub` with the CA and the client
    /// certificate gets through a listener that requires one; with the other CA, or without
    /// the client certificate, it does not.
    #[tokio::test]
    async fn tls_listener_with_the_test_pki() {
        let pki = crate::TestPki::generate();
        let config = MosquittoConfig::new().without_plain().tls(TlsListener {
            ca_file: pki.ca.clone(),
            cert_file: pki.server_cert.clone(),
            key_file: pki.server_key.clone(),
            require_certificate: true,
        });
        let Some(broker) = Mosquitto::start(config).await else {
            eprintln!("skipped: mosquitto not installed");
            return;
        };
        let publish = |ca: &Path, client: bool| {
            let mut cmd = Command::new("mosquitto_pub");
            cmd.args(["-h", "localhost", "-p", &broker.tls_port().to_string()])
                .args(["-t", "t", "-m", "m", "--cafile"])
                .arg(ca);
            if client {
                cmd.arg("--cert")
                    .arg(&pki.client_cert)
                    .arg("--key")
                    .arg(&pki.client_key);
            }
            cmd.stderr(Stdio::null()).status().map(|s| s.success())
        };
        let Ok(accepted) = publish(&pki.ca, true) else {
            eprintln!("skipped: mosquitto_pub not installed");
            return;
        };
        assert!(accepted, "{}", broker.log());
        assert_eq!(publish(&pki.other_ca, true).ok(), Some(false));
        assert_eq!(publish(&pki.ca, false).ok(), Some(false));
    }
}
