//! The pages in web/, embedded into the binary at build time (rust-embed), so
//! the server ships as one file. No build step: what is in web/ is served.

use axum::body::Body;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

pub async fn asset(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match Assets::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_string()),
                    // Pages change with the binary; let browsers revalidate cheaply.
                    (header::CACHE_CONTROL, "no-cache".to_string()),
                    (
                        header::ETAG,
                        format!("\"{}\"", hex::encode(file.metadata.sha256_hash())),
                    ),
                ],
                Body::from(file.data.into_owned()),
            )
                .into_response()
        }
        None => super::error::ApiError::not_found().into_response(),
    }
}

/// Whether an embedded asset exists (used by tests and the join page).
pub fn has_asset(path: &str) -> bool {
    Assets::get(path).is_some()
}

pub async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "not found")
}
