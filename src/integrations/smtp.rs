//! Sending email over SMTP with `lettre` (plain, STARTTLS or TLS per config).

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpSettings;

pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
    enabled: bool,
}

impl Mailer {
    pub fn new(s: &SmtpSettings) -> Self {
        let builder = match s.tls.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).ok(),
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).ok(),
            _ => Some(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &s.host,
            )),
        };
        let transport = builder.map(|b| {
            let b = b
                .port(s.port)
                .timeout(Some(std::time::Duration::from_secs(20)));
            let b = if s.username.is_empty() {
                b
            } else {
                b.credentials(Credentials::new(
                    s.username.clone(),
                    s.password.expose().to_string(),
                ))
            };
            b.build()
        });
        Self {
            transport,
            from: s.from.parse().ok(),
            enabled: s.enabled,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Sends a plain-text message; the error is a short code.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Err("smtp_misconfigured".into());
        };
        let to: Mailbox = to.parse().map_err(|_| "smtp_bad_recipient".to_string())?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|_| "smtp_build".to_string())?;
        transport.send(message).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                "smtp_permanent".to_string()
            } else {
                "smtp_transient".to_string()
            }
        })
    }
}
