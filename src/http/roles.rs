//! Which roles each operation admits: read once from the API document, where each route
//! declares them beside itself as the scopes of its security requirement
//! (`security(("bearer" = ["admin", "staff"]))` in its `#[utoipa::path]`), and checked by the
//! extractors that authenticate a caller, so the document and the enforcement cannot differ.

use std::collections::HashMap;

use axum::http::Method;

use crate::domain::Role;

/// The methods an OpenAPI path item can hold operations under.
const OPERATION_METHODS: [Method; 8] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::DELETE,
    Method::OPTIONS,
    Method::HEAD,
    Method::PATCH,
    Method::TRACE,
];

/// The roles of every operation that names any, by method and route template.
#[derive(Debug, Default)]
pub struct RouteRoles(HashMap<(Method, String), Vec<Role>>);

impl RouteRoles {
    /// Reads every operation's security requirements from `doc`: the roles an operation admits
    /// are the scopes of all of them together. A scope that is not a role is an error, and the
    /// server does not start (`http::router`) rather than lock the route.
    pub fn from_document(doc: &serde_json::Value) -> Result<RouteRoles, String> {
        let mut table = HashMap::new();
        let paths = doc["paths"].as_object().into_iter().flatten();
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                // A path item also holds `parameters`, `summary`, …: only methods are operations.
                let Some(method) = OPERATION_METHODS
                    .iter()
                    .find(|m| m.as_str().eq_ignore_ascii_case(method))
                    .cloned()
                else {
                    continue;
                };
                let mut roles: Vec<Role> = Vec::new();
                let requirements = operation["security"].as_array().into_iter().flatten();
                for requirement in requirements {
                    for scopes in requirement.as_object().into_iter().flatten().map(|s| s.1) {
                        for scope in scopes.as_array().into_iter().flatten() {
                            let name = scope.as_str().unwrap_or_default();
                            let role: Role = name
                                .parse()
                                .map_err(|_| format!("{method} {path}: {name:?} is not a role"))?;
                            if !roles.contains(&role) {
                                roles.push(role);
                            }
                        }
                    }
                }
                if !roles.is_empty() {
                    table.insert((method, path.clone()), roles);
                }
            }
        }
        Ok(RouteRoles(table))
    }

    /// Whether `role` may call `method` on the route template `path`. An operation that
    /// declares no roles admits nobody through an authenticating extractor (closed by default).
    pub fn admits(&self, method: &Method, path: &str, role: Role) -> bool {
        // axum answers HEAD with the GET handler.
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.0
            .get(&(method.clone(), path.to_string()))
            .is_some_and(|roles| roles.contains(&role))
    }

    /// The roles declared for an operation, if any.
    pub fn declared(&self, method: &Method, path: &str) -> Option<&[Role]> {
        self.0
            .get(&(method.clone(), path.to_string()))
            .map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scopes_of_every_requirement_are_the_roles_and_anything_else_is_refused() {
        let doc = serde_json::json!({"paths": {
            "/a/{id}": {
                "parameters": [{"name": "id", "in": "path"}],
                "get": {"security": [{"bearer": ["admin", "staff"]}, {"vapi_secret": ["agent"]}]},
                "post": {"security": [{"bearer": ["admin"]}]},
                "delete": {}
            }
        }});
        let roles = RouteRoles::from_document(&doc).unwrap();
        assert!(roles.admits(&Method::GET, "/a/{id}", Role::Staff));
        assert!(roles.admits(&Method::HEAD, "/a/{id}", Role::Agent));
        assert!(!roles.admits(&Method::GET, "/a/{id}", Role::Clinician));
        assert!(!roles.admits(&Method::POST, "/a/{id}", Role::Staff));
        assert!(!roles.admits(&Method::DELETE, "/a/{id}", Role::Admin));
        assert!(!roles.admits(&Method::GET, "/b", Role::Admin));
        assert_eq!(
            roles.declared(&Method::POST, "/a/{id}"),
            Some(&[Role::Admin][..])
        );

        let typo =
            serde_json::json!({"paths": {"/a": {"get": {"security": [{"bearer": ["admn"]}]}}}});
        let e = RouteRoles::from_document(&typo).unwrap_err();
        assert!(e.contains("GET /a") && e.contains("admn"), "{e}");
    }
}
