//! Routes for signup, login, the caller's profile, users and agent keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{path_id, ApiJson, Authenticated, ClientAddr, OrgScope};
use super::openapi::OrgPath;
use super::AppState;
use crate::domain::{AgentKeyId, OrgId, Role, UserId};
use crate::identity::{NewUserInput, Session, SignupInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(add_user, list_users))
        .routes(routes!(delete_user))
        .routes(routes!(create_agent_key, list_agent_keys))
        .routes(routes!(revoke_agent_key))
}

#[derive(Deserialize, ToSchema)]
struct SignupBody {
    #[schema(value_type = crate::domain::ClinicName)]
    clinic_name: String,
    #[schema(value_type = crate::domain::Email)]
    email: String,
    #[schema(value_type = crate::domain::Password)]
    password: String,
    /// The clinic's zone (default `Europe/London`).
    #[schema(value_type = Option<crate::domain::TimeZoneName>)]
    timezone: Option<String>,
    #[schema(value_type = Option<crate::domain::FullName>)]
    full_name: Option<String>,
}

/// A signed-in session: the access token and who it speaks for.
#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct SessionView {
    pub(crate) org_id: OrgId,
    pub(crate) user_id: UserId,
    pub(crate) role: Role,
    pub(crate) access_token: String,
    /// Always `Bearer`.
    pub(crate) token_type: String,
    /// Seconds until the token expires.
    pub(crate) expires_in: u64,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        SessionView {
            org_id: s.org_id,
            user_id: s.user_id,
            role: s.role,
            access_token: s.access_token,
            token_type: "Bearer".to_string(),
            expires_in: s.expires_in,
        }
    }
}

/// Creates a clinic (organisation) and its first admin, and signs the admin in. Refused (403)
/// when the appliance's signup is closed; more than a few attempts from one client address or
/// for one email within the hour answer 429 with `Retry-After`.
#[utoipa::path(
    post,
    path = "/api/auth/signup",
    tag = "identity",
    request_body = SignupBody,
    responses((status = 201, description = "The clinic and its admin exist", body = SessionView))
)]
async fn signup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<SignupBody>,
) -> Result<(StatusCode, Json<SessionView>), ApiError> {
    state.identity.admit_signup(&body.email, client)?;
    let input = SignupInput::parse(
        &body.clinic_name,
        &body.email,
        &body.password,
        body.timezone.as_deref(),
        body.full_name.as_deref(),
    )?;
    let session = state.identity.signup(input).await?;
    Ok((StatusCode::CREATED, Json(session.into())))
}

#[derive(Deserialize, ToSchema)]
struct LoginBody {
    email: String,
    password: String,
}

/// Signs a user in. Repeated failures from one address or for one account answer 429 with
/// `Retry-After`.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "identity",
    request_body = LoginBody,
    responses((status = 200, body = SessionView))
)]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<SessionView>, ApiError> {
    let session = state
        .identity
        .login(&body.email, &body.password, client)
        .await?;
    Ok(Json(session.into()))
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct OrgView {
    pub(crate) id: OrgId,
    pub(crate) name: String,
    pub(crate) timezone: String,
}

/// The signed-in user and their organisation.
#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct MeView {
    pub(crate) user_id: UserId,
    pub(crate) email: String,
    pub(crate) full_name: Option<String>,
    pub(crate) role: Role,
    pub(crate) org: OrgView,
}

/// The caller's own profile.
#[utoipa::path(
    get,
    path = "/api/me",
    tag = "identity",
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = MeView))
)]
async fn me(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<MeView>, ApiError> {
    let p = state.identity.profile(caller).await?;
    Ok(Json(MeView {
        user_id: p.user.id,
        email: p.user.email.as_str().to_string(),
        full_name: p.user.full_name,
        role: p.user.role,
        org: OrgView {
            id: p.org.id,
            name: p.org.name,
            timezone: p.org.timezone,
        },
    }))
}

#[derive(Deserialize, ToSchema)]
struct NewUserBody {
    #[schema(value_type = crate::domain::Email)]
    email: String,
    #[schema(value_type = crate::domain::Password)]
    password: String,
    /// `admin`, `staff` or `clinician`.
    #[schema(value_type = String, pattern = "^(admin|staff|clinician)$")]
    role: String,
    #[schema(value_type = Option<crate::domain::FullName>)]
    full_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct UserCreated {
    user_id: UserId,
    role: Role,
}

/// Adds a user to the organisation (admin only).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/users",
    tag = "identity",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    request_body = NewUserBody,
    responses((status = 201, body = UserCreated))
)]
async fn add_user(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserCreated>), ApiError> {
    let input = NewUserInput::parse(
        &body.email,
        &body.password,
        &body.role,
        body.full_name.as_deref(),
    )?;
    let (user_id, role) = state.identity.add_user(scope.caller, input).await?;
    Ok((StatusCode::CREATED, Json(UserCreated { user_id, role })))
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct UserView {
    pub(crate) user_id: UserId,
    pub(crate) email: String,
    pub(crate) full_name: Option<String>,
    pub(crate) role: Role,
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct UserList {
    pub(crate) users: Vec<UserView>,
}

/// The organisation's users (admin only).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/users",
    tag = "identity",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = UserList))
)]
async fn list_users(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<UserList>, ApiError> {
    let users = state.identity.list_users(scope.caller).await?;
    Ok(Json(UserList {
        users: users
            .into_iter()
            .map(|u| UserView {
                user_id: u.id,
                email: u.email.as_str().to_string(),
                full_name: u.full_name,
                role: u.role,
                created_at: u.created_at,
            })
            .collect(),
    }))
}

/// Removes a user (admin only; the last admin stays).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/users/{user_id}",
    tag = "identity",
    params(OrgPath, ("user_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin"])),
    responses((status = 204, description = "Removed"))
)]
async fn delete_user(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .identity
        .delete_user(scope.caller, path_id(&user_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
struct NewAgentKeyBody {
    #[schema(value_type = crate::domain::KeyName)]
    name: String,
}

/// A new agent key; `key` is shown this once and never again.
#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct AgentKeyCreated {
    pub(crate) id: AgentKeyId,
    pub(crate) name: String,
    pub(crate) key: String,
}

/// Creates an agent key for the voice agent (admin only).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/agent-keys",
    tag = "identity",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    request_body = NewAgentKeyBody,
    responses((status = 201, body = AgentKeyCreated))
)]
async fn create_agent_key(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(body): ApiJson<NewAgentKeyBody>,
) -> Result<(StatusCode, Json<AgentKeyCreated>), ApiError> {
    let key = state
        .identity
        .create_agent_key(scope.caller, &body.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AgentKeyCreated {
            id: key.id,
            name: key.name,
            key: key.secret,
        }),
    ))
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct AgentKeyView {
    pub(crate) id: AgentKeyId,
    pub(crate) name: String,
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
    pub(crate) revoked_at: Option<String>,
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct AgentKeyList {
    pub(crate) agent_keys: Vec<AgentKeyView>,
}

/// The organisation's agent keys, without their secrets (admin only).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/agent-keys",
    tag = "identity",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = AgentKeyList))
)]
async fn list_agent_keys(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<AgentKeyList>, ApiError> {
    let keys = state.identity.list_agent_keys(scope.caller).await?;
    Ok(Json(AgentKeyList {
        agent_keys: keys
            .into_iter()
            .map(|k| AgentKeyView {
                id: k.id,
                name: k.name,
                created_at: k.created_at,
                revoked_at: k.revoked_at,
            })
            .collect(),
    }))
}

/// Revokes an agent key at once (admin only).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/agent-keys/{key_id}",
    tag = "identity",
    params(OrgPath, ("key_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin"])),
    responses((status = 204, description = "Revoked"))
)]
async fn revoke_agent_key(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .identity
        .revoke_agent_key(scope.caller, path_id(&key_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
