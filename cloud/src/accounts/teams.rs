//! Pending registrations, teams, memberships and projects (team-auth family).

use sqlx::Row;

use super::users::{self, NewUser, User, normalize_email};
use super::{AccountError, now, secrets};
use crate::db::Db;

/// A registration waiting for its email to be verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub existing_user_id: Option<String>,
    pub completed: bool,
}

/// Records a registration; `existing_user_id` is set when the address already has an account.
pub async fn register(
    db: &Db,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<Registration, AccountError> {
    let email = normalize_email(email);
    let existing = users::by_email(db, &email).await?.map(|u| u.id);
    let id = secrets::random_id("reg");
    sqlx::query(
        "INSERT INTO registrations (id, email, name, password_hash, existing_user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(&email)
    .bind(name.trim())
    .bind(password_hash)
    .bind(&existing)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(Registration {
        id,
        email,
        name: name.trim().to_owned(),
        password_hash: password_hash.to_owned(),
        existing_user_id: existing,
        completed: false,
    })
}

pub async fn registration(db: &Db, id: &str) -> Result<Option<Registration>, AccountError> {
    let row = sqlx::query(
        "SELECT id, email, name, password_hash, existing_user_id, completed_at FROM registrations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Registration {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        existing_user_id: row.try_get("existing_user_id")?,
        completed: row.try_get::<Option<i64>, _>("completed_at")?.is_some(),
    }))
}

/// Turns a verified registration into an account with its default team and project;
/// answers the account and the team id.
pub async fn complete(db: &Db, reg: &Registration) -> Result<(User, String), AccountError> {
    if reg.completed || reg.existing_user_id.is_some() {
        return Err(AccountError::InvalidToken);
    }
    let user = users::create(
        db,
        NewUser {
            email: Some(reg.email.clone()),
            username: None,
            name: reg.name.clone(),
            password_hash: Some(reg.password_hash.clone()),
            admin: false,
            email_verified: true,
            wallet_address: None,
        },
    )
    .await?;
    let ts = now();
    let team_id = secrets::random_id("team");
    let mut tx = db.pool.begin().await?;
    sqlx::query("INSERT INTO teams (id, name, owner_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&team_id)
        .bind(format!("{}'s team", reg.name))
        .bind(&user.id)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
        .bind(&team_id)
        .bind(&user.id)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO projects (id, team_id, name, created_at) VALUES ($1, $2, 'Default project', $3)")
        .bind(secrets::random_id("prj"))
        .bind(&team_id)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE registrations SET completed_at = $1 WHERE id = $2")
        .bind(ts)
        .bind(&reg.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((user, team_id))
}

/// The user's default team (the oldest membership), if any.
pub async fn default_team(db: &Db, user_id: &str) -> Result<Option<String>, AccountError> {
    let row = sqlx::query(
        "SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY created_at, team_id LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| r.try_get("team_id")).transpose()?)
}

/// Names of a team's projects.
pub async fn projects(db: &Db, team_id: &str) -> Result<Vec<String>, AccountError> {
    let rows = sqlx::query("SELECT name FROM projects WHERE team_id = $1 ORDER BY created_at, id")
        .bind(team_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| r.try_get("name").map_err(Into::into))
        .collect()
}
