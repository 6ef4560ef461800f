//! Pseudo-terminals for the serial adapters: the simulator holds the master side, a tester
//! opens the slave (`/dev/pts/N`) as if it were `/dev/ttyACM0`, and a symlink at a path of the
//! user's choice points to it.
//!
//! The simulator keeps its own handle on the slave open, so a tester can close and reopen the
//! port (as it would a USB adapter) without the master seeing a hang-up.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// How long a write may wait for a tester that does not read before the data is dropped
/// (a real adapter's transmit buffer overflows the same way).
const WRITE_STALL: Duration = Duration::from_secs(2);

/// Why a pty could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("cannot open a pseudo-terminal: {0}")]
    Open(#[source] nix::Error),
    #[error("cannot configure the pseudo-terminal: {0}")]
    Configure(#[source] nix::Error),
    #[error("cannot register the pseudo-terminal with the runtime: {0}")]
    Register(#[source] io::Error),
    #[error("cannot create the symlink {path}: {source}")]
    Link {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The master side of a pseudo-terminal, with an optional symlink to its slave.
#[derive(Debug)]
pub struct Pty {
    master: AsyncFd<OwnedFd>,
    /// Held open so the master never sees a hang-up when the tester closes its end.
    _slave: OwnedFd,
    slave_path: PathBuf,
    link: Option<PathBuf>,
}

impl Pty {
    /// Opens a raw-mode pty; when `link` is given, a symlink there points to the slave (an
    /// existing symlink at that path is replaced; any other file is left alone and is an error).
    pub fn open(link: Option<&Path>) -> Result<Self, PtyError> {
        let pty = nix::pty::openpty(None, None).map_err(PtyError::Open)?;
        let mut termios = tcgetattr(&pty.slave).map_err(PtyError::Configure)?;
        cfmakeraw(&mut termios);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).map_err(PtyError::Configure)?;
        let flags = fcntl(&pty.master, FcntlArg::F_GETFL).map_err(PtyError::Configure)?;
        let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
        fcntl(&pty.master, FcntlArg::F_SETFL(flags)).map_err(PtyError::Configure)?;
        let slave_path = nix::unistd::ttyname(&pty.slave).map_err(PtyError::Configure)?;
        if let Some(path) = link {
            let link_err = |source| PtyError::Link {
                path: path.to_path_buf(),
                source,
            };
            if path
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
            {
                std::fs::remove_file(path).map_err(link_err)?;
            }
            std::os::unix::fs::symlink(&slave_path, path).map_err(link_err)?;
        }
        // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open and refers to the
        // same pty master for as long as the AsyncFd lives.
        let master = unsafe {
            AsyncFd::register_with_interest(pty.master, Interest::READABLE | Interest::WRITABLE)
        }
        .map_err(|e| PtyError::Register(io::Error::other(e.to_string())))?;
        Ok(Self {
            master,
            _slave: pty.slave,
            slave_path,
            link: link.map(Path::to_path_buf),
        })
    }

    /// The slave device (`/dev/pts/N`).
    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    /// The symlink pointing to the slave, if one was asked for.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// Reads what the tester wrote.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard
                .try_io(|fd| nix::unistd::read(fd.get_ref().as_fd(), buf).map_err(io::Error::from))
            {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `data` for the tester to read; data the tester does not read within
    /// [`WRITE_STALL`] is dropped.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        let write = async {
            while !data.is_empty() {
                let mut guard = self.master.writable().await?;
                match guard
                    .try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io::Error::from))
                {
                    Ok(Ok(n)) => data = &data[n..],
                    Ok(Err(e)) => return Err(e),
                    Err(_would_block) => continue,
                }
            }
            Ok(())
        };
        match tokio::time::timeout(WRITE_STALL, write).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(pty = %self.slave_path.display(), "tester is not reading; output dropped");
                Ok(())
            }
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            // Only remove the link if it still points to our slave.
            if std::fs::read_link(link).is_ok_and(|target| target == self.slave_path) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}
