//! JSON Web Tokens: HS256 only, with audience, type, issuer, expiry and issue time checked.
//!
//! Every API family has its own audience, so a token issued to one family is refused by
//! the others. Each token names its session (`sid`); the session row decides revocation.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "pitlane";
/// Clock skew tolerated on `exp` and `iat`, seconds.
const LEEWAY: u64 = 5;

/// Which API family (and token kind) a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Users,
    AuthV1,
    Hmac,
    TeamUser,
    TeamVault,
    /// A pending team-auth registration (only good for resending the verification mail).
    TeamRegistration,
    Web3,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Users => "pitlane:users",
            Audience::AuthV1 => "pitlane:auth-v1",
            Audience::Hmac => "pitlane:apikey-hmac",
            Audience::TeamUser => "pitlane:team-user",
            Audience::TeamVault => "pitlane:team-vault",
            Audience::TeamRegistration => "pitlane:team-registration",
            Audience::Web3 => "pitlane:web3",
        }
    }

    /// The JOSE `typ` header (RFC 9068 access tokens; the vault token is its own type).
    fn typ(self) -> &'static str {
        match self {
            Audience::TeamVault => "vault+jwt",
            Audience::TeamRegistration => "reg+jwt",
            _ => "at+jwt",
        }
    }
}

/// The claims of every access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Session id.
    pub sid: String,
    pub role: String,
    /// Client binding (Users API): keyed hashes of the client address and User-Agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Binding>,
    /// Team of a vault token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// The client a token was issued to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub ip: String,
    pub ua: String,
}

/// Why a token was refused (callers answer 401 alike for all of them).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid: {0}")]
    Invalid(String),
}

/// Signing and verification keys.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(HS256)")
    }
}

/// What to put in a new token.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub role: &'a str,
    pub now: i64,
    pub ttl_secs: i64,
    pub binding: Option<Binding>,
    pub team: Option<String>,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Signs a token for `aud`.
    pub fn issue(&self, aud: Audience, t: NewToken<'_>) -> Result<String, TokenError> {
        let claims = Claims {
            iss: ISSUER.into(),
            sub: t.user_id.into(),
            aud: aud.as_str().into(),
            iat: t.now,
            exp: t.now + t.ttl_secs,
            jti: super::secrets::random_id("jti"),
            sid: t.session_id.into(),
            role: t.role.into(),
            cnf: t.binding,
            team: t.team,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(aud.typ().into());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Verifies signature (HS256 only), issuer, audience, type, `exp` and `iat`.
    pub fn verify(&self, token: &str, aud: Audience, now: i64) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_audience(&[aud.as_str()]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
        validation.leeway = LEEWAY;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            },
        )?;
        if data.header.typ.as_deref() != Some(aud.typ()) {
            return Err(TokenError::Invalid("wrong token type".into()));
        }
        let claims = data.claims;
        // jsonwebtoken checks `exp` against the system clock; check both against ours.
        if claims.exp <= now - LEEWAY as i64 {
            return Err(TokenError::Expired);
        }
        if claims.iat > now + LEEWAY as i64 || claims.iat > claims.exp {
            return Err(TokenError::Invalid("issued in the future".into()));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef")
    }

    fn issue(aud: Audience, now: i64, ttl: i64) -> String {
        keys()
            .issue(
                aud,
                NewToken {
                    user_id: "usr_1",
                    session_id: "ses_1",
                    role: "client",
                    now,
                    ttl_secs: ttl,
                    binding: None,
                    team: None,
                },
            )
            .expect("issue")
    }

    #[test]
    fn round_trip() {
        let now = crate::accounts::now();
        let claims = keys()
            .verify(&issue(Audience::Users, now, 60), Audience::Users, now)
            .expect("ok");
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_str()),
            ("usr_1", "ses_1")
        );
    }

    #[test]
    fn refusals() {
        let now = crate::accounts::now();
        let k = keys();
        let t = issue(Audience::Users, now, 60);
        assert!(
            k.verify(&t, Audience::AuthV1, now).is_err(),
            "wrong audience"
        );
        let vault = issue(Audience::TeamVault, now, 60);
        assert!(k.verify(&vault, Audience::TeamUser, now).is_err());
        assert_eq!(
            k.verify(&issue(Audience::Users, now - 100, 60), Audience::Users, now),
            Err(TokenError::Expired)
        );
        assert!(
            k.verify(&issue(Audience::Users, now + 100, 60), Audience::Users, now)
                .is_err(),
            "future iat"
        );
        let other = TokenKeys::new(b"another secret another secret 32");
        assert!(
            other.verify(&t, Audience::Users, now).is_err(),
            "foreign key"
        );
        let mut tampered = t.clone();
        tampered.insert(t.find('.').expect("dot") + 3, 'A');
        assert!(k.verify(&tampered, Audience::Users, now).is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        use base64_like::url;
        let now = crate::accounts::now();
        let header = url(br#"{"alg":"none","typ":"at+jwt"}"#);
        let body = url(format!(
            r#"{{"iss":"pitlane","sub":"usr_1","aud":"pitlane:users","iat":{now},"exp":{},"jti":"j","sid":"ses_1","role":"admin"}}"#,
            now + 60
        ).as_bytes());
        for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
            assert!(keys().verify(&token, Audience::Users, now).is_err());
        }
    }

    /// Minimal base64url without padding for crafting hostile tokens in tests.
    mod base64_like {
        pub fn url(bytes: &[u8]) -> String {
            const A: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
                for i in 0..=chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
