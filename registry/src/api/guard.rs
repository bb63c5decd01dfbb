//! What every request passes before it is routed: a bound on the URI's length, and a rate limit
//! on writes, per token (or per address for a request without one).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::errors::ApiError;

/// The longest URI answered: below hyper's own limit (65,534 bytes, answered without the error
/// envelope), above any URI the API needs (a search query is itself capped, search.rs).
pub const MAX_URI_BYTES: usize = 64_000;

/// Buckets kept before idle ones are dropped: the limiter's memory is bounded whoever calls.
const MAX_BUCKETS: usize = 100_000;

pub(super) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let uri_bytes = request.uri().to_string().len();
    if uri_bytes > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the URI has {uri_bytes} bytes; the registry answers URIs of at most {MAX_URI_BYTES}"),
        )
        .into_response();
    }
    if !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        let key = rate_key(&request);
        if let Err(wait) = state.write_limiter.allow(&key) {
            let seconds = wait.as_secs().max(1);
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many writes: at most {} a minute per token (or per address without one); try again in {seconds} s",
                    state.write_limiter.per_minute
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return response;
        }
    }
    next.run(request).await
}

/// Whom a write counts against: the token it presents (hashed: the limiter keeps no secret),
/// else the address it comes from.
fn rate_key(request: &Request) -> String {
    if let Some(token) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    {
        // The token without its scheme, whose case may vary.
        let token = token.trim();
        let token = token
            .split_once(' ')
            .map_or(token, |(_, token)| token.trim());
        return format!("token:{}", crate::tokens::hash_token(token));
    }
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(address)) => format!("address:{}", address.ip()),
        None => "address:unknown".to_string(),
    }
}

/// A token bucket per key: `per_minute` writes a minute, a minute's worth at once.
pub(super) struct WriteLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl WriteLimiter {
    pub(super) fn new(per_minute: u32) -> WriteLimiter {
        WriteLimiter {
            per_minute: per_minute.max(1),
            buckets: Mutex::default(),
        }
    }

    /// Takes one write from `key`'s bucket; else how long until one is there.
    fn allow(&self, key: &str) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock must not stop every write: the limit is a defence, not a gate.
            return Ok(());
        };
        if buckets.len() >= MAX_BUCKETS {
            // Full buckets are those idle for a minute: dropping them forgets nothing.
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second
                    < capacity
            });
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let refilled = now.duration_since(bucket.updated).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refilled).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_minutes_worth_then_refuses_with_the_wait() {
        let limiter = WriteLimiter::new(3);
        for _ in 0..3 {
            assert_eq!(limiter.allow("token:a"), Ok(()));
        }
        let wait = limiter
            .allow("token:a")
            .expect_err("the fourth write is refused");
        assert!(
            wait <= Duration::from_secs(20) && wait > Duration::from_secs(19),
            "{wait:?}"
        );
        assert_eq!(
            limiter.allow("token:b"),
            Ok(()),
            "each key has its own bucket"
        );
    }
}
