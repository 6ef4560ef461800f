//! Runs a car with the adapters asked for, and reports each endpoint as it comes up: what the
//! `pitlane-sim` binary does, as a library so other programs (`pitlane up`, tests) can too.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::adapter::elm327::{self, CarView};
use crate::adapter::socketcan::{self, SocketCanError};
use crate::adapter::{FaultState, slcan, socketcand};
use crate::car::Car;
use crate::pty::{Pty, PtyError};
use crate::scenario::Scenario;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub scenario: Scenario,
    /// SLCAN adapter on a pty, with a symlink at this path.
    pub slcan_pty: Option<PathBuf>,
    /// ELM327 on a pty, with a symlink at this path.
    pub elm327_pty: Option<PathBuf>,
    /// ELM327 on TCP (port 0 picks a free port).
    pub elm327_tcp: Option<SocketAddr>,
    /// socketcand server on TCP (port 0 picks a free port).
    pub socketcand: Option<SocketAddr>,
    /// Bridge to this SocketCAN interface.
    pub socketcan: Option<String>,
}

/// One endpoint a tester can connect to. `Display` gives the line the binary prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `slcan-pty LINK -> /dev/pts/N` (or `slcan-pty /dev/pts/N` without a link).
    SlcanPty {
        link: Option<PathBuf>,
        device: PathBuf,
    },
    /// `elm327-pty LINK -> /dev/pts/N`.
    Elm327Pty {
        link: Option<PathBuf>,
        device: PathBuf,
    },
    /// `elm327-tcp 127.0.0.1:35000`.
    Elm327Tcp(SocketAddr),
    /// `socketcand 127.0.0.1:29536 can0`.
    Socketcand(SocketAddr),
    /// `socketcan vcan0`.
    SocketCan(String),
}

impl Endpoint {
    fn pty(kind: fn(Option<PathBuf>, PathBuf) -> Self, pty: &Pty) -> Self {
        kind(
            pty.link().map(Path::to_path_buf),
            pty.slave_path().to_path_buf(),
        )
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pty =
            |f: &mut fmt::Formatter<'_>, name, link: &Option<PathBuf>, device: &Path| match link {
                Some(l) => write!(f, "{name} {} -> {}", l.display(), device.display()),
                None => write!(f, "{name} {}", device.display()),
            };
        match self {
            Self::SlcanPty { link, device } => pty(f, "slcan-pty", link, device),
            Self::Elm327Pty { link, device } => pty(f, "elm327-pty", link, device),
            Self::Elm327Tcp(addr) => write!(f, "elm327-tcp {addr}"),
            Self::Socketcand(addr) => write!(f, "socketcand {addr} {}", socketcand::BUS_NAME),
            Self::SocketCan(iface) => write!(f, "socketcan {iface}"),
        }
    }
}

/// Why the simulator could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{what}: {source}")]
    Pty {
        what: &'static str,
        #[source]
        source: PtyError,
    },
    #[error("cannot listen on {addr} for {what}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    SocketCan(#[from] SocketCanError),
}

/// A running simulator: the car and its adapters.
#[derive(Debug)]
pub struct Simulator {
    car: Car,
    tasks: JoinSet<Result<(), ServeError>>,
    endpoints: Vec<Endpoint>,
    later: mpsc::UnboundedReceiver<Endpoint>,
}

impl Simulator {
    /// Starts the car and every adapter in `options`; all endpoints exist when this returns.
    pub async fn start(options: Options) -> Result<Self, ServeError> {
        let faults = FaultState::new(options.scenario.faults.clone());
        let view = CarView {
            live: options.scenario.live.clone(),
            start: tokio::time::Instant::now(),
        };
        let car = Car::start(options.scenario);
        let shutdown = car.shutdown_token();
        let (tx, later) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        let mut endpoints = Vec::new();

        if let Some(link) = options.slcan_pty {
            let pty = Pty::open(Some(&link)).map_err(|source| ServeError::Pty {
                what: "SLCAN adapter",
                source,
            })?;
            endpoints.push(Endpoint::pty(
                |link, device| Endpoint::SlcanPty { link, device },
                &pty,
            ));
            let (bus, faults, shutdown, tx) = (
                car.bus().clone(),
                faults.clone(),
                shutdown.clone(),
                tx.clone(),
            );
            tasks.spawn(async move {
                slcan::serve(pty, Some(link), bus, faults, shutdown, move |p| {
                    let _ = tx.send(Endpoint::pty(
                        |link, device| Endpoint::SlcanPty { link, device },
                        p,
                    ));
                })
                .await
                .map_err(|source| ServeError::Pty {
                    what: "SLCAN adapter",
                    source,
                })
            });
        }
        if let Some(link) = options.elm327_pty {
            let pty = Pty::open(Some(&link)).map_err(|source| ServeError::Pty {
                what: "ELM327 adapter",
                source,
            })?;
            endpoints.push(Endpoint::pty(
                |link, device| Endpoint::Elm327Pty { link, device },
                &pty,
            ));
            let (bus, view, faults, shutdown, tx) = (
                car.bus().clone(),
                view.clone(),
                faults.clone(),
                shutdown.clone(),
                tx.clone(),
            );
            tasks.spawn(async move {
                elm327::serve_pty(pty, Some(link), bus, view, faults, shutdown, move |p| {
                    let _ = tx.send(Endpoint::pty(
                        |link, device| Endpoint::Elm327Pty { link, device },
                        p,
                    ));
                })
                .await
                .map_err(|source| ServeError::Pty {
                    what: "ELM327 adapter",
                    source,
                })
            });
        }
        if let Some(addr) = options.elm327_tcp {
            let listener = bind(addr, "the ELM327 adapter").await?;
            endpoints.push(Endpoint::Elm327Tcp(local_addr(&listener, addr)));
            let (bus, view, faults, shutdown) = (
                car.bus().clone(),
                view.clone(),
                faults.clone(),
                shutdown.clone(),
            );
            tasks.spawn(async move {
                elm327::serve_tcp(listener, bus, view, faults, shutdown).await;
                Ok(())
            });
        }
        if let Some(addr) = options.socketcand {
            let listener = bind(addr, "socketcand").await?;
            endpoints.push(Endpoint::Socketcand(local_addr(&listener, addr)));
            let (bus, faults, shutdown) = (car.bus().clone(), faults.clone(), shutdown.clone());
            tasks.spawn(async move {
                socketcand::serve(listener, bus, faults, shutdown).await;
                Ok(())
            });
        }
        if let Some(iface) = options.socketcan {
            let bridge = socketcan::bridge(&iface, car.bus().clone(), shutdown.clone())?;
            endpoints.push(Endpoint::SocketCan(iface));
            tasks.spawn(async move { Ok(bridge.await?) });
        }
        Ok(Self {
            car,
            tasks,
            endpoints,
            later,
        })
    }

    /// The endpoints that came up at start.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The simulated car.
    pub fn car(&self) -> &Car {
        &self.car
    }

    /// Waits for the next event: an adapter coming back after it vanished (`Ok(Some)`), or an
    /// adapter failing (`Err`). `Ok(None)` when every adapter has ended.
    pub async fn next_event(&mut self) -> Result<Option<Endpoint>, ServeError> {
        loop {
            tokio::select! {
                Some(endpoint) = self.later.recv() => return Ok(Some(endpoint)),
                joined = self.tasks.join_next() => match joined {
                    None => return Ok(None),
                    Some(Ok(Ok(()))) => continue,
                    Some(Ok(Err(e))) => return Err(e),
                    Some(Err(e)) => {
                        tracing::error!("adapter task ended abnormally: {e}");
                        continue;
                    }
                },
            }
        }
    }

    /// Stops every adapter (removing pty symlinks) and the car.
    pub async fn shutdown(mut self) {
        self.car.shutdown_token().cancel();
        while self.tasks.join_next().await.is_some() {}
        self.car.shutdown().await;
    }
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { what, addr, source })
}

fn local_addr(listener: &TcpListener, asked: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(asked)
}
