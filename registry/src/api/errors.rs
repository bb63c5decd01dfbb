//! The API's error answers: a status and the envelope `{"errors":[{"detail":"…"}]}`.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use threatpack::wire::ErrorEnvelope;

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
            StoreError::Internal(detail) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the registry failed: {detail}"),
            ),
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
