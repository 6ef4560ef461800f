//! The `users` table.

use pitlane_shared::identity::Address;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{AccountError, Role, now, secrets};
use crate::db::{Db, is_unique_violation};

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub name: String,
    pub password_hash: Option<String>,
    pub role: Role,
    pub email_verified: bool,
    pub wallet_address: Option<String>,
    pub created_at: i64,
}

/// What creating an account needs.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub email: Option<String>,
    pub username: Option<String>,
    pub name: String,
    pub password_hash: Option<String>,
    pub admin: bool,
    pub email_verified: bool,
    pub wallet_address: Option<String>,
}

const COLUMNS: &str =
    "id, email, username, name, password_hash, role, email_verified, wallet_address, created_at";

fn from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        username: row.try_get("username")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        role: Role::parse(&row.try_get::<String, _>("role")?),
        email_verified: row.try_get::<i64, _>("email_verified")? != 0,
        wallet_address: row.try_get("wallet_address")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Normalises an email address for storage and look-up.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Minimal syntactic check: one `@`, something on both sides, a dot in the domain.
pub fn is_plausible_email(email: &str) -> bool {
    let email = email.trim();
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && email.len() <= 254
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

pub async fn create(db: &Db, new: NewUser) -> Result<User, AccountError> {
    let id = secrets::random_id("usr");
    let ts = now();
    let role = if new.admin { Role::Admin } else { Role::Client };
    let result = sqlx::query(
        "INSERT INTO users (id, email, username, name, password_hash, role, email_verified, \
         wallet_address, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(&id)
    .bind(new.email.as_deref().map(normalize_email))
    .bind(&new.username)
    .bind(&new.name)
    .bind(&new.password_hash)
    .bind(role.as_str())
    .bind(i64::from(new.email_verified))
    .bind(&new.wallet_address)
    .bind(ts)
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => by_id(db, &id).await?.ok_or(AccountError::NotFound),
        Err(e) if is_unique_violation(&e) => Err(AccountError::Conflict),
        Err(e) => Err(e.into()),
    }
}

async fn one(db: &Db, clause: &str, value: &str) -> Result<Option<User>, AccountError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE {clause}");
    let row = sqlx::query(&sql)
        .bind(value)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<User>, AccountError> {
    one(db, "id = $1", id).await
}

pub async fn by_email(db: &Db, email: &str) -> Result<Option<User>, AccountError> {
    one(db, "email = $1", &normalize_email(email)).await
}

/// Looks up by user name, falling back to the email address.
pub async fn by_login(db: &Db, login: &str) -> Result<Option<User>, AccountError> {
    match one(db, "username = $1", login.trim()).await? {
        Some(user) => Ok(Some(user)),
        None => by_email(db, login).await,
    }
}

pub async fn by_wallet(db: &Db, address: &str) -> Result<Option<User>, AccountError> {
    one(db, "wallet_address = $1", &address.to_lowercase()).await
}

pub async fn set_password(db: &Db, id: &str, hash: &str) -> Result<(), AccountError> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Gives an account without a password its first one, and the user name to log in with
/// when `username` is given. Refused with [`AccountError::Conflict`] when the account has a
/// password by now (changing one needs the current password) or the user name is taken;
/// an unknown account is [`AccountError::NotFound`].
pub async fn set_first_password(
    db: &Db,
    id: &str,
    username: Option<&str>,
    hash: &str,
) -> Result<(), AccountError> {
    let result = sqlx::query(
        "UPDATE users SET password_hash = $1, username = COALESCE($2, username), updated_at = $3 \
         WHERE id = $4 AND password_hash IS NULL",
    )
    .bind(hash)
    .bind(username)
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await;
    match result {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(_) => match by_id(db, id).await? {
            Some(_) => Err(AccountError::Conflict),
            None => Err(AccountError::NotFound),
        },
        Err(e) if is_unique_violation(&e) => Err(AccountError::Conflict),
        Err(e) => Err(e.into()),
    }
}

pub async fn set_email_verified(db: &Db, id: &str) -> Result<(), AccountError> {
    sqlx::query("UPDATE users SET email_verified = 1, updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Links `address` as the wallet of an existing account, so the account can also log in
/// with that wallet (Web3 challenge). The caller must already have checked the wallet's
/// proof (an EIP-191 signature over a challenge). Linking the wallet the account already has
/// is a no-op; a wallet another account holds is [`AccountError::Conflict`]; an unknown
/// account is [`AccountError::NotFound`]. A different wallet replaces the old one.
pub async fn link_wallet(db: &Db, user_id: &str, address: &Address) -> Result<(), AccountError> {
    let wallet = address.to_lowercase_hex();
    let result = sqlx::query("UPDATE users SET wallet_address = $1, updated_at = $2 WHERE id = $3")
        .bind(&wallet)
        .bind(now())
        .bind(user_id)
        .execute(&db.pool)
        .await;
    match result {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(_) => Err(AccountError::NotFound),
        Err(e) if is_unique_violation(&e) => Err(AccountError::Conflict),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_plausibility() {
        for (e, ok) in [
            ("dev@company.com", true),
            (" Dev@Company.com ", true),
            ("dev@company", false),
            ("@company.com", false),
            ("dev@@company.com", false),
            ("de v@company.com", false),
            ("devcompany.com", false),
            ("dev@.com", false),
        ] {
            assert_eq!(is_plausible_email(e), ok, "{e:?}");
        }
        assert_eq!(normalize_email(" Dev@Company.COM"), "dev@company.com");
    }

    #[tokio::test]
    async fn link_wallet_sets_refuses_a_taken_wallet_and_unknown_accounts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.expect("connect");
        let account = |email: &str| NewUser {
            email: Some(email.into()),
            name: email.into(),
            ..NewUser::default()
        };
        let alice = create(&db, account("alice@example.com"))
            .await
            .expect("alice");
        let bob = create(&db, account("bob@example.com")).await.expect("bob");
        let wallet: Address = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
            .parse()
            .expect("address");

        link_wallet(&db, &alice.id, &wallet).await.expect("link");
        // Linking again is a no-op; the look-up is by the lower-case form.
        link_wallet(&db, &alice.id, &wallet).await.expect("relink");
        let found = by_wallet(&db, "0x8BA1F109551BD432803012645AC136DDD64DBA72")
            .await
            .expect("query")
            .expect("linked");
        assert_eq!(found.id, alice.id);

        assert!(matches!(
            link_wallet(&db, &bob.id, &wallet).await,
            Err(AccountError::Conflict)
        ));
        assert!(matches!(
            link_wallet(&db, "usr_missing", &wallet).await,
            Err(AccountError::NotFound)
        ));
        db.pool.close().await;
    }

    #[tokio::test]
    async fn a_first_password_is_set_once_with_a_free_user_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.expect("connect");
        let wallet_only = |w: &str| NewUser {
            name: w.into(),
            wallet_address: Some(w.into()),
            ..NewUser::default()
        };
        let a = create(&db, wallet_only("0xaa")).await.expect("a");
        let b = create(&db, wallet_only("0xbb")).await.expect("b");
        set_first_password(&db, &a.id, Some("fleet.ops"), "hash-1")
            .await
            .expect("first password");
        let found = by_login(&db, "fleet.ops").await.expect("query").expect("a");
        assert_eq!(
            (found.id.as_str(), found.password_hash.as_deref()),
            (a.id.as_str(), Some("hash-1"))
        );
        for (id, name) in [(&a.id, None), (&b.id, Some("fleet.ops"))] {
            assert!(
                matches!(
                    set_first_password(&db, id, name, "hash-2").await,
                    Err(AccountError::Conflict)
                ),
                "{id} {name:?}"
            );
        }
        let b = by_id(&db, &b.id).await.expect("query").expect("b");
        assert_eq!((b.password_hash, b.username), (None, None));
        assert!(matches!(
            set_first_password(&db, "usr_missing", None, "hash").await,
            Err(AccountError::NotFound)
        ));
        db.pool.close().await;
    }
}
