//! The staff console over plain HTTP: where `/` leads, the sign-in's cookies and CSRF token,
//! forms refused without the session's token, pages never stored, sign-out, `Secure` cookies
//! behind HTTPS. (The pages themselves are driven in a real browser in `console_browser`.)

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, Client, Response, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, Clinic, TestApp, PASSWORD};

/// A browser without a cookie jar of its own: cookies are carried by hand, redirects not
/// followed, so every answer can be looked at.
pub struct Visitor {
    client: Client,
    base: String,
    pub cookies: Vec<(String, String)>,
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor {
            client: Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: Vec::new(),
        }
    }

    fn remember(&mut self, r: &Response) {
        for v in r.headers().get_all(SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.remember(&r);
        r
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.remember(&r);
        r
    }

    /// Sends the sign-in form with `csrf` (the login page's token, or not).
    pub async fn submit_login(&mut self, csrf: &str, email: &str, password: &str) -> Response {
        self.post(
            "/console/login",
            &[("csrf", csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// Signs in through the form and returns the session's CSRF token (from the diary page).
    pub async fn sign_in(&mut self, email: &str) -> String {
        let page = self.get("/console/login").await.text().await.unwrap();
        let token = csrf_of(&page);
        let r = self.submit_login(&token, email, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[LOCATION], "/console/");
        csrf_of(&self.get("/console/").await.text().await.unwrap())
    }
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

async fn harley() -> (TestApp, Clinic) {
    let app = spawn_app().await;
    let clinic = app
        .signup("Harley Aesthetics", "admin@harley.example")
        .await;
    (app, clinic)
}

async fn documents(app: &TestApp, clinic: &Clinic) -> Vec<Value> {
    let r: Value = app
        .get(
            &format!("/api/orgs/{}/kb/documents", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    r["documents"].as_array().unwrap().clone()
}

fn cookie_line<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

#[tokio::test]
async fn the_appliance_root_leads_to_the_console_and_the_console_to_sign_in() {
    let app = spawn_app().await;
    let mut v = Visitor::new(&app);
    let r = v.get("/").await;
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()[LOCATION], "/console/");
    let r = v.get("/console/").await;
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()[LOCATION], "/console/login");
    let r = v.get("/console/login").await;
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<label><span>Email</span><input type="email" name="email""#));
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_no_page_is_stored() {
    let (app, clinic) = harley().await;
    let mut v = Visitor::new(&app);
    let r = v.get("/console/login").await;
    let login_cookie = cookie_line(&r, "voxanne_login").to_string();
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));
    let token = csrf_of(&r.text().await.unwrap());
    let r = v.submit_login(&token, &clinic.email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = cookie_line(&r, "voxanne_console");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP here: {session}");
    // The session cookie is an opaque id: not the API token.
    assert!(!session.contains(&clinic.token));
    let r = v.get("/console/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("Harley Aesthetics"));
    assert!(
        !html.contains(&clinic.token),
        "the token never reaches the page"
    );
}

#[tokio::test]
async fn a_wrong_password_says_so_and_starts_no_session() {
    let (app, clinic) = harley().await;
    let mut v = Visitor::new(&app);
    let token = csrf_of(&v.get("/console/login").await.text().await.unwrap());
    let r = v
        .submit_login(&token, &clinic.email, "not-the-password")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("That email and password do not match an account."));
    assert!(v.cookies.iter().all(|(n, _)| n != "voxanne_console"));
    assert!(v.get("/console/").await.status().is_redirection());
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_change_nothing() {
    let (app, clinic) = harley().await;

    // Sign-in without the login form's cookie.
    let mut stranger = Visitor::new(&app);
    let r = stranger
        .submit_login("made-up", &clinic.email, PASSWORD)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(stranger.cookies.iter().all(|(n, _)| n != "voxanne_console"));

    // A signed-in browser, but a form that did not come from its pages.
    let mut v = Visitor::new(&app);
    let csrf = v.sign_in(&clinic.email).await;
    for token in ["", "0000", &"f".repeat(64)] {
        let r = v
            .post(
                "/console/kb",
                &[
                    ("csrf", token),
                    ("title", "Forged"),
                    ("body", "Forged text"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("nothing was changed"));
    }
    let docs = documents(&app, &clinic).await;
    assert!(docs.is_empty());

    // The page's own token works.
    let r = v
        .post(
            "/console/kb",
            &[
                ("csrf", &csrf),
                ("title", "Aftercare"),
                ("body", "Keep the dressing dry for a week."),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let docs = documents(&app, &clinic).await;
    assert_eq!(docs[0]["title"], "Aftercare");
}

#[tokio::test]
async fn signing_out_ends_the_session_for_good() {
    let (app, clinic) = harley().await;
    let mut v = Visitor::new(&app);
    let csrf = v.sign_in(&clinic.email).await;
    let kept = v.cookies.clone();
    let r = v.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.headers()[LOCATION], "/console/login");
    assert!(cookie_line(&r, "voxanne_console").contains("Max-Age=0"));
    // Replaying the old cookie does not bring the session back.
    v.cookies = kept;
    let r = v.get("/console/").await;
    assert_eq!(r.headers()[LOCATION], "/console/login");
}

#[tokio::test]
async fn behind_https_the_cookies_are_secure() {
    let app = spawn_app_with(|s| s.server.public_url = "https://clinic.example".into()).await;
    let clinic = app
        .signup("Harley Aesthetics", "admin@harley.example")
        .await;
    let mut v = Visitor::new(&app);
    let r = v.get("/console/login").await;
    assert!(cookie_line(&r, "voxanne_login").contains("; Secure"));
    let token = csrf_of(&r.text().await.unwrap());
    let r = v.submit_login(&token, &clinic.email, PASSWORD).await;
    assert!(cookie_line(&r, "voxanne_console").contains("; Secure"));
}

#[tokio::test]
async fn the_settings_page_shows_the_clinics_fhir_base_url_and_it_answers() {
    let app = spawn_app_with(|s| s.server.public_url = "https://harley.example/".into()).await;
    let clinic = app
        .signup("Harley Aesthetics", "admin@harley.example")
        .await;
    let mut v = Visitor::new(&app);
    v.sign_in(&clinic.email).await;
    let page = v.get("/console/settings").await.text().await.unwrap();
    assert!(
        page.contains(r#"<code id="fhir-base">https://harley.example/fhir/r4</code>"#),
        "{page}"
    );
    // The path under it is where the FHIR routes are served.
    let r = app.get("/fhir/r4/metadata", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let statement: Value = r.json().await.unwrap();
    assert_eq!(
        statement["implementation"]["url"],
        "https://harley.example/fhir/r4"
    );
}

#[tokio::test]
async fn a_clinical_note_page_is_never_stored_and_staff_are_refused_it() {
    let (app, clinic) = harley().await;
    let note_id = crate::console_browser::file_a_call_with_a_note(&app, &clinic).await;
    let mut admin = Visitor::new(&app);
    admin.sign_in(&clinic.email).await;
    let r = admin.get(&format!("/console/notes/{note_id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    assert!(r.text().await.unwrap().contains("warfarin"));

    let (staff_email, _) = crate::console_browser::add_user(&app, &clinic, "staff").await;
    let mut staff = Visitor::new(&app);
    staff.sign_in(&staff_email).await;
    let r = staff.get(&format!("/console/notes/{note_id}")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(!html.contains("warfarin"));
    assert!(html.contains("ask the clinic's admin"));
}

#[tokio::test]
async fn a_calendar_connection_can_only_be_finished_by_the_admin_who_started_it() {
    let app = spawn_app_with(|s| {
        s.google_calendar.client_id = "oauth-client".into();
        s.google_calendar.auth_url = "https://accounts.example/auth".into();
    })
    .await;
    let clinic = app
        .signup("Harley Aesthetics", "admin@harley.example")
        .await;
    let other = app.signup("Other Clinic", "admin@other.example").await;
    let (_, staff) = app.add_user_token(&clinic, "staff").await;
    let (_, second_admin) = app.add_user_token(&clinic, "admin").await;
    let start = |token: String, org: String| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/orgs/{org}/calendar/google/authorize"),
                Some(&token),
                serde_json::json!({}),
            )
            .await
        }
    };
    // Reception cannot start one.
    let r = start(staff, clinic.org_id.clone()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = start(clinic.token.clone(), clinic.org_id.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let url = r.json::<Value>().await.unwrap()["authorization_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        url.starts_with("https://accounts.example/auth?response_type=code&client_id=oauth-client")
    );
    let state = url.split("state=").nth(1).unwrap().to_string();
    // Neither another admin of the clinic nor another clinic's admin can use its state (the
    // code is never sent to Google for them).
    for (org, token) in [
        (clinic.org_id.clone(), second_admin.clone()),
        (other.org_id.clone(), other.token.clone()),
    ] {
        let r = app
            .post(
                &format!("/api/orgs/{org}/calendar/google/callback"),
                Some(&token),
                serde_json::json!({"code": "stolen", "state": state}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
    }
    let status: Value = app
        .get(
            &format!("/api/orgs/{}/calendar/google", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["connected"], false);
    assert_eq!(status["available"], true);

    // Google saying no comes back as a page that changes nothing.
    let mut v = Visitor::new(&app);
    let r = v
        .get("/console/calendar/callback?error=access_denied&state=x")
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("nothing has changed"));
}

#[tokio::test]
async fn settings_add_a_provider_with_weekly_hours_and_a_confirm_is_recorded_as_the_staff_member() {
    let (app, clinic) = harley().await;
    let org = clinic.org_id.clone();
    let mut v = Visitor::new(&app);
    let csrf = v.sign_in(&clinic.email).await;
    let r = v
        .post(
            "/console/settings/services",
            &[
                ("csrf", &csrf),
                ("name", "Consultation"),
                ("duration_minutes", "30"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let services: Value = app
        .get(&format!("/api/orgs/{org}/services"), Some(&clinic.token))
        .await
        .json()
        .await
        .unwrap();
    let service = services["services"][0]["id"].as_str().unwrap().to_string();
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("name".into(), "Dr Lee".into()),
        (format!("service:{service}"), "on".into()),
    ];
    for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
        form.push((format!("{day}:from"), "09:00".into()));
        form.push((format!("{day}:to"), "17:00".into()));
    }
    form.push(("break:from".into(), "12:30".into()));
    form.push(("break:to".into(), "13:15".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = v.post("/console/settings/providers", &pairs).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = v.get("/console/settings").await.text().await.unwrap();
    assert!(page.contains("Provider added."), "{page}");
    let providers: Value = app
        .get(&format!("/api/orgs/{org}/providers"), Some(&clinic.token))
        .await
        .json()
        .await
        .unwrap();
    let lee = &providers["providers"][0];
    assert_eq!(lee["name"], "Dr Lee");
    assert_eq!(
        lee["breaks"]["sun"],
        serde_json::json!([["12:30", "13:15"]])
    );
    assert_eq!(
        lee["weekly_hours"]["mon"],
        serde_json::json!([["09:00", "17:00"]])
    );

    // The hours are edited on the same page: Monday only now, no break.
    let lee_id = lee["id"].as_str().unwrap().to_string();
    let r = v
        .post(
            &format!("/console/settings/providers/{lee_id}/hours"),
            &[("csrf", &csrf), ("mon:from", "10:00"), ("mon:to", "14:00")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after: Value = app
        .get(
            &format!("/api/orgs/{org}/providers/{lee_id}"),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        after["weekly_hours"],
        serde_json::json!({"mon": [["10:00", "14:00"]]})
    );
    assert_eq!(after["breaks"], serde_json::json!({}));
    // Back to every day, nine to five, with the break, for the booking below.
    let r = v
        .post(
            &format!("/console/settings/providers/{lee_id}/hours"),
            &pairs,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // A staff member confirms a pending appointment for the patient: the audit names them.
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments"),
            Some(&clinic.token),
            serde_json::json!({"provider_id": lee["id"], "service_id": service,
                "date": crate::helpers::date_in(2), "time": "10:00",
                "patient": {"name": "Jane Doe", "phone": "07911 123456"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (staff_id, _) = app
        .add_user(&clinic, "staff", "reception@harley.example")
        .await;
    let mut reception = Visitor::new(&app);
    let staff_csrf = reception.sign_in("reception@harley.example").await;
    let r = reception
        .post(
            &format!("/console/appointments/{id}/confirm"),
            &[("csrf", &staff_csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let entries = app.audit_entries(&clinic).await;
    let confirmed = entries
        .iter()
        .find(|e| e["action"] == "appointment_confirmed")
        .expect("the confirmation is audited");
    assert_eq!(confirmed["actor"], format!("user:{staff_id}"));
    // A second confirm is refused and says why.
    let r = reception
        .post(
            &format!("/console/appointments/{id}/confirm"),
            &[("csrf", &staff_csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("only a pending appointment can be confirmed"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_console_sign_ins_are_counted_per_client() {
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
        s.auth.login_max_failures_per_client = 3;
    })
    .await;
    let clinic = app
        .signup("Harley Aesthetics", "admin@harley.example")
        .await;
    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    // Each sign-in through the proxy: the form's cookie and token, the client's address.
    let sign_in = |from: &'static str, email: String, password: &'static str| {
        let client = client.clone();
        let base = app.base.clone();
        async move {
            let page = client
                .get(format!("{base}/console/login"))
                .header("x-forwarded-for", from)
                .send()
                .await
                .unwrap();
            let cookie = page.headers()[SET_COOKIE].to_str().unwrap().to_string();
            let cookie = cookie.split(';').next().unwrap().to_string();
            let token = csrf_of(&page.text().await.unwrap());
            client
                .post(format!("{base}/console/login"))
                .header("x-forwarded-for", from)
                .header(COOKIE, cookie)
                .header("origin", "https://clinic.example")
                .header("x-forwarded-host", "clinic.example")
                .form(&[
                    ("csrf", token.as_str()),
                    ("email", &email),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for n in 0..4 {
        let status = sign_in("203.0.113.7", format!("guess{n}@nowhere.example"), "wrong").await;
        assert!(matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
        ));
    }
    assert_eq!(
        sign_in("203.0.113.7", clinic.email.clone(), PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing client is locked out"
    );
    // Another client behind the same proxy signs in (and the proxy's own host is accepted as
    // the forms' origin).
    assert_eq!(
        sign_in("198.51.100.20", clinic.email.clone(), PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_week_view_shows_seven_days_and_an_empty_clinic_says_what_to_do() {
    let (app, clinic) = harley().await;
    let mut v = Visitor::new(&app);
    v.sign_in(&clinic.email).await;
    let html = v
        .get("/console/?view=week&date=2026-12-02")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Week of Monday 30 November 2026"), "{html}");
    assert_eq!(html.matches(r#"<section class="day""#).count(), 7);
    assert!(html.contains("No providers yet. An admin adds them under Settings."));
    // A date outside what the API takes falls back to today rather than failing.
    let r = v.get("/console/?date=9999-12-31").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Today, "));
}

#[tokio::test]
async fn the_calls_list_is_newest_first_and_an_older_file_gets_its_index_at_start() {
    let (app, clinic) = harley().await;
    let (_, key) = app.create_agent_key(&clinic).await;
    let mut filed = Vec::new();
    for n in 0..3 {
        let mut report: Value = serde_json::from_str(include_str!(
            "../fixtures/vapi/end-of-call-report.captured.json"
        ))
        .unwrap();
        let call_id = format!("call-order-{n}");
        report["message"]["call"]["id"] = serde_json::json!(call_id);
        let r = app.post("/api/vapi", Some(&key), report).await;
        assert_eq!(r.status(), StatusCode::OK);
        filed.push(call_id);
    }
    let newest_first: Vec<String> = filed.iter().rev().cloned().collect();
    assert_eq!(listed_calls(&app, &clinic, 50).await, newest_first);
    assert_eq!(listed_calls(&app, &clinic, 2).await, newest_first[..2]);
    let r = app
        .get(
            &format!("/api/orgs/{}/calls?limit=0", clinic.org_id),
            Some(&clinic.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The same file as schema 11 wrote it (no recency index): the index is built at start.
    let tmp = app.stop().await.unwrap();
    const INDEX: redb::TableDefinition<(u128, &[u8]), &[u8]> =
        redb::TableDefinition::new("calls_by_recency_v1");
    const META: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("meta_v1");
    {
        let db = redb::Database::open(tmp.path().join("voxanne.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        tx.delete_table(INDEX).unwrap();
        tx.open_table(META)
            .unwrap()
            .insert(b"schema_version".as_slice(), b"11".as_slice())
            .unwrap();
        tx.commit().unwrap();
    }
    let app = crate::helpers::spawn_app_in(tmp.path(), |_| {}).await;
    let mut after: Vec<String> = listed_calls(&app, &clinic, 50).await;
    after.sort();
    let mut all = filed.clone();
    all.sort();
    assert_eq!(after, all);
}

async fn listed_calls(app: &TestApp, clinic: &Clinic, limit: u32) -> Vec<String> {
    let r: Value = app
        .get(
            &format!("/api/orgs/{}/calls?limit={limit}", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_audit_log_pages_from_the_newest_entry_back() {
    let (app, clinic) = harley().await;
    // 150 more entries: each document added is audited.
    for _ in 0..150 {
        let r = app
            .post(
                &format!("/api/orgs/{}/kb/documents", clinic.org_id),
                Some(&clinic.token),
                serde_json::json!({"title": "Aftercare", "body": "Keep it dry."}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let verified = app.audit_verify(&clinic).await;
    let total = verified["entries"].as_u64().unwrap() as usize;
    let mut v = Visitor::new(&app);
    v.sign_in(&clinic.email).await;
    let total = total + 1; // the console sign-in itself
    let first = v.get("/console/audit").await.text().await.unwrap();
    assert!(
        first.contains(&format!("Entries {}–{total} of {total}", total - 99)),
        "{first}"
    );
    assert!(first.contains("Older →") && !first.contains("← Newer"));
    // Fewer than 200 entries: the second page is the last, from the first entry.
    let last = v.get("/console/audit?page=1").await.text().await.unwrap();
    assert!(last.contains(&format!("Entries 1–{} of {total}", total - 100)));
    assert!(last.contains("← Newer") && !last.contains("Older →"));
    // A page past the end shows the last one.
    let end = v.get("/console/audit?page=99").await.text().await.unwrap();
    assert!(end.contains("Entries 1–") && end.contains("← Newer") && !end.contains("Older →"));
}

/// The Settings page offers every per-clinic setting (the Calendar page chooses the
/// calendar) and saves what the admin types, as the API then reports it.
#[tokio::test]
async fn the_settings_page_offers_every_per_clinic_setting_and_saves_it() {
    let (app, clinic) = harley().await;
    let mut v = Visitor::new(&app);
    let csrf = v.sign_in(&clinic.email).await;
    let page = v.get("/console/settings").await.text().await.unwrap();
    let defaults =
        serde_json::to_value(voxanne::booking::records::ClinicSettings::default()).unwrap();
    for key in defaults.as_object().unwrap().keys() {
        if key != "calendar_id" {
            assert!(
                page.contains(&format!(r#"name="{key}""#)),
                "no field for {key}"
            );
        }
    }
    let r = v
        .post(
            "/console/settings",
            &[
                ("csrf", &csrf),
                ("sms_help_text", "Call us on 020 7946 0000."),
                ("public_url", "https://harley.example"),
                ("quiet_hours_start", "20:30"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let saved: Value = app
        .get(
            &format!("/api/orgs/{}/settings", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(saved["sms_help_text"], "Call us on 020 7946 0000.");
    assert_eq!(saved["public_url"], "https://harley.example");
    assert_eq!(saved["quiet_hours_start"], "20:30");
    assert_eq!(saved["horizon_days"], 90);
}

/// Reception books with the patient's date of birth, which the patient can then use to prove
/// who they are on the phone.
#[tokio::test]
async fn reception_books_with_the_patients_date_of_birth() {
    let app = crate::helpers::spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    app.add_user(&c.clinic, "staff", "desk@harley.example")
        .await;
    let mut v = Visitor::new(&app);
    let csrf = v.sign_in("desk@harley.example").await;
    let slots: Value = app
        .get(
            &format!(
                "/api/orgs/{}/availability?service_id={}&date={}",
                c.clinic.org_id,
                c.service_id,
                crate::helpers::date_in(2)
            ),
            Some(&c.clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let slot = &slots["slots"][0];
    let chosen = format!(
        "{}|{}",
        slot["provider_id"].as_str().unwrap(),
        slot["start"].as_str().unwrap()
    );
    let r = v
        .post(
            "/console/book",
            &[
                ("csrf", &csrf),
                ("service_id", &c.service_id),
                ("slot", &chosen),
                ("name", "Priya Sharma"),
                ("phone", "07700 900456"),
                ("date_of_birth", "1990-07-14"),
            ],
        )
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let listed = app.appointments(&c).await;
    let booked = listed
        .iter()
        .find(|a| a["patient"]["name"] == "Priya Sharma")
        .expect("booked");
    assert_eq!(booked["patient"]["date_of_birth"], "1990-07-14");
}

/// A day's free times are a compact grid: a row per provider and part of the day, each time
/// once, shown as its clock time only.
#[tokio::test]
async fn free_times_are_offered_as_a_grid_by_provider_and_part_of_the_day() {
    let app = crate::helpers::spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    app.add_user(&c.clinic, "staff", "grid@harley.example")
        .await;
    let mut v = Visitor::new(&app);
    v.sign_in("grid@harley.example").await;
    let day = crate::helpers::date_in(2);
    let page = v
        .get(&format!(
            "/console/book?service_id={}&date={day}",
            c.service_id
        ))
        .await
        .text()
        .await
        .unwrap();
    let slots: Value = app
        .get(
            &format!(
                "/api/orgs/{}/availability?service_id={}&date={day}",
                c.clinic.org_id, c.service_id
            ),
            Some(&c.clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let free = slots["slots"].as_array().unwrap();
    assert_eq!(page.matches(r#"name="slot""#).count(), free.len());
    for row in [
        "Dr Smith · Morning",
        "Dr Smith · Afternoon",
        "Dr Patel · Morning",
    ] {
        assert!(page.contains(row), "no row {row}");
    }
    assert_eq!(page.matches(r#"class="chip""#).count(), free.len());
    assert!(
        page.contains(">09:00<") || page.contains("09:00</label>"),
        "clock times only"
    );
}
