//! The demo account of `pitlane up`: an email/password login for the panel, a wallet (key
//! file, mode 0600) for the Web3 login and the signatures, and the first car claimed, minted
//! and paired for it. What a later run or `pitlane token` needs is saved in
//! `<data dir>/demo.json` (mode 0600: it holds the password).

use std::path::{Path, PathBuf};
use std::time::Duration;

use pitlane_cloud::accounts::users::{self, NewUser};
use pitlane_cloud::app::AppState;
use pitlane_cloud::registry::{self, Chain};
use pitlane_shared::identity::DeviceKey;
use serde::{Deserialize, Serialize};

use crate::client::{Api, ApiError, PRIVILEGE_COMMANDS};
use crate::fleet::{SimDevice, write_private};

/// The demo login.
pub const DEMO_EMAIL: &str = "demo@pitlane.example";
/// Country of the demo vehicle (ISO 3166-1 alpha-3).
const COUNTRY: &str = "USA";
/// How long the agent may take to report the VIN after it connects.
const VIN_WAIT: Duration = Duration::from_secs(60);

/// Why the demo account could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo account: {0}")]
    Account(#[from] pitlane_cloud::accounts::AccountError),
    #[error("demo wallet {path}: {source}")]
    Wallet {
        path: PathBuf,
        source: pitlane_shared::identity::KeyFileError,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("registry: {0}")]
    Registry(#[from] registry::RegistryError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
}

/// What is kept in `demo.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub email: String,
    pub password: String,
    pub user_id: String,
    pub wallet_key: PathBuf,
    pub serial: Option<String>,
    pub vin: Option<String>,
    pub user_device_id: Option<String>,
    pub vehicle_token_id: u64,
    pub nft_contract: String,
}

impl Saved {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("demo.json")
    }

    pub fn load(path: &Path) -> Result<Self, DemoError> {
        let text = std::fs::read_to_string(path).map_err(|e| DemoError::File {
            path: path.to_owned(),
            message: format!("{e} (has `pitlane up` run with this data directory?)"),
        })?;
        serde_json::from_str(&text).map_err(|e| DemoError::File {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn save(&self, path: &Path) -> Result<(), DemoError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| DemoError::File {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(write_private(path, &text)?)
    }

    pub fn wallet(&self) -> Result<DeviceKey, DemoError> {
        DeviceKey::load(&self.wallet_key).map_err(|source| DemoError::Wallet {
            path: self.wallet_key.clone(),
            source,
        })
    }
}

/// The demo account before it owns a car.
#[derive(Debug)]
pub struct Account {
    pub email: String,
    pub password: String,
    pub user_id: String,
    pub wallet: DeviceKey,
    pub wallet_path: PathBuf,
}

/// The demo account owning the first car.
#[derive(Debug)]
pub struct Demo {
    pub account: Account,
    pub serial: String,
    pub vin: String,
    pub user_device_id: String,
    pub vehicle_token_id: u64,
    pub nft_contract: String,
    /// The Web3 access token (valid for the cloud's `access_token_ttl_secs`).
    pub access_token: String,
    /// A privilege token for commands on the vehicle (short-lived; `pitlane token` makes a
    /// fresh one).
    pub privilege_token: String,
}

/// Creates the demo account and its wallet, or finds them from an earlier run.
pub async fn account(state: &AppState, data_dir: &Path) -> Result<Account, DemoError> {
    let wallet_path = data_dir.join("demo-wallet.key");
    let wallet = if wallet_path.exists() {
        DeviceKey::load(&wallet_path)
    } else {
        DeviceKey::create(&wallet_path)
    }
    .map_err(|source| DemoError::Wallet {
        path: wallet_path.clone(),
        source,
    })?;
    let saved = Saved::load(&Saved::path(data_dir)).ok();
    if let Some(user) = users::by_email(&state.db, DEMO_EMAIL).await?
        && let Some(saved) = saved.filter(|s| s.user_id == user.id)
    {
        return Ok(Account {
            email: saved.email,
            password: saved.password,
            user_id: user.id,
            wallet,
            wallet_path,
        });
    }
    if users::by_email(&state.db, DEMO_EMAIL).await?.is_some() {
        return Err(DemoError::File {
            path: Saved::path(data_dir),
            message: format!(
                "the database has a {DEMO_EMAIL} account this data directory did not create"
            ),
        });
    }
    // Random: the panel may be reachable from elsewhere.
    let password = format!(
        "demo-{}",
        &pitlane_cloud::accounts::secrets::random_token()[..16]
    );
    let hash = state.passwords.hash(password.clone()).await?;
    let user = users::create(
        &state.db,
        NewUser {
            email: Some(DEMO_EMAIL.into()),
            username: Some("demo".into()),
            name: "Demo Driver".into(),
            password_hash: Some(hash),
            admin: false,
            email_verified: true,
            wallet_address: Some(wallet.address().to_lowercase_hex()),
        },
    )
    .await?;
    Ok(Account {
        email: DEMO_EMAIL.into(),
        password,
        user_id: user.id,
        wallet,
        wallet_path,
    })
}

/// Claims, mints and pairs `device`'s car for the account over the HTTP API (each step
/// skipped when an earlier run did it), then gets a privilege token for commands.
pub async fn own_first_car(
    state: &AppState,
    api: &Api,
    account: Account,
    device: &SimDevice,
    chain: &Chain,
    progress: &dyn Fn(&str),
) -> Result<Demo, DemoError> {
    let data_dir = &state.config.data_dir;
    let token = api.web3_login(&account.wallet).await?;
    let serial = device.serial.clone();
    let known = registry::device_by_serial(&state.db, &serial).await?;
    if known.and_then(|d| d.owner_user_id).as_deref() != Some(account.user_id.as_str()) {
        api.claim(&token, &account.wallet, &serial).await?;
        progress(&format!("demo: claimed device {serial}"));
    }
    let vin = api.wait_for_vin(&token, &serial, VIN_WAIT).await?;
    progress(&format!("demo: the agent reported VIN {vin}"));
    let saved = Saved::load(&Saved::path(data_dir))
        .ok()
        .filter(|s| s.user_id == account.user_id && s.vin.as_deref() == Some(vin.as_str()));
    let nft_contract = chain.vehicle_nft.to_checksum();
    let (user_device_id, vehicle_token_id) =
        match saved.and_then(|s| s.user_device_id.clone().map(|id| (id, s.vehicle_token_id))) {
            Some(done) => done,
            None => {
                let id = api.vehicle_from_vin(&token, &vin, COUNTRY).await?;
                let minted = api.mint(&token, &account.wallet, &id).await?;
                progress(&format!(
                    "demo: vehicle {id} created from the VIN, minted as token {minted}"
                ));
                (id, minted)
            }
        };
    if registry::pairing_of_device(&state.db, &device.address)
        .await?
        .is_none()
    {
        api.pair(&token, &account.wallet, &user_device_id, &serial)
            .await?;
        progress(&format!(
            "demo: vehicle {vehicle_token_id} paired with device {serial}"
        ));
    }
    Saved {
        email: account.email.clone(),
        password: account.password.clone(),
        user_id: account.user_id.clone(),
        wallet_key: account.wallet_path.clone(),
        serial: Some(serial.clone()),
        vin: Some(vin.clone()),
        user_device_id: Some(user_device_id.clone()),
        vehicle_token_id,
        nft_contract: nft_contract.clone(),
    }
    .save(&Saved::path(data_dir))?;
    let privilege_token = api
        .privilege_token(
            &token,
            &nft_contract,
            vehicle_token_id,
            &[PRIVILEGE_COMMANDS],
        )
        .await?;
    Ok(Demo {
        account,
        serial,
        vin,
        user_device_id,
        vehicle_token_id,
        nft_contract,
        access_token: token,
        privilege_token,
    })
}

impl Demo {
    /// Credentials and ready-to-paste curl lines.
    pub fn instructions(&self, base: &str, data_dir: &Path) -> String {
        let a = &self.account;
        let v = self.vehicle_token_id;
        let dir = data_dir.display();
        format!(
            r#"
Demo account (panel login)
  email       {email}
  password    {password}
  wallet      {wallet} (key in {wallet_path}, mode 0600)
  vehicle     token {v}, VIN {vin}, paired with device {serial}

Decode a VIN (Users API token from email and password):
  TOKEN=$(curl -s -X POST {base}/api/v1/users/signin -H 'content-type: application/json' \
    -d '{{"email":"{email}","password":"{password}"}}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -s "{base}/api/v1/decode/{user}?vin={vin}" -H "Authorization: Bearer $TOKEN"

Unlock the car (privilege token from the demo wallet; this one expires soon,
`pitlane token --data-dir {dir}` prints a fresh one):
  PRIV={privilege}
  curl -s -X POST {base}/v1/vehicle/{v}/commands/doors/unlock -H "Authorization: Bearer $PRIV"
  curl -s {base}/v1/vehicle/{v}/commands/REQUEST_ID -H "Authorization: Bearer $PRIV"
"#,
            email = a.email,
            password = a.password,
            wallet = a.wallet.address().to_checksum(),
            wallet_path = a.wallet_path.display(),
            vin = self.vin,
            serial = self.serial,
            user = a.user_id,
            privilege = self.privilege_token,
        )
    }
}
