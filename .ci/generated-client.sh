#!/usr/bin/env bash
# A client generated from the appliance's own OpenAPI document works: a real appliance is
# started, a Python client is generated from its /api/openapi.json with openapi-python-client
# (PyPI), and .ci/generated_client_booking.py runs a booking through that client alone —
# clinic, service, provider, a free slot, booked, read, cancelled — with every answer read into
# the client's typed models.
set -euo pipefail
cd "$(dirname "$0")/.."

GENERATOR_VERSION="0.29.1"
# The generator from PyPI, in a virtualenv kept between runs (it brings httpx and attrs, which
# the generated client needs).
VENV="${CLIENT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/voxanne-client-venv}"
if ! "$VENV/bin/openapi-python-client" --version 2>/dev/null | grep -q "$GENERATOR_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "openapi-python-client==$GENERATOR_VERSION"
fi

# A running appliance on a fresh data dir (BIN, WORK, DATA, SERVER_PID, BASE).
. .ci/appliance.sh

python3 -c "import sys, urllib.request; open(sys.argv[2], 'wb').write(urllib.request.urlopen(sys.argv[1]).read())" \
  "$BASE/api/openapi.json" "$WORK/openapi.json"
# Literal enums: the time-zone enum holds names that differ only in case, which class-based
# enums cannot hold. No formatter runs after generation.
cat >"$WORK/generator.yml" <<'YML'
literal_enums: true
post_hooks: []
YML
"$VENV/bin/openapi-python-client" generate --path "$WORK/openapi.json" --meta none \
  --config "$WORK/generator.yml" --output-path "$WORK/voxanne_client"

PYTHONPATH="$WORK" BASE="$BASE" "$VENV/bin/python" .ci/generated_client_booking.py
echo "the generated client booked, read and cancelled an appointment"
