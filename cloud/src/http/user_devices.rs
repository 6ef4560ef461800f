//! Devices API: users' vehicles (`/v1/user/devices…`) and device definitions
//! (`/v1/device-definitions…`), plus the devices family's error body `{"code": 400,
//! "message": "..."}` and its [`DevicesUser`] extractor (the Web3 access token) shared with
//! the error-code and geofence routes. Another user's vehicle answers 404, like a missing one.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::failure::{Failure, family_error_from};
use super::web3::Web3User;
use crate::app::AppState;
use crate::devices::definitions::{self, DeviceDefinition, Mmy};
use crate::devices::vehicles::{self, NewVehicle, UserDevice};
use crate::devices::{DevicesError, country, is_id};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/user/devices", post(create).get(list))
        .route("/v1/user/devices/me", get(list))
        .route("/v1/user/devices/fromvin", post(from_vin))
        .route("/v1/user/devices/{user_device_id}/vin", patch(update_vin))
        .route("/v1/device-definitions", get(definition_by_mmy))
        .route("/v1/device-definitions/{id}", get(definition_by_id))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        create,
        list,
        list_me,
        from_vin,
        update_vin,
        definition_by_id,
        definition_by_mmy
    ),
    components(schemas(
        CreateBody,
        FromVinBody,
        VinBody,
        UserDeviceCreated,
        UserDeviceList,
        UserDeviceSchema,
        VehicleMetadata,
        DeviceDefinitionSchema,
        DevicesErrorBody
    ))
)]
pub struct Doc;

/// The devices family's error body (also the registry's and the vehicle commands').
#[derive(Debug, Serialize, ToSchema)]
pub struct DevicesErrorBody {
    /// The HTTP status again.
    #[schema(example = 404)]
    code: u16,
    message: String,
}

/// The answers a call can get when it asks the device to sign over MQTT (claim, pair, unpair);
/// listed once here, referenced by each of those routes' `responses(...)`.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only the OpenAPI document names these; handlers answer RegistryApiError
pub enum DeviceSigningErrors {
    #[response(
        status = 502,
        description = "The device's signature could not be fetched over MQTT"
    )]
    Unreachable(DevicesErrorBody),
    #[response(status = 503, description = "The device is offline")]
    Offline(DevicesErrorBody),
    #[response(status = 504, description = "The device did not sign in time")]
    Late(DevicesErrorBody),
}

/// A device definition (make, model and year).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceDefinitionSchema {
    device_definition_id: String,
    /// `2020 Ford F-150`.
    name: String,
    make: String,
    model: String,
    year: u16,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VehicleMetadata {
    /// ELM327/OBD protocol number (`1`–`9`, `A`–`C`), when known.
    can_protocol: Option<String>,
}

/// A user's vehicle ("user device").
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserDeviceSchema {
    /// 27-character id (shaped like a KSUID).
    id: String,
    vin: Option<String>,
    /// Whether the paired device signed keccak256(VIN).
    vin_confirmed: bool,
    /// ISO 3166-1 alpha-3.
    country_code: String,
    device_definition: DeviceDefinitionSchema,
    metadata: VehicleMetadata,
    /// RFC 3339.
    created_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserDeviceCreated {
    user_device: UserDeviceSchema,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserDeviceList {
    user_devices: Vec<UserDeviceSchema>,
}

/// Devices API errors: `{"code": <status>, "message": "..."}`.
#[derive(Debug)]
pub struct DevicesApiError(pub Failure);
family_error_from!(DevicesApiError);

impl IntoResponse for DevicesApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.0.status().as_u16(), "message": self.0.message() });
        self.0.respond(body)
    }
}

impl From<DevicesError> for DevicesApiError {
    fn from(e: DevicesError) -> Self {
        DevicesApiError(match e {
            DevicesError::NotFound(what) => Failure::NotFound(format!("{what} not found")),
            DevicesError::BadInput(m) => Failure::BadRequest(m),
            DevicesError::Conflict(m) | DevicesError::State(m) => Failure::Conflict(m),
            DevicesError::Db(e) => {
                tracing::error!(error = %e, "devices API storage");
                Failure::Internal
            }
            DevicesError::Decoder(e) => {
                tracing::error!(error = %e, "VIN decoder data");
                Failure::Internal
            }
        })
    }
}

/// The caller's user id, from a Web3 access token; failures in the devices error body.
#[derive(Debug, Clone)]
pub struct DevicesUser(pub String);

impl FromRequestParts<AppState> for DevicesUser {
    type Rejection = DevicesApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Web3User::from_request_parts(parts, state).await {
            Ok(Web3User(session)) => Ok(DevicesUser(session.user_id)),
            Err(e) => Err(DevicesApiError(e.0)),
        }
    }
}

/// The user's vehicle named in a path (junk ids answer 404 without a query).
pub async fn owned_vehicle(
    state: &AppState,
    user: &DevicesUser,
    id: &str,
) -> Result<UserDevice, DevicesApiError> {
    if !is_id(id) {
        return Err(DevicesError::NotFound("user device").into());
    }
    Ok(vehicles::owned(&state.db, &user.0, id).await?)
}

/// The request body, or a 400 in the devices error shape.
pub fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, DevicesApiError> {
    Ok(body?.0)
}

fn definition_json(d: &DeviceDefinition) -> Value {
    json!({
        "deviceDefinitionId": d.id,
        "name": d.name(),
        "make": d.make,
        "model": d.model,
        "year": d.year,
    })
}

pub(crate) fn vehicle_json(v: &UserDevice) -> Value {
    json!({
        "id": v.id,
        "vin": v.vin,
        "vinConfirmed": v.vin_confirmed,
        "countryCode": v.country_code,
        "deviceDefinition": definition_json(&v.definition),
        "metadata": { "canProtocol": v.can_protocol },
        "createdAt": super::error_codes::rfc3339(v.created_at),
    })
}

/// Either `deviceDefinitionId`, or `make`, `model` and `year` (the definition is created
/// when missing).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    /// ISO 3166-1 alpha-3 country code (an assigned one).
    country_code: String,
    device_definition_id: Option<String>,
    make: Option<String>,
    model: Option<String>,
    year: Option<i64>,
}

/// Creates a vehicle from a device definition id, or from make/model/year (definition created
/// when missing).
#[utoipa::path(post, path = "/v1/user/devices", tag = "Devices API: vehicles",
    request_body = CreateBody, security(("bearer" = [])),
    responses((status = 201, body = UserDeviceCreated),
        (status = 400, body = DevicesErrorBody, description = "Malformed body, unknown country code, or neither a definition id nor make/model/year"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such device definition")))]
async fn create(
    State(state): State<AppState>,
    user: DevicesUser,
    req: Result<Json<CreateBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), DevicesApiError> {
    let req = body(req)?;
    let country_code = country::parse(&req.country_code)?;
    let definition_id = match (req.device_definition_id, req.make, req.model, req.year) {
        (Some(id), None, None, None) => {
            if !is_id(&id) {
                return Err(DevicesError::NotFound("device definition").into());
            }
            id
        }
        (None, Some(make), Some(model), Some(year)) => {
            let mmy = Mmy::new(&make, &model, year, crate::vin::year::current_year())?;
            definitions::find_or_create(&state.db, &mmy).await?.id
        }
        _ => {
            return Err(DevicesError::BadInput(
                "give either deviceDefinitionId, or make, model and year".into(),
            )
            .into());
        }
    };
    let new = NewVehicle {
        definition_id,
        country_code,
        vin: None,
        can_protocol: None,
    };
    let vehicle = vehicles::create(&state.db, &user.0, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "userDevice": vehicle_json(&vehicle) })),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FromVinBody {
    /// 17 characters; decoded offline.
    vin: String,
    /// ISO 3166-1 alpha-3 country code.
    country_code: String,
    /// ELM327/OBD protocol number (`1`–`9`, `A`–`C`).
    can_protocol: Option<String>,
}

/// Creates a vehicle by decoding its VIN; its make/model/year definition is created when missing.
#[utoipa::path(post, path = "/v1/user/devices/fromvin", tag = "Devices API: vehicles",
    request_body = FromVinBody, security(("bearer" = [])),
    responses((status = 201, body = UserDeviceCreated),
        (status = 400, body = DevicesErrorBody, description = "Invalid VIN (the position named), country code or CAN protocol"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 409, body = DevicesErrorBody, description = "The caller already has a vehicle with this VIN")))]
async fn from_vin(
    State(state): State<AppState>,
    user: DevicesUser,
    req: Result<Json<FromVinBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), DevicesApiError> {
    let req = body(req)?;
    let country_code = country::parse(&req.country_code)?;
    let can_protocol = req
        .can_protocol
        .as_deref()
        .map(vehicles::parse_can_protocol)
        .transpose()?;
    let vin = vehicles::validate_vin(&req.vin)?;
    let definition = definitions::find_or_create(&state.db, &vin.mmy()?).await?;
    let new = NewVehicle {
        definition_id: definition.id,
        country_code,
        vin: Some(vin.0.vin),
        can_protocol,
    };
    let vehicle = vehicles::create(&state.db, &user.0, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "userDevice": vehicle_json(&vehicle) })),
    ))
}

/// The caller's vehicles (`/v1/user/devices/me`, DIMO's route, and `/v1/user/devices`).
#[utoipa::path(get, path = "/v1/user/devices", tag = "Devices API: vehicles", security(("bearer" = [])),
    responses((status = 200, body = UserDeviceList),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token")))]
async fn list(
    State(state): State<AppState>,
    user: DevicesUser,
) -> Result<Json<Value>, DevicesApiError> {
    let all = vehicles::list(&state.db, &user.0).await?;
    Ok(Json(
        json!({ "userDevices": all.iter().map(vehicle_json).collect::<Vec<_>>() }),
    ))
}

/// The caller's vehicles (DIMO's route; the same as `GET /v1/user/devices`).
#[utoipa::path(get, path = "/v1/user/devices/me", tag = "Devices API: vehicles", security(("bearer" = [])),
    responses((status = 200, body = UserDeviceList),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token")))]
#[allow(dead_code)] // Documentation only: the route is served by `list`.
fn list_me() {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VinBody {
    /// 17 characters, validated.
    vin: String,
    /// The paired device's signature of keccak256(VIN) (0x hex or an array of bytes).
    #[schema(schema_with = super::docs::signature_schema)]
    signature: Option<crate::registry::signatures::SignatureInput>,
}

/// Replaces a vehicle's VIN (validated). The owner may always change it; with `signature`,
/// the paired device's signature of keccak256(VIN), the VIN is confirmed, and such a
/// request is accepted from any signed-in caller. Without a valid signature, someone
/// else's vehicle answers 404 like a missing one.
#[utoipa::path(patch, path = "/v1/user/devices/{userDeviceId}/vin", tag = "Devices API: vehicles",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")),
    request_body = VinBody, security(("bearer" = [])),
    responses((status = 204, description = "VIN replaced (and confirmed, with a valid device signature)"),
        (status = 400, body = DevicesErrorBody, description = "Invalid VIN, or a signature that is malformed or not the paired device's"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller (and no valid device signature)"),
        (status = 409, body = DevicesErrorBody, description = "The caller already has another vehicle with this VIN")))]
async fn update_vin(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
    req: Result<Json<VinBody>, JsonRejection>,
) -> Result<StatusCode, DevicesApiError> {
    if !is_id(&id) {
        return Err(DevicesError::NotFound("user device").into());
    }
    let owned = match vehicles::owned(&state.db, &user.0, &id).await {
        Ok(_) => true,
        Err(DevicesError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    let req = body(req)?;
    let vin = vehicles::validate_vin(&req.vin)?;
    let vin = vin.0.vin;
    let Some(signature) = &req.signature else {
        if !owned {
            return Err(DevicesError::NotFound("user device").into());
        }
        vehicles::set_vin(&state.db, &user.0, &id, &vin).await?;
        return Ok(StatusCode::NO_CONTENT);
    };
    use crate::registry::RegistryError;
    match crate::registry::vin::check_device_vin_signature(&state.db, &id, &vin, signature).await {
        Ok(()) => {}
        Err(_) if !owned => return Err(DevicesError::NotFound("user device").into()),
        Err(RegistryError::BadSignature(m) | RegistryError::BadInput(m)) => {
            return Err(DevicesError::BadInput(m).into());
        }
        Err(RegistryError::Db(e)) => return Err(DevicesError::Db(e).into()),
        Err(e) => {
            tracing::error!(error = %e, "checking a VIN signature");
            return Err(DevicesApiError(Failure::Internal));
        }
    }
    vehicles::set_confirmed_vin(&state.db, &id, &vin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A device definition by id (public).
#[utoipa::path(get, path = "/v1/device-definitions/{id}", tag = "Devices API: vehicles",
    params(("id" = String, Path, description = "The definition's id")),
    responses((status = 200, body = DeviceDefinitionSchema),
        (status = 404, body = DevicesErrorBody, description = "No such device definition")))]
async fn definition_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, DevicesApiError> {
    if !is_id(&id) {
        return Err(DevicesError::NotFound("device definition").into());
    }
    Ok(Json(definition_json(
        &definitions::by_id(&state.db, &id).await?,
    )))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MmyQuery {
    /// Make (any case), required.
    #[param(required = true)]
    make: Option<String>,
    /// Model (any case), required.
    #[param(required = true)]
    model: Option<String>,
    /// Model year, required.
    #[param(required = true, value_type = u16)]
    year: Option<String>,
}

/// A device definition by `make`, `model` and `year` (case-insensitive; public).
#[utoipa::path(get, path = "/v1/device-definitions", tag = "Devices API: vehicles", params(MmyQuery),
    responses((status = 200, body = DeviceDefinitionSchema),
        (status = 400, body = DevicesErrorBody, description = "A parameter is missing, or the year is not a plausible model year"),
        (status = 404, body = DevicesErrorBody, description = "No such device definition")))]
async fn definition_by_mmy(
    State(state): State<AppState>,
    query: Result<Query<MmyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, DevicesApiError> {
    let bad = |m: &str| DevicesApiError(Failure::BadRequest(m.into()));
    let Query(q) = query.map_err(|_| bad("malformed query string"))?;
    let (Some(make), Some(model), Some(year)) = (q.make, q.model, q.year) else {
        return Err(bad("make, model and year are required"));
    };
    let year: i64 = year
        .trim()
        .parse()
        .map_err(|_| bad("year must be a number"))?;
    let mmy = Mmy::new(&make, &model, year, crate::vin::year::current_year())?;
    let found = definitions::by_mmy(&state.db, &mmy)
        .await?
        .ok_or(DevicesError::NotFound("device definition"))?;
    Ok(Json(definition_json(&found)))
}
