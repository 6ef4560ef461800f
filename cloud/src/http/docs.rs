//! The OpenAPI document (`/openapi.json`) and a self-contained browsable page (`/docs`)
//! rendered from it in the browser; nothing is downloaded at build or run time.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
}

/// The documentation routes themselves and a short entry for the web panel.
#[derive(OpenApi)]
#[openapi(paths(openapi_json, docs_page, panel))]
struct Doc;

/// The whole service's OpenAPI document: every family's paths merged.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Pitlane cloud API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Every API family of Pitlane (the auth families, VIN decoding, the devices API, \
                     the registry, vehicle commands, administration and operations), each with its \
                     own routes, bodies and error shapes.",
                ))
                .build(),
        )
        .build();
    // Families add their documents here (one line each).
    doc.merge(super::users::Doc::openapi());
    doc.merge(super::auth_v1::Doc::openapi());
    doc.merge(super::hmac_auth::Doc::openapi());
    doc.merge(super::team_auth::Doc::openapi());
    doc.merge(super::web3::Doc::openapi());
    doc.merge(super::decode::Doc::openapi());
    doc.merge(super::vag_map::Doc::openapi());
    doc.merge(super::user_devices::Doc::openapi());
    doc.merge(super::error_codes::Doc::openapi());
    doc.merge(super::geofences::Doc::openapi());
    doc.merge(super::aftermarket::Doc::openapi());
    doc.merge(super::device_status::Doc::openapi());
    doc.merge(super::mint::Doc::openapi());
    doc.merge(super::pairing::Doc::openapi());
    doc.merge(super::tokens::Doc::openapi());
    doc.merge(super::vehicle_commands::Doc::openapi());
    doc.merge(super::dcn::Doc::openapi());
    doc.merge(super::admin_devices::Doc::openapi());
    doc.merge(super::health::Doc::openapi());
    doc.merge(Doc::openapi());
    doc.merge(super::smartcar::Doc::openapi());
    finish_operations(&mut doc);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "The access token of the route's family: Users API (`ipHash.uaHash.<jwt>`), \
                     auth-v1, apikey-hmac, team-auth, or the Web3 challenge's access token (the \
                     devices API). Admin routes take an administrator's Users-API token.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "privilegeToken",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "A privilege token from `POST /v1/tokens/exchange` for the vehicle in the path.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "provisioningKey",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            super::admin_devices::PROVISIONING_KEY_HEADER,
            "The provisioning API key whose SHA-256 is the configured `provisioning_api_key_sha256`.",
        ))),
    );
    doc
}

/// Prefixes each operation id (a handler's name, such as `list` or `login`, which several
/// families share) with its family's tag, so ids are unique as OpenAPI requires
/// (`devices_api_geofences_list`, `team_auth_login`), and gives responses documented
/// without a description their status's reason phrase.
fn finish_operations(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            let tag = op.tags.as_ref().and_then(|t| t.first());
            if let (Some(tag), Some(id)) = (tag, &op.operation_id) {
                op.operation_id = Some(format!("{}_{id}", slug(tag)));
            }
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    let reason = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason());
                    response.description = reason.unwrap_or("Response").to_owned();
                }
            }
        }
    }
}

/// `Devices API: error codes` → `devices_api_error_codes`.
fn slug(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.join("_")
}

/// The schema of a signature field: `0x` and 130 hex digits (r ‖ s ‖ v), or, as in DIMO's
/// pairing body, an array of the 65 byte values.
pub fn signature_schema() -> RefOr<Schema> {
    let hex = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^0x[0-9a-fA-F]{130}$"));
    let bytes = ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(255)),
        )
        .min_items(Some(65))
        .max_items(Some(65));
    OneOfBuilder::new()
        .item(hex)
        .item(bytes)
        .description(Some(
            "A 65-byte signature: 0x hex, or an array of byte values",
        ))
        .into()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "Documentation",
    responses((status = 200, content_type = "application/json", body = Object, description = "OpenAPI 3.1")))]
async fn openapi_json() -> impl IntoResponse {
    Json(openapi())
}

/// A browsable page rendered from this document (self-contained; nothing downloaded).
#[utoipa::path(get, path = "/docs", tag = "Documentation",
    responses((status = 200, content_type = "text/html", body = String)))]
async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs/page.html"))
}

/// The web panel: server-rendered pages under `/panel/…` (login, vehicles, decoding,
/// API keys, geofences) with a session cookie; not an API.
#[utoipa::path(get, path = "/panel/", tag = "Web panel",
    responses((status = 200, content_type = "text/html", body = String, description = "The panel's start page (or a redirect to its login)")))]
#[allow(dead_code)] // Documentation only: `crate::panel::router` serves the panel.
fn panel() {}

#[cfg(test)]
mod tests {
    #[test]
    fn every_decode_and_vag_map_route_is_documented() {
        let doc = serde_json::to_value(super::openapi()).expect("serialisable");
        let check = |path: &str, method: &str| {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} missing from the OpenAPI document"
            );
        };
        check("/api/v1/decode/{user_id}", "get");
        check("/api/v1/decode/{user_id}", "post");
        check("/api/v1/decode/{user_id}/bulk/{bulk_id}/pause", "put");
        check("/api/v1/decode/{user_id}/bulk/{bulk_id}/resume", "put");
        check("/api/v1/decode/{user_id}/tasks/{task_id}", "get");
        check("/api/v1/vag-map/map", "post");
        assert!(doc["components"]["schemas"]["TaskResponse"].is_object());
    }
}
