//! Twilio's Messages API over HTTP (`POST {base}/2010-04-01/Accounts/{sid}/Messages.json`,
//! form-encoded, HTTP basic auth), and the check of the signature Twilio puts on the webhooks
//! it calls (`X-Twilio-Signature`).

use base64::Engine;
use hmac::{Hmac, Mac};

use crate::config::TwilioSettings;

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Worth trying again later (429, 5xx, no answer): a short code for the job.
    Retry(String),
    /// Twilio refused it for good: its error code and message (numbers masked).
    Permanent { code: String, message: String },
    /// The request may have reached Twilio but its answer was lost (a timeout after sending,
    /// an unreadable success): sending again could text the caller twice.
    Unknown(String),
}

pub struct Twilio {
    http: reqwest::Client,
    settings: TwilioSettings,
    /// Where Twilio reports delivery (`…/api/webhooks/twilio/status`).
    status_callback: String,
}

/// Twilio's error message with long digit runs (phone numbers) masked, so a stored message
/// carries no number.
fn masked(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 6 {
            out.push_str("[number]");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in message.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c == '+' && digits.is_empty() {
            digits.push('+');
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out.chars().take(300).collect()
}

impl Twilio {
    pub fn new(http: reqwest::Client, settings: TwilioSettings, public_url: &str) -> Self {
        Self {
            http,
            settings,
            status_callback: format!(
                "{}/api/webhooks/twilio/status",
                public_url.trim_end_matches('/')
            ),
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// The install's sender number (a clinic's own overrides it).
    pub fn from_number(&self) -> &str {
        &self.settings.from_number
    }

    /// Sends one message; returns Twilio's message sid.
    pub async fn send(
        &self,
        to: &str,
        from: Option<&str>,
        body: &str,
    ) -> Result<String, SendFailure> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.settings.base_url.trim_end_matches('/'),
            self.settings.account_sid
        );
        let mut form: Vec<(&str, &str)> = vec![("To", to), ("Body", body)];
        match from.filter(|f| !f.is_empty()) {
            Some(f) => form.push(("From", f)),
            None if !self.settings.messaging_service_sid.is_empty() => {
                form.push(("MessagingServiceSid", &self.settings.messaging_service_sid))
            }
            None => {
                return Err(SendFailure::Permanent {
                    code: "no_sender".into(),
                    message: "no sender number or messaging service is configured".into(),
                })
            }
        }
        form.push(("StatusCallback", &self.status_callback));
        let response = self
            .http
            .post(&url)
            .basic_auth(
                &self.settings.account_sid,
                Some(self.settings.auth_token.expose()),
            )
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    SendFailure::Retry("twilio_unreachable".into())
                } else if e.is_timeout() {
                    SendFailure::Unknown("twilio_timeout".into())
                } else {
                    SendFailure::Unknown("twilio_no_answer".into())
                }
            })?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            return body["sid"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| SendFailure::Unknown("twilio_no_sid".into()));
        }
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(SendFailure::Retry(format!(
                "twilio_http_{}",
                status.as_u16()
            )));
        }
        let code = match &body["code"] {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => format!("http_{}", status.as_u16()),
        };
        Err(SendFailure::Permanent {
            code,
            message: masked(body["message"].as_str().unwrap_or("refused by Twilio")),
        })
    }
}

/// The HMAC-SHA1, keyed with the auth token, of the full URL Twilio called followed by each
/// POST parameter's name and value, sorted by name: what Twilio signs.
fn signed_mac(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
) -> Option<Hmac<sha1::Sha1>> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).ok()?;
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    Some(mac)
}

/// Whether `signature` (the `X-Twilio-Signature` header) is Twilio's for this request (the
/// base64 of `signed_mac`), compared in constant time. An empty auth token signs nothing.
pub fn signature_valid(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    if auth_token.is_empty() {
        return false;
    }
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    signed_mac(auth_token, url, params).is_some_and(|mac| mac.verify_slice(&expected).is_ok())
}

/// The signature Twilio would send (for the loopback Twilio in tests, and tools).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    signed_mac(auth_token, url, params)
        .map(|mac| base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilios_documented_example_signature_checks() {
        // The example in Twilio's webhook-security documentation.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let token = "12345";
        assert_eq!(sign(token, url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(signature_valid(
            token,
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!signature_valid(
            token,
            url,
            &params,
            "1/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!signature_valid(
            "",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        let mut changed = params.clone();
        changed[2].1 = "9999".into();
        assert!(!signature_valid(
            token,
            url,
            &changed,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
    }

    #[test]
    fn numbers_in_twilios_messages_are_masked() {
        assert_eq!(
            masked("The 'To' number +447700900123 is not a valid phone number."),
            "The 'To' number [number] is not a valid phone number."
        );
        assert_eq!(masked("Error 21610"), "Error 21610");
    }
}
