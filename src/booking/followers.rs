//! What other domains keep in step with bookings inside the claim writer's transaction:
//! declared here, implemented by those domains and handed in at start, so booking imports
//! none of them.

use chrono::{DateTime, Utc};

use super::records::AppointmentRecord;
use crate::domain::PhoneNumber;
use crate::store::{OrgWrite, StoreError, StoreWrite};

pub trait BookingFollowers: Send + Sync {
    /// An appointment was booked for `phone` (in the same transaction).
    fn booked(
        &self,
        org: &mut OrgWrite<'_>,
        phone: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// `a` (as it was before the change) gave up its time: cancelled or moved (in the same
    /// transaction). A no-show is recorded once its start has passed: it frees no time to
    /// come.
    fn freed(
        &self,
        _w: &mut StoreWrite,
        _a: &AppointmentRecord,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}
