//! Clinic set-up routes: booking settings, services, providers, their weekly hours and
//! time off (admin and staff change; clinicians read).

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(create_service, list_services))
        .routes(routes!(create_provider, list_providers))
        .routes(routes!(get_provider))
        .routes(routes!(add_time_off))
        .routes(routes!(set_hours))
}

/// The clinic's booking settings.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/settings",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = ClinicSettings))
)]
async fn get_settings(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<ClinicSettings>, ApiError> {
    Ok(Json(state.booking.settings(scope.org).await?))
}

/// Replaces the clinic's booking settings (admin only); fields left out take their defaults.
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/settings",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    request_body = ClinicSettings,
    responses((status = 200, body = ClinicSettings))
)]
async fn put_settings(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(body): ApiJson<ClinicSettings>,
) -> Result<Json<ClinicSettings>, ApiError> {
    Ok(Json(state.booking.put_settings(scope.caller, body).await?))
}

#[derive(Deserialize, ToSchema)]
struct ServiceBody {
    #[schema(value_type = crate::domain::FullName)]
    name: String,
    #[schema(minimum = 5, maximum = 720)]
    duration_minutes: u32,
    #[schema(minimum = 0, maximum = 240)]
    buffer_before_minutes: Option<u32>,
    #[schema(minimum = 0, maximum = 240)]
    buffer_after_minutes: Option<u32>,
    /// The catalogue procedure it is for.
    #[schema(value_type = Option<crate::domain::FullName>)]
    procedure: Option<String>,
}

/// Adds a service (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/services",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    request_body = ServiceBody,
    responses((status = 201, body = ServiceView))
)]
async fn create_service(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<ServiceBody>,
) -> Result<(StatusCode, Json<ServiceView>), ApiError> {
    let s = state
        .booking
        .create_service(
            scope.caller,
            NewService {
                name: b.name,
                duration_minutes: b.duration_minutes,
                buffer_before_minutes: b.buffer_before_minutes.unwrap_or(0),
                buffer_after_minutes: b.buffer_after_minutes.unwrap_or(0),
                procedure: b.procedure,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct ServiceList {
    pub(crate) services: Vec<ServiceView>,
}

/// The clinic's services.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/services",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = ServiceList))
)]
async fn list_services(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<ServiceList>, ApiError> {
    let view = state.booking.clinic(scope.org).await?;
    Ok(Json(ServiceList {
        services: view.services.iter().cloned().map(Into::into).collect(),
    }))
}

type DayWindows = std::collections::BTreeMap<String, Vec<[String; 2]>>;

/// `DayWindows` as the document states it: days `mon` … `sun`, each with windows of two
/// times (`HH:MM`, or `24:00` for the day's end). That a window ends after it starts and that
/// windows do not overlap are checked by `WeeklyHours::parse` (422).
fn day_windows_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    use utoipa::PartialSchema;
    let window = ArrayBuilder::new()
        .items(crate::domain::OpeningTime::schema())
        .min_items(Some(2))
        .max_items(Some(2));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(crate::booking::schedule::WEEKDAYS)),
        ))
        .additional_properties(Some(ArrayBuilder::new().items(window)))
        .into()
}

#[derive(Deserialize, ToSchema)]
struct ProviderBody {
    #[schema(value_type = FullName)]
    name: String,
    /// Services of the clinic this provider offers (another id: 422).
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    service_ids: Vec<String>,
    /// Day (`mon` … `sun`) → opening windows `[["09:00", "17:00"], …]`.
    #[schema(schema_with = day_windows_schema)]
    weekly_hours: DayWindows,
    #[serde(default)]
    #[schema(schema_with = day_windows_schema)]
    breaks: DayWindows,
}

fn weekly(field: &str, days: &DayWindows) -> Result<WeeklyHours, String> {
    let _ = field;
    WeeklyHours::parse(days.iter().map(|(d, w)| (d.as_str(), w.as_slice())))
}

/// Adds a provider with their weekly hours (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/providers",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    request_body = ProviderBody,
    responses((status = 201, body = ProviderView))
)]
async fn create_provider(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<ProviderBody>,
) -> Result<(StatusCode, Json<ProviderView>), ApiError> {
    let mut v = Validation::new();
    let hours = v.check("weekly_hours", weekly("weekly_hours", &b.weekly_hours));
    let breaks = v.check("breaks", weekly("breaks", &b.breaks));
    let ids: Vec<Option<ServiceId>> = b
        .service_ids
        .iter()
        .map(|s| v.check("service_ids", s.parse::<ServiceId>()))
        .collect();
    v.finish().map_err(ApiError::Invalid)?;
    let p = state
        .booking
        .create_provider(
            scope.caller,
            NewProvider {
                name: b.name,
                service_ids: ids.into_iter().flatten().collect(),
                weekly_hours: hours.unwrap_or_default(),
                breaks: breaks.unwrap_or_default(),
            },
        )
        .await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok((StatusCode::CREATED, Json(ProviderView::new(p, tz))))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct ProviderList {
    pub(crate) providers: Vec<ProviderView>,
}

/// The clinic's providers.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/providers",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = ProviderList))
)]
async fn list_providers(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<ProviderList>, ApiError> {
    let view = state.booking.clinic(scope.org).await?;
    let tz = view.tz;
    Ok(Json(ProviderList {
        providers: view
            .providers
            .iter()
            .cloned()
            .map(|p| ProviderView::new(p, tz))
            .collect(),
    }))
}

/// One provider.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/providers/{provider_id}",
    tag = "clinic set-up",
    params(OrgPath, ("provider_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = ProviderView))
)]
async fn get_provider(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<ProviderView>, ApiError> {
    let p = state.booking.provider(scope.org, path_id(&id)?).await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(ProviderView::new(p, tz)))
}

#[derive(Deserialize, ToSchema)]
struct TimeOffBody {
    /// RFC 3339 with an offset.
    #[schema(format = DateTime)]
    start: String,
    /// RFC 3339 with an offset, after `start`.
    #[schema(format = DateTime)]
    end: String,
    reason: Option<String>,
}

/// Blocks a provider's time (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/providers/{provider_id}/time-off",
    tag = "clinic set-up",
    params(OrgPath, ("provider_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    request_body = TimeOffBody,
    responses((status = 201, body = ProviderView))
)]
async fn add_time_off(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<TimeOffBody>,
) -> Result<(StatusCode, Json<ProviderView>), ApiError> {
    let provider: ProviderId = path_id(&id)?;
    let tz = state.booking.zone(scope.org).await?;
    let now = state.booking.now();
    let mut v = Validation::new();
    let start = v.check("start", parse_instant(&b.start, now));
    let end = v.check("end", parse_instant(&b.end, now));
    v.finish().map_err(ApiError::Invalid)?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::Internal);
    };
    let p = state
        .booking
        .add_time_off(scope.caller, provider, start, end, b.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(ProviderView::new(p, tz))))
}

#[derive(Deserialize, ToSchema)]
struct HoursBody {
    /// Day (`mon` … `sun`) → opening windows `[["09:00", "17:00"], …]`; a day left out is not
    /// worked.
    #[schema(schema_with = day_windows_schema)]
    weekly_hours: DayWindows,
    #[serde(default)]
    #[schema(schema_with = day_windows_schema)]
    breaks: DayWindows,
}

/// Replaces a provider's weekly hours and breaks; booked appointments stay (admin, staff).
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/providers/{provider_id}/hours",
    tag = "clinic set-up",
    params(OrgPath, ("provider_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    request_body = HoursBody,
    responses((status = 200, body = ProviderView))
)]
async fn set_hours(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<HoursBody>,
) -> Result<Json<ProviderView>, ApiError> {
    let provider: ProviderId = path_id(&id)?;
    let tz = state.booking.zone(scope.org).await?;
    let mut v = Validation::new();
    let hours = v.check("weekly_hours", weekly("weekly_hours", &b.weekly_hours));
    let breaks = v.check("breaks", weekly("breaks", &b.breaks));
    v.finish().map_err(ApiError::Invalid)?;
    let (Some(hours), Some(breaks)) = (hours, breaks) else {
        return Err(ApiError::Internal);
    };
    let p = state
        .booking
        .set_hours(scope.caller, provider, hours, breaks)
        .await?;
    Ok(Json(ProviderView::new(p, tz)))
}
