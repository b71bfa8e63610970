//! Instants as key bytes that sort like the instants they encode (outbox keys start with them).

use chrono::{DateTime, Utc};

/// Milliseconds since the epoch as 8 bytes that sort like the instants they encode.
pub fn instant_bytes(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_millis() as u64) ^ (1u64 << 63)).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_sort_as_bytes_including_before_1970() {
        let times = [
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2026-03-29T01:00:00Z",
            "2027-01-01T00:00:00Z",
        ];
        let bytes: Vec<[u8; 8]> = times
            .iter()
            .map(|s| instant_bytes(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)))
            .collect();
        let mut sorted = bytes.clone();
        sorted.sort();
        assert_eq!(bytes, sorted);
    }
}
