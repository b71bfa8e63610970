//! Routes for signup, login, the caller's profile, users and agent keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{path_id, ApiJson, Authenticated, ClientAddr, OrgScope};
use super::AppState;
use crate::domain::Role;
use crate::identity::{NewUserInput, Session, SignupInput};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/login", post(login))
        .route("/api/me", get(me))
        .route("/api/orgs/{org}/users", post(add_user).get(list_users))
        .route("/api/orgs/{org}/users/{user_id}", delete(delete_user))
        .route(
            "/api/orgs/{org}/agent-keys",
            post(create_agent_key).get(list_agent_keys),
        )
        .route(
            "/api/orgs/{org}/agent-keys/{key_id}",
            delete(revoke_agent_key),
        )
}

#[derive(Deserialize)]
struct SignupBody {
    clinic_name: String,
    email: String,
    password: String,
    timezone: Option<String>,
    full_name: Option<String>,
}

fn session_json(s: &Session) -> Value {
    json!({
        "org_id": s.org_id,
        "user_id": s.user_id,
        "role": s.role,
        "access_token": s.access_token,
        "token_type": "Bearer",
        "expires_in": s.expires_in,
    })
}

async fn signup(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignupBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input = SignupInput::parse(
        &body.clinic_name,
        &body.email,
        &body.password,
        body.timezone.as_deref(),
        body.full_name.as_deref(),
    )?;
    let session = state.identity.signup(input).await?;
    Ok((StatusCode::CREATED, Json(session_json(&session))))
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    let session = state
        .identity
        .login(&body.email, &body.password, client)
        .await?;
    Ok(Json(session_json(&session)))
}

async fn me(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let p = state.identity.profile(caller).await?;
    Ok(Json(json!({
        "user_id": p.user.id,
        "email": p.user.email,
        "full_name": p.user.full_name,
        "role": p.user.role,
        "org": {"id": p.org.id, "name": p.org.name, "timezone": p.org.timezone},
    })))
}

#[derive(Deserialize)]
struct NewUserBody {
    email: String,
    password: String,
    role: String,
    full_name: Option<String>,
}

async fn add_user(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    scope.require(&[Role::Admin])?;
    let input = NewUserInput::parse(
        &body.email,
        &body.password,
        &body.role,
        body.full_name.as_deref(),
    )?;
    let (user_id, role) = state.identity.add_user(scope.caller, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user_id": user_id, "role": role})),
    ))
}

async fn list_users(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin])?;
    let users = state.identity.list_users(scope.caller).await?;
    let users: Vec<Value> = users
        .iter()
        .map(|u| json!({"user_id": u.id, "email": u.email, "full_name": u.full_name, "role": u.role, "created_at": u.created_at}))
        .collect();
    Ok(Json(json!({ "users": users })))
}

async fn delete_user(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    scope.require(&[Role::Admin])?;
    state
        .identity
        .delete_user(scope.caller, path_id(&user_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct NewAgentKeyBody {
    name: String,
}

async fn create_agent_key(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(body): ApiJson<NewAgentKeyBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    scope.require(&[Role::Admin])?;
    let key = state
        .identity
        .create_agent_key(scope.caller, &body.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": key.id, "name": key.name, "key": key.secret})),
    ))
}

async fn list_agent_keys(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin])?;
    let keys = state.identity.list_agent_keys(scope.caller).await?;
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| json!({"id": k.id, "name": k.name, "created_at": k.created_at, "revoked_at": k.revoked_at}))
        .collect();
    Ok(Json(json!({ "agent_keys": keys })))
}

async fn revoke_agent_key(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    scope.require(&[Role::Admin])?;
    state
        .identity
        .revoke_agent_key(scope.caller, path_id(&key_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
