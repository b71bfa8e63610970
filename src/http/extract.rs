//! Request extractors: our JSON body reader (our error shape for bad bodies), the
//! authenticated caller, and the org scope of `/api/orgs/{org}/…` routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::roles::RouteRoles;
use super::AppState;
use crate::auth::Caller;
use crate::domain::{FieldError, OrgId, Role};

/// A JSON body. Malformed JSON → 400; wrong types or missing fields → 422 naming the field;
/// too large → 413. Messages never repeat the submitted values.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("the request body could not be read")
            }
        })?;
        parse_body(&bytes).map(ApiJson)
    }
}

/// Parses a request body: every request body of the API is a JSON object (serde would read a
/// struct from an array too), read with the rules of `parse_json`.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::Invalid(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )]));
    }
    parse_json(bytes)
}

/// Parses a JSON document into `T` with the error rules of `ApiJson`. A good document is read
/// once, without tracking where the reader is (that bookkeeping doubled the cost of a Vapi
/// message); a bad one is read again with tracking, to name the field at fault. Anything but
/// whitespace after the document is refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(_) => {
            // JSON Schema counts 200.0 as the integer 200, so the document's integers take it.
            if let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(bytes) {
                if whole_numbers_as_integers(&mut doc) {
                    if let Ok(value) = serde_json::from_value(doc) {
                        return Ok(value);
                    }
                }
            }
            Err(explain_json_error::<T>(bytes))
        }
    }
}

/// Writes every whole number written with a fraction (`200.0`) as an integer; whether any was.
fn whole_numbers_as_integers(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                *v = Value::from(f as i64);
                true
            }
            _ => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, item| whole_numbers_as_integers(item) | any),
        Value::Object(fields) => fields
            .values_mut()
            .fold(false, |any, item| whole_numbers_as_integers(item) | any),
        _ => false,
    }
}

/// The `ApiError` for a document `parse_json` refused: which field, and what is wrong with it.
fn explain_json_error<T: DeserializeOwned>(bytes: &[u8]) -> ApiError {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let err = match serde_path_to_error::deserialize::<_, T>(de) {
        // Only what follows the document was wrong.
        Ok(_) => return ApiError::BadRequest("malformed JSON"),
        Err(err) => err,
    };
    let path = err.path().to_string();
    let inner = err.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let text = inner.to_string();
            let (field, message) = if let Some(rest) = text.strip_prefix("missing field `") {
                let name = rest.split('`').next().unwrap_or("");
                let field = if path == "." || path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                (field, "is required")
            } else if text.starts_with("invalid type") {
                (path, "has the wrong type")
            } else if text.starts_with("unknown variant") {
                (path, "has an unsupported value")
            } else {
                (path, "is invalid")
            };
            let field = if field == "." { "body".into() } else { field };
            ApiError::Invalid(vec![FieldError::new(field, message)])
        }
        _ => ApiError::BadRequest("malformed JSON"),
    }
}

/// The credential of a request: `Authorization: Bearer …`, or for the voice agent the
/// `X-Vapi-Secret` header.
pub fn bearer_credential(parts: &Parts, allow_vapi_secret: bool) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            return Some(token.trim().to_string());
        }
        return None;
    }
    if allow_vapi_secret {
        let value = parts.headers.get("x-vapi-secret")?.to_str().ok()?;
        if !value.trim().is_empty() {
            return Some(value.trim().to_string());
        }
    }
    None
}

/// The client's address: the connection's peer, unless the peer is one of the configured
/// trusted proxies (`server.trusted_proxies`); then the right-most `X-Forwarded-For` address
/// that is not itself a trusted proxy. From anyone else the header is ignored, so a client
/// cannot pick the address its login failures are counted against.
pub struct ClientAddr(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<super::tls::PeerAddr>>()
            .map(|c| c.0 .0.ip())
            .ok_or(ApiError::Internal)?;
        Ok(ClientAddr(client_address(
            peer,
            parts.headers.get_all("x-forwarded-for").iter(),
            &state.trusted_proxies,
        )))
    }
}

/// See `ClientAddr`. An unreadable header from a trusted proxy leaves the proxy's address.
pub fn client_address<'a>(
    peer: std::net::IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a axum::http::HeaderValue>,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops = Vec::new();
    for value in forwarded_for {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for hop in text.split(',') {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => hops.push(ip),
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// Checks the caller's role against the roles the operation declares beside its route
/// (`roles::RouteRoles`, read from the API document); 403 when it is not among them.
pub(crate) fn admit(parts: &Parts, caller: &Caller) -> Result<(), ApiError> {
    let admitted = match (
        parts.extensions.get::<Arc<RouteRoles>>(),
        parts.extensions.get::<MatchedPath>(),
    ) {
        (Some(roles), Some(path)) => roles.admits(&parts.method, path.as_str(), caller.role),
        _ => false,
    };
    if admitted {
        Ok(())
    } else if caller.role == Role::Agent {
        Err(ApiError::Forbidden(
            "agent keys work on the voice agent and FHIR scheduling routes only",
        ))
    } else {
        Err(ApiError::Forbidden("your role does not allow this"))
    }
}

/// A staff caller, authenticated by an access token, in one of the roles the operation
/// declares. Agent keys are refused here (403) unless the operation names the agent.
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = bearer_credential(parts, false).ok_or(ApiError::Unauthorized)?;
        let caller = state.identity.authenticate(&credential).await?;
        admit(parts, &caller)?;
        Ok(Authenticated(caller))
    }
}

/// The voice agent (agent key as Bearer or `X-Vapi-Secret`) or a token of the org, in one of
/// the roles the operation declares.
pub struct AgentCaller(pub Caller);

impl FromRequestParts<AppState> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = bearer_credential(parts, true).ok_or(ApiError::Unauthorized)?;
        let caller = state.identity.authenticate(&credential).await?;
        admit(parts, &caller)?;
        Ok(AgentCaller(caller))
    }
}

/// An authenticated caller acting inside the org named by the `{org}` path segment, in one of
/// the roles the operation declares. A caller of another org gets 403 and the attempt is
/// audited in the caller's own org; then a role the operation does not declare gets 403.
pub struct OrgScope {
    pub caller: Caller,
    pub org: OrgId,
}

impl FromRequestParts<AppState> for OrgScope {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = bearer_credential(parts, false).ok_or(ApiError::Unauthorized)?;
        let caller = state.identity.authenticate(&credential).await?;
        if caller.role == Role::Agent {
            return Err(ApiError::Forbidden(
                "agent keys work on the voice agent and FHIR scheduling routes only",
            ));
        }
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let raw = params.get("org").ok_or(ApiError::NotFound)?;
        let org: OrgId = raw.parse().map_err(|_| ApiError::NotFound)?;
        if org != caller.org && !state.identity.isolation_broken() {
            let ClientAddr(client) = ClientAddr::from_request_parts(parts, state).await?;
            let route = parts
                .extensions
                .get::<MatchedPath>()
                .map(|m| format!("{} {}", parts.method, m.as_str()))
                .unwrap_or_default();
            state
                .identity
                .record_cross_org_denial(caller, org, &route, client)
                .await?;
            tracing::warn!(route = %route, "cross-org request denied");
            return Err(ApiError::Forbidden(
                "this token belongs to another organisation",
            ));
        }
        admit(parts, &caller)?;
        Ok(OrgScope { caller, org })
    }
}

/// Parses an id from a path segment; a malformed id is simply not found.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}
