"""The FHIR face checked from outside: a real FHIR client library (fhirpy, PyPI) finds a slot,
books it, sees a second booking of that time refused with 409, holds and books through
Argonaut's operations, cancels, and reads what the voice agent booked; another clinic finds
none of it. Every resource the server answers with (resources, Bundles, OperationOutcomes,
the CapabilityStatement) is validated against the FHIR R4 (4.0.1) definitions by an
independent validator, fhir.resources (PyPI): elements, cardinalities, types, and the codes
of every required binding it records. Run by .ci/fhir-client.sh with BASE, the org's admin
TOKEN, AGENT_KEY, OTHER_TOKEN (another clinic's admin) and VOICE_BOOKING (an appointment the
voice agent made)."""

import datetime
import json
import os
import sys
import urllib.error
import urllib.request

from fhir.resources import construct_fhir_element
from fhir.resources.core.fhirabstractmodel import FHIRAbstractModel
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

BASE = os.environ["BASE"]
FHIR = BASE + "/fhir/r4"
TOKEN = os.environ["TOKEN"]
AGENT_KEY = os.environ["AGENT_KEY"]
OTHER_TOKEN = os.environ["OTHER_TOKEN"]
VOICE_BOOKING = os.environ["VOICE_BOOKING"]

validated = {}


def codes_in_bindings(model, where):
    """fhir.resources records each required binding's codes beside its element but does not
    check them: this walks the parsed model and checks every one."""
    for name, field in model.__fields__.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        allowed = field.field_info.extra.get("enum_values")
        items = value if isinstance(value, list) else [value]
        for item in items:
            if allowed and isinstance(item, str) and item not in allowed:
                raise AssertionError(f"{where}.{name}: {item!r} is not one of {allowed}")
            if isinstance(item, FHIRAbstractModel):
                codes_in_bindings(item, f"{where}.{name}")


def validate(resource):
    """Parses `resource` as the R4 resource its resourceType names; raises if it is not one."""
    kind = resource["resourceType"]
    model = construct_fhir_element(kind, resource)
    codes_in_bindings(model, kind)
    validated[kind] = validated.get(kind, 0) + 1
    if kind == "Bundle":
        for entry in resource.get("entry", []):
            validate(entry["resource"])
    return resource


def raw(method, path, token=TOKEN, body=None, headers=None):
    """One request outside the client library; the answer validated, with its status."""
    req = urllib.request.Request(
        FHIR + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "content-type": "application/fhir+json",
            "accept": "application/fhir+json",
            **({"authorization": "Bearer " + token} if token else {}),
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(req) as r:
            status, content_type, data = r.status, r.headers["content-type"], r.read()
    except urllib.error.HTTPError as e:
        status, content_type, data = e.code, e.headers["content-type"], e.read()
    assert content_type == "application/fhir+json", (path, content_type)
    return status, validate(json.loads(data))


def check(condition, what):
    if not condition:
        print("FAILED:", what)
        sys.exit(1)


client = SyncFHIRClient(FHIR, authorization="Bearer " + TOKEN)
agent = SyncFHIRClient(FHIR, authorization="Bearer " + AGENT_KEY)
other = SyncFHIRClient(FHIR, authorization="Bearer " + OTHER_TOKEN)

# What the server can do, and the clinic it serves.
status, statement = raw("GET", "/metadata", token=None)
check(status == 200 and statement["fhirVersion"] == "4.0.1", "metadata")
for kind in ["Practitioner", "HealthcareService", "Schedule", "Slot", "Appointment", "Patient"]:
    for r in client.resources(kind).limit(50).fetch():
        validate(r.serialize())
practitioners = client.resources("Practitioner").fetch()
check(len(practitioners) == 2, "two practitioners")
smith = next(p for p in practitioners if p["name"][0]["text"] == "Dr Smith")
service = client.resources("HealthcareService").fetch()[0]
schedule = client.resources("Schedule").search(actor=f"Practitioner/{smith.id}").fetch()
check(len(schedule) == 1 and schedule[0].id == smith.id, "one schedule per practitioner")

# A free slot three days from now, found with the client's search syntax.
day = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
slots = (
    client.resources("Slot")
    .search(schedule=f"Schedule/{smith.id}", status="free", **{"service-type": service.id})
    .search(start__ge=day)
    .limit(20)
    .fetch()
)
check(len(slots) > 3, "free slots found")
for s in slots:
    validate(s.serialize())
slot = slots[1]


def appointment_for(slot, name, phone):
    return client.resource(
        "Appointment",
        status="booked",
        slot=[{"reference": f"Slot/{slot.id}"}],
        contained=[{"resourceType": "Patient", "id": "p", "name": [{"text": name}],
                    "telecom": [{"system": "phone", "value": phone}]}],
        participant=[{"actor": {"reference": "#p"}, "status": "accepted"}],
    )


booked = appointment_for(slot, "Amaka Okafor", "07700 900123")
booked.save()
validate(booked.serialize())
check(booked["status"] == "booked" and booked["start"] == slot["start"], "booked the slot")

# A second booking of the same time: 409 with an OperationOutcome listing alternatives.
status, outcome = raw("POST", "/Appointment", body=appointment_for(slot, "Bola Ade", "07700 900456").serialize())
check(status == 409 and outcome["issue"][0]["code"] == "conflict", "second booking refused")
alternatives = [i["details"]["text"] for i in outcome["issue"] if i["code"] == "informational"]
check(alternatives, "alternatives offered")
try:
    appointment_for(slot, "Bola Ade", "07700 900456").save()
    check(False, "the client library saw the 409")
except OperationOutcome:
    pass

# Argonaut: find open times, hold one (a second hold of it is refused), book the hold.
status, found = raw("GET", f"/Appointment/$find?start={day}&provider=Practitioner/{smith.id}&service-type={service.id}", token=AGENT_KEY)
check(status == 200 and found["total"] > 2, "$find")
proposed = found["entry"][2]["resource"]
status, held = raw("POST", "/Appointment/$hold", token=AGENT_KEY, body={"resourceType": "Parameters", "parameter": [{"name": "appt-resource", "resource": proposed}]})
check(status == 200 and held["status"] == "pending", "$hold")
status, _ = raw("POST", "/Appointment/$hold", token=AGENT_KEY, body=proposed)
check(status == 409, "a held time cannot be held again")
held["contained"] = [{"resourceType": "Patient", "id": "p", "name": [{"text": "Chidi Eze"}], "telecom": [{"system": "phone", "value": "07700 900789"}]}]
held["participant"].append({"actor": {"reference": "#p"}, "status": "accepted"})
status, from_hold = raw("POST", "/Appointment/$book", token=AGENT_KEY, body=held)
check(status == 201 and from_hold["start"] == proposed["start"], "$book took the hold")

# Cancel with the client's patch, then read it back.
booked.patch(status="cancelled")
again = client.reference("Appointment", booked.id).to_resource()
validate(again.serialize())
check(again["status"] == "cancelled", "cancelled")
free_again = client.resources("Slot").search(schedule=f"Schedule/{smith.id}", status="free", start__ge=day).limit(20).fetch()
check(any(s["start"] == slot["start"] for s in free_again), "the cancelled time is free again")

# What the voice agent booked, and its patient (the read is audited).
voice = client.resources("Appointment").search(_id=VOICE_BOOKING).fetch()
check(len(voice) == 1, "the voice agent's booking is found")
patient = client.reference("Patient", VOICE_BOOKING).to_resource()
validate(patient.serialize())
check(patient["name"][0]["text"] == "Siobhan Nakamura", "its patient")

# Another clinic sees none of it.
for kind, rid in [("Appointment", booked.id), ("Patient", VOICE_BOOKING), ("Practitioner", smith.id)]:
    try:
        other.reference(kind, rid).to_resource()
        check(False, f"another clinic read {kind}")
    except ResourceNotFound:
        pass
check(other.resources("Appointment").search(_id=booked.id).fetch() == [], "another clinic's search")
status, _ = raw("GET", f"/Appointment/{booked.id}", token=OTHER_TOKEN)
check(status == 404, "404 for another clinic's id")

# Errors are OperationOutcomes that validate.
for method, path, token, body, expected in [
    ("GET", "/Appointment", None, None, 401),
    ("GET", "/Slot?status=maybe", TOKEN, None, 400),
    ("GET", "/Patient/" + VOICE_BOOKING, AGENT_KEY, None, 403),
    ("DELETE", "/Appointment/" + booked.id, TOKEN, None, 405),
    ("POST", "/Appointment", TOKEN, {"resourceType": "Appointment", "status": "arrived"}, 422),
]:
    status, outcome = raw(method, path, token=token, body=body)
    check(status == expected and outcome["resourceType"] == "OperationOutcome", f"{method} {path}: {status}")

print("validated:", ", ".join(f"{k} {n}" for k, n in sorted(validated.items())))
