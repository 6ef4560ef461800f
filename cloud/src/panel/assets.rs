//! The panel's static files (`cloud/panel/`), compiled into the binary: nothing is fetched
//! from elsewhere at build or run time. URLs carry a content hash, so browsers may cache
//! them for long and still see a new build at once.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::accounts::secrets::sha256_hex;
use crate::app::AppState;

struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "panel.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("../../panel/panel.css"),
    },
    Asset {
        name: "panel.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../panel/panel.js"),
    },
    Asset {
        name: "favicon.svg",
        mime: "image/svg+xml",
        body: include_bytes!("../../panel/favicon.svg"),
    },
];

/// A short content hash of every asset together (one version for the whole set).
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let all: Vec<u8> = ASSETS.iter().flat_map(|a| a.body.iter().copied()).collect();
    // Hex is ASCII, so the 12-byte prefix is on a character boundary.
    sha256_hex(&String::from_utf8_lossy(&all))[..12].to_owned()
});

/// The URL of asset `name`, with its version.
pub fn url(name: &str) -> String {
    format!("/panel/assets/{name}?v={}", *VERSION)
}

pub fn router() -> Router<AppState> {
    Router::new().route("/panel/assets/{name}", get(serve))
}

async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
