//! `pitlane-cloud user add --email E --name N [--username U] [--admin] [--config FILE]`:
//! creates an account (the first admin, or API clients) with the password read from
//! `PITLANE_NEW_USER_PASSWORD` or the first line of standard input.

use std::io::BufRead;

use anyhow::{Context, bail};

use crate::accounts::password::{Passwords, check_policy};
use crate::accounts::users::{self, NewUser, is_plausible_email};
use crate::config::Config;
use crate::db::Db;

#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Add(AddArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// TOML configuration file (for the database location).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// Login name for the auth-v1 API (defaults to logging in by email).
    #[arg(long)]
    pub username: Option<String>,
    /// Give the account the admin role.
    #[arg(long)]
    pub admin: bool,
}

pub async fn run(args: UserArgs) -> anyhow::Result<()> {
    let UserCommand::Add(args) = args.command;
    if !is_plausible_email(&args.email) {
        bail!("--email: not a valid email address");
    }
    let password = match std::env::var("PITLANE_NEW_USER_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    check_policy(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let config = Config::load(args.config.as_deref())?;
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    let db = Db::connect(&config.effective_database_url()).await?;
    let hash = Passwords::new()?.hash(password).await?;
    let user = users::create(
        &db,
        NewUser {
            email: Some(args.email),
            username: args.username,
            name: args.name,
            password_hash: Some(hash),
            admin: args.admin,
            email_verified: true,
            wallet_address: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the account: {e}"))?;
    db.close().await;
    println!(
        "{}",
        serde_json::json!({ "user_id": user.id, "email": user.email, "role": user.role.as_str() })
    );
    Ok(())
}
