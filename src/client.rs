//! A client for the user journey over the cloud's HTTP API: wallet login, claiming a device,
//! creating the vehicle from the VIN its agent reported, minting, pairing, the privilege token
//! exchange and remote commands. `pitlane up`, the end-to-end tests and `pitlane bench` all
//! drive the cloud through it, exactly as a user's app would.

use std::time::Duration;

use pitlane_shared::eip712::TypedData;
use pitlane_shared::identity::DeviceKey;
use serde_json::{Value, json};

/// DIMO privilege id: send commands to the vehicle.
pub const PRIVILEGE_COMMANDS: u32 = 2;

/// What went wrong talking to the cloud.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{what}: {source}")]
    Http {
        what: String,
        source: reqwest::Error,
    },
    #[error("{what}: HTTP {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{what}: unexpected answer: {body}")]
    Shape { what: String, body: String },
    #[error("{what}: nothing within {waited:?}; last answer: {last}")]
    Timeout {
        what: String,
        waited: Duration,
        last: String,
    },
}

/// The cloud's HTTP API at one base URL.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// The final state of a remote command.
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    pub status: String,
    pub body: Value,
}

fn shape(what: &str, body: &Value) -> ApiError {
    ApiError::Shape {
        what: what.to_owned(),
        body: body.to_string(),
    }
}

impl Api {
    /// A client for the service at `base` (`http://127.0.0.1:8080`).
    pub fn new(base: impl Into<String>) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("pitlane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ApiError::Http {
                what: "HTTP client".into(),
                source,
            })?;
        Ok(Api {
            base: base.into().trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `request` and returns the JSON body of a 2xx answer.
    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Result<Value, ApiError> {
        let response = request.send().await.map_err(|source| ApiError::Http {
            what: what.to_owned(),
            source,
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|source| ApiError::Http {
            what: what.to_owned(),
            source,
        })?;
        if !status.is_success() {
            return Err(ApiError::Status {
                what: what.to_owned(),
                status: status.as_u16(),
                body: text,
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|_| ApiError::Shape {
            what: what.to_owned(),
            body: text,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, what: &str, path: &str, token: &str) -> Result<Value, ApiError> {
        self.send(what, self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    async fn post(
        &self,
        what: &str,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        self.send(
            what,
            self.http.post(self.url(path)).bearer_auth(token).json(body),
        )
        .await
    }

    /// Web3 login: signs the server's challenge with `wallet` (EIP-191) and returns the access
    /// token of the wallet's account.
    pub async fn web3_login(&self, wallet: &DeviceKey) -> Result<String, ApiError> {
        let what = "web3 login";
        let address = wallet.address().to_checksum();
        let challenge = self
            .send(
                what,
                self.http.post(self.url(&format!(
                    "/auth/web3/generate_challenge?address={address}&client_id=pitlane"
                ))),
            )
            .await?;
        let (Some(state), Some(message)) =
            (challenge["state"].as_str(), challenge["challenge"].as_str())
        else {
            return Err(shape(what, &challenge));
        };
        let signature = wallet.sign_message(message.as_bytes()).to_hex();
        let token = self
            .send(
                what,
                self.http
                    .post(self.url("/auth/web3/submit_challenge"))
                    .json(&json!({ "state": state, "signature": signature })),
            )
            .await?;
        token["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| shape(what, &token))
    }

    /// Fetches the EIP-712 payload at `path`, signs it with `wallet`, and returns the
    /// signature.
    async fn sign_payload(
        &self,
        what: &str,
        path: &str,
        token: &str,
        wallet: &DeviceKey,
    ) -> Result<String, ApiError> {
        let payload = self.get(what, path, token).await?;
        let typed = TypedData::from_json(&payload.to_string()).map_err(|e| ApiError::Shape {
            what: format!("{what}: EIP-712 payload ({e})"),
            body: payload.to_string(),
        })?;
        Ok(typed.sign(wallet).signature.to_hex())
    }

    /// Claims the device `serial` for the wallet's account; the device signs too (asked by the
    /// cloud over MQTT). Returns the device's token id.
    pub async fn claim(
        &self,
        token: &str,
        wallet: &DeviceKey,
        serial: &str,
    ) -> Result<u64, ApiError> {
        let what = "claim";
        let path = format!("/v1/aftermarket/device/by-serial/{serial}/commands/claim");
        let signature = self.sign_payload(what, &path, token, wallet).await?;
        let body = json!({ "userSignature": signature });
        let answer = self.post(what, &path, token, &body).await?;
        answer["aftermarketDeviceTokenId"]
            .as_u64()
            .ok_or_else(|| shape(what, &answer))
    }

    /// The device's last reported state (`online`, `vin`, `dtcs`, …), owner only.
    pub async fn device_status(&self, token: &str, serial: &str) -> Result<Value, ApiError> {
        let path = format!("/v1/aftermarket/device/by-serial/{serial}/status");
        self.get("device status", &path, token).await
    }

    /// Waits until the device has reported its VIN.
    pub async fn wait_for_vin(
        &self,
        token: &str,
        serial: &str,
        timeout: Duration,
    ) -> Result<String, ApiError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let last = match self.device_status(token, serial).await {
                Ok(status) => {
                    if let Some(vin) = status["vin"].as_str().filter(|v| !v.is_empty()) {
                        return Ok(vin.to_owned());
                    }
                    status.to_string()
                }
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::Timeout {
                    what: format!("the VIN of device {serial}"),
                    waited: timeout,
                    last,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Creates the vehicle from its VIN (`countryCode` ISO 3166-1 alpha-3); returns its
    /// `userDeviceId`.
    pub async fn vehicle_from_vin(
        &self,
        token: &str,
        vin: &str,
        country: &str,
    ) -> Result<String, ApiError> {
        let what = "vehicle from VIN";
        let body = json!({ "vin": vin, "countryCode": country });
        let answer = self
            .post(what, "/v1/user/devices/fromvin", token, &body)
            .await?;
        answer["userDevice"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| shape(what, &answer))
    }

    /// Mints the vehicle NFT; returns the vehicle's token id.
    pub async fn mint(
        &self,
        token: &str,
        wallet: &DeviceKey,
        user_device_id: &str,
    ) -> Result<u64, ApiError> {
        let what = "mint";
        let path = format!("/v1/user/devices/{user_device_id}/commands/mint");
        let signature = self.sign_payload(what, &path, token, wallet).await?;
        let answer = self
            .post(what, &path, token, &json!({ "signature": signature }))
            .await?;
        ["tokenId", "vehicleTokenId"]
            .iter()
            .find_map(|k| answer[k].as_u64())
            .ok_or_else(|| shape(what, &answer))
    }

    /// Pairs the vehicle with the device `serial` (the device signs too, asked over MQTT).
    pub async fn pair(
        &self,
        token: &str,
        wallet: &DeviceKey,
        user_device_id: &str,
        serial: &str,
    ) -> Result<Value, ApiError> {
        let what = "pair";
        let path = format!("/v1/user/devices/{user_device_id}/aftermarket/commands/pair");
        let signature = self
            .sign_payload(what, &format!("{path}?externalId={serial}"), token, wallet)
            .await?;
        let body = json!({ "externalId": serial, "signature": signature });
        self.post(what, &path, token, &body).await
    }

    /// Exchanges the access token for a privilege token on vehicle `token_id`.
    pub async fn privilege_token(
        &self,
        token: &str,
        nft_contract: &str,
        vehicle_token_id: u64,
        privileges: &[u32],
    ) -> Result<String, ApiError> {
        let what = "token exchange";
        let body = json!({
            "nftContractAddress": nft_contract,
            "privileges": privileges,
            "tokenId": vehicle_token_id,
        });
        let answer = self.post(what, "/v1/tokens/exchange", token, &body).await?;
        answer["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| shape(what, &answer))
    }

    /// Sends a remote command (`doors/lock`, `doors/unlock`, `trunk/open`, `frunk/open`);
    /// returns its request id.
    pub async fn command(
        &self,
        privilege_token: &str,
        vehicle_token_id: u64,
        action: &str,
    ) -> Result<String, ApiError> {
        let what = format!("command {action}");
        let path = format!("/v1/vehicle/{vehicle_token_id}/commands/{action}");
        let answer = self.post(&what, &path, privilege_token, &json!({})).await?;
        answer["requestId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| shape(&what, &answer))
    }

    /// The request's current status body.
    pub async fn command_status(
        &self,
        privilege_token: &str,
        vehicle_token_id: u64,
        request_id: &str,
    ) -> Result<Value, ApiError> {
        let path = format!("/v1/vehicle/{vehicle_token_id}/commands/{request_id}");
        self.get("command status", &path, privilege_token).await
    }

    /// Polls the request every `poll` until its status is final (anything but `pending`).
    pub async fn wait_command(
        &self,
        privilege_token: &str,
        vehicle_token_id: u64,
        request_id: &str,
        poll: Duration,
        timeout: Duration,
    ) -> Result<CommandOutcome, ApiError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let body = self
                .command_status(privilege_token, vehicle_token_id, request_id)
                .await?;
            let status = body["status"].as_str().unwrap_or_default().to_owned();
            if !status.is_empty() && status != "pending" {
                return Ok(CommandOutcome { status, body });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::Timeout {
                    what: format!("command {request_id}"),
                    waited: timeout,
                    last: body.to_string(),
                });
            }
            tokio::time::sleep(poll).await;
        }
    }
}
