//! Puts every error answer in the envelope `{"errors":[{"detail":"…"}]}`, including those the
//! handlers do not write themselves: axum's 405 and extractor rejections, a timed-out body, a
//! panic.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;

/// A plain-text rejection is a sentence; anything longer is cut.
const MAX_DETAIL_BYTES: usize = 1024;

pub(super) async fn errors_in_envelope(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    // JSON is already an envelope; HTML is the web face's own error page.
    let is_answered = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| {
            value.as_bytes().starts_with(b"application/json")
                || value.as_bytes().starts_with(b"text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_answered {
        return response;
    }
    let (parts, body) = response.into_parts();
    let said = axum::body::to_bytes(body, MAX_DETAIL_BYTES)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    let detail = match (status, said) {
        // axum adds the `Allow` header after this layer has run.
        (StatusCode::METHOD_NOT_ALLOWED, _) => format!(
            "`{method}` is not allowed on this path; its `Allow` header lists those that are"
        ),
        (_, Some(said)) => said,
        (status, None) => status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_lowercase(),
    };
    let mut answer = ApiError::new(status, detail).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// A handler that panicked: 500 in the envelope, the panic only in the log.
pub(super) fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    let mut answer = ApiError::internal(format!("a handler panicked: {message}")).into_response();
    answer
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    answer
}
