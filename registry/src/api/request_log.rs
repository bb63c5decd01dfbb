//! One log line and the metrics of each request: method, route, status, duration and the id of
//! the token that authenticated it (never the token).

use std::cell::Cell;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::{METRICS, RequestLabels, RouteLabels};

tokio::task_local! {
    /// The id of the token `auth::authenticate` accepted for the request being answered.
    static TOKEN_ID: Cell<Option<i64>>;
}

/// Called by `authenticate`: the request's log line names this token.
pub(super) fn note_token(id: i64) {
    let _ = TOKEN_ID.try_with(|token| token.set(Some(id)));
}

pub(super) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only the standard methods by name: hyper accepts any token as a method, and each label
    // value is a series kept for the life of the process.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => known,
        _ => "other",
    }
    .to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let (response, token_id) = TOKEN_ID
        .scope(Cell::new(None), async {
            let response = next.run(request).await;
            (response, TOKEN_ID.with(Cell::get))
        })
        .await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let token = token_id.map_or_else(|| "-".to_string(), |id| id.to_string());
    tracing::info!(
        target: "threatpack_registry::request",
        method = %method,
        route = %route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        token_id = %token,
    );
    METRICS
        .requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status,
        })
        .inc();
    METRICS
        .request_duration
        .get_or_create(&RouteLabels { method, route })
        .observe(elapsed.as_secs_f64());
    response
}
