#!/usr/bin/env bash
# The FHIR R4 face checked from outside: a real appliance on a fresh data dir, a clinic set up
# over the JSON API with a booking made by the voice agent, a second clinic, and then
# .ci/fhir_client.py drives /fhir/r4 with fhirpy (a FHIR client library) and validates every
# resource it answers with fhir.resources (the R4 4.0.1 definitions), both from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

# fhir.resources 6.4 is the last release whose default package is R4 (4.0.1) rather than R4B
# or R5; it is built on pydantic 1.
VENV="${FHIR_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/voxanne-fhir-venv}"
if ! "$VENV/bin/python" -c "import fhir.resources, fhirpy; assert fhir.resources.__version__ == '6.4.0' and fhirpy.__version__ == '2.3.1'" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "fhir.resources==6.4.0" "pydantic>=1.10,<2" "fhirpy==2.3.1"
fi

# A running appliance on a fresh data dir (BIN, WORK, DATA, SERVER_PID, BASE).
. .ci/appliance.sh

SETUP="$(BASE="$BASE" python3 - <<'PY'
import datetime, json, os, urllib.request
base = os.environ["BASE"]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", **({"authorization": "Bearer " + token} if token else {})})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")
def clinic(name, email):
    s = call("POST", "/api/auth/signup", {"clinic_name": name, "email": email, "password": "fhir-client-password-1", "timezone": "Europe/London"})
    org, token = s["org_id"], s["access_token"]
    call("PUT", f"/api/orgs/{org}/settings", {"min_notice_minutes": 0, "horizon_days": 365, "slot_step_minutes": 30, "phone_region": "GB"}, token)
    svc = call("POST", f"/api/orgs/{org}/services", {"name": "Rhinoplasty consultation", "duration_minutes": 30, "procedure": "rhinoplasty"}, token)
    week = {d: [["09:00", "17:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    for doctor in ["Dr Smith", "Dr Patel"]:
        call("POST", f"/api/orgs/{org}/providers", {"name": doctor, "service_ids": [svc["id"]], "weekly_hours": week}, token)
    return org, token
org, token = clinic("Harley Aesthetics", "admin@harley.example")
_, other = clinic("Mayfair Skin", "admin@mayfair.example")
key = call("POST", f"/api/orgs/{org}/agent-keys", {"name": "vapi"}, token)["key"]
day = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
answer = call("POST", "/api/vapi/tools", {"message": {"type": "tool-calls",
    "call": {"id": "call-fhir", "customer": {"number": "+447911123456"}},
    "toolCallList": [{"id": "tc-fhir", "type": "function", "function": {"name": "book_appointment",
        "arguments": {"appointment_date": day, "appointment_time": "14:00", "provider_name": "Dr Patel",
                      "service": "rhinoplasty", "patient_name": "Siobhan Nakamura"}}}]}}, key)
print(f"export TOKEN={token} AGENT_KEY={key} OTHER_TOKEN={other} VOICE_BOOKING={answer['results'][0]['appointment_id']}")
PY
)"
eval "$SETUP"

BASE="$BASE" "$VENV/bin/python" .ci/fhir_client.py
if grep -qi 'panic' "$WORK/server.log"; then echo "the server logged a panic"; exit 1; fi
echo "a FHIR client found, booked, held, cancelled and read over /fhir/r4; every resource validated as R4"
