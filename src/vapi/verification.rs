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

/// Codes one call may have texted.
pub const CODES_PER_CALL: u8 = 2;

/// Across calls, per number, in `NUMBER_WINDOW`: failed tries before the number can no longer
/// be proved by phone (hanging up and calling again does not give three fresh tries forever),
/// and codes texted to it.
pub const NUMBER_TRIES: u8 = 6;
pub const NUMBER_CODES: u8 = 3;
pub const NUMBER_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What a call has proved, and so which bookings it may hear about and change.
#[derive(Debug, Clone, PartialEq)]
pub enum Proved {
    /// The holder of this number (a code texted to it was read back): its every booking.
    Number(PhoneNumber),
    /// This patient, by name and date of birth as on file: their bookings under this number.
    Patient {
        phone: PhoneNumber,
        name: String,
        born: NaiveDate,
    },
    /// This booking, by its day and time (it has no date of birth on file).
    Booking(crate::domain::AppointmentId),
}

impl Proved {
    fn covers(&self, a: &AppointmentRecord) -> bool {
        match self {
            Proved::Number(n) => &a.patient.phone == n,
            Proved::Patient { phone, name, born } => {
                &a.patient.phone == phone
                    && &comparable(&a.patient.name) == name
                    && a.patient.date_of_birth == Some(*born)
            }
            Proved::Booking(id) => &a.id == id,
        }
    }
}

/// One call's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallCheck {
    pub proved: Vec<Proved>,
    pub failures: u8,
    /// A code texted to a booking's number during this call: (code, number, when it was sent).
    pub code: Option<(String, PhoneNumber, std::time::Instant)>,
    pub codes_sent: u8,
}

impl CallCheck {
    pub fn locked(&self) -> bool {
        self.failures >= MAX_TRIES
    }

    pub fn verified(&self) -> bool {
        !self.proved.is_empty()
    }

    /// Whether this call may hear about and change `a`: it booked it itself, or it proved
    /// something that covers it.
    pub fn may_act_on(&self, a: &AppointmentRecord, call_id: Option<&str>) -> bool {
        let booked_here = call_id.is_some() && a.vapi_call_id.as_deref() == call_id;
        booked_here || self.proved.iter().any(|p| p.covers(a))
    }
}

/// Every call's state, by clinic and call id.
#[derive(Default)]
pub struct CallChecks {
    calls: HashMap<(OrgId, String), CallCheck>,
    order: VecDeque<(OrgId, String)>,
    /// Per clinic, number and kind (failed tries, codes): how many since when.
    numbers: HashMap<(OrgId, String, &'static str), (u8, std::time::Instant)>,
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

    pub fn verified(&mut self, org: OrgId, call: &str, proved: Proved) {
        let e = self.entry(org, call);
        if !e.proved.contains(&proved) {
            e.proved.push(proved);
        }
    }

    /// Remembers the code texted to `phone` for this call (a new one replaces the last).
    pub fn code_sent(&mut self, org: OrgId, call: &str, code: String, phone: PhoneNumber) {
        self.count(org, &phone, "code");
        let e = self.entry(org, call);
        e.code = Some((code, phone, std::time::Instant::now()));
        e.codes_sent = e.codes_sent.saturating_add(1);
    }

    /// Counts one `what` (a failed try, a code) against `phone` within `NUMBER_WINDOW`;
    /// returns the count.
    fn count(&mut self, org: OrgId, phone: &PhoneNumber, what: &'static str) -> u8 {
        let now = std::time::Instant::now();
        let key = (org, phone.as_str().to_string(), what);
        if self.numbers.len() > CAPACITY {
            self.numbers
                .retain(|_, (_, since)| now.duration_since(*since) < NUMBER_WINDOW);
        }
        let e = self.numbers.entry(key).or_insert((0, now));
        if now.duration_since(e.1) >= NUMBER_WINDOW {
            *e = (0, now);
        }
        e.0 = e.0.saturating_add(1);
        e.0
    }

    /// How many `what` the number has had within the window.
    pub fn counted(&self, org: OrgId, phone: &PhoneNumber, what: &'static str) -> u8 {
        self.numbers
            .get(&(org, phone.as_str().to_string(), what))
            .filter(|(_, since)| since.elapsed() < NUMBER_WINDOW)
            .map_or(0, |(n, _)| *n)
    }

    /// Whether the number can no longer be proved by phone for now (too many failed tries
    /// across calls).
    pub fn number_locked(&self, org: OrgId, phone: &PhoneNumber) -> bool {
        self.counted(org, phone, "failure") >= NUMBER_TRIES
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

    /// Counts a failed try, for the call and for the number tried; returns the call's state
    /// after it.
    pub fn failed(&mut self, org: OrgId, call: &str, phone: &PhoneNumber) -> CallCheck {
        self.count(org, phone, "failure");
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

/// What `said` proves about `bookings` (all under the calling number), with the proofs the
/// clinic accepts: the patient whose name and date of birth on file match, or the one booking
/// without a date of birth whose patient's name and day and time match.
pub fn proves(
    said: &Said,
    bookings: &[AppointmentRecord],
    accepted: CallerProof,
) -> Option<Proved> {
    let name = said
        .name
        .as_deref()
        .map(comparable)
        .filter(|n| !n.is_empty())?;
    bookings.iter().find_map(|a| {
        if comparable(&a.patient.name) != name {
            return None;
        }
        match a.patient.date_of_birth {
            Some(born) if said.date_of_birth == Some(born) => Some(Proved::Patient {
                phone: a.patient.phone.clone(),
                name: name.clone(),
                born,
            }),
            None if accepted.accepts_appointment() && said.appointment_start == Some(a.start) => {
                Some(Proved::Booking(a.id))
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(name: &str, born: Option<&str>, start: DateTime<Utc>) -> AppointmentRecord {
        let phone = PhoneNumber::parse("07911 123456", "GB").unwrap();
        let mut a = crate::booking::phone_index::tests::appointment(OrgId::new_random(), &phone);
        a.start = start;
        a.end = start + chrono::Duration::minutes(30);
        a.patient.name = name.into();
        a.patient.date_of_birth = born.map(|b| b.parse().unwrap());
        a
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
        let proved =
            |s: Said, bookings: &[AppointmentRecord], accepted| proves(&s, bookings, accepted);
        let jane = proved(said("jane doe", Some("1985-03-03"), None), &on_file, both).unwrap();
        assert!(proved(
            said("Mrs. Jane  Doe", Some("1985-03-03"), None),
            &on_file,
            both
        )
        .is_some());
        assert!(proved(said("Jane Doe", Some("1985-03-04"), None), &on_file, both).is_none());
        assert!(proved(said("John Doe", Some("1985-03-03"), None), &on_file, both).is_none());
        // With a birth date on file, the appointment's time is not enough.
        assert!(proved(said("Jane Doe", None, Some(start)), &on_file, both).is_none());
        // Without one, the name and the appointment's time are, if the clinic accepts them,
        // and for that booking only.
        let no_birth = [booking("Jane Doe", None, start)];
        assert_eq!(
            proved(said("Jane Doe", None, Some(start)), &no_birth, both),
            Some(Proved::Booking(no_birth[0].id))
        );
        let strict = CallerProof::BirthDate;
        assert!(proved(said("Jane Doe", None, Some(start)), &no_birth, strict).is_none());
        assert!(proved(said("Jane Doe", None, None), &no_birth, both).is_none());
        // What a patient proved covers their bookings, not another patient's on the number.
        let mut check = CallCheck::default();
        check.proved.push(jane);
        assert!(check.may_act_on(&on_file[0], Some("another call")));
        let sister = booking("Jane Doe", Some("1990-01-01"), start);
        assert!(!check.may_act_on(&sister, Some("another call")));
        assert!(!check.may_act_on(&no_birth[0], Some("another call")));
    }

    #[test]
    fn a_call_locks_after_three_failures_and_is_forgotten_when_it_ends() {
        let org = OrgId::new_random();
        let phone = PhoneNumber::parse("07911 123456", "GB").unwrap();
        let mut checks = CallChecks::default();
        assert!(!checks.failed(org, "c", &phone).locked());
        assert!(!checks.failed(org, "c", &phone).locked());
        assert!(checks.failed(org, "c", &phone).locked());
        assert!(!checks.get(org, "other").locked());
        assert!(!checks.get(OrgId::new_random(), "c").locked());
        checks.forget(org, "c");
        assert_eq!(checks.get(org, "c"), CallCheck::default());
        // A new call from the number gets fresh tries, but the number itself only six.
        assert!(!checks.number_locked(org, &phone));
        for call in ["d", "d", "d"] {
            checks.failed(org, call, &phone);
        }
        assert!(checks.number_locked(org, &phone));
        assert!(!checks.number_locked(OrgId::new_random(), &phone));
    }
}
