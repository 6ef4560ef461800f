//! Browser steps: a vehicle page opened with a pending command (as after clearing trouble
//! codes with the car) follows the command's status by itself. The command row is written
//! directly and settled by the test, so the page is certainly pending when it loads and the
//! change can only reach it through the script's polling (the same document, no reload).

use anyhow::{Context, Result, ensure};
use pitlane_cloud::accounts::users::{self, NewUser};
use pitlane_cloud::commands::store::{self, NewCommand};
use pitlane_cloud::devices::definitions::{self, Mmy};
use pitlane_cloud::devices::vehicles::{self, NewVehicle};
use pitlane_shared::identity::DeviceKey;
use serde_json::json;
use sqlx::Row;

use super::cloud::Cloud;
use super::steps::Browser;

const EMAIL: &str = "follow@example.com";
const PASSWORD: &str = "lantern-gravel-85";

/// An account, its minted vehicle and a pending `dtc.clear` for it: (vehicle id, request id).
async fn pending_command(cloud: &Cloud) -> Result<(String, String)> {
    let db = &cloud.state.db;
    let hash = cloud.state.passwords.hash(PASSWORD.into()).await?;
    let user = users::create(
        db,
        NewUser {
            email: Some(EMAIL.into()),
            name: "Follow".into(),
            password_hash: Some(hash),
            email_verified: true,
            ..NewUser::default()
        },
    )
    .await?;
    let mmy = Mmy::new("Hyundai", "Sonata", 2013, 2026).context("make, model, year")?;
    let definition = definitions::find_or_create(db, &mmy).await?;
    let car = vehicles::create(
        db,
        &user.id,
        NewVehicle {
            definition_id: definition.id,
            country_code: "DEU".into(),
            vin: Some("5NPEB4AC1DH000001".into()),
            can_protocol: None,
        },
    )
    .await?;
    let token: i64 = sqlx::query(
        "INSERT INTO vehicle_tokens (user_device_id, owner_user_id, manufacturer_node, minted_at) \
         VALUES ($1, $2, 1, $3) RETURNING token_id",
    )
    .bind(&car.id)
    .bind(&user.id)
    .bind(1_700_000_000_i64)
    .fetch_one(&db.pool)
    .await?
    .try_get("token_id")?;
    let request_id = pitlane_cloud::devices::new_id();
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    store::create(
        db,
        &NewCommand {
            request_id: &request_id,
            device: DeviceKey::generate().address(),
            action: "dtc.clear",
            params: &json!({}),
            vehicle_token_id: Some(u64::try_from(token)?),
            user_id: Some(&user.id),
            issued_ms: now_ms,
            // Far enough that the sweeper leaves it pending for the whole test.
            expires_ms: now_ms + 3_600_000,
        },
    )
    .await?;
    Ok((car.id, request_id))
}

pub async fn journey(b: &mut Browser, cloud: &Cloud) -> Result<()> {
    let (car, request_id) = pending_command(cloud).await?;

    b.step("login");
    b.open("/panel/login").await?;
    b.fill("#f-email", EMAIL).await?;
    b.fill("#f-password", PASSWORD).await?;
    b.click("main form button[type=submit]").await?;
    b.wait_text("h1", "Vehicles").await?;

    b.step("pending");
    b.open(&format!(
        "/panel/vehicles/{car}?done=codes-cleared&command={request_id}"
    ))
    .await?;
    b.wait_text("#command-status", "Clear trouble codes: pending")
        .await?;
    b.client
        .execute("window.__pitlaneSamePage = true;", vec![])
        .await?;

    b.step("settles-by-itself");
    sqlx::query(
        "UPDATE device_commands SET status = 'executed', completed_ms = issued_ms + 1 \
         WHERE request_id = $1",
    )
    .bind(&request_id)
    .execute(&cloud.state.db.pool)
    .await?;
    b.wait_text("#command-status", "Clear trouble codes: executed")
        .await?;
    let after = b
        .client
        .execute(
            "var out = document.getElementById('command-status');\
             return [window.__pitlaneSamePage === true, out.hasAttribute('data-follow'),\
                     out.getAttribute('data-status')];",
            vec![],
        )
        .await?;
    ensure!(
        after == json!([true, false, "executed"]),
        "followed in the same page, then stopped: {after}"
    );
    Ok(())
}
