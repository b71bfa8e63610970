//! The one JSON error shape of the API, its stable codes, and the mapping from each layer's
//! errors. 5xx bodies are generic; causes are logged once, without personal data.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::booking::BookingError;
use crate::domain::FieldError;
use crate::identity::IdentityError;
use crate::store::StoreError;

/// The body of every error answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `invalid`, `slot_taken`, `rate_limited`, `overloaded`, `internal`, …
    pub error: &'static str,
    /// A sentence for a person; it never repeats submitted values.
    pub message: String,
    /// `fields` (invalid fields), `reason` (a booking rule) or `alternatives` (slot taken).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub details: Option<serde_json::Value>,
    /// On 5xx answers: the id to quote when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    pub fn new(error: &'static str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error,
            message: message.into(),
            details: None,
            request_id: None,
        }
    }

    pub fn into_response(self, status: StatusCode) -> Response {
        (status, axum::Json(self)).into_response()
    }
}

#[derive(Debug)]
pub enum ApiError {
    BadRequest(&'static str),
    Unauthorized,
    Forbidden(&'static str),
    NotFound,
    Conflict(String),
    PayloadTooLarge,
    Invalid(Vec<FieldError>),
    RateLimited {
        retry_after_secs: u64,
    },
    /// 422 for a request that is well-formed but breaks a booking rule.
    Refused {
        reason: &'static str,
        message: &'static str,
    },
    /// 409 `slot_taken`, with bookable alternatives.
    SlotTaken {
        alternatives: serde_json::Value,
    },
    Unavailable,
    /// 502: a service the appliance relies on (Google) refused or could not be reached.
    Upstream(String),
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::SlotTaken { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Invalid(_) => "invalid",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Refused { .. } => "invalid",
            ApiError::SlotTaken { .. } => "slot_taken",
            ApiError::Unavailable => "unavailable",
            ApiError::Upstream(_) => "upstream",
            ApiError::Internal => "internal",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m) | ApiError::Forbidden(m) => (*m).to_string(),
            ApiError::Unauthorized => "missing or invalid credentials".into(),
            ApiError::NotFound => "not found".into(),
            ApiError::Conflict(m) => m.clone(),
            ApiError::PayloadTooLarge => "request body is too large".into(),
            ApiError::Invalid(_) => "some fields are invalid".into(),
            ApiError::RateLimited { .. } => "too many attempts; try again later".into(),
            ApiError::Refused { message, .. } => (*message).to_string(),
            ApiError::SlotTaken { .. } => "that time was just taken".into(),
            ApiError::Unavailable => "temporarily unavailable; try again".into(),
            ApiError::Upstream(m) => m.clone(),
            ApiError::Internal => "internal error".into(),
        }
    }
}

/// Builds the error body for any status (used for errors raised outside our handlers too).
pub fn error_body(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("bad_request", "the request could not be read"),
        401 => ("unauthorized", "missing or invalid credentials"),
        403 => ("forbidden", "not allowed"),
        404 => ("not_found", "not found"),
        405 => ("method_not_allowed", "method not allowed on this route"),
        408 => ("timeout", "the request took too long"),
        409 => ("conflict", "conflict"),
        413 => ("payload_too_large", "request body is too large"),
        415 => ("unsupported_media_type", "send JSON"),
        422 => ("invalid", "some fields are invalid"),
        429 => ("rate_limited", "too many attempts; try again later"),
        s if s >= 500 => ("internal", "internal error"),
        _ => ("error", "the request failed"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = ErrorBody::new(self.code(), self.message());
        body.details = match &self {
            ApiError::Invalid(fields) => Some(json!({ "fields": fields })),
            ApiError::Refused { reason, .. } => Some(json!({ "reason": reason })),
            ApiError::SlotTaken { alternatives } => Some(json!({ "alternatives": alternatives })),
            _ => None,
        };
        let mut response = body.into_response(self.status());
        if let ApiError::RateLimited { retry_after_secs } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        ApiError::Internal
    }
}

impl From<BookingError> for ApiError {
    fn from(e: BookingError) -> Self {
        match e {
            BookingError::Invalid(fields) => ApiError::Invalid(fields),
            BookingError::NotFound => ApiError::NotFound,
            BookingError::Refused(r) => ApiError::Refused {
                reason: r.code(),
                message: r.reason(),
            },
            BookingError::Taken { alternatives } => ApiError::SlotTaken {
                alternatives: serde_json::to_value(alternatives).unwrap_or_default(),
            },
            BookingError::NotActive => {
                ApiError::Conflict("the appointment is cancelled or finished".into())
            }
            BookingError::NotStarted => {
                ApiError::Conflict("the appointment has not started yet".into())
            }
            BookingError::OtherOrg => {
                ApiError::Forbidden("that clinic belongs to another organisation")
            }
            BookingError::Store(e) => e.into(),
            BookingError::Unavailable => ApiError::Unavailable,
            BookingError::Internal => ApiError::Internal,
            BookingError::Changed => {
                ApiError::Conflict("the appointment changed since that version".into())
            }
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Invalid(fields) => ApiError::Invalid(fields),
            IdentityError::EmailTaken => {
                ApiError::Conflict("that email address is already registered".into())
            }
            IdentityError::BadCredentials | IdentityError::Unauthenticated => {
                ApiError::Unauthorized
            }
            IdentityError::RateLimited { retry_after_secs } => {
                ApiError::RateLimited { retry_after_secs }
            }
            IdentityError::NotFound => ApiError::NotFound,
            IdentityError::Refused(m) => ApiError::Conflict(m.into()),
            IdentityError::SignupClosed => ApiError::Forbidden(
                "signup is closed on this appliance; the operator creates clinics with `voxanne org create`",
            ),
            IdentityError::Store(e) => e.into(),
            IdentityError::Internal(what) => {
                tracing::error!(what, "identity service failure");
                ApiError::Internal
            }
        }
    }
}
