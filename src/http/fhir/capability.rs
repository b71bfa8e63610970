//! `GET /fhir/r4/metadata`: the CapabilityStatement, written at start from the API document's
//! FHIR routes (the same table the router serves and the roles are read from), so it lists
//! exactly the resources, interactions, search parameters and operations that answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{FhirResponse, FHIR_PREFIX, FHIR_VERSION};
use crate::http::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metadata))
}

/// The statement as served, written once at start.
#[derive(Clone)]
pub struct Capabilities(pub Arc<Value>);

/// Where each Argonaut Scheduling operation is defined.
const OPERATIONS: &[(&str, &str)] = &[
    (
        "find",
        "http://fhir.org/guides/argonaut/scheduling/OperationDefinition/appointment-find",
    ),
    (
        "hold",
        "http://fhir.org/guides/argonaut/scheduling/OperationDefinition/appointment-hold",
    ),
    (
        "book",
        "http://fhir.org/guides/argonaut/scheduling/OperationDefinition/appointment-book",
    ),
];

/// The R4 type of each search parameter the routes take; a route that takes one not named
/// here stops the server at start (`http::router`), so the statement cannot leave one out.
fn search_param_type(name: &str) -> Option<&'static str> {
    Some(match name {
        "_id" | "status" | "service-type" | "visit-type" | "identifier" | "telephone" => "token",
        "date" | "start" | "end" => "date",
        "actor" | "patient" | "schedule" | "provider" => "reference",
        _ => return None,
    })
}

/// Parameters that shape the answer rather than select matches.
const RESULT_PARAMS: &[&str] = &["_count", "_offset", "_include"];

/// Writes the CapabilityStatement from `doc` (the API document as JSON): every path under
/// `/fhir/r4/` becomes an interaction of its resource type (`GET /T` search-type, `GET /T/{id}`
/// read, `POST /T` create, `PUT` update, `PATCH` patch, `/T/$op` an operation), with the search
/// parameters its operation documents.
pub fn statement(doc: &Value, base: &str, date: &str) -> Result<Value, String> {
    let mut resources: BTreeMap<String, Value> = BTreeMap::new();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (path, item) in paths {
        let Some(rest) = path.strip_prefix(&format!("{FHIR_PREFIX}/")) else {
            continue;
        };
        if rest == "metadata" {
            continue;
        }
        let mut segments = rest.split('/');
        let kind = segments.next().unwrap_or_default().to_string();
        let second = segments.next();
        let entry = resources.entry(kind.clone()).or_insert_with(
            || json!({"type": kind, "interaction": [], "searchParam": [], "operation": []}),
        );
        for (method, operation) in item.as_object().into_iter().flatten() {
            let interaction = match (method.as_str(), second) {
                ("get", None) => "search-type",
                ("post", None) => "create",
                ("get", Some("{id}")) => "read",
                ("put", Some("{id}")) => "update",
                ("patch", Some("{id}")) => "patch",
                (_, Some(op)) if op.starts_with('$') => {
                    let name = &op[1..];
                    let definition = OPERATIONS
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, d)| *d)
                        .ok_or_else(|| format!("{path}: no definition for ${name}"))?;
                    let ops = entry["operation"].as_array_mut().ok_or("operations")?;
                    if !ops.iter().any(|o| o["name"] == name) {
                        ops.push(json!({"name": name, "definition": definition}));
                    }
                    continue;
                }
                _ => continue,
            };
            entry["interaction"]
                .as_array_mut()
                .ok_or("interactions")?
                .push(json!({"code": interaction}));
            if interaction == "create" && kind == "Appointment" {
                entry["conditionalCreate"] = json!(true);
            }
            if interaction == "update" {
                entry["versioning"] = json!("versioned-update");
                entry["updateCreate"] = json!(false);
            }
            if interaction != "search-type" {
                continue;
            }
            for p in operation["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                if name == "_include" {
                    entry["searchInclude"] = json!([format!("{kind}:actor")]);
                }
                if RESULT_PARAMS.contains(&name) || p["in"] != "query" {
                    continue;
                }
                let kind_of = search_param_type(name)
                    .ok_or_else(|| format!("{path}: search parameter {name} has no FHIR type"))?;
                let mut param = json!({"name": name, "type": kind_of});
                if let Some(d) = p["description"].as_str() {
                    param["documentation"] = json!(d);
                }
                entry["searchParam"]
                    .as_array_mut()
                    .ok_or("searchParam")?
                    .push(param);
            }
        }
    }
    let resources: Vec<Value> = resources
        .into_values()
        .map(|mut r| {
            for key in ["interaction", "searchParam", "operation"] {
                if r[key].as_array().is_some_and(Vec::is_empty) {
                    r.as_object_mut().map(|o| o.remove(key));
                }
            }
            r
        })
        .collect();
    Ok(json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Voxanne",
        "kind": "instance",
        "software": {"name": "Voxanne", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "The clinic's Voxanne appliance", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "description": "Authorization: Bearer with a staff access token (POST /api/auth/login) or an agent key of the clinic; every resource is the clinic's own."
            },
            "resource": resources,
        }],
    }))
}

/// What this server implements, as a CapabilityStatement (public, as FHIR clients expect).
#[utoipa::path(
    get,
    path = "/fhir/r4/metadata",
    tag = "fhir",
    responses((status = 200, description = "CapabilityStatement", body = Object, content_type = "application/fhir+json"))
)]
async fn metadata(Extension(c): Extension<Capabilities>) -> FhirResponse {
    FhirResponse::ok((*c.0).clone())
}
