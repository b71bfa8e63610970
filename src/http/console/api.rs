//! The console's one way to the data: requests to the appliance's own JSON API, made in
//! process (no socket) with the signed-in user's token, so every page gets the API's
//! validation, roles, org isolation, audit entries and errors, and nothing else.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

use serde::Deserialize;

use crate::http::booking::SlotView;
use crate::http::tls::PeerAddr;

/// Where the browser's request came from, passed on with each API call so the API sees the
/// same client: its address, and the `X-Forwarded-For` a trusted proxy added (the API believes
/// it only from `server.trusted_proxies`, as for any request).
#[derive(Clone)]
pub struct Browser {
    peer: PeerAddr,
    forwarded_for: Vec<HeaderValue>,
}

impl Browser {
    pub fn new(peer: PeerAddr, headers: &HeaderMap) -> Browser {
        Browser {
            peer,
            forwarded_for: headers.get_all("x-forwarded-for").iter().cloned().collect(),
        }
    }
}

#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// An API answer: its status and JSON body (`null` when it had none).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// A successful answer read as the API's own view type (the one it serialised and
    /// documents), so a renamed field breaks the build, not a page. `None` for an error
    /// answer or a body of another shape.
    pub fn read<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        if !self.ok() {
            return None;
        }
        T::deserialize(&self.body).ok()
    }

    /// The API's error message, for the page to show.
    pub fn message(&self) -> String {
        self.body["message"]
            .as_str()
            .unwrap_or("something went wrong; try again")
            .to_string()
    }

    /// The free times a conflict answer offers instead (`details.alternatives`).
    pub fn alternatives(&self) -> Vec<SlotView> {
        Vec::<SlotView>::deserialize(&self.body["details"]["alternatives"]).unwrap_or_default()
    }

    /// Field errors of a 422 (`field: message`), if any.
    pub fn field_errors(&self) -> Vec<String> {
        self.body["details"]["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                format!(
                    "{}: {}",
                    f["field"].as_str().unwrap_or(""),
                    f["message"].as_str().unwrap_or("")
                )
            })
            .collect()
    }
}

impl Api {
    pub fn new(router: Router) -> Self {
        Api { router }
    }

    /// One request to the API as `token`'s user, from the browser.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        browser: &Browser,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        for hop in &browser.forwarded_for {
            req = req.header("x-forwarded-for", hop.clone());
        }
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let Ok(mut request) = req.body(body) else {
            return Answer {
                status: StatusCode::BAD_REQUEST,
                body: Value::Null,
            };
        };
        request.extensions_mut().insert(ConnectInfo(browser.peer));
        let Ok(response) = self.router.clone().oneshot(request).await;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 32 * 1024 * 1024)
            .await
            .unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }
}
