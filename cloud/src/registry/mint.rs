//! Minting a vehicle: the owner signs `MintVehicleWithDeviceDefinitionSign(manufacturerNode,
//! owner, deviceDefinitionId, attributes, infos)` for one of their user devices, and the
//! vehicle gets its token id.

use base64::Engine;
use pitlane_shared::eip712::{DimoPayload, U256};
use pitlane_shared::identity::Address;

use super::ledger::{Effect, SignedCall};
use super::signatures::{Ctx, SignatureInput, presented, signed_by_wallet, user_wallet};
use super::vehicles::vehicle_of_user_device;
use super::{RegistryError, token_id};
use crate::accounts::now;
use crate::db::Db;
use crate::devices::DevicesError;
use crate::devices::vehicles::{self, UserDevice};

/// Largest accepted image (decoded), bytes.
pub const MAX_IMAGE_BYTES: usize = 256 * 1024;

/// The owner's signature and the vehicle's images (base64, optionally as a `data:` URL).
#[derive(Debug, Clone, Default)]
pub struct MintRequest {
    pub signature: Option<SignatureInput>,
    pub image_data: Option<String>,
    pub image_data_transparent: Option<String>,
}

/// A mint about to be signed.
#[derive(Debug, Clone)]
pub struct MintPlan {
    pub vehicle: UserDevice,
    pub owner: Address,
    pub payload: DimoPayload,
}

pub(crate) fn from_devices(e: DevicesError) -> RegistryError {
    match e {
        DevicesError::NotFound(what) => RegistryError::NotFound(what),
        DevicesError::Db(e) => RegistryError::Db(e),
        other => RegistryError::Corrupt(other.to_string()),
    }
}

/// The user's vehicle `id` (another user's is not found).
pub async fn owned_vehicle(db: &Db, user_id: &str, id: &str) -> Result<UserDevice, RegistryError> {
    if !crate::devices::is_id(id) {
        return Err(RegistryError::NotFound("user device"));
    }
    vehicles::owned(db, user_id, id).await.map_err(from_devices)
}

/// The manufacturer node of a make, created on first use (race-safe).
pub async fn manufacturer_node(db: &Db, make: &str) -> Result<u64, RegistryError> {
    let key = make.trim().to_lowercase();
    sqlx::query(
        "INSERT INTO registry_manufacturers (name_key, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name_key) DO NOTHING",
    )
    .bind(&key)
    .bind(make.trim())
    .bind(now())
    .execute(&db.pool)
    .await?;
    let id: i64 =
        sqlx::query_scalar("SELECT node_id FROM registry_manufacturers WHERE name_key = $1")
            .bind(&key)
            .fetch_one(&db.pool)
            .await?;
    token_id(id)
}

/// The payload the owner signs to mint their vehicle `user_device_id`.
pub async fn mint_payload(
    db: &Db,
    user_id: &str,
    user_device_id: &str,
) -> Result<MintPlan, RegistryError> {
    let vehicle = owned_vehicle(db, user_id, user_device_id).await?;
    if let Some(token) = vehicle_of_user_device(db, &vehicle.id).await? {
        return Err(RegistryError::Conflict(format!(
            "the vehicle is already minted as token {}",
            token.token_id
        )));
    }
    let owner = user_wallet(db, user_id).await?;
    let definition = &vehicle.definition;
    let payload = DimoPayload::MintVehicleWithDeviceDefinition {
        manufacturer_node: U256::from(manufacturer_node(db, &definition.make).await?),
        owner,
        device_definition_id: definition.id.clone(),
        attributes: vec!["Make".into(), "Model".into(), "Year".into()],
        infos: vec![
            definition.make.clone(),
            definition.model.clone(),
            definition.year.to_string(),
        ],
    };
    Ok(MintPlan {
        vehicle,
        owner,
        payload,
    })
}

/// Checks an image field: base64 (a `data:image/…;base64,` prefix allowed) of a PNG, JPEG
/// or WebP of at most [`MAX_IMAGE_BYTES`].
pub fn validate_image(field: &str, text: &str) -> Result<(), RegistryError> {
    let bad = |why: &str| RegistryError::BadInput(format!("{field}: {why}"));
    let data = match text.strip_prefix("data:") {
        Some(rest) => match rest.split_once(";base64,") {
            Some((mime, data)) if mime.starts_with("image/") => data,
            _ => return Err(bad("a data URL must be data:image/…;base64,…")),
        },
        None => text,
    };
    if data.len() > MAX_IMAGE_BYTES / 3 * 4 + 4 {
        return Err(bad(&format!("larger than {MAX_IMAGE_BYTES} bytes")));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| bad("not valid base64"))?;
    let is_image = bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(&[0xff, 0xd8, 0xff])
        || (bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP");
    if !is_image {
        return Err(bad("not a PNG, JPEG or WebP image"));
    }
    Ok(())
}

/// Verifies the owner's signature and mints the vehicle; returns its token id.
pub async fn mint(
    ctx: &Ctx<'_>,
    user_id: &str,
    user_device_id: &str,
    request: &MintRequest,
) -> Result<u64, RegistryError> {
    let signature = presented(ctx.db, "signature", request.signature.as_ref(), None)
        .await?
        .user;
    for (field, image) in [
        ("imageData", &request.image_data),
        ("imageDataTransparent", &request.image_data_transparent),
    ] {
        if let Some(image) = image {
            validate_image(field, image)?;
        }
    }
    let plan = mint_payload(ctx.db, user_id, user_device_id).await?;
    let typed = signed_by_wallet(ctx, "signature", &plan.payload, &signature, &plan.owner)?;
    let DimoPayload::MintVehicleWithDeviceDefinition {
        manufacturer_node, ..
    } = &plan.payload
    else {
        return Err(RegistryError::Corrupt(
            "mint plan without a mint payload".into(),
        ));
    };
    let outcome = ctx
        .registry
        .submit(
            ctx.db,
            SignedCall {
                user_id: user_id.to_owned(),
                payload: typed.to_json(),
                payload_hash: typed.signing_hash(),
                signatures: vec![("user", signature)],
                effect: Effect::Mint {
                    user_device_id: plan.vehicle.id.clone(),
                    owner_user_id: user_id.to_owned(),
                    manufacturer_node: manufacturer_node.saturating_to(),
                    image_data: request.image_data.clone(),
                    image_data_transparent: request.image_data_transparent.clone(),
                },
            },
        )
        .await?;
    outcome
        .minted_token_id
        .ok_or_else(|| RegistryError::Corrupt("a confirmed mint without a token id".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, ok: bool) {
        assert_eq!(validate_image("imageData", text).is_ok(), ok, "{text:?}");
    }

    #[test]
    fn images_must_be_base64_pictures() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        check(&b64(b"\x89PNG\r\n\x1a\n rest"), true);
        check(
            &format!("data:image/png;base64,{}", b64(b"\x89PNG\r\n\x1a\n")),
            true,
        );
        check(&b64(&[0xff, 0xd8, 0xff, 0xe0]), true);
        check(&b64(b"RIFF\0\0\0\0WEBPVP8 "), true);
        check(&b64(b"GIF89a"), false);
        check("not base64!", false);
        check(
            &format!("data:text/html;base64,{}", b64(b"\x89PNG\r\n\x1a\n")),
            false,
        );
        check(&b64(&vec![0u8; MAX_IMAGE_BYTES + 10]), false);
    }
}
