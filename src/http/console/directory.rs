//! What the pages of a clinic share: its services and providers by name, its today, the
//! start of a day in its zone, and values put into links.

use super::*;
use crate::domain::{ProviderId, ServiceId};
use crate::http::booking::{ProviderList, ProviderView, ServiceList, ServiceView};

/// Providers and services of the clinic, as the API describes them.
pub(super) struct Directory {
    pub(super) providers: Vec<ProviderView>,
    pub(super) services: Vec<ServiceView>,
}

impl Directory {
    pub(super) async fn load(s: &Signed) -> Directory {
        let org = s.org();
        let providers = s.get(&format!("/api/orgs/{org}/providers")).await;
        let services = s.get(&format!("/api/orgs/{org}/services")).await;
        Directory {
            providers: providers
                .read::<ProviderList>()
                .map(|l| l.providers)
                .unwrap_or_default(),
            services: services
                .read::<ServiceList>()
                .map(|l| l.services)
                .unwrap_or_default(),
        }
    }

    pub(super) fn provider_name(&self, id: ProviderId) -> &str {
        self.providers
            .iter()
            .find(|p| p.id == id)
            .map_or("—", |p| p.name.as_str())
    }

    pub(super) fn service_name(&self, id: Option<ServiceId>) -> &str {
        self.services
            .iter()
            .find(|s| Some(s.id) == id)
            .map_or("—", |s| s.name.as_str())
    }

    /// (id, name) of each provider, for a select.
    pub(super) fn provider_options(&self) -> Vec<(String, String)> {
        self.providers
            .iter()
            .map(|p| (p.id.to_string(), p.name.clone()))
            .collect()
    }

    /// (id, name) of each service, for a select.
    pub(super) fn service_options(&self) -> Vec<(String, String)> {
        self.services
            .iter()
            .map(|s| (s.id.to_string(), s.name.clone()))
            .collect()
    }
}

pub(super) fn today_in(tz: chrono_tz::Tz) -> NaiveDate {
    chrono::Utc::now().with_timezone(&tz).date_naive()
}

/// The first instant of `day` in `tz`, RFC 3339 (UTC).
/// (Where a clock change skips midnight, the day starts at the first hour that exists.)
pub(super) fn day_start(day: NaiveDate, tz: chrono_tz::Tz) -> String {
    (0..4)
        .filter_map(|h| day.and_hms_opt(h, 0, 0))
        .find_map(|t| tz.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&chrono::Utc).to_rfc3339())
        .unwrap_or_default()
}

pub(super) fn query_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
