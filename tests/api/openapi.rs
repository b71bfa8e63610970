//! The API described by itself: `/api/openapi.json` is an OpenAPI 3.1 document generated from
//! the handlers, and the server serves exactly what it describes.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// Every (method, path template) the document lists.
pub fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            ops.push((method, path.clone()));
        }
    }
    ops
}

/// A concrete path for a template: `{org}` becomes `org`, any other parameter a fresh id.
pub fn concrete(template: &str, org: &str) -> String {
    let mut out = String::new();
    for segment in template.split('/').skip(1) {
        out.push('/');
        if segment == "{org}" {
            out.push_str(org);
        } else if segment.starts_with('{') {
            out.push_str(&uuid::Uuid::new_v4().to_string());
        } else {
            out.push_str(segment);
        }
    }
    out
}

pub async fn document(app: &TestApp) -> Value {
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_both_security_schemes_and_the_error_shape() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["vapi_secret"]["in"], "header");
    assert_eq!(schemes["vapi_secret"]["name"], "X-Vapi-Secret");
    let error = &doc["components"]["schemas"]["ErrorBody"];
    let required: Vec<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"error") && required.contains(&"message"));

    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][method.as_str().to_lowercase()];
        let responses = op["responses"].as_object().unwrap();
        // Each operation names its success answer with a schema (or none for 204), and
        // falls back to the error shape for every other status.
        let success = responses
            .iter()
            .find(|(code, _)| code.starts_with('2'))
            .unwrap_or_else(|| panic!("{method} {path}: no success response"));
        if success.0 != "204" {
            let content = success.1["content"].as_object().unwrap();
            assert!(
                content.values().all(|c| c.get("schema").is_some()),
                "{method} {path}: success without schema"
            );
        }
        // The FHIR routes fall back to an OperationOutcome instead.
        if path.starts_with("/fhir/") {
            let outcome = &responses["default"]["content"]["application/fhir+json"]["schema"];
            assert_eq!(
                outcome["properties"]["resourceType"]["enum"],
                json!(["OperationOutcome"]),
                "{method} {path}"
            );
        } else {
            assert_eq!(
                responses["default"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path}"
            );
        }
        // Org routes and the voice agent's routes need a credential, and say which.
        if path.starts_with("/api/orgs/") || path.starts_with("/api/vapi") || path == "/api/me" {
            assert!(
                op["security"].as_array().is_some_and(|s| !s.is_empty()),
                "{method} {path}: no security"
            );
        }
        // Every reference resolves (a parameter's schema is not collected with the
        // components unless it is written inline).
        let mut refs = Vec::new();
        strings_at(op, "$ref", &mut refs);
        for r in refs {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{method} {path}: {r} does not resolve"
            );
        }
        // A body, where an operation takes one, has a schema for each of its media types.
        if let Some(body) = op.get("requestBody") {
            let content = body["content"].as_object();
            assert!(
                content
                    .is_some_and(|c| !c.is_empty() && c.values().all(|m| m["schema"].is_object())),
                "{method} {path}: no request schema"
            );
        }
    }
}

/// Every string value of `key` anywhere in `v` (`$ref`s, `pattern`s).
fn strings_at(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get(key).and_then(Value::as_str) {
                out.push(r.to_string());
            }
            m.values().for_each(|v| strings_at(v, key, out));
        }
        Value::Array(a) => a.iter().for_each(|v| strings_at(v, key, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_server_serves_every_documented_operation_and_nothing_undocumented() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() >= 40, "only {} operations documented", ops.len());
    let org = uuid::Uuid::new_v4().to_string();
    for (method, template) in &ops {
        let path = concrete(template, &org);
        // The documented method is routed (a method the path lacks would be 405) …
        let r = app.request(method.clone(), &path, None, None).await;
        assert_ne!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {template}"
        );
        // … and the path exists: a method nobody documents is 405 there, not the 404 of an
        // unknown path.
        let r = app.request(Method::TRACE, &path, None, None).await;
        assert_eq!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "TRACE {template}"
        );
    }
    // An unknown path is 404, so the probe above can tell the two apart.
    let r = app.request(Method::TRACE, "/api/nowhere", None, None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The other direction: a route can only be added without its document entry through
    // axum's own registration calls; the HTTP edge registers every route with `routes!`,
    // which adds both at once. Any other registration in the source fails here.
    let mut offenders = Vec::new();
    scan(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &mut offenders,
    );
    assert!(
        offenders.is_empty(),
        "routes registered outside `routes!` (missing from the OpenAPI document): {offenders:?}"
    );
}

/// Axum's ways of registering a route (or a whole router) beside `routes!`.
const REGISTRATIONS: &[&str] = &["route", "route_service", "nest", "nest_service"];

/// Finds, in one parsed file, every call of a registration method, every use of
/// `axum::routing` (its `get(handler)` and friends make routes) and the same inside macro
/// invocations, wherever they are written and however they are laid out across lines.
struct Registrations<'a> {
    file: &'a Path,
    offenders: &'a mut Vec<String>,
}

impl Registrations<'_> {
    fn offend(&mut self, what: String) {
        self.offenders
            .push(format!("{}: {what}", self.file.display()));
    }
}

impl<'ast> syn::visit::Visit<'ast> for Registrations<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // Tests build their own little routers.
        let test_only = m.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if !test_only {
            syn::visit::visit_item_mod(self, m);
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        // Axum's take a path and what serves it (a `route()` of our own takes nothing).
        if REGISTRATIONS.contains(&name.as_str()) && call.args.len() == 2 {
            self.offend(format!(".{name}(…)"));
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.iter().any(|s| s.ident == "routing") {
            self.offend("axum::routing".into());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_use_tree(&mut self, tree: &'ast syn::UseTree) {
        if let syn::UseTree::Path(p) = tree {
            if p.ident == "routing" {
                self.offend("use …routing".into());
            }
        }
        syn::visit::visit_use_tree(self, tree);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // A macro's body is tokens: read as expressions where it is a list of them
        // (`assert!`, `format!`, …), so the rules above apply; otherwise a registration
        // method called with something, or `routing`, is found among its tokens (printed with
        // spaces between them).
        let parsed = mac.parse_body_with(
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        );
        match parsed {
            Ok(exprs) => exprs.iter().for_each(|e| self.visit_expr(e)),
            Err(_) => {
                let tokens = format!(" {} ", mac.tokens);
                for name in REGISTRATIONS {
                    let called = tokens.contains(&format!(". {name} ("));
                    let empty = tokens.contains(&format!(". {name} ()"))
                        || tokens.contains(&format!(". {name} ( )"));
                    if called && !empty {
                        self.offend(format!("{name} in a macro"));
                    }
                }
                if tokens.contains(":: routing ::") || tokens.contains(" routing ::") {
                    self.offend("routing in a macro".into());
                }
            }
        }
        syn::visit::visit_macro(self, mac);
    }
}

fn scan(dir: &Path, offenders: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The staff console's HTML pages are not part of the JSON API (README lists them);
        // they reach the data only through the API router, so nothing is served beside it.
        if path.ends_with("src/http/console") {
            continue;
        }
        if path.is_dir() {
            scan(&path, offenders);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let file = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            let mut found = Registrations {
                file: &path,
                offenders,
            };
            syn::visit::Visit::visit_file(&mut found, &file);
        }
    }
}

#[test]
fn the_registration_guard_finds_a_route_however_it_is_written() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("sneaky.rs"),
        "use axum::{routing::get, Router};\n\
         fn a() -> Router { Router::new()\n    .route(\n        \"/x\",\n        get(h)) }\n\
         fn b(r: Router) -> Router { r . nest_service (\"/y\", s()) }\n\
         fn c(r: Router) -> Router { wrap!(r.route(\"/z\", h)) }\n\
         fn d(e: Entity) -> bool { e.kind.route() == Route::Clinical }\n\
         fn e(e: Entity) { assert!(e.kind.route() == Route::Clinical, \"ours\"); }\n\
         fn f(r: Router) { select! { x = r.nest(\"/n\", m) => {} } }\n\
         #[cfg(test)] mod tests { fn t(r: Router) -> Router { r.route(\"/t\", h) } }\n",
    )
    .unwrap();
    let mut offenders = Vec::new();
    scan(dir.path(), &mut offenders);
    let found: Vec<&str> = offenders
        .iter()
        .map(|o| o.rsplit_once(": ").unwrap().1)
        .collect();
    assert_eq!(
        found,
        [
            "use …routing",
            ".route(…)",
            ".nest_service(…)",
            ".route(…)",
            "nest in a macro"
        ],
        "{offenders:?}"
    );
}

/// The operation of the document with `operation_id`: (method, path template, operation).
fn operation_by_id<'a>(doc: &'a Value, operation_id: &str) -> Option<(String, String, &'a Value)> {
    doc["paths"].as_object()?.iter().find_map(|(path, item)| {
        item.as_object()?.iter().find_map(|(method, op)| {
            (op["operationId"] == operation_id).then(|| (method.clone(), path.clone(), op))
        })
    })
}

/// Every create links to the operations on what it created, each link naming exactly the
/// target's path parameters from the create's own path or a field its answer has; followed
/// from a real booking, the links reach the booking.
#[tokio::test]
async fn each_create_links_to_what_can_be_done_with_what_it_created() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut linked = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let created = &item["post"]["responses"]["201"];
        let Some(links) = created["links"].as_object() else {
            continue;
        };
        let schema = created["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .unwrap();
        let fields = doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap();
        for (name, link) in links {
            let (_, target, _) = operation_by_id(&doc, link["operationId"].as_str().unwrap())
                .unwrap_or_else(|| panic!("{path}: link {name} names no operation"));
            let mut wanted: Vec<&str> = target
                .split('{')
                .skip(1)
                .filter_map(|s| s.split('}').next())
                .collect();
            let mut given: Vec<&str> = link["parameters"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            wanted.sort();
            given.sort();
            assert_eq!(wanted, given, "{path} → {target}");
            for (param, from) in link["parameters"].as_object().unwrap() {
                let from = from.as_str().unwrap();
                match from.strip_prefix("$response.body#/") {
                    Some(field) => assert!(fields.contains_key(field), "{path}: {field}"),
                    None => assert!(path.contains(&format!("{{{param}}}")), "{path}: {from}"),
                }
            }
            linked.push((path.clone(), target));
        }
    }
    let has = |from: &str, to: &str| {
        linked
            .iter()
            .any(|(f, t)| f.as_str() == from && t.as_str() == to)
    };
    for (from, to) in [
        (
            "/api/orgs/{org}/appointments",
            "/api/orgs/{org}/appointments/{appointment_id}",
        ),
        (
            "/api/orgs/{org}/appointments",
            "/api/orgs/{org}/appointments/{appointment_id}/cancel",
        ),
        (
            "/api/orgs/{org}/appointments",
            "/api/orgs/{org}/appointments/{appointment_id}/reschedule",
        ),
        (
            "/api/orgs/{org}/kb/documents",
            "/api/orgs/{org}/kb/documents/{document_id}",
        ),
        (
            "/api/orgs/{org}/providers",
            "/api/orgs/{org}/providers/{provider_id}/hours",
        ),
        ("/api/orgs/{org}/users", "/api/orgs/{org}/users/{user_id}"),
        (
            "/api/orgs/{org}/agent-keys",
            "/api/orgs/{org}/agent-keys/{key_id}",
        ),
        (
            "/api/orgs/{org}/procedures",
            "/api/orgs/{org}/procedures/{procedure_id}",
        ),
        (
            "/api/orgs/{org}/waitlist",
            "/api/orgs/{org}/waitlist/{entry_id}",
        ),
    ] {
        assert!(has(from, to), "no link {from} → {to}: {linked:?}");
    }

    // Followed from a real booking: the read link reaches it.
    let c = app.bookable_clinic("Clinic").await;
    let r = app
        .book_via_rest(&c, &c.smith, &date_in(2), "10:00", None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let booked: Value = r.json().await.unwrap();
    let link = &doc["paths"]["/api/orgs/{org}/appointments"]["post"]["responses"]["201"]["links"]
        ["get_appointment"];
    let field = link["parameters"]["appointment_id"]
        .as_str()
        .unwrap()
        .trim_start_matches("$response.body#/");
    let path = format!(
        "/api/orgs/{}/appointments/{}",
        c.clinic.org_id,
        booked[field].as_str().unwrap()
    );
    let r = app.get(&path, Some(&c.clinic.token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], booked["id"]);
}

/// Every numeric per-clinic setting the document bounds is held by the API to exactly those
/// bounds: the edges are accepted, one past either edge refused by name.
#[tokio::test]
async fn the_settings_bounds_in_the_document_are_the_ones_the_api_holds() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let doc = document(&app).await;
    let properties = doc["components"]["schemas"]["ClinicSettings"]["properties"]
        .as_object()
        .unwrap();
    let mut checked = 0;
    for (name, schema) in properties {
        let (Some(min), Some(max)) = (schema["minimum"].as_i64(), schema["maximum"].as_i64())
        else {
            continue;
        };
        let mut edges = vec![(min, true), (max, true), (max + 1, false)];
        if min > 0 {
            edges.push((min - 1, false));
        }
        for (value, valid) in edges {
            let status = app
                .change_settings(&c, |s| s[name.as_str()] = serde_json::json!(value))
                .await;
            let expected = if valid {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            assert_eq!(status, expected, "{name} = {value}");
        }
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} bounded settings");
}

/// Every "not blank" pattern in the document is the one `has_text` is checked against (field
/// attributes repeat it as a literal).
#[tokio::test]
async fn every_not_blank_pattern_is_the_one_the_api_checks() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut found = Vec::new();
    strings_at(&doc, "pattern", &mut found);
    let unanchored: Vec<&String> = found.iter().filter(|p| !p.starts_with('^')).collect();
    assert!(unanchored.len() >= 8, "{unanchored:?}");
    for p in unanchored {
        assert_eq!(p, voxanne::domain::NONBLANK_PATTERN);
    }
}
