//! FHIR errors: every failure on the FHIR routes answers an `OperationOutcome` with the R4
//! issue type that fits, mapped once from the API's own errors, so a FHIR client never meets
//! the JSON API's error shape.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::FHIR_JSON;
use crate::booking::BookingError;
use crate::domain::FieldError;
use crate::http::error::ApiError;

/// A failed FHIR interaction: the status, the R4 `IssueType` code, a sentence (never a
/// submitted value) and, for a taken time, the alternatives.
#[derive(Debug)]
pub struct FhirError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// One `invalid` issue per field at fault, named as a FHIRPath expression.
    fields: Vec<FieldError>,
    /// References and times of free slots offered instead (`Slot/…`, start, end).
    alternatives: Vec<(String, String, String)>,
    retry_after: Option<u64>,
}

impl FhirError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> FhirError {
        FhirError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            alternatives: Vec::new(),
            retry_after: None,
        }
    }

    /// 404 `not-found`: also the answer for another clinic's ids.
    pub fn not_found() -> FhirError {
        FhirError::new(StatusCode::NOT_FOUND, "not-found", "no such resource")
    }

    /// 422 `invalid` naming the fields at fault (`Appointment.start`, …).
    pub fn invalid(fields: Vec<FieldError>) -> FhirError {
        let mut e = FhirError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "some elements are invalid",
        );
        e.fields = fields;
        e
    }

    /// 422 `invalid` for one field.
    pub fn field(field: &str, message: impl Into<String>) -> FhirError {
        FhirError::invalid(vec![FieldError::new(field, message)])
    }

    /// 400 `invalid` for a search parameter (FHIR answers a bad search with 400).
    pub fn bad_search(param: &str, message: &str) -> FhirError {
        let mut e = FhirError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "a search parameter is invalid",
        );
        e.fields = vec![FieldError::new(param, message)];
        e
    }

    /// 409 `conflict` with free times near the one asked for.
    pub fn taken(alternatives: Vec<(String, String, String)>) -> FhirError {
        let mut e = FhirError::new(StatusCode::CONFLICT, "conflict", "that time was just taken");
        e.alternatives = alternatives;
        e
    }

    /// 412 when `If-Match` names a version that is no longer current.
    pub fn version_conflict() -> FhirError {
        FhirError::new(
            StatusCode::PRECONDITION_FAILED,
            "conflict",
            "the resource changed since that version; read it again",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `OperationOutcome` this error answers with.
    pub fn outcome(&self) -> Value {
        let mut issues = vec![issue("error", self.code, &self.message, None)];
        for f in &self.fields {
            issues.push(issue("error", "invalid", &f.message, Some(&f.field)));
        }
        for (slot, start, end) in &self.alternatives {
            issues.push(json!({
                "severity": "information",
                "code": "informational",
                "details": {
                    "coding": [{"system": ALTERNATIVE_SYSTEM, "code": "alternative"}],
                    "text": slot,
                },
                "diagnostics": format!("free from {start} to {end}"),
            }));
        }
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

/// The coding of an issue that offers a free slot instead of a taken one.
pub const ALTERNATIVE_SYSTEM: &str = "urn:voxanne:fhir:alternative-slot";

fn issue(severity: &str, code: &str, message: &str, expression: Option<&str>) -> Value {
    let mut v = json!({"severity": severity, "code": code, "diagnostics": message});
    if let Some(e) = expression {
        v["expression"] = json!([e]);
    }
    v
}

/// An `OperationOutcome` for a status the framework answered (405, 408, 413, 5xx, …).
pub fn outcome_for_status(status: StatusCode) -> FhirError {
    let (code, message) = match status.as_u16() {
        400 => ("structure", "the request could not be read"),
        401 => ("login", "missing or invalid credentials"),
        403 => ("forbidden", "not allowed"),
        404 => ("not-found", "no such resource"),
        405 => (
            "not-supported",
            "this interaction is not supported on that resource",
        ),
        408 => ("timeout", "the request took too long"),
        413 => ("too-costly", "the request body is too large"),
        429 => ("throttled", "too many requests; try again later"),
        s if s >= 500 => ("exception", "internal error"),
        _ => ("processing", "the request failed"),
    };
    FhirError::new(status, code, message)
}

impl From<ApiError> for FhirError {
    fn from(e: ApiError) -> FhirError {
        let status = e.status();
        match e {
            ApiError::BadRequest(m) => FhirError::new(status, "structure", m),
            ApiError::Unauthorized => {
                FhirError::new(status, "login", "missing or invalid credentials")
            }
            ApiError::Forbidden(m) => FhirError::new(status, "forbidden", m),
            ApiError::NotFound => FhirError::not_found(),
            ApiError::Conflict(m) => FhirError::new(status, "conflict", m),
            ApiError::PayloadTooLarge => {
                FhirError::new(status, "too-costly", "the request body is too large")
            }
            ApiError::Invalid(fields) => FhirError::invalid(fields),
            ApiError::RateLimited { retry_after_secs } => {
                let mut e = FhirError::new(status, "throttled", "too many attempts; try later");
                e.retry_after = Some(retry_after_secs);
                e
            }
            ApiError::Refused { message, .. } => FhirError::new(status, "business-rule", message),
            // The FHIR routes turn a taken time into slots themselves (`appointments`).
            ApiError::SlotTaken { .. } => FhirError::taken(Vec::new()),
            ApiError::Unavailable => {
                FhirError::new(status, "transient", "temporarily unavailable; try again")
            }
            ApiError::Upstream(m) => FhirError::new(status, "exception", m),
            ApiError::Internal => FhirError::new(status, "exception", "internal error"),
        }
    }
}

impl From<BookingError> for FhirError {
    fn from(e: BookingError) -> FhirError {
        match e {
            BookingError::Changed => FhirError::version_conflict(),
            e => ApiError::from(e).into(),
        }
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
            self.outcome().to_string(),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
