//! [`VehiclePrivilege`]: the extractor of vehicle routes (remote commands, …). It takes a
//! privilege token from token exchange (`Authorization: Bearer …`), checks its signature,
//! audience, type, expiry, contract, and that the session it came from is still active;
//! the route then calls [`VehiclePrivilege::require`] with its vehicle and privilege.
//!
//! ```ignore
//! async fn unlock(p: VehiclePrivilege, Path(token_id): Path<u64>) -> Result<_, PrivilegeRejection> {
//!     p.require(token_id, privileges::COMMANDS)?; // 403 unless the token covers it
//!     /* act as p.user_id() */
//! }
//! ```

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::bearer;
use crate::accounts::{now, sessions};
use crate::app::AppState;
use crate::registry::Chain;
use crate::registry::privileges::{PrivilegeClaims, PrivilegeKeys};

/// Why a privilege check failed: 401 (no or bad token) or 403 (the token does not cover
/// the vehicle or privilege), as `{"code": <status>, "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeRejection {
    pub status: StatusCode,
    pub message: String,
}

impl PrivilegeRejection {
    fn unauthorized(message: &str) -> Self {
        PrivilegeRejection {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }
}

impl IntoResponse for PrivilegeRejection {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

/// A verified privilege token.
#[derive(Debug, Clone)]
pub struct VehiclePrivilege {
    claims: PrivilegeClaims,
}

impl VehiclePrivilege {
    /// 403 unless the token is for vehicle `token_id` and includes `privilege`.
    pub fn require(&self, token_id: u64, privilege: u32) -> Result<(), PrivilegeRejection> {
        if self.claims.token_id != token_id {
            return Err(PrivilegeRejection {
                status: StatusCode::FORBIDDEN,
                message: format!(
                    "the privilege token is for vehicle {}, not {token_id}",
                    self.claims.token_id
                ),
            });
        }
        if !self.claims.privilege_ids.contains(&privilege) {
            return Err(PrivilegeRejection {
                status: StatusCode::FORBIDDEN,
                message: format!("the privilege token does not include privilege {privilege}"),
            });
        }
        Ok(())
    }

    /// The user the token was issued to.
    pub fn user_id(&self) -> &str {
        &self.claims.sub
    }

    /// The vehicle the token is for.
    pub fn token_id(&self) -> u64 {
        self.claims.token_id
    }

    /// The privileges the token carries.
    pub fn privilege_ids(&self) -> &[u32] {
        &self.claims.privilege_ids
    }
}

impl FromRequestParts<AppState> for VehiclePrivilege {
    type Rejection = PrivilegeRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let invalid = || PrivilegeRejection::unauthorized("Invalid or missing privilege token");
        let token = bearer::token(parts).ok_or_else(invalid)?;
        let ts = now();
        let claims = PrivilegeKeys::derive(&state.keys.jwt)
            .verify(token, ts)
            .ok_or_else(invalid)?;
        let chain = Chain::from_config(&state.config).map_err(|_| invalid())?;
        if claims.contract != chain.vehicle_nft.to_lowercase_hex() {
            return Err(invalid());
        }
        let session = sessions::active(&state.db, &claims.sid, ts)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "privilege token session");
                PrivilegeRejection {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "Internal server error".into(),
                }
            })?;
        if session.is_none_or(|s| s.user_id != claims.sub) {
            return Err(invalid());
        }
        Ok(VehiclePrivilege { claims })
    }
}
