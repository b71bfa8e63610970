#!/usr/bin/env bash
# Fuzzes a real appliance from its own OpenAPI document (/api/openapi.json) with schemathesis,
# with all of its checks, inside a time budget (FUZZ_SECONDS, default 240: half for the staff
# routes, a quarter for stateful sequences along the document's links, a quarter for the voice
# agent's): a fresh data dir, a clinic set up with an admin token and an agent key, then every
# documented operation driven with generated valid and invalid input. It fails on any 5xx, any
# answer the document does not describe (status, content type, body schema, headers), valid
# data refused or invalid data accepted, a route that ignores its credential, a panic in the
# server's log, a server that is not ready at the end, or an audit chain that no longer
# verifies.
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET="${FUZZ_SECONDS:-240}"
STAFF_SECONDS=$((BUDGET / 2))
STATEFUL_SECONDS=$((BUDGET / 4))
AGENT_SECONDS=$((BUDGET - STAFF_SECONDS - STATEFUL_SECONDS))
SCHEMATHESIS_VERSION="4.32.5"

# schemathesis from PyPI, in a virtualenv kept between runs.
VENV="${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/voxanne-fuzz-venv}"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# A running appliance on a fresh data dir (BIN, WORK, DATA, SERVER_PID, BASE).
. .ci/appliance.sh
echo "fuzzing $BASE for ${BUDGET}s"

# A clinic to fuzz inside: admin, settings, a service, a provider, a document, an agent key.
SETUP="$(BASE="$BASE" python3 - <<'PY'
import json, os, urllib.request
base = os.environ["BASE"]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", **({"authorization": "Bearer " + token} if token else {})})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")
s = call("POST", "/api/auth/signup", {"clinic_name": "Fuzz Clinic", "email": "admin@fuzz.example", "password": "fuzzing-password-1", "timezone": "Europe/London"})
org, token = s["org_id"], s["access_token"]
call("PUT", f"/api/orgs/{org}/settings", {"min_notice_minutes": 0, "horizon_days": 365, "slot_step_minutes": 30, "phone_region": "GB"}, token)
svc = call("POST", f"/api/orgs/{org}/services", {"name": "Consultation", "duration_minutes": 30, "procedure": "rhinoplasty"}, token)
week = {d: [["09:00", "17:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
provider = call("POST", f"/api/orgs/{org}/providers", {"name": "Dr Fuzz", "service_ids": [svc["id"]], "weekly_hours": week}, token)
doc = call("POST", f"/api/orgs/{org}/kb/documents", {"title": "Aftercare", "body": "Swelling after rhinoplasty settles over two weeks."}, token)
slot = call("GET", f"/api/orgs/{org}/availability?service_id={svc['id']}&days=7", None, token)["slots"][0]
appt = call("POST", f"/api/orgs/{org}/appointments", {"provider_id": provider["id"], "service_id": svc["id"], "start": slot["start"], "patient": {"name": "Fuzz Patient", "phone": "07700 900123"}}, token)
staff = call("POST", f"/api/orgs/{org}/users", {"email": "staff@fuzz.example", "password": "fuzzing-password-2", "role": "staff"}, token)
key = call("POST", f"/api/orgs/{org}/agent-keys", {"name": "vapi"}, token)
feed = provider["calendar_feed"].rsplit("/", 1)[1]
# The ids of real records, so the fuzzer reaches past "not found".
print(f"export FUZZ_ORG={org} FUZZ_TOKEN={token} FUZZ_AGENT_KEY={key['key']}"
      f" FUZZ_PROVIDER={provider['id']} FUZZ_DOCUMENT={doc['id']} FUZZ_APPOINTMENT={appt['id']}"
      f" FUZZ_CONFIRMATION={appt['confirmation_token']} FUZZ_FEED={feed} FUZZ_USER={staff['user_id']}")
PY
)"
eval "$SETUP"

# What every pass shares: the clinic, and the answers the checks take as right.
cat >"$WORK/checks.toml" <<'TOML'
# A body over the size limit is refused with 413, like any other bad input.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428", "429"]

# Schema-valid data these operations refuse by rules no schema can state, each answered 422
# with the field at fault: a time in the diary must be inside the clinic's hours, notice,
# horizon and the booking window and not taken; a window must end after it starts and not
# overlap another; an id must be one of the clinic's; waiting-list dates run from today to
# the horizon; a template must parse.
[[operations]]
include-path-regex = "^/api/orgs/\\{org\\}/(appointments|appointments/\\{appointment_id\\}/reschedule|providers|providers/\\{provider_id\\}/(hours|time-off)|waitlist|procedures|procedures/\\{procedure_id\\})$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# FHIR answers a search it cannot run (a range over 31 days, a date that does not exist) with
# 400, a time the rules refuse with 422, a taken one with 409, a stale If-Match with 412, and
# an id no schema can tell from another clinic's with 404.
[[operations]]
include-path-regex = "^/fhir/r4/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "412", "422", "429"]

# Only the code and state Google itself returned can finish connecting a calendar (400).
[[operations]]
include-path = "/api/orgs/{org}/calendar/google/callback"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
TOML
# The stateless passes pin every path id to a real record, so they reach past "not found".
{
  cat <<'TOML'
[parameters]
"path.org" = "${FUZZ_ORG}"
"path.provider_id" = "${FUZZ_PROVIDER}"
"path.document_id" = "${FUZZ_DOCUMENT}"
"path.appointment_id" = "${FUZZ_APPOINTMENT}"
"path.user_id" = "${FUZZ_USER}"
"path.token" = "${FUZZ_CONFIRMATION}"
"path.file" = "${FUZZ_FEED}"

TOML
  cat "$WORK/checks.toml"
} >"$WORK/schemathesis.toml"
# The stateful pass pins only the clinic: the ids come from the document's links, from what
# each create answered.
{
  cat <<'TOML'
[parameters]
"path.org" = "${FUZZ_ORG}"

TOML
  cat "$WORK/checks.toml"
} >"$WORK/stateful.toml"

# A seed per run (printed; FUZZ_SEED=N replays one).
SEED="${FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
echo "schemathesis seed: $SEED (FUZZ_SEED=$SEED replays this run)"
# One worker: with several, schemathesis's coverage phase trips a CPython 3.11 ast.parse race.
# The agent key is not a pinned id, so the staff pass cannot revoke it before the agent's.
run_schemathesis() {
  local config="$1" phases="$2" seconds="$3" credential="$4"
  shift 4
  "$VENV/bin/schemathesis" --config-file "$WORK/$config" run "$BASE/api/openapi.json" \
    --checks all --phases "$phases" --max-time "$seconds" \
    --workers 1 --seed "$SEED" --request-timeout 10 --suppress-health-check all \
    --header "Authorization: Bearer $credential" "$@"
}
status=0
run_schemathesis schemathesis.toml examples,coverage,fuzzing "$STAFF_SECONDS" "$FUZZ_TOKEN" \
  --exclude-path-regex '^/api/vapi' || status=1
# Sequences that follow the links (create → read → change → delete), on the staff routes.
run_schemathesis stateful.toml stateful "$STATEFUL_SECONDS" "$FUZZ_TOKEN" \
  --exclude-path-regex '^/api/vapi' || status=1
run_schemathesis schemathesis.toml examples,coverage,fuzzing "$AGENT_SECONDS" "$FUZZ_AGENT_KEY" \
  --include-path-regex '^/api/vapi' || status=1

ready="$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).status)" "$BASE/readyz" 2>/dev/null || echo down)"
if [ "$ready" != "200" ]; then echo "the server is not ready after fuzzing ($ready)"; status=1; fi
if grep -qi 'panic' "$WORK/server.log"; then echo "the server logged a panic:"; grep -i 'panic' "$WORK/server.log" | head -5; status=1; fi

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""
"$BIN" audit verify --data-dir "$DATA" || { echo "an audit chain no longer verifies"; status=1; }

if [ "$status" -eq 0 ]; then echo "fuzzing passed"; else echo "fuzzing FAILED"; fi
exit "$status"
