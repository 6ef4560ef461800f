//! Helpers for the adapter tests: run the `pitlane-sim` binary and talk to its endpoints with
//! raw bytes, every read bounded by a timeout.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Upper bound for any single wait; generous for a loaded two-core machine.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running `pitlane-sim` and the endpoint lines it printed.
pub struct Sim {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
    pub lines: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Sim {
    /// Starts the binary with `args` (`{dir}` is replaced by a fresh temp dir) and reads its
    /// output up to `ready`.
    pub fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{dir}", dir.path().to_str().unwrap()))
            .collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_pitlane-sim"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "sim exited early: {lines:?}"
            );
            let line = line.trim_end().to_string();
            if line == "ready" {
                break;
            }
            lines.push(line);
        }
        Self {
            child,
            stdout,
            lines,
            dir,
        }
    }

    /// The endpoint line starting with `kind `, without the kind.
    pub fn endpoint(&self, kind: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{kind} ")))
            .unwrap_or_else(|| panic!("no {kind} endpoint in {:?}", self.lines))
            .to_string()
    }

    /// The TCP address of a `kind` endpoint.
    pub fn addr(&self, kind: &str) -> String {
        self.endpoint(kind).split(' ').next().unwrap().to_string()
    }

    /// The next line the sim prints (e.g. an adapter coming back).
    pub fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "pitlane-sim exited with {status}");
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A serial port opened on a pty path, raw, with reads that return after 100 ms of silence.
pub struct Serial {
    file: std::fs::File,
}

impl Serial {
    pub fn open(path: &Path) -> Self {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut t = nix::sys::termios::tcgetattr(file.as_fd()).unwrap();
        nix::sys::termios::cfmakeraw(&mut t);
        t.control_chars[nix::sys::termios::SpecialCharacterIndices::VMIN as usize] = 0;
        t.control_chars[nix::sys::termios::SpecialCharacterIndices::VTIME as usize] = 1;
        nix::sys::termios::tcsetattr(file.as_fd(), nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
        Self { file }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.file.write_all(bytes).unwrap();
    }

    /// Reads until `done(bytes so far)` or PATIENCE; returns what was read. EOF/EIO ends too.
    pub fn read_until(&mut self, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        read_until(&mut self.file, false, done)
    }

    /// One ELM327 command and its answer up to the prompt.
    pub fn elm(&mut self, command: &str) -> String {
        self.write(format!("{command}\r").as_bytes());
        String::from_utf8_lossy(&self.read_until(prompt)).into_owned()
    }
}

/// A TCP connection with a short read timeout.
pub fn tcp(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s
}

/// Reads from `r` until `done` holds for what was read, the stream ends (`eof_ends`; a pty
/// read also returns 0 when its VTIME passes), or PATIENCE passes.
pub fn read_until(r: &mut impl Read, eof_ends: bool, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while !done(&out) && start.elapsed() < PATIENCE {
        match r.read(&mut buf) {
            Ok(0) if eof_ends => break,
            Ok(0) => continue,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    out
}

/// Whether the ELM327 prompt ended the output.
pub fn prompt(b: &[u8]) -> bool {
    b.ends_with(b">")
}

/// One ELM327 command over TCP and its answer up to the prompt.
pub fn elm_tcp(s: &mut TcpStream, command: &str) -> String {
    s.write_all(format!("{command}\r").as_bytes()).unwrap();
    String::from_utf8_lossy(&read_until(s, true, prompt)).into_owned()
}
