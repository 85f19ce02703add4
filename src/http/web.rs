//! The pages in web/, embedded into the binary at build time (rust-embed), so
//! the server ships as one file. No build step: what is in web/ is served.
//!
//! Phones on weak 3G are who this is for: every file carries an `ETag` (its
//! SHA-256) and a browser that already has it gets `304 Not Modified`; text
//! files are gzipped once, on their first request, and the compressed bytes
//! are kept for the life of the process (the embedded files never change).
//! `Cache-Control: no-cache` makes browsers revalidate, so a new binary's
//! pages are picked up at once while an unchanged file costs only headers.

use std::io::Write;
use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dashmap::DashMap;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

/// Gzipped bodies by path; `None` when gzip would not make the file smaller.
static GZIPPED: LazyLock<DashMap<String, Option<Bytes>>> = LazyLock::new(DashMap::new);

/// Types worth compressing: text, scripts, JSON, SVG. (Icons and images
/// are already compact or compressed.)
fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime.ends_with("javascript")
        || mime.ends_with("json")
        || mime.ends_with("+xml")
        || mime.ends_with("/xml")
}

/// The gzipped bytes of `path`, compressed on first use.
fn gzipped(path: &str, raw: &[u8]) -> Option<Bytes> {
    if let Some(hit) = GZIPPED.get(path) {
        return hit.clone();
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let body = encoder
        .write_all(raw)
        .and_then(|()| encoder.finish())
        .ok()
        .filter(|gz| gz.len() < raw.len())
        .map(Bytes::from);
    GZIPPED.insert(path.to_string(), body.clone());
    body
}

/// Whether the request's `Accept-Encoding` allows gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut bits = part.split(';').map(str::trim);
            let coding = bits.next().unwrap_or_default();
            let refused = bits.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Whether `If-None-Match` names `etag` (weak or strong) or is `*`.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

pub async fn asset(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    serve(path, &headers)
}

/// The embedded file at `path` as the request's headers ask for it:
/// gzipped or not, or `304` when the browser's copy is current.
pub fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return super::error::ApiError::not_found().into_response();
    };
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let hash = hex::encode(file.metadata.sha256_hash());
    let gzip = if compressible(mime.as_ref()) && accepts_gzip(headers) {
        gzipped(path, &file.data)
    } else {
        None
    };
    // Each encoding is its own representation, with its own tag.
    let etag = match gzip {
        Some(_) => format!("\"{hash}-gz\""),
        None => format!("\"{hash}\""),
    };
    let mut response = if not_modified(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match &gzip {
            Some(body) => (
                [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
                Body::from(body.clone()),
            )
                .into_response(),
            None => Body::from(file.data.into_owned()).into_response(),
        }
    };
    let out = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        out.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, v);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Whether an embedded asset exists (used by tests and the join page).
pub fn has_asset(path: &str) -> bool {
    Assets::get(path).is_some()
}

pub async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        assert!(accepts_gzip(&with(
            header::ACCEPT_ENCODING,
            "gzip, deflate, br"
        )));
        assert!(accepts_gzip(&with(
            header::ACCEPT_ENCODING,
            "br;q=1.0, gzip;q=0.5"
        )));
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "*")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "gzip;q=0")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match_names_the_tag() {
        let tag = "\"abc-gz\"";
        assert!(not_modified(
            &with(header::IF_NONE_MATCH, "\"abc-gz\""),
            tag
        ));
        assert!(not_modified(
            &with(header::IF_NONE_MATCH, "\"x\", W/\"abc-gz\""),
            tag
        ));
        assert!(not_modified(&with(header::IF_NONE_MATCH, "*"), tag));
        assert!(!not_modified(&with(header::IF_NONE_MATCH, "\"abc\""), tag));
        assert!(!not_modified(&HeaderMap::new(), tag));
    }
}
