//! An ELM327 v1.5 emulator on a pty (USB/Bluetooth adapters) and on TCP (Wi-Fi adapters).
//!
//! AT commands: `Z`, `WS`, `I`, `@1`, `E0/1`, `L0/1`, `S0/1`, `H0/1`, `D0/1`, `D`, `SP h`,
//! `SP Ah`, `TP h`, `DP`, `DPN`, `SH`, `CP`, `CRA`, `CAF0/1`, `ST`, `AT0/1/2`, `RV`, and a few
//! accepted without effect (`M0`, `PC`, `AL`, `NL`, `CFC0/1`, `V0/1`, `AR`); anything else `?`.
//! OBD requests are hex with an optional response-count digit (`010C1`). The first request
//! after `ATSP0` prints `SEARCHING...`; an unanswered one prints `NO DATA`.

mod exchange;
mod format;
mod session;
mod settings;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use format::{frame_lines, hex_bytes, hex_id};
pub use session::{CarView, End};
pub use settings::{Action, IDENTITY, Protocol, Settings};

use super::FaultState;
use crate::bus::VirtualBus;
use crate::pty::{Pty, PtyError};

/// How long a vanished adapter stays away before it is "plugged in" again.
const REPLUG_DELAY: Duration = Duration::from_millis(500);

/// Serves an ELM327 on `first` until `shutdown`. A vanished adapter comes back on a new pty
/// (symlinked at `link` again); `on_ready` is called with each such new pty.
pub async fn serve_pty(
    first: Pty,
    link: Option<PathBuf>,
    bus: VirtualBus,
    car: CarView,
    faults: FaultState,
    shutdown: CancellationToken,
    mut on_ready: impl FnMut(&Pty) + Send,
) -> Result<(), PtyError> {
    let faults = Arc::new(Mutex::new(faults));
    let mut pty = first;
    loop {
        let end = session::run(&pty, bus.connect(), &car, &faults, &shutdown).await;
        drop(pty);
        if end != End::Vanished {
            return Ok(());
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(REPLUG_DELAY) => {}
        }
        pty = Pty::open(link.as_deref())?;
        on_ready(&pty);
    }
}

/// Serves an ELM327 on every connection to `listener` until `shutdown`. A vanish fault closes
/// the connection it happens on; the listener stays, so the tester can reconnect.
pub async fn serve_tcp(
    listener: TcpListener,
    bus: VirtualBus,
    car: CarView,
    faults: FaultState,
    shutdown: CancellationToken,
) {
    let faults = Arc::new(Mutex::new(faults));
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("ELM327 TCP accept failed: {e}");
                    continue;
                }
            },
        };
        tracing::debug!(%peer, "ELM327 TCP connection");
        let _ = stream.set_nodelay(true);
        let (port, car, faults, shutdown) = (
            bus.connect(),
            car.clone(),
            Arc::clone(&faults),
            shutdown.clone(),
        );
        sessions.spawn(async move {
            session::run(stream, port, &car, &faults, &shutdown).await;
        });
        while sessions.try_join_next().is_some() {}
    }
    while sessions.join_next().await.is_some() {}
}
