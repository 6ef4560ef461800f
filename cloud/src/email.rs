//! Outgoing mail: every message is written to the `outbox` table, then handed to SMTP
//! (lettre, a timeout on every step) when SMTP is configured, or only logged when not,
//! so a fresh install works offline.

pub mod templates;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::Row;

use crate::accounts::now;
use crate::config::{Config, SmtpSecurity};
use crate::db::Db;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Mail setup failures.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("invalid address: {0}")]
    Address(#[from] lettre::address::AddressError),
    #[error("message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Sends mail in the background.
#[derive(Clone)]
pub struct Mailer {
    db: Db,
    from: Mailbox,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.smtp.is_some())
            .finish()
    }
}

impl Mailer {
    pub fn new(config: &Config, db: Db) -> Result<Self, MailError> {
        let from: Mailbox = config.smtp_from.parse()?;
        let smtp = match &config.smtp_host {
            None => None,
            Some(host) => {
                let builder = match config.smtp_security {
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    }
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
                };
                let mut builder = builder
                    .port(config.smtp_port)
                    .timeout(Some(Duration::from_secs(config.smtp_timeout_secs)));
                if let (Some(user), Some(pass)) = (&config.smtp_username, &config.smtp_password) {
                    builder = builder
                        .credentials(Credentials::new(user.clone(), pass.expose().to_owned()));
                }
                Some(builder.build())
            }
        };
        Ok(Self { db, from, smtp })
    }

    /// Queues `mail` and delivers it on a background task, so that a request's response
    /// time never depends on whether (or how fast) mail was sent.
    pub fn send(&self, mail: Mail) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.deliver(mail).await {
                tracing::error!(error = %e, "mail delivery failed");
            }
        });
    }

    async fn deliver(&self, mail: Mail) -> Result<(), MailError> {
        let row = sqlx::query(
            "INSERT INTO outbox (to_addr, subject, html, text, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&mail.to)
        .bind(&mail.subject)
        .bind(&mail.html)
        .bind(&mail.text)
        .bind(now())
        .fetch_one(&self.db.pool)
        .await?;
        let id: i64 = row.try_get("id")?;
        let Some(smtp) = &self.smtp else {
            tracing::info!(outbox_id = id, to = %mail.to, subject = %mail.subject, "no SMTP configured: mail kept in the outbox");
            return Ok(());
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse()?)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))?;
        let (sent_at, error) = match smtp.send(message).await {
            Ok(_) => (Some(now()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        sqlx::query("UPDATE outbox SET sent_at = $1, error = $2 WHERE id = $3")
            .bind(sent_at)
            .bind(&error)
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        if let Some(error) = error {
            tracing::warn!(outbox_id = id, %error, "SMTP delivery failed; mail kept in the outbox");
        }
        Ok(())
    }
}
