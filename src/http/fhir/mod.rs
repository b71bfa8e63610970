//! The FHIR R4 (4.0.1) face of the appliance under `/fhir/r4/`: the same booking service,
//! claim writer, tokens, agent keys and audit as the JSON API, answered as FHIR resources in
//! `application/fhir+json`, with every failure an `OperationOutcome`.

mod appointments;
mod argonaut;
mod capability;
mod directory;
mod outcome;
mod proposal;
mod resources;
mod search;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;

pub use capability::{statement as capability_statement, Capabilities};
pub use outcome::{outcome_for_status, FhirError};

use super::extract::{admit, bearer_credential};
use super::AppState;
use crate::auth::Caller;

/// The media type of every FHIR answer.
pub const FHIR_JSON: &str = "application/fhir+json";
/// Where the FHIR routes live.
pub const FHIR_PREFIX: &str = "/fhir/r4";
/// The FHIR version served.
pub const FHIR_VERSION: &str = "4.0.1";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(capability::router())
        .merge(directory::router())
        .merge(appointments::router())
        .merge(argonaut::router())
}

/// The clinic's FHIR base URL, as a client configures it (`server.public_url` + `/fhir/r4`).
pub fn base_url(public_url: &str) -> String {
    format!("{}{FHIR_PREFIX}", public_url.trim_end_matches('/'))
}

/// This appliance's FHIR base URL.
fn base_of(state: &AppState) -> String {
    base_url(&state.settings.server.public_url)
}

/// A caller of the FHIR routes: a staff access token or an agent key as a Bearer token, in
/// one of the roles the operation declares. The clinic is the credential's own; every read and
/// search is inside it, so another clinic's ids are simply not found.
pub struct FhirCaller(pub Caller);

impl FromRequestParts<AppState> for FhirCaller {
    type Rejection = FhirError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = bearer_credential(parts, false)
            .ok_or_else(|| FhirError::from(crate::http::error::ApiError::Unauthorized))?;
        let caller = state
            .identity
            .authenticate(&credential)
            .await
            .map_err(|e| FhirError::from(crate::http::error::ApiError::from(e)))?;
        admit(parts, &caller).map_err(FhirError::from)?;
        Ok(FhirCaller(caller))
    }
}

/// A FHIR answer: a resource (or Bundle) with its status and headers.
pub struct FhirResponse {
    status: StatusCode,
    body: Value,
    headers: HeaderMap,
}

impl FhirResponse {
    pub fn ok(body: Value) -> FhirResponse {
        FhirResponse {
            status: StatusCode::OK,
            body,
            headers: HeaderMap::new(),
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> FhirResponse {
        self.status = status;
        self
    }

    /// The same answer with its resource changed by `f`.
    pub fn map_body(mut self, f: impl FnOnce(Value) -> Value) -> FhirResponse {
        self.body = f(self.body);
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> FhirResponse {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }
}

impl IntoResponse for FhirResponse {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
            self.body.to_string(),
        )
            .into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// A `searchset` Bundle of one page of `matches`: `total` counts every match, `self` and
/// `next` links carry the query with `_offset`.
pub fn searchset(
    base: &str,
    path: &str,
    query: &search::SearchQuery,
    matches: Vec<Value>,
    included: Vec<Value>,
) -> Value {
    let total = matches.len();
    let page = matches
        .into_iter()
        .skip(query.offset)
        .take(query.count)
        .collect();
    searchset_page(base, path, query, page, total, included)
}

/// A `searchset` Bundle of `page`, the page `query` asks for among `total` matches.
pub fn searchset_page(
    base: &str,
    path: &str,
    query: &search::SearchQuery,
    page: Vec<Value>,
    total: usize,
    included: Vec<Value>,
) -> Value {
    let offset = query.offset;
    let shown = page.len();
    let entry = |resource: Value, mode: &str| {
        let full_url = format!(
            "{base}/{}/{}",
            resource["resourceType"].as_str().unwrap_or_default(),
            resource["id"].as_str().unwrap_or_default()
        );
        json!({"fullUrl": full_url, "resource": resource, "search": {"mode": mode}})
    };
    let mut entries: Vec<Value> = page.into_iter().map(|r| entry(r, "match")).collect();
    entries.extend(included.into_iter().map(|r| entry(r, "include")));
    let mut links = vec![json!({"relation": "self", "url": query.link(base, path, offset)})];
    if offset + shown < total {
        links.push(json!({"relation": "next", "url": query.link(base, path, offset + shown)}));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}
