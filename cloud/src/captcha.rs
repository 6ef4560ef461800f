//! Captcha verification: a reCAPTCHA-compatible siteverify endpoint, or a development
//! verifier that accepts one configured test token.

use std::time::Duration;

use crate::accounts::secrets::ct_eq;
use crate::config::{Config, Secret};

/// How captcha tokens are checked.
#[derive(Debug, Clone)]
pub enum Captcha {
    /// POST `secret`, `response`, `remoteip` as a form; the answer's `success` decides.
    SiteVerify {
        url: String,
        secret: Secret,
        client: reqwest::Client,
    },
    /// Accepts exactly the configured token; with none configured, accepts nothing.
    Dev { token: Option<String> },
}

/// The verifier could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("captcha verification request failed: {0}")]
    Request(#[from] reqwest::Error),
}

#[derive(serde::Deserialize)]
struct SiteVerifyAnswer {
    success: bool,
}

impl Captcha {
    pub fn from_config(config: &Config) -> Result<Self, CaptchaError> {
        Ok(
            match (&config.captcha_siteverify_url, &config.captcha_secret) {
                (Some(url), Some(secret)) => Captcha::SiteVerify {
                    url: url.clone(),
                    secret: secret.clone(),
                    client: reqwest::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .connect_timeout(Duration::from_secs(5))
                        .build()?,
                },
                _ => Captcha::Dev {
                    token: config.captcha_test_token.clone(),
                },
            },
        )
    }

    /// Whether `token` is a solved captcha.
    pub async fn verify(&self, token: &str, remote_ip: &str) -> Result<bool, CaptchaError> {
        if token.is_empty() || token.len() > 4096 {
            return Ok(false);
        }
        match self {
            Captcha::Dev {
                token: Some(expected),
            } => Ok(ct_eq(token, expected)),
            Captcha::Dev { token: None } => Ok(false),
            Captcha::SiteVerify {
                url,
                secret,
                client,
            } => {
                let answer: SiteVerifyAnswer = client
                    .post(url)
                    .form(&[
                        ("secret", secret.expose()),
                        ("response", token),
                        ("remoteip", remote_ip),
                    ])
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                Ok(answer.success)
            }
        }
    }
}
