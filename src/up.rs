//! `pitlane up`: the whole system on one machine. The cloud (HTTP API, embedded broker,
//! SQLite in the data directory) runs in-process; each simulated car gets a registered device
//! and a real agent; a demo account owns the first car (claimed, minted and paired through the
//! HTTP API, as a user's app would do it).
//!
//! Everything it creates lives in the data directory, so a second `pitlane up` on the same
//! directory finds the same devices, account and vehicle instead of creating new ones.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pitlane_cloud::app::{self, AppState};
use pitlane_cloud::config::Config;
use pitlane_cloud::registry::{self, Chain, NewDevice};
use pitlane_shared::identity::DeviceKey;
use pitlane_sim::Car;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::{Api, ApiError, PRIVILEGE_COMMANDS};
use crate::demo::{self, Demo, DemoError};
use crate::fleet::{self, CarFiles, FleetError, Intervals, SimDevice};

/// What to run.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub cars: usize,
    /// Overrides of the cloud's configuration (`PITLANE_*` and its defaults otherwise).
    pub data_dir: Option<PathBuf>,
    pub http_addr: Option<SocketAddr>,
    pub mqtt_addr: Option<SocketAddr>,
    /// An external broker (`mqtt://host:port`) instead of the embedded one.
    pub mqtt_url: Option<String>,
    /// The CA of an `mqtts://` external broker: the cloud's link and every car's agent trust it.
    pub mqtt_ca_file: Option<PathBuf>,
    pub intervals: Intervals,
    /// Start an in-process agent per car; without, cars are only provisioned (their agent
    /// configurations written) for agents run elsewhere (`pitlane agent run --config …`).
    pub agents: bool,
    /// Create the demo account and claim, mint and pair the first car for it.
    pub demo: bool,
    /// A last change to the cloud's configuration (tests: short command expiry).
    pub tweak: Option<fn(&mut Config)>,
}

impl UpOptions {
    /// `cars` cars with agents and the demo account, everything else from the configuration.
    pub fn new(cars: usize) -> Self {
        UpOptions {
            cars,
            data_dir: None,
            http_addr: None,
            mqtt_addr: None,
            mqtt_url: None,
            mqtt_ca_file: None,
            intervals: Intervals::default(),
            agents: true,
            demo: true,
            tweak: None,
        }
    }
}

/// Why `pitlane up` could not start.
#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(transparent)]
    Config(#[from] pitlane_cloud::config::ConfigError),
    #[error("starting the cloud: {0}")]
    App(#[from] pitlane_cloud::app::AppError),
    #[error("binding the HTTP listener on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the MQTT layer: {0}")]
    Mqtt(String),
    #[error("provisioning car {index}: {message}")]
    Provision { index: usize, message: String },
    #[error(transparent)]
    Fleet(#[from] FleetError),
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Everything `pitlane up` started.
pub struct Running {
    pub http_addr: SocketAddr,
    pub mqtt_url: String,
    pub data_dir: PathBuf,
    pub state: AppState,
    pub cars: Vec<Arc<Car>>,
    pub devices: Vec<SimDevice>,
    pub demo: Option<Demo>,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Starts everything, calling `progress` with one line per step.
pub async fn start(opts: UpOptions, progress: &dyn Fn(&str)) -> Result<Running, UpError> {
    let mut config = Config::load(None)?;
    if let Some(dir) = &opts.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(addr) = opts.http_addr {
        config.http_addr = addr;
    }
    if let Some(addr) = opts.mqtt_addr {
        config.mqtt_addr = addr;
    }
    if let Some(url) = &opts.mqtt_url {
        config.mqtt_url = Some(url.clone());
    }
    if let Some(ca) = &opts.mqtt_ca_file {
        config.mqtt_ca_file = Some(ca.clone());
    }
    if let Some(tweak) = opts.tweak {
        tweak(&mut config);
    }
    let listener = TcpListener::bind(config.http_addr)
        .await
        .map_err(|source| UpError::Bind {
            addr: config.http_addr,
            source,
        })?;
    let http_addr = listener.local_addr().map_err(|source| UpError::Bind {
        addr: config.http_addr,
        source,
    })?;
    config.public_url = format!("http://{http_addr}");
    let data_dir = config.data_dir.clone();
    progress(&format!(
        "cloud: starting (data in {}, SQLite unless DATABASE_URL says otherwise)",
        data_dir.display()
    ));
    let (router, state) = app::build(config).await?;
    let (stop_server, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, router, async {
        let _ = stopped.await;
    }));
    let mqtt_url = broker_url(&state)?;
    progress(&format!(
        "cloud: HTTP API on http://{http_addr}, MQTT broker on {mqtt_url}"
    ));

    let chain = Chain::from_config(&state.config).map_err(|(key, message)| {
        UpError::Mqtt(format!("chain settings: setting `{key}`: {message}"))
    })?;
    fleet::raise_fd_limit(opts.cars)?;
    let (cars, devices) = start_cars(&state, &data_dir, &mqtt_url, &opts, progress).await?;

    let demo = if opts.demo && !devices.is_empty() {
        let api = Api::new(format!("http://{http_addr}"))?;
        progress("demo: account and wallet");
        let account = demo::account(&state, &data_dir).await?;
        progress(&format!(
            "demo: claiming, minting and pairing car 1 for {}",
            account.email
        ));
        let demo =
            demo::own_first_car(&state, &api, account, &devices[0], &chain, progress).await?;
        Some(demo)
    } else {
        None
    };
    Ok(Running {
        http_addr,
        mqtt_url,
        data_dir,
        state,
        cars,
        devices,
        demo,
        stop_server,
        server,
    })
}

/// Cars set up at once. Setting one up waits mostly on I/O (the registry's insert, the key
/// file, the agent store's creation with its fsyncs), so a handful in parallel keep both
/// cores busy; their agents connect as they come up, which staggers the connections.
const STARTUP_PARALLEL: usize = 16;

/// Provisions every car and starts its simulation and agent, [`STARTUP_PARALLEL`] at a time;
/// answers them in car order.
async fn start_cars(
    state: &AppState,
    data_dir: &Path,
    mqtt_url: &str,
    opts: &UpOptions,
    progress: &dyn Fn(&str),
) -> Result<(Vec<Arc<Car>>, Vec<SimDevice>), UpError> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut started = Vec::with_capacity(opts.cars);
    let mut next = 0;
    let mut failure = None;
    while failure.is_none() && (next < opts.cars || !tasks.is_empty()) {
        while next < opts.cars && tasks.len() < STARTUP_PARALLEL {
            let (state, dir, url) = (state.clone(), data_dir.to_owned(), mqtt_url.to_owned());
            let (index, intervals, agents) = (next, opts.intervals, opts.agents);
            tasks.spawn(
                async move { start_car(&state, &dir, index, &url, &intervals, agents).await },
            );
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        match joined {
            Ok(Ok(Some((car, device)))) => {
                let n = started.len() + 1;
                if opts.cars <= 10 {
                    progress(&format!(
                        "car {}: simulated ({}), device {} registered, agent running",
                        device.index + 1,
                        car.scenario().vin,
                        device.serial
                    ));
                } else if n % 100 == 0 || n == opts.cars {
                    progress(&format!("cars: {n} of {} running", opts.cars));
                }
                started.push((car, device));
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => failure = Some(e),
            Err(e) => {
                failure = Some(UpError::Provision {
                    index: 0,
                    message: format!("a car's start-up task failed: {e}"),
                })
            }
        }
    }
    if let Some(e) = failure {
        tasks.shutdown().await;
        stop_devices(started.into_iter().map(|(_, d)| d).collect()).await;
        return Err(e);
    }
    started.sort_by_key(|(_, d)| d.index);
    Ok(started.into_iter().unzip())
}

/// Car `index`: key, registration and agent configuration; with `agents`, the simulated car
/// and its running agent.
async fn start_car(
    state: &AppState,
    data_dir: &Path,
    index: usize,
    mqtt_url: &str,
    intervals: &Intervals,
    agents: bool,
) -> Result<Option<(Arc<Car>, SimDevice)>, UpError> {
    let files = CarFiles::new(data_dir, index);
    let key = files.load_or_create_key()?;
    provision(state, &files, index, &key, mqtt_url, intervals).await?;
    if !agents {
        return Ok(None);
    }
    let car = Arc::new(Car::start(fleet::scenario_for_car(index)?));
    let device = SimDevice::start(index, car.clone(), &files, key).await?;
    Ok(Some((car, device)))
}

/// Asks every agent to stop first (each publishes its offline status), then waits for each.
async fn stop_devices(devices: Vec<SimDevice>) {
    for device in &devices {
        device.request_stop();
    }
    for device in devices {
        let index = device.index;
        if let Err(e) = device.stop().await {
            tracing::warn!(car = index + 1, "agent stopped with an error: {e}");
        }
    }
}

/// The URL devices reach the broker at (the embedded broker's real address, so `:0` works).
fn broker_url(state: &AppState) -> Result<String, UpError> {
    if let Some(url) = &state.config.mqtt_url {
        return Ok(url.clone());
    }
    let mqtt = state
        .mqtt
        .as_ref()
        .ok_or_else(|| UpError::Mqtt("the cloud runs without its MQTT layer".into()))?;
    let addr = mqtt
        .broker_addr()
        .ok_or_else(|| UpError::Mqtt("no embedded broker is running".into()))?;
    Ok(format!("mqtt://{addr}"))
}

/// Registers car `index`'s device unless the data directory already holds its configuration
/// and the registry knows it, then points its configuration at `mqtt_url`.
async fn provision(
    state: &AppState,
    files: &CarFiles,
    index: usize,
    key: &DeviceKey,
    mqtt_url: &str,
    intervals: &Intervals,
) -> Result<(), UpError> {
    let failed = |message: String| UpError::Provision {
        index: index + 1,
        message,
    };
    let serial = fleet::serial_for_car(index);
    let known = registry::device_by_serial(&state.db, &serial)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let provisioned = match known {
        Some(device) if device.address == key.address() && files.agent_config().exists() => {
            let text = std::fs::read_to_string(files.agent_config())
                .map_err(|e| failed(format!("{}: {e}", files.agent_config().display())))?;
            strip_local_sections(&text).map_err(failed)?
        }
        Some(device) => {
            return Err(failed(format!(
                "serial {serial} is registered to {} but this data directory's key is {}; \
                 use a fresh --data-dir",
                device.address.to_checksum(),
                key.address().to_checksum()
            )));
        }
        None => {
            let new = NewDevice {
                serial: serial.clone(),
                address: key.address(),
                manufacturer: "Pitlane Simulator".into(),
            };
            registry::provisioning::provision(&state.db, &state.config, new)
                .await
                .map_err(|e| failed(e.to_string()))?
                .agent_config
        }
    };
    // Agents run on this machine, so the cloud's CA file for an mqtts:// broker is theirs too.
    let ca_file = state.config.mqtt_ca_file.as_deref();
    let provisioned = with_mqtt_url(&provisioned, mqtt_url, ca_file).map_err(failed)?;
    files.write_agent_config(&provisioned, intervals)?;
    Ok(())
}

/// The `[mqtt]` and `[signing]` sections of an agent configuration (what provisioning
/// issued), without the sections `pitlane up` writes itself.
fn strip_local_sections(text: &str) -> Result<String, String> {
    let mut table: toml::Table = text.parse().map_err(|e| format!("agent config: {e}"))?;
    table.retain(|k, _| k == "mqtt" || k == "signing");
    Ok(table.to_string())
}

/// `text` with `[mqtt] url` replaced, and `ca_file` set for an `mqtts://` URL when given.
fn with_mqtt_url(text: &str, url: &str, ca_file: Option<&Path>) -> Result<String, String> {
    let mut table: toml::Table = text.parse().map_err(|e| format!("agent config: {e}"))?;
    let mqtt = table
        .get_mut("mqtt")
        .and_then(toml::Value::as_table_mut)
        .ok_or("the provisioned agent config has no [mqtt] section")?;
    mqtt.insert("url".into(), url.into());
    match ca_file {
        Some(ca) if url.starts_with("mqtts://") => {
            let ca = ca.to_str().ok_or("the MQTT CA file's path is not UTF-8")?;
            mqtt.insert("ca_file".into(), ca.into());
        }
        _ => {
            mqtt.remove("ca_file");
        }
    }
    // Local brokers come back quickly: retry every second or two, not every 30 s.
    mqtt.insert("backoff_max_secs".into(), 2.into());
    Ok(table.to_string())
}

impl Running {
    /// Stops the agents (each publishes its offline status), then the cloud, in that order.
    pub async fn stop(self) {
        stop_devices(self.devices).await;
        for car in &self.cars {
            car.shutdown_token().cancel();
        }
        if let Some(mqtt) = &self.state.mqtt {
            mqtt.stop().await;
        }
        let _ = self.stop_server.send(());
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("HTTP server: {e}"),
            Err(e) => tracing::warn!("HTTP server task: {e}"),
        }
        // The cloud's background workers, then storage (nothing queries a closed pool).
        app::shutdown(&self.state).await;
    }

    /// What to open and try, for people.
    pub fn instructions(&self) -> String {
        let base = format!("http://{}", self.http_addr);
        let mut out = format!(
            "\nPitlane is running ({} simulated car{}).\n\n  web panel   {base}/panel/\n  API docs    {base}/docs\n  health      {base}/readyz   metrics {base}/metrics\n  MQTT        {}\n",
            self.cars.len(),
            if self.cars.len() == 1 { "" } else { "s" },
            self.mqtt_url,
        );
        if let Some(demo) = &self.demo {
            out.push_str(&demo.instructions(&base, &self.data_dir));
        }
        out.push_str("\nCtrl-C stops everything.\n");
        out
    }
}

/// The nft contract and privilege ids a command token needs, for `pitlane token`.
pub async fn privilege_token(api: &Api, demo_file: &Path) -> Result<String, UpError> {
    let saved = demo::Saved::load(demo_file)?;
    let wallet = saved.wallet()?;
    let access = api.web3_login(&wallet).await?;
    Ok(api
        .privilege_token(
            &access,
            &saved.nft_contract,
            saved.vehicle_token_id,
            &[PRIVILEGE_COMMANDS],
        )
        .await?)
}
