//! `fromsmartcar`: exchanges a Smartcar Connect code, reads the authorized vehicles and
//! creates them for the user like `fromvin` does.
//!
//! Every call to Smartcar happens before anything is written, and the writes (the
//! authorization, the vehicles, their connections) are one transaction, so a failure leaves
//! nothing behind. Device definitions are the exception: they are shared reference data
//! (make/model/year) and may be created just before a failing write.
//!
//! Several vehicles: Smartcar Connect lets the user authorize more than one vehicle at once,
//! and they all share one authorization. All of them (the first [`MAX_VEHICLES`]) are
//! connected. A vehicle whose VIN the user already registered is not duplicated: its
//! connection moves to the new authorization (a reconnect).

use sqlx::AnyConnection;

use super::client::Attributes;
use super::{Smartcar, SmartcarClient, SmartcarError, store};
use crate::accounts::now;
use crate::config::Secret;
use crate::db::{Db, is_unique_violation};
use crate::devices::definitions::{self, Mmy};
use crate::devices::vehicles::{self, UserDevice};
use crate::devices::{DevicesError, country, new_id};
use crate::smartcar::client::{Call, CallError};

/// Most vehicles connected from one authorization (Smartcar's first page holds ten).
pub const MAX_VEHICLES: usize = 10;
/// Longest authorization code accepted.
pub const MAX_CODE: usize = 512;
/// Longest redirect URI accepted.
pub const MAX_REDIRECT_URI: usize = 2048;

/// What `fromsmartcar` receives.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub code: String,
    pub country_code: String,
    pub redirect_uri: String,
}

/// A connected vehicle, and whether it was created (false: an existing vehicle reconnected).
#[derive(Debug, Clone)]
pub struct Connected {
    pub vehicle: UserDevice,
    pub created: bool,
}

/// A request checked field by field; errors name the field.
#[derive(Debug, Clone)]
struct Checked {
    code: String,
    country_code: String,
    redirect_uri: String,
}

fn check(req: &ConnectRequest) -> Result<Checked, SmartcarError> {
    let bad = |m: String| SmartcarError::BadInput(m);
    let code = req.code.trim();
    if code.is_empty() {
        return Err(bad("code: is required".into()));
    }
    if code.len() > MAX_CODE || code.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(format!(
            "code: must be at most {MAX_CODE} printable characters without spaces"
        )));
    }
    if req.country_code.trim().is_empty() {
        return Err(bad("countryCode: is required".into()));
    }
    let country_code = country::parse(&req.country_code)?;
    let redirect_uri = req.redirect_uri.trim();
    if redirect_uri.is_empty() {
        return Err(bad("redirectURI: is required".into()));
    }
    let scheme_ok = redirect_uri
        .split_once("://")
        .is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && !rest.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        });
    if redirect_uri.len() > MAX_REDIRECT_URI
        || !scheme_ok
        || redirect_uri.chars().any(|c| c.is_control() || c == ' ')
    {
        return Err(bad(format!(
            "redirectURI: must be an absolute URI (scheme://…) of at most {MAX_REDIRECT_URI} characters"
        )));
    }
    Ok(Checked {
        code: code.to_owned(),
        country_code,
        redirect_uri: redirect_uri.to_owned(),
    })
}

/// One vehicle as Smartcar describes it, checked.
struct Found {
    smartcar_id: String,
    vin: String,
    mmy: Mmy,
}

fn malformed(call: Call, reason: String) -> SmartcarError {
    SmartcarError::Call(CallError::Malformed { call, reason })
}

/// The make/model/year of a vehicle: our decoder's reading of the VIN, else Smartcar's.
fn describe(attributes: &Attributes, vin: &str) -> Result<(String, Mmy), SmartcarError> {
    let valid = vehicles::validate_vin(vin).map_err(|e| match e {
        DevicesError::BadInput(m) => malformed(Call::Vin, m),
        other => other.into(),
    })?;
    let vin = valid.0.vin.clone();
    if let Ok(mmy) = valid.mmy() {
        return Ok((vin, mmy));
    }
    let mmy = Mmy::new(
        &attributes.make,
        &attributes.model,
        attributes.year,
        crate::vin::year::current_year(),
    )
    .map_err(|e| malformed(Call::Attributes, e.to_string()))?;
    Ok((vin, mmy))
}

/// Connects the vehicles of a Smartcar Connect authorization to `user_id`.
pub async fn connect(
    db: &Db,
    smartcar: &Smartcar,
    user_id: &str,
    req: &ConnectRequest,
) -> Result<Vec<Connected>, SmartcarError> {
    let req = check(req)?;
    let client = smartcar.client()?;
    let cipher = smartcar.cipher()?;
    let tokens = client.exchange_code(&req.code, &req.redirect_uri).await?;
    let found = read_vehicles(client, &tokens.access_token).await?;
    let mut definitions = Vec::with_capacity(found.len());
    for f in &found {
        definitions.push(definitions::find_or_create(db, &f.mmy).await?);
    }
    let ts = now();
    let mut tx = db.pool.begin().await?;
    let grant = store::insert_grant(&mut tx, cipher, user_id, &tokens, ts).await?;
    let mut ids = Vec::with_capacity(found.len());
    for (f, definition) in found.iter().zip(&definitions) {
        let new = NewVehicle {
            user_id,
            definition_id: &definition.id,
            country_code: &req.country_code,
            vin: &f.vin,
        };
        let (id, created) = find_or_insert(&mut tx, &new, ts).await?;
        store::upsert_connection(&mut tx, cipher, &id, &grant, &f.smartcar_id, ts).await?;
        ids.push((id, created));
    }
    store::delete_unused_grants(&mut tx, user_id).await?;
    tx.commit().await?;
    let mut connected = Vec::with_capacity(ids.len());
    for (id, created) in ids {
        connected.push(Connected {
            vehicle: vehicles::owned(db, user_id, &id).await?,
            created,
        });
    }
    Ok(connected)
}

/// Every vehicle the token covers (the first [`MAX_VEHICLES`]), with its VIN and make/model/year.
async fn read_vehicles(
    client: &SmartcarClient,
    access_token: &Secret,
) -> Result<Vec<Found>, SmartcarError> {
    let mut ids = client.vehicles(access_token).await?;
    if ids.is_empty() {
        return Err(SmartcarError::BadInput(
            "code: the authorization covers no vehicle; select a vehicle in Smartcar Connect"
                .into(),
        ));
    }
    if ids.len() > MAX_VEHICLES {
        tracing::info!(
            authorized = ids.len(),
            kept = MAX_VEHICLES,
            "Smartcar authorization covers more vehicles than one request connects"
        );
        ids.truncate(MAX_VEHICLES);
    }
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let attributes = client.attributes(access_token, &id).await?;
        if attributes.id != id {
            return Err(malformed(
                Call::Attributes,
                "the answer is about another vehicle".into(),
            ));
        }
        let vin = client.vin(access_token, &id).await?;
        let (vin, mmy) = describe(&attributes, &vin)?;
        found.push(Found {
            smartcar_id: id,
            vin,
            mmy,
        });
    }
    Ok(found)
}

/// A vehicle about to be recorded.
struct NewVehicle<'a> {
    user_id: &'a str,
    definition_id: &'a str,
    country_code: &'a str,
    vin: &'a str,
}

/// The user's vehicle with this VIN, created when missing: `(id, created)`.
async fn find_or_insert(
    conn: &mut AnyConnection,
    new: &NewVehicle<'_>,
    ts: i64,
) -> Result<(String, bool), SmartcarError> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM user_devices WHERE user_id = $1 AND vin = $2")
            .bind(new.user_id)
            .bind(new.vin)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(id) = existing {
        return Ok((id, false));
    }
    let id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO user_devices (id, user_id, device_definition_id, country_code, vin, \
         vin_confirmed, can_protocol, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, NULL, $6, $6)",
    )
    .bind(&id)
    .bind(new.user_id)
    .bind(new.definition_id)
    .bind(new.country_code)
    .bind(new.vin)
    .bind(ts)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => Ok((id, true)),
        // A concurrent fromvin or fromsmartcar registered the same VIN first.
        Err(e) if is_unique_violation(&e) => Err(DevicesError::Conflict(format!(
            "vin: {} is being registered by another request; try again",
            new.vin
        ))
        .into()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(code: &str, country: &str, redirect: &str) -> ConnectRequest {
        ConnectRequest {
            code: code.into(),
            country_code: country.into(),
            redirect_uri: redirect.into(),
        }
    }

    fn check_field(code: &str, country: &str, redirect: &str, field: Option<&str>) {
        let got = check(&req(code, country, redirect));
        match field {
            None => assert!(got.is_ok(), "{got:?}"),
            Some(field) => {
                let message = got.expect_err("must fail").to_string();
                assert!(
                    message.starts_with(field),
                    "{message:?} should name {field}"
                );
            }
        }
    }

    #[test]
    fn fields_are_checked_and_named() {
        let uri = "https://app.example/callback";
        check_field("abc-123", "USA", uri, None);
        check_field("abc", "deu", "myapp://smartcar", None);
        check_field("", "USA", uri, Some("code"));
        check_field("  ", "USA", uri, Some("code"));
        check_field("a b", "USA", uri, Some("code"));
        check_field(&"c".repeat(MAX_CODE + 1), "USA", uri, Some("code"));
        check_field("abc", "", uri, Some("countryCode"));
        check_field("abc", "US", uri, Some("countryCode"));
        check_field("abc", "XXX", uri, Some("countryCode"));
        check_field("abc", "USA", "", Some("redirectURI"));
        check_field("abc", "USA", "/callback", Some("redirectURI"));
        check_field("abc", "USA", "https://", Some("redirectURI"));
        check_field("abc", "USA", "https://a b", Some("redirectURI"));
    }
}
