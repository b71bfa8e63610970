//! Whether the person on a call has proved they are the patient whose booking they ask about
//! (caller ID alone is easy to fake): what they said checked against the bookings under the
//! calling number, the outcome remembered for that call until it ends, and the lock after
//! three failed tries.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};

use crate::booking::records::{AppointmentRecord, CallerProof};
use crate::domain::{OrgId, PhoneNumber};

/// Failed tries after which a call can no longer prove anything.
pub const MAX_TRIES: u8 = 3;

/// Calls remembered at once; the oldest are forgotten first (a call is forgotten when it
/// ends, so this bounds only calls whose end never arrived).
const CAPACITY: usize = 10_000;

/// How long a texted code can be read back.
pub const CODE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// One call's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallCheck {
    /// The number whose bookings this call has proved to be the caller's.
    pub verified_for: Option<PhoneNumber>,
    pub failures: u8,
    /// A code texted to a booking's number during this call: (code, number, when it was sent).
    pub code: Option<(String, PhoneNumber, std::time::Instant)>,
}

impl CallCheck {
    pub fn locked(&self) -> bool {
        self.failures >= MAX_TRIES
    }

    /// Whether this call may hear about and change `a`: it booked it itself, or it proved
    /// it is the patient of `a`'s number.
    pub fn may_act_on(&self, a: &AppointmentRecord, call_id: Option<&str>) -> bool {
        let booked_here = call_id.is_some() && a.vapi_call_id.as_deref() == call_id;
        booked_here || self.verified_for.as_ref() == Some(&a.patient.phone)
    }
}

/// Every call's state, by clinic and call id.
#[derive(Default)]
pub struct CallChecks {
    calls: HashMap<(OrgId, String), CallCheck>,
    order: VecDeque<(OrgId, String)>,
}

impl CallChecks {
    pub fn get(&self, org: OrgId, call: &str) -> CallCheck {
        self.calls
            .get(&(org, call.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    fn entry(&mut self, org: OrgId, call: &str) -> &mut CallCheck {
        let key = (org, call.to_string());
        if !self.calls.contains_key(&key) {
            self.order.push_back(key.clone());
            while self.order.len() > CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.calls.remove(&old);
                }
            }
        }
        self.calls.entry(key).or_default()
    }

    pub fn verified(&mut self, org: OrgId, call: &str, phone: PhoneNumber) {
        self.entry(org, call).verified_for = Some(phone);
    }

    /// Remembers the code texted to `phone` for this call (a new one replaces the last).
    pub fn code_sent(&mut self, org: OrgId, call: &str, code: String, phone: PhoneNumber) {
        self.entry(org, call).code = Some((code, phone, std::time::Instant::now()));
    }

    /// The number a code read back proves, when it is the call's live code. A code is used once.
    pub fn code_read(&mut self, org: OrgId, call: &str, said: &str) -> Option<PhoneNumber> {
        let said: String = said.chars().filter(char::is_ascii_digit).collect();
        let e = self.entry(org, call);
        let (code, phone, sent) = e.code.as_ref()?;
        let matches = code.len() == said.len()
            && code
                .bytes()
                .zip(said.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if matches && sent.elapsed() < CODE_LIFETIME {
            let phone = phone.clone();
            e.code = None;
            Some(phone)
        } else {
            None
        }
    }

    /// Counts a failed try; returns the call's state after it.
    pub fn failed(&mut self, org: OrgId, call: &str) -> CallCheck {
        let e = self.entry(org, call);
        e.failures = e.failures.saturating_add(1);
        e.clone()
    }

    /// The call has ended: nothing of it is kept.
    pub fn forget(&mut self, org: OrgId, call: &str) {
        let key = (org, call.to_string());
        if self.calls.remove(&key).is_some() {
            self.order.retain(|k| k != &key);
        }
    }
}

/// What the tools need to check callers: every call's state, and (when the install sends
/// texts) a way to text a one-time code to a booking's number.
pub struct Verifier {
    pub checks: std::sync::Mutex<CallChecks>,
    pub texter: Option<CodeTexter>,
}

/// Texts one-time codes straight to Twilio during the call (a code is asked for and read back
/// within the call; nothing is queued, and a code that cannot be sent is said so at once).
pub struct CodeTexter {
    pub twilio: crate::integrations::twilio::Twilio,
    /// `[twilio] from_number`, used when the clinic has no sender of its own.
    pub install_from: String,
}

/// Six random digits.
pub fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
}

/// What the caller said to prove who they are.
#[derive(Debug, Default)]
pub struct Said {
    pub name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    /// The appointment's start, as the caller gave its day and time.
    pub appointment_start: Option<DateTime<Utc>>,
}

/// A name as compared: lower case, without punctuation or titles.
fn comparable(name: &str) -> String {
    name.to_lowercase()
        .replace(['.', ',', '\'', '-'], " ")
        .split_whitespace()
        .filter(|w| !matches!(*w, "dr" | "mr" | "mrs" | "ms" | "miss" | "mx" | "prof"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `said` proves the caller is the patient of one of `bookings` (all under the
/// calling number), with the proofs the clinic accepts.
pub fn proves(said: &Said, bookings: &[AppointmentRecord], accepted: CallerProof) -> bool {
    let Some(name) = said
        .name
        .as_deref()
        .map(comparable)
        .filter(|n| !n.is_empty())
    else {
        return false;
    };
    bookings.iter().any(|a| {
        if comparable(&a.patient.name) != name {
            return false;
        }
        match a.patient.date_of_birth {
            Some(born) => said.date_of_birth == Some(born),
            None => accepted.accepts_appointment() && said.appointment_start == Some(a.start),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::records::{AppointmentStatus, BookingSource, Patient};

    fn booking(name: &str, born: Option<&str>, start: DateTime<Utc>) -> AppointmentRecord {
        use crate::domain::{AppointmentId, ProviderId};
        AppointmentRecord {
            id: AppointmentId::new_time_ordered(),
            org_id: OrgId::new_random(),
            provider_id: ProviderId::new_random(),
            service_id: None,
            start,
            end: start + chrono::Duration::minutes(30),
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            status: AppointmentStatus::Pending,
            patient: Patient {
                name: name.into(),
                phone: PhoneNumber::parse("07911 123456", "GB").unwrap(),
                email: None,
                date_of_birth: born.map(|b| b.parse().unwrap()),
            },
            notes: None,
            source: BookingSource::Vapi,
            vapi_call_id: Some("call-1".into()),
            vapi_tool_call_id: None,
            confirmation_token: "token".into(),
            calendar_sync: "pending".into(),
            created_at: String::new(),
            updated_at: String::new(),
            cancel_reason: None,
        }
    }

    #[test]
    fn the_name_and_the_birth_date_on_file_prove_it_and_anything_less_does_not() {
        let start = Utc::now();
        let on_file = [booking("Jane Doe", Some("1985-03-03"), start)];
        let said = |name: &str, born: Option<&str>, at: Option<DateTime<Utc>>| Said {
            name: Some(name.into()),
            date_of_birth: born.map(|b| b.parse().unwrap()),
            appointment_start: at,
        };
        let both = CallerProof::BirthDateOrAppointment;
        assert!(proves(
            &said("jane doe", Some("1985-03-03"), None),
            &on_file,
            both
        ));
        assert!(proves(
            &said("Mrs. Jane  Doe", Some("1985-03-03"), None),
            &on_file,
            both
        ));
        assert!(!proves(
            &said("Jane Doe", Some("1985-03-04"), None),
            &on_file,
            both
        ));
        assert!(!proves(
            &said("John Doe", Some("1985-03-03"), None),
            &on_file,
            both
        ));
        // With a birth date on file, the appointment's time is not enough.
        assert!(!proves(
            &said("Jane Doe", None, Some(start)),
            &on_file,
            both
        ));
        // Without one, the name and the appointment's time are, if the clinic accepts them.
        let no_birth = [booking("Jane Doe", None, start)];
        assert!(proves(
            &said("Jane Doe", None, Some(start)),
            &no_birth,
            both
        ));
        assert!(!proves(
            &said("Jane Doe", None, Some(start)),
            &no_birth,
            CallerProof::BirthDate
        ));
        assert!(!proves(&said("Jane Doe", None, None), &no_birth, both));
    }

    #[test]
    fn a_call_locks_after_three_failures_and_is_forgotten_when_it_ends() {
        let org = OrgId::new_random();
        let mut checks = CallChecks::default();
        assert!(!checks.failed(org, "c").locked());
        assert!(!checks.failed(org, "c").locked());
        assert!(checks.failed(org, "c").locked());
        assert!(!checks.get(org, "other").locked());
        assert!(!checks.get(OrgId::new_random(), "c").locked());
        checks.forget(org, "c");
        assert_eq!(checks.get(org, "c"), CallCheck::default());
    }
}
