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
use serde::Serialize;
use serde_json::Value;
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

/// A FHIR answer: a resource (or Bundle), written once, with its status and headers.
pub struct FhirResponse {
    status: StatusCode,
    body: String,
    headers: HeaderMap,
}

impl FhirResponse {
    pub fn ok(body: impl Serialize) -> FhirResponse {
        FhirResponse {
            status: StatusCode::OK,
            // Resources are maps of strings and numbers: writing them cannot fail.
            body: serde_json::to_string(&body).unwrap_or_default(),
            headers: HeaderMap::new(),
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> FhirResponse {
        self.status = status;
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
            self.body,
        )
            .into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// What a Bundle entry can hold: a resource that knows its type and id (for the entry's full
/// URL) and writes itself.
pub trait BundleResource: Serialize {
    fn kind(&self) -> &str;
    fn id(&self) -> &str;
}

impl BundleResource for Value {
    fn kind(&self) -> &str {
        self["resourceType"].as_str().unwrap_or_default()
    }
    fn id(&self) -> &str {
        self["id"].as_str().unwrap_or_default()
    }
}

/// A `searchset` Bundle, written as it is serialised (no value tree of its own).
#[derive(Serialize)]
pub struct Bundle<T> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    total: usize,
    link: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<T>>,
}

#[derive(Serialize)]
struct Link {
    relation: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Entry<T> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    resource: T,
    search: SearchMode,
}

#[derive(Serialize)]
struct SearchMode {
    mode: &'static str,
}

/// A `searchset` Bundle of one page of `matches`: `total` counts every match, `self` and
/// `next` links carry the query with `_offset`.
pub fn searchset<T: BundleResource>(
    base: &str,
    path: &str,
    query: &search::SearchQuery,
    matches: Vec<T>,
    included: Vec<T>,
) -> Bundle<T> {
    let total = matches.len();
    let page = matches
        .into_iter()
        .skip(query.offset)
        .take(query.count)
        .collect();
    searchset_page(base, path, query, page, total, included)
}

/// A `searchset` Bundle of `page`, the page `query` asks for among `total` matches.
pub fn searchset_page<T: BundleResource>(
    base: &str,
    path: &str,
    query: &search::SearchQuery,
    page: Vec<T>,
    total: usize,
    included: Vec<T>,
) -> Bundle<T> {
    let offset = query.offset;
    let shown = page.len();
    let entry = |resource: T, mode: &'static str| Entry {
        full_url: format!("{base}/{}/{}", resource.kind(), resource.id()),
        resource,
        search: SearchMode { mode },
    };
    let mut entries: Vec<Entry<T>> = page.into_iter().map(|r| entry(r, "match")).collect();
    entries.extend(included.into_iter().map(|r| entry(r, "include")));
    let mut link = vec![Link {
        relation: "self",
        url: query.link(base, path, offset),
    }];
    if offset + shown < total {
        link.push(Link {
            relation: "next",
            url: query.link(base, path, offset + shown),
        });
    }
    Bundle {
        resource_type: "Bundle",
        kind: "searchset",
        total,
        link,
        entry: entries,
    }
}
