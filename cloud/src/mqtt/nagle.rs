//! Nagle's algorithm off on the embedded broker's connections.
//!
//! rumqttd 0.20 never sets `TCP_NODELAY` on the sockets it accepts and has no setting for it.
//! With Nagle on, the broker holds a small packet (a device's command result) while an earlier
//! one to the same client (the PUBACK of the command) is unacknowledged, and the client's
//! kernel delays that ACK by 40 ms: every command round trip paid one such wait.
//!
//! Linux copies `TCP_NODELAY` from a listening socket to the sockets it accepts, so setting it
//! once on rumqttd's listener covers every connection. That listener is rumqttd's own (bound
//! inside `Server::start`), so it is looked up among this process's descriptors
//! (`/proc/self/fd`: a socket that listens on the broker's address) and reached through a
//! duplicate made with `pidfd_getfd(2)` (Linux 5.6; a seccomp profile may forbid it, and then
//! the broker still works, only slower).

use std::net::SocketAddr;

use rustix::fd::OwnedFd;
use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

/// Why the listener could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum NagleError {
    #[error("pidfd_open: {0}")]
    Pidfd(rustix::io::Errno),
    #[error("pidfd_getfd: {0}")]
    Getfd(rustix::io::Errno),
    #[error("/proc/self/fd: {0}")]
    Proc(std::io::Error),
    #[error("setsockopt(TCP_NODELAY): {0}")]
    Set(rustix::io::Errno),
}

/// Sets `TCP_NODELAY` on this process's socket listening on `addr`; false when no such
/// socket exists (yet).
pub fn disable_on_listener(addr: SocketAddr) -> Result<bool, NagleError> {
    let pidfd = pidfd_open(getpid(), PidfdFlags::empty()).map_err(NagleError::Pidfd)?;
    let entries = std::fs::read_dir("/proc/self/fd").map_err(NagleError::Proc)?;
    for entry in entries.flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // The descriptor may have been closed since the listing; then there is nothing to do.
        let dup: OwnedFd = match pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty()) {
            Ok(dup) => dup,
            Err(rustix::io::Errno::BADF) => continue,
            Err(e) => return Err(NagleError::Getfd(e)),
        };
        if is_listener_on(&dup, addr) {
            rustix::net::sockopt::set_tcp_nodelay(&dup, true).map_err(NagleError::Set)?;
            return Ok(true);
        }
    }
    Ok(false)
}

fn is_listener_on(fd: &OwnedFd, addr: SocketAddr) -> bool {
    let listening = rustix::net::sockopt::socket_acceptconn(fd).unwrap_or(false);
    listening
        && rustix::net::getsockname(fd)
            .ok()
            .and_then(|a| SocketAddr::try_from(a).ok())
            == Some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodelay(stream: &std::net::TcpStream) -> bool {
        stream.nodelay().expect("getsockopt")
    }

    #[test]
    fn accepted_sockets_inherit_nodelay_from_the_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _before = std::net::TcpStream::connect(addr).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(!nodelay(&accepted), "Nagle is on by default");

        assert!(disable_on_listener(addr).unwrap());
        let _after = std::net::TcpStream::connect(addr).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(nodelay(&accepted));
    }

    #[test]
    fn a_connected_socket_or_a_free_address_is_not_the_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        assert!(!disable_on_listener(addr).unwrap());
    }
}
