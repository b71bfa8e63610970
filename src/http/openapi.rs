//! The OpenAPI 3.1 document of the HTTP API: assembled from the routes as they are
//! registered (each handler's `#[utoipa::path]`), inside a frame that holds what every
//! operation shares (the two security schemes, the error shape) and served at
//! `/api/openapi.json`.

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;

/// The security scheme of staff access tokens and agent keys (`Authorization: Bearer …`).
pub const BEARER: &str = "bearer";
/// The voice agent's alternative to a Bearer agent key (`X-Vapi-Secret: …`).
pub const VAPI_SECRET: &str = "vapi_secret";

/// The `{org}` segment of the organisation-scoped routes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct OrgPath {
    /// The organisation (clinic) the caller acts in; a token of another organisation gets 403.
    org: uuid::Uuid,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Voxanne appliance API",
        version = "1",
        description = "The HTTP API of a Voxanne appliance: clinic set-up, availability and appointments for staff, the Vapi voice agent's server URL, calls, the knowledge base and the audit trail. Every error answer has the `ErrorBody` shape."
    ),
    components(schemas(ErrorBody)),
    modifiers(&Frame)
)]
struct Frame;

impl Modify for Frame {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A staff access token from /api/auth/login or /api/auth/signup, or (voice agent routes only) an agent key",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            VAPI_SECRET,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Vapi-Secret",
                "An agent key, as Vapi sends a server URL secret",
            ))),
        );
    }
}

/// The schema of a list of at most `max_items` texts, each of 1 to `max_chars` characters and
/// not blank (tags, synonyms).
pub fn nonblank_texts(
    max_items: usize,
    max_chars: usize,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(max_chars))
                .pattern(Some(crate::domain::NONBLANK_PATTERN)),
        )
        .max_items(Some(max_items))
        .into()
}

/// The frame the routes' operations are added to.
pub fn frame() -> Document {
    Frame::openapi()
}

/// The schema of a FHIR `OperationOutcome`: the error answer of every FHIR route.
fn operation_outcome() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let issue = ObjectBuilder::new()
        .property("severity", ObjectBuilder::new().schema_type(Type::String))
        .property("code", ObjectBuilder::new().schema_type(Type::String))
        .property(
            "diagnostics",
            ObjectBuilder::new().schema_type(Type::String),
        )
        .required("severity")
        .required("code");
    ObjectBuilder::new()
        .property(
            "resourceType",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["OperationOutcome"])),
        )
        .property("issue", ArrayBuilder::new().items(issue).min_items(Some(1)))
        .required("resourceType")
        .required("issue")
        .into()
}

/// Completes an assembled document: every operation may also answer with the error shape
/// (any status it does not list itself: 400, 401, 403, 404, 413, 422, 429, 431, 503, …); on
/// the FHIR routes that shape is an `OperationOutcome`.
pub fn finish(mut doc: Document) -> Document {
    let outcome = ResponseBuilder::new()
        .description("An error, as a FHIR OperationOutcome")
        .content(
            "application/fhir+json",
            ContentBuilder::new()
                .schema(Some(operation_outcome()))
                .build(),
        )
        .build();
    let error = ResponseBuilder::new()
        .description("An error, in the one error shape")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        let error = if path.starts_with("/fhir/") {
            &outcome
        } else {
            &error
        };
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            operation
                .responses
                .responses
                .entry("default".to_string())
                .or_insert_with(|| error.clone().into());
        }
    }
    doc
}

/// The document as served: `doc` with each create's links (see `link_creates`), as JSON.
/// (Links are added to the JSON: utoipa 5's `Link` writes `operation_id` where OpenAPI has
/// `operationId`.)
pub fn render(doc: &Document) -> String {
    let Ok(mut v) = serde_json::to_value(doc) else {
        return String::new();
    };
    link_creates(&mut v);
    describe_vapi_messages(&mut v);
    v.to_string()
}

/// The voice agent routes' body, in JSON Schema that utoipa's model cannot write (`not`,
/// `anyOf` of partial objects), as the component `VapiServerMessage`.
fn describe_vapi_messages(v: &mut serde_json::Value) {
    v["components"]["schemas"]["VapiServerMessage"] = super::vapi::server_message_schema();
    for path in ["/api/vapi", "/api/vapi/tools"] {
        let body = &mut v["paths"][path]["post"]["requestBody"]["content"]["application/json"];
        if body.is_object() {
            body["schema"] =
                serde_json::json!({ "$ref": "#/components/schemas/VapiServerMessage" });
        }
    }
}

/// Links each create (a POST answering 201) to every operation on what it created — the
/// paths below it that start with one more path parameter — so a stateful client or fuzzer
/// can follow create → read → change → delete. The created record's id is read from the
/// answer's field of the parameter's name, else its `id`; the other path parameters are the
/// create's own.
fn link_creates(v: &mut serde_json::Value) {
    use serde_json::{json, Map, Value};
    let paths: Vec<String> = v["paths"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for create in &paths {
        let created = &v["paths"][create]["post"]["responses"]["201"];
        if created.is_null() {
            continue;
        }
        let answer_fields: Vec<String> = created["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|name| v["components"]["schemas"][name]["properties"].as_object())
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let below = format!("{create}/{{");
        let mut links = Map::new();
        for target in paths.iter().filter(|p| p.starts_with(&below)) {
            let param = target[below.len()..].split('}').next().unwrap_or("");
            let field = if answer_fields.iter().any(|f| f == param) {
                param
            } else if answer_fields.iter().any(|f| f == "id") {
                "id"
            } else {
                continue;
            };
            for method in ["get", "put", "patch", "post", "delete"] {
                let Some(operation_id) = v["paths"][target][method]["operationId"].as_str() else {
                    continue;
                };
                let parameters: Map<String, Value> = target
                    .split('{')
                    .skip(1)
                    .filter_map(|s| s.split('}').next())
                    .map(|name| {
                        let from = if name == param {
                            format!("$response.body#/{field}")
                        } else {
                            format!("$request.path.{name}")
                        };
                        (name.to_string(), Value::String(from))
                    })
                    .collect();
                links.insert(
                    operation_id.to_string(),
                    json!({"operationId": operation_id, "parameters": parameters}),
                );
            }
        }
        if !links.is_empty() {
            v["paths"][create]["post"]["responses"]["201"]["links"] = Value::Object(links);
        }
    }
}

/// The document as served, rendered once at start.
#[derive(Clone)]
pub struct RenderedDocument(pub Arc<str>);

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object))
)]
pub async fn document(Extension(doc): Extension<RenderedDocument>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.to_string(),
    )
        .into_response()
}
