//! `serve --demo`: seeds one demo clinic on first start and prints how to use it.

use std::path::Path;

use crate::auth::tokens::write_private_file;
use crate::auth::{Caller, Principal};
use crate::booking::records::ClinicSettings;
use crate::booking::schedule::WeeklyHours;
use crate::booking::{BookingError, NewProvider, NewService};
use crate::domain::Role;
use crate::identity::{IdentityError, SignupInput};
use crate::services::Services;

/// Where the demo clinic's credentials are written (mode 0600) on first start.
pub const CREDENTIALS_FILE: &str = "demo-credentials.txt";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo-clinic.example";

/// The demo clinic's knowledge base: what callers of an aesthetics clinic ask.
const DOCUMENTS: &[(&str, &str, &[&str])] = &[
    (
        "Rhinoplasty aftercare",
        "After rhinoplasty (a nose job) most swelling settles within two weeks, and the final shape shows after about a year. Keep your head raised when sleeping for the first week, avoid blowing your nose for two weeks and avoid contact sports for six weeks. The splint comes off at your one-week review. Call the clinic if bleeding does not stop with gentle pressure.",
        &["rhinoplasty", "aftercare"],
    ),
    (
        "Dermal fillers: what to expect",
        "A filler appointment takes about 45 minutes including a numbing cream. Small bruises and swelling are common for a few days. Results from hyaluronic acid fillers last between six and eighteen months depending on the area. Avoid alcohol, exercise and make-up on the treated area for 24 hours.",
        &["fillers"],
    ),
    (
        "Facelift recovery",
        "Most patients go home the day after a facelift. Expect swelling and bruising for two to three weeks; stitches are removed after a week. Plan two weeks off work and avoid strenuous exercise for a month. A consultation with Dr Smith comes first to plan the procedure.",
        &["facelift", "aftercare"],
    ),
    (
        "Opening hours, parking and payment",
        "The clinic is open Monday to Friday from 9am to 5pm and closed at weekends and on bank holidays. There is paid parking on Cavendish Square, five minutes' walk away. Consultations cost 150 pounds, which is taken off the price of treatment. We accept card payments and offer finance for surgical procedures.",
        &["clinic", "hours", "parking", "prices"],
    ),
];

/// Creates the demo clinic unless the data dir has it, and returns the text to print.
/// `base` is the address the server listens on, for the example requests it prints.
pub async fn seed(
    services: &Services,
    data_dir: &Path,
    base: &str,
) -> Result<String, IdentityError> {
    let file = data_dir.join(CREDENTIALS_FILE);
    if file.exists() {
        return Ok(format!(
            "Demo clinic already seeded; its credentials are in {} (readable by this user only).",
            file.display()
        ));
    }
    let password = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let input = SignupInput::parse(
        "Harley Street Aesthetics (demo)",
        DEMO_ADMIN_EMAIL,
        &password,
        Some("Europe/London"),
        Some("Demo Admin"),
    )?;
    let session = services.identity.signup(input).await?;
    let admin = Caller {
        org: session.org_id,
        principal: Principal::User(session.user_id),
        role: Role::Admin,
    };
    let key = services
        .identity
        .create_agent_key(admin, "demo voice agent")
        .await?;
    seed_clinic(services, admin)
        .await
        .map_err(|_| IdentityError::Internal("seeding the demo clinic"))?;
    for (title, body, tags) in DOCUMENTS {
        services
            .kb
            .put_document(
                admin,
                None,
                title,
                body,
                tags.iter().map(|t| t.to_string()).collect(),
                Some("demo".into()),
            )
            .await
            .map_err(|_| IdentityError::Internal("seeding the demo knowledge base"))?;
    }
    let text = format!(
        "Demo clinic seeded.\n  org_id:       {}\n  admin email:  {}\n  admin password: {}\n  admin token:  {}\n  agent key:    {}\n\n\
         Try the voice agent's booking tool as Vapi calls it:\n  \
         curl -s {base}/api/vapi/tools -H 'authorization: Bearer {}' -H 'content-type: application/json' \\\n    \
         -d '{{\"message\":{{\"type\":\"tool-calls\",\"call\":{{\"id\":\"demo-call-1\",\"customer\":{{\"number\":\"+447911123456\"}}}},\"toolCallList\":[{{\"id\":\"demo-tool-1\",\"type\":\"function\",\"function\":{{\"name\":\"check_availability\",\"arguments\":{{\"appointment_date\":\"tomorrow\",\"service\":\"rhinoplasty\"}}}}}}]}}}}'\n\
         and a question to its knowledge base:\n  \
         curl -s {base}/api/vapi/tools -H 'authorization: Bearer {}' -H 'content-type: application/json' \\\n    \
         -d '{{\"message\":{{\"type\":\"tool-calls\",\"toolCallList\":[{{\"id\":\"demo-tool-2\",\"type\":\"function\",\"function\":{{\"name\":\"search_knowledge_base\",\"arguments\":{{\"query\":\"how long does swelling last after a nose job\"}}}}}}]}}}}'\n",
        session.org_id, DEMO_ADMIN_EMAIL, password, session.access_token, key.secret, key.secret, key.secret
    );
    write_private_file(&file, text.as_bytes())
        .map_err(|_| IdentityError::Internal("writing demo credentials"))?;
    Ok(text)
}

/// Services, practitioners and opening hours of the demo clinic.
async fn seed_clinic(services: &Services, admin: Caller) -> Result<(), BookingError> {
    let booking = &services.booking;
    booking
        .put_settings(
            admin,
            ClinicSettings {
                min_notice_minutes: 60,
                ..ClinicSettings::default()
            },
        )
        .await?;
    let mut ids = Vec::new();
    for (name, minutes, after, procedure) in [
        ("Rhinoplasty consultation", 30, 10, "rhinoplasty"),
        ("Dermal filler treatment", 45, 15, "fillers"),
        ("Facelift consultation", 60, 15, "facelift"),
    ] {
        let s = booking
            .create_service(
                admin,
                NewService {
                    name: name.into(),
                    duration_minutes: minutes,
                    buffer_before_minutes: 0,
                    buffer_after_minutes: after,
                    procedure: Some(procedure.into()),
                },
            )
            .await?;
        ids.push(s.id);
    }
    let weekdays = |from: &str, to: &str| -> Vec<(String, Vec<[String; 2]>)> {
        ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| (d.to_string(), vec![[from.to_string(), to.to_string()]]))
            .collect()
    };
    let parse = |days: &[(String, Vec<[String; 2]>)]| {
        WeeklyHours::parse(days.iter().map(|(d, w)| (d.as_str(), w.as_slice()))).map_err(|m| {
            BookingError::Invalid(vec![crate::domain::FieldError::new("weekly_hours", m)])
        })
    };
    for (name, services_offered) in [("Dr Smith", ids.clone()), ("Dr Patel", ids[..2].to_vec())] {
        booking
            .create_provider(
                admin,
                NewProvider {
                    name: name.into(),
                    service_ids: services_offered,
                    weekly_hours: parse(&weekdays("09:00", "17:00"))?,
                    breaks: parse(&weekdays("12:30", "13:30"))?,
                },
            )
            .await?;
    }
    Ok(())
}
