//! Availability and appointment routes: free times, booking, listing, cancelling,
//! rescheduling, confirming and outcomes, and the clinic's outbox listing.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(availability))
        .routes(routes!(create_appointment, list_appointments))
        .routes(routes!(get_appointment))
        .routes(routes!(cancel_appointment))
        .routes(routes!(reschedule_appointment))
        .routes(routes!(confirm_appointment))
        .routes(routes!(complete_appointment))
        .routes(routes!(no_show_appointment))
        .routes(routes!(list_outbox))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AvailabilityQuery {
    /// Slots long enough for this service (empty: any).
    #[param(value_type = Option<OptionalId>, inline)]
    service_id: Option<String>,
    /// Only this provider's slots (empty: any).
    #[param(value_type = Option<OptionalId>, inline)]
    provider_id: Option<String>,
    /// The first day (YYYY-MM-DD, the clinic's zone; default today). A day outside the
    /// booking window has no slots.
    #[param(format = Date)]
    date: Option<String>,
    /// How many days (1–31, default 1).
    #[param(minimum = 1, maximum = 31)]
    days: Option<u32>,
}

/// An id in a query, where empty means none (as a form's "any" choice sends it).
struct OptionalId;

impl utoipa::PartialSchema for OptionalId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(
                "^$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            ))
            .description(Some("A UUID, or empty for none"))
            .into()
    }
}

impl ToSchema for OptionalId {}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct SlotList {
    pub(crate) slots: Vec<SlotView>,
}

/// Bookable slots.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/availability",
    tag = "appointments",
    params(OrgPath, AvailabilityQuery),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = SlotList))
)]
async fn availability(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<AvailabilityQuery>,
) -> Result<Json<SlotList>, ApiError> {
    let tz = state.booking.zone(scope.org).await?;
    let mut v = Validation::new();
    let service = v.check_opt(
        "service_id",
        q.service_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<ServiceId>),
    );
    let provider = v.check_opt(
        "provider_id",
        q.provider_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<ProviderId>),
    );
    let today = state.booking.now().with_timezone(&tz).date_naive();
    let date = match q.date.as_deref() {
        Some(d) => v.check(
            "date",
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| "must be YYYY-MM-DD".to_string()),
        ),
        None => Some(today),
    };
    // A day outside the booking window has nothing free (and is never computed over).
    let outside_window = date.is_some_and(|d| intake::date_in_window(d, today).is_err());
    let days = q.days.unwrap_or(1);
    v.check(
        "days",
        if (1..=31).contains(&days) {
            Ok(())
        } else {
            Err("must be between 1 and 31".to_string())
        },
    );
    v.finish().map_err(ApiError::Invalid)?;
    let date = date.ok_or(ApiError::Internal)?;
    if outside_window {
        return Ok(Json(SlotList { slots: Vec::new() }));
    }
    let slots = state
        .booking
        .availability(scope.org, service, provider, date, days)
        .await?;
    Ok(Json(SlotList {
        slots: slots.iter().map(|s| SlotView::new(s, tz)).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
struct PatientBody {
    #[schema(value_type = FullName)]
    name: String,
    /// National (the clinic's region) or international form.
    #[schema(value_type = PhoneInput)]
    phone: String,
    #[schema(value_type = Option<Email>)]
    email: Option<String>,
    /// YYYY-MM-DD, not after today (also read as a caller says it); lets the patient prove
    /// who they are to the voice agent before a booking is discussed or changed by phone.
    #[schema(format = Date)]
    date_of_birth: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct AppointmentBody {
    /// A provider of the clinic (any other id: 404).
    #[schema(format = Uuid)]
    provider_id: String,
    #[schema(format = Uuid)]
    service_id: Option<String>,
    /// RFC 3339 with an offset; or give `date` and `time`.
    #[schema(format = DateTime)]
    start: Option<String>,
    /// RFC 3339 with an offset; or give `duration_minutes`, or let the service decide.
    #[schema(format = DateTime)]
    end: Option<String>,
    /// YYYY-MM-DD in the clinic's zone.
    #[schema(format = Date)]
    date: Option<String>,
    /// HH:MM in the clinic's zone.
    #[schema(value_type = Option<ClockTime>)]
    time: Option<String>,
    patient: PatientBody,
    #[schema(max_length = 2000)]
    notes: Option<String>,
    #[schema(minimum = 5, maximum = 720)]
    duration_minutes: Option<i64>,
    /// When given, it must be this organisation.
    #[schema(format = Uuid)]
    clinic_id: Option<String>,
}

/// Books a slot. One booking wins a contested slot; the others get 409 `slot_taken` with
/// alternatives (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments",
    tag = "appointments",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    request_body = AppointmentBody,
    responses((status = 201, body = AppointmentView))
)]
async fn create_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<AppointmentBody>,
) -> Result<(StatusCode, Json<AppointmentView>), ApiError> {
    if let Some(clinic) = b.clinic_id.as_deref() {
        if clinic.trim() != scope.org.to_string() {
            state
                .booking
                .record_other_org_attempt(scope.caller, clinic.trim())
                .await?;
            return Err(ApiError::Forbidden(
                "that clinic belongs to another organisation",
            ));
        }
    }
    let tz = state.booking.zone(scope.org).await?;
    let settings = state.booking.settings(scope.org).await?;
    let now = state.booking.now();
    let mut v = Validation::new();
    let provider_id = match b.provider_id.parse::<ProviderId>() {
        Ok(p) => p,
        Err(_) => return Err(ApiError::NotFound),
    };
    let service_id = v.check_opt(
        "service_id",
        b.service_id.as_deref().map(str::parse::<ServiceId>),
    );
    let start = match parse_start(
        b.start.as_deref(),
        b.date.as_deref(),
        b.time.as_deref(),
        tz,
        now,
    ) {
        Ok(s) => Some(s),
        Err(fields) => {
            for f in fields {
                v.check::<()>(&f.field, Err(f.message));
            }
            None
        }
    };
    let end = v.check_opt("end", b.end.as_deref().map(|e| parse_instant(e, now)));
    // A length is given as `duration_minutes` or as an end; the end's error names `end`.
    let duration = match (start, end) {
        (Some(s), Some(e)) => v
            .check("end", intake::duration_minutes((e - s).num_minutes()))
            .map(|m| DurationInput::Minutes(m.into())),
        _ => b.duration_minutes.map(DurationInput::Minutes),
    };
    let fields = intake::check_fields(
        &AppointmentFields {
            name: Some(&b.patient.name),
            phone: Some(&b.patient.phone),
            caller_number: None,
            email: b.patient.email.as_deref(),
            notes: b.notes.as_deref(),
            duration,
            date_of_birth: b.patient.date_of_birth.as_deref(),
            today: now.with_timezone(&tz).date_naive(),
        },
        &settings.phone_region,
    );
    let fields = match fields {
        Ok(f) => Some(f),
        Err(errors) => {
            for f in errors {
                v.check::<()>(&f.field, Err(f.message));
            }
            None
        }
    };
    v.finish().map_err(ApiError::Invalid)?;
    let (Some(start), Some(fields)) = (start, fields) else {
        return Err(ApiError::Internal);
    };
    let (appointment, _) = state
        .booking
        .book(BookRequest {
            org: scope.org,
            actor: scope.caller.actor(),
            provider_id,
            service_id,
            start,
            duration_minutes: fields.duration_minutes,
            patient: fields.patient(),
            notes: fields.notes,
            source: BookingSource::Staff,
            vapi_call_id: None,
            vapi_tool_call_id: None,
            hold_key: None,
            retry_at_any_time: false,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AppointmentView::new(appointment, tz)),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Appointments starting at or after (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Appointments starting before (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
    #[param(format = Uuid)]
    provider_id: Option<String>,
    /// The patient's phone number.
    #[param(value_type = Option<PhoneInput>, inline)]
    phone: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct AppointmentList {
    pub(crate) appointments: Vec<AppointmentView>,
}

/// The clinic's appointments.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/appointments",
    tag = "appointments",
    params(OrgPath, ListQuery),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = AppointmentList))
)]
async fn list_appointments(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<ListQuery>,
) -> Result<Json<AppointmentList>, ApiError> {
    let tz = state.booking.zone(scope.org).await?;
    let settings = state.booking.settings(scope.org).await?;
    let now = state.booking.now();
    let mut v = Validation::new();
    let instant = |s: &str| parse_filter_instant(s, now);
    let from = v.check_opt("from", q.from.as_deref().map(instant));
    let to = v.check_opt("to", q.to.as_deref().map(instant));
    let provider_id = v.check_opt(
        "provider_id",
        q.provider_id.as_deref().map(str::parse::<ProviderId>),
    );
    let phone = v.check_opt(
        "phone",
        q.phone
            .as_deref()
            .map(|p| PhoneNumber::parse(p, &settings.phone_region)),
    );
    v.finish().map_err(ApiError::Invalid)?;
    let list = state
        .booking
        .appointments(
            scope.org,
            AppointmentFilter {
                from,
                to,
                provider_id,
                phone: phone.map(|p| p.as_str().to_string()),
            },
        )
        .await?;
    Ok(Json(AppointmentList {
        appointments: list
            .into_iter()
            .map(|a| AppointmentView::new(a, tz))
            .collect(),
    }))
}

/// One appointment.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/appointments/{appointment_id}",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = AppointmentView))
)]
async fn get_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<AppointmentView>, ApiError> {
    let a = state.booking.appointment(scope.org, path_id(&id)?).await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(AppointmentView::new(a, tz)))
}

#[derive(Deserialize, Default, ToSchema)]
struct CancelBody {
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// Cancels an appointment and frees its slot (admin, staff). The body is optional.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/cancel",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    request_body(content = Option<CancelBody>, description = "Optional: the reason"),
    responses((status = 200, body = AppointmentView))
)]
async fn cancel_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<AppointmentView>, ApiError> {
    // No body, or JSON null, as the document allows: no reason. Anything else must be JSON
    // (white space alone is not).
    let body: Option<CancelBody> = if body.is_empty() {
        None
    } else {
        crate::http::extract::parse_body(&body)?
    };
    let body = body.unwrap_or_default();
    let reason = intake::optional_text(body.reason.as_deref(), intake::REASON_MAX_CHARS)
        .map_err(|m| ApiError::Invalid(vec![FieldError::new("reason", m)]))?;
    let a = state
        .booking
        .cancel(scope.caller, path_id(&id)?, reason, None)
        .await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(AppointmentView::new(a, tz)))
}

#[derive(Deserialize, ToSchema)]
struct RescheduleBody {
    /// RFC 3339 with an offset; or give `date` and `time`.
    #[schema(format = DateTime)]
    start: Option<String>,
    /// YYYY-MM-DD in the clinic's zone.
    #[schema(format = Date)]
    date: Option<String>,
    /// HH:MM in the clinic's zone.
    #[schema(value_type = Option<ClockTime>)]
    time: Option<String>,
}

/// Moves an appointment to another start, atomically: the new slot is claimed and the old
/// one freed in one write, or nothing changes (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/reschedule",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    request_body = RescheduleBody,
    responses((status = 200, body = AppointmentView))
)]
async fn reschedule_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<RescheduleBody>,
) -> Result<Json<AppointmentView>, ApiError> {
    let tz = state.booking.zone(scope.org).await?;
    let start = parse_start(
        b.start.as_deref(),
        b.date.as_deref(),
        b.time.as_deref(),
        tz,
        state.booking.now(),
    )
    .map_err(ApiError::Invalid)?;
    let a = state
        .booking
        .reschedule(scope.caller, path_id(&id)?, start, None, None, None)
        .await?;
    Ok(Json(AppointmentView::new(a, tz)))
}

/// Confirms an appointment on the patient's behalf (they confirmed by phone), as their
/// confirmation link would: `pending` → `confirmed` through the claim writer; 409 when it is not
/// pending (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/confirm",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = String, Path)),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = AppointmentView))
)]
async fn confirm_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<AppointmentView>, ApiError> {
    let id = id
        .parse::<AppointmentId>()
        .map_err(|_| ApiError::NotFound)?;
    let tz = state.booking.zone(scope.org).await?;
    let current = state.booking.appointment(scope.org, id).await?;
    if current.status != AppointmentStatus::Pending {
        return Err(ApiError::Conflict(
            "only a pending appointment can be confirmed".into(),
        ));
    }
    match state
        .booking
        .confirm_as(current.confirmation_token, Some(scope.caller.actor()), None)
        .await?
    {
        Some(a) => Ok(Json(AppointmentView::new(a, tz))),
        None => Err(ApiError::Conflict(
            "only a pending appointment can be confirmed".into(),
        )),
    }
}

/// Records that the appointment happened, once its start has passed (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/complete",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = AppointmentView))
)]
async fn complete_appointment(
    state: State<AppState>,
    scope: OrgScope,
    id: Path<(String, String)>,
) -> Result<Json<AppointmentView>, ApiError> {
    set_outcome(state, scope, id, AppointmentStatus::Completed).await
}

/// Records that the patient did not come, once the start has passed; counted on their
/// contact (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/no-show",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = AppointmentView))
)]
async fn no_show_appointment(
    state: State<AppState>,
    scope: OrgScope,
    id: Path<(String, String)>,
) -> Result<Json<AppointmentView>, ApiError> {
    set_outcome(state, scope, id, AppointmentStatus::NoShow).await
}

async fn set_outcome(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    status: AppointmentStatus,
) -> Result<Json<AppointmentView>, ApiError> {
    let a = state
        .booking
        .set_outcome(scope.caller, path_id(&id)?, status, None)
        .await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(AppointmentView::new(a, tz)))
}

#[derive(Serialize, ToSchema)]
struct OutboxList {
    /// Queued and finished deliveries (emails, calendar events) with their state.
    #[schema(value_type = Vec<Object>)]
    jobs: Vec<crate::outbox::OutboxJob>,
}

/// The clinic's outbound deliveries (admin, staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/outbox",
    tag = "appointments",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = OutboxList))
)]
async fn list_outbox(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<OutboxList>, ApiError> {
    let jobs = state.booking.outbox(scope.org).await?;
    Ok(Json(OutboxList { jobs }))
}
