"""A booking through a client generated from the appliance's OpenAPI document, and nothing
else: every request is built from the client's models and every answer read back into them
(a model that cannot read an answer fails here). Run by .ci/generated-client.sh."""

import datetime
import os
import sys

from voxanne_client import AuthenticatedClient, Client
from voxanne_client.api.appointments import (
    availability,
    cancel_appointment,
    create_appointment,
    get_appointment,
)
from voxanne_client.api.clinic_set_up import create_provider, create_service, put_settings
from voxanne_client.api.identity import signup
from voxanne_client.models import (
    AppointmentBody,
    AppointmentView,
    CancelBody,
    ClinicSettings,
    PatientBody,
    ProviderBody,
    ProviderBodyWeeklyHours,
    ProviderView,
    ServiceBody,
    ServiceView,
    SessionView,
    SignupBody,
    SlotList,
)


def expect(response, status, model):
    """The answer has the status and reads as the model the document names for it."""
    if response.status_code != status or not isinstance(response.parsed, model):
        sys.exit(f"expected {status} {model.__name__}, got {response.status_code}: {response.content[:300]!r}")
    return response.parsed


base = os.environ["BASE"]
session = expect(
    signup.sync_detailed(
        client=Client(base_url=base),
        body=SignupBody(
            clinic_name="Generated Client Clinic",
            email="admin@generated.example",
            password="generated-client-password",
            timezone="Europe/London",
        ),
    ),
    201,
    SessionView,
)
org = session.org_id
client = AuthenticatedClient(base_url=base, token=session.access_token)

settings = expect(
    put_settings.sync_detailed(
        org, client=client, body=ClinicSettings(min_notice_minutes=0, horizon_days=30)
    ),
    200,
    ClinicSettings,
)
assert settings.min_notice_minutes == 0 and settings.horizon_days == 30, settings

service = expect(
    create_service.sync_detailed(
        org, client=client, body=ServiceBody(name="Consultation", duration_minutes=30)
    ),
    201,
    ServiceView,
)
hours = ProviderBodyWeeklyHours()
for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]:
    hours[day] = [["09:00", "17:00"]]
provider = expect(
    create_provider.sync_detailed(
        org,
        client=client,
        body=ProviderBody(name="Dr Generated", weekly_hours=hours, service_ids=[service.id]),
    ),
    201,
    ProviderView,
)

tomorrow = datetime.date.today() + datetime.timedelta(days=1)
slots = expect(
    availability.sync_detailed(
        org, client=client, service_id=str(service.id), date=tomorrow, days=7
    ),
    200,
    SlotList,
)
assert slots.slots, "no free slot in a week of open hours"
slot = slots.slots[0]

booked = expect(
    create_appointment.sync_detailed(
        org,
        client=client,
        body=AppointmentBody(
            provider_id=str(provider.id),
            service_id=str(service.id),
            start=slot.start,
            patient=PatientBody(name="Grace Generated", phone="+447700900123"),
        ),
    ),
    201,
    AppointmentView,
)
assert booked.status == "pending", booked.status
assert booked.patient.phone == "+447700900123", booked.patient

read = expect(get_appointment.sync_detailed(org, booked.id, client=client), 200, AppointmentView)
assert read.id == booked.id and read.start == booked.start, (read, booked)

cancelled = expect(
    cancel_appointment.sync_detailed(
        org, booked.id, client=client, body=CancelBody(reason="plans changed")
    ),
    200,
    AppointmentView,
)
assert cancelled.status == "cancelled", cancelled.status
again = expect(get_appointment.sync_detailed(org, booked.id, client=client), 200, AppointmentView)
assert again.status == "cancelled", again.status
print(f"booked {booked.id} at {booked.start}, read it back, cancelled it")
