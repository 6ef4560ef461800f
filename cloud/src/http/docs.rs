//! The OpenAPI document (`/openapi.json`) and a self-contained browsable page (`/docs`)
//! rendered from it in the browser; nothing is downloaded at build or run time.

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
}

/// The whole service's OpenAPI document: every family's paths merged.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Pitlane cloud API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Every documented auth API family of Pitlane, each with its own routes, bodies and error shapes.",
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
    doc.merge(super::smartcar::Doc::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    doc
}

async fn openapi_json() -> impl IntoResponse {
    Json(openapi())
}

async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs/page.html"))
}

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
