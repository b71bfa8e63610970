//! Signing in and out: the sign-in form with its own double-submitted CSRF token, the
//! sign-in through the API's login (its throttle and audit apply), and signing out.

use super::*;
use crate::http::identity::SessionView;

pub(super) async fn login_page(State(console): Shared, headers: HeaderMap) -> Response {
    if console.sessions.find(&headers).is_some() {
        return Redirect::to("/console/").into_response();
    }
    login_form(&console, StatusCode::OK, None, "")
}

pub(super) fn login_form(
    console: &Console,
    status: StatusCode,
    problem: Option<String>,
    email: &str,
) -> Response {
    let token = session::random_token();
    let notice = problem.map(Notice::Problem);
    let mut r = page(
        status,
        "Sign in",
        None,
        notice.as_ref(),
        html! {
            form.card method="post" action="/console/login" {
                (csrf_field(&token))
                (field("Email", "email", "email", email, true))
                (field("Password", "password", "password", "", true))
                button type="submit" { "Sign in" }
            }
            p.hint { "Forgotten your password? Ask the clinic's admin to set a new one." }
        },
    );
    r.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(session::LOGIN_COOKIE, &token, console.secure, Some(600)),
    );
    r
}

pub(super) async fn login(
    State(console): Shared,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let email = form.get("email").cloned().unwrap_or_default();
    let expected = session::cookie(&headers, session::LOGIN_COOKIE).unwrap_or_default();
    let given = form.get("csrf").map(String::as_str).unwrap_or("");
    if expected.is_empty()
        || !session::same_token(given, &expected)
        || !console.same_origin(&headers)
    {
        return login_form(
            &console,
            StatusCode::FORBIDDEN,
            Some("The sign-in form had expired; sign in again.".into()),
            &email,
        );
    }
    let answer = console
        .api
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": form.get("password").cloned().unwrap_or_default()})),
            &Browser::new(peer, &headers),
        )
        .await;
    if !answer.ok() {
        let message = match answer.status {
            StatusCode::TOO_MANY_REQUESTS => {
                "Too many attempts; wait a few minutes and try again.".to_string()
            }
            StatusCode::UNAUTHORIZED => {
                "That email and password do not match an account.".to_string()
            }
            _ => answer.message(),
        };
        return login_form(&console, answer.status, Some(message), &email);
    }
    let Some(signed_in) = answer.read::<SessionView>() else {
        return login_form(
            &console,
            StatusCode::BAD_GATEWAY,
            Some("Sign-in failed; try again.".into()),
            &email,
        );
    };
    let (token, org, role) = (
        signed_in.access_token.as_str(),
        signed_in.org_id,
        signed_in.role,
    );
    let expires = Duration::from_secs(signed_in.expires_in);
    let session = console
        .sessions
        .start(token.to_string(), org, role, expires);
    let mut r = Redirect::to("/console/").into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie(session::SESSION_COOKIE, &session.id, console.secure, None),
    );
    h.append(
        header::SET_COOKIE,
        session::set_cookie(session::LOGIN_COOKIE, "", console.secure, Some(0)),
    );
    r
}

pub(super) async fn logout(
    State(console): Shared,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    if let Ok(signed) = Signed::posting(&console, &headers, peer, &form).await {
        console.sessions.end(&signed.session.id);
    }
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(session::SESSION_COOKIE, "", console.secure, Some(0)),
    );
    r
}
