//! The API's error answers: a status and the envelope `{"errors":[{"detail":"…"}]}`.
//!
//! A failure of the registry itself is logged with its detail and answered without it: such a
//! detail may name the server's paths, which are no client's business.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use threatpack::wire::ErrorEnvelope;

use crate::metrics::METRICS;
use crate::store::StoreError;

/// An error response: a status and one detail.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    detail: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: detail.into(),
        }
    }

    /// The status and the detail, for the web face's HTML error pages.
    pub(crate) fn parts(&self) -> (StatusCode, &str) {
        (self.status, &self.detail)
    }

    /// The registry failed (a bug, the database, the disk): 500, the detail only in the log.
    pub(crate) fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(detail = %detail, "the registry failed");
        METRICS.store_errors.inc();
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the registry failed; its log says why (tell its operator)",
        )
    }

    /// A storage failure: 503 when the disk or the database is full (worth trying again once
    /// the operator has made room), else as `internal`.
    pub(crate) fn storage(detail: impl std::fmt::Display) -> ApiError {
        let detail = detail.to_string();
        let full = [
            "No space left on device",
            "os error 28",
            "database or disk is full",
        ]
        .iter()
        .any(|sign| detail.contains(sign));
        if !full {
            return ApiError::internal(detail);
        }
        tracing::error!(detail = %detail, "the registry is out of space");
        METRICS.store_errors.inc();
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the registry is out of storage space: try again later (its operator must make room)",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorEnvelope::new(self.detail))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(detail) => ApiError::new(StatusCode::NOT_FOUND, detail),
            StoreError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, detail),
            StoreError::Internal(detail) => ApiError::storage(detail),
            StoreError::Damaged(detail) => {
                tracing::error!(detail = %detail, "a stored blob is missing or damaged");
                METRICS.store_errors.inc();
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
            }
        }
    }
}

fn rejected(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, format!("the request body is too large: {text}"));
    }
    ApiError::new(status, text)
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        rejected(rejection.status(), rejection.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        rejected(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        rejected(rejection.status(), rejection.body_text())
    }
}

pub(super) fn unprocessable(detail: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
}
