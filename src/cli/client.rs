//! The command line's HTTP client for the server running on the same data
//! directory (found through its lock file): one HTTP/1.1 request per
//! connection over hyper's low-level client, which axum already brings in,
//! authenticated with the event's admin token derived from the secret.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::lock::RunningServer;
use super::CliError;
use crate::auth::Secret;
use crate::store::Store;

/// Long enough for an import of thousands of rows on a busy machine.
const TIMEOUT: Duration = Duration::from_secs(120);

pub struct ServerClient {
    pub server: RunningServer,
    token: String,
}

impl ServerClient {
    /// A client acting as `event`'s admin.
    pub async fn admin(
        server: RunningServer,
        store: &dyn Store,
        secret: &Secret,
        event: &str,
    ) -> Result<ServerClient, CliError> {
        let record = store
            .tokens(event)
            .await?
            .into_iter()
            .filter(|t| t.slot == "admin" && t.revoked_at.is_none())
            .max_by_key(|t| t.generation)
            .ok_or_else(|| {
                CliError::new(
                    format!("sự kiện «{event}» chưa có mã quản trị (admin); chạy `doithoai tokens --event {event}`"),
                    format!("event «{event}» has no admin token; run `doithoai tokens --event {event}`"),
                )
            })?;
        let token = secret.token(event, "admin", record.generation);
        Ok(ServerClient { server, token })
    }

    /// Send a request; answer the status and the body. A non-2xx status is
    /// turned into the server's own bilingual message.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Bytes, CliError> {
        let unreachable = |e: String| {
            CliError::new(
                format!(
                    "không kết nối được máy chủ đang chạy ({}): {e}",
                    self.server.describe()
                ),
                format!(
                    "cannot reach the running server ({}): {e}",
                    self.server.describe()
                ),
            )
        };
        let exchange = async {
            let tcp = tokio::net::TcpStream::connect(&self.server.addr)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let driver = tokio::spawn(conn);
            let mut req = Request::builder()
                .method(method)
                .uri(path_and_query)
                .header(hyper::header::HOST, self.server.addr.as_str())
                .header(
                    hyper::header::AUTHORIZATION,
                    format!("Bearer {}", self.token),
                );
            let bytes = match body {
                Some((content_type, bytes)) => {
                    req = req.header(hyper::header::CONTENT_TYPE, content_type);
                    bytes
                }
                None => Vec::new(),
            };
            let req = req
                .body(Full::new(Bytes::from(bytes)))
                .map_err(|e| unreachable(e.to_string()))?;
            let response = sender
                .send_request(req)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?
                .to_bytes();
            driver.abort();
            Ok::<_, CliError>((status, body))
        };
        let (status, body) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable("no answer within 120 s".into()))??;
        if status.is_success() {
            return Ok(body);
        }
        Err(server_error(status, &body))
    }

    pub async fn send_json(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Value, CliError> {
        let bytes = self.send(method, path_and_query, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            CliError::new(
                format!("máy chủ trả lời không đọc được: {e}"),
                format!("unreadable answer from the server: {e}"),
            )
        })
    }
}

/// The server's `{code, message, message_en}` error as a CLI error.
fn server_error(status: StatusCode, body: &[u8]) -> CliError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |k: &str| v[k].as_str().map(str::to_string);
    match (text("message"), text("message_en")) {
        (Some(vi), Some(en)) => CliError::new(
            format!("máy chủ từ chối ({status}): {vi}"),
            format!("the server refused ({status}): {en}"),
        ),
        _ => CliError::new(
            format!("máy chủ trả lời {status}"),
            format!(
                "the server answered {status}: {}",
                String::from_utf8_lossy(body)
            ),
        ),
    }
}

/// Percent-encode a query value (ids, file names, a collecting unit's name).
pub fn query_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
