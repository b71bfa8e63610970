#!/usr/bin/env bash
# Bookings through the release binary as an install runs it (its own process, the journal on,
# its log subscriber writing to a file), driven from outside by wrk over loopback: the voice
# agent's `book_appointment` tool call, each request a different free quarter hour of one of
# 24 practitioners, at 1 connection and at 64. The client side is wrk's C, so the figures sit
# beside `pg_baseline.sh`'s pgbench ones more fairly than the in-process `booking_load`.
#
# Needs wrk, curl and python3, and a release build (`cargo build --release`; VOXANNE_BIN
# names another binary, VOXANNE_CONFIG a config file for it, e.g. `[storage] journal = false`;
# KEEP_LOG=FILE keeps the server's log). Bounded: SECONDS_PER_LEVEL (default 10) at each
# level; the data dir is temporary and the server is stopped at the end.
#
# Run: bash benches/wrk_booking.sh        (prints a Markdown table)
set -euo pipefail

seconds="${SECONDS_PER_LEVEL:-10}"
port="${WRK_BOOKING_PORT:-18931}"
bin="${VOXANNE_BIN:-target/release/voxanne}"
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "wrk_booking: $tool not found" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "wrk_booking: $bin not found (cargo build --release)" >&2; exit 2; }

work="$(mktemp -d)"
server=""
stop() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "${KEEP_LOG:-}" ] && cp "$work/server.log" "$KEEP_LOG"
  rm -rf "$work"
}
trap stop EXIT

base="http://127.0.0.1:$port"
"$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" --config "${VOXANNE_CONFIG:-/dev/null}" \
  >"$work/server.out" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  curl -fs "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# The clinic: no notice, two years ahead, quarter hours; one service; 24 practitioners
# working 08:00-20:00 every day; an agent key for the tool calls.
python3 - "$base" "$work" <<'PY'
import json, sys, urllib.request
base, work = sys.argv[1], sys.argv[2]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")
s = call("POST", "/api/auth/signup", {"clinic_name": "Load", "email": "load@clinic.example",
                                      "password": "load test password"})
org, token = s["org_id"], s["access_token"]
call("PUT", f"/api/orgs/{org}/settings", {"min_notice_minutes": 0, "horizon_days": 730,
                                          "slot_step_minutes": 15, "phone_region": "GB"}, token)
svc = call("POST", f"/api/orgs/{org}/services", {"name": "Consultation", "duration_minutes": 15}, token)
week = {d: [["08:00", "20:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
providers = [call("POST", f"/api/orgs/{org}/providers",
                  {"name": f"Dr Load {i}", "service_ids": [svc["id"]], "weekly_hours": week}, token)["id"]
             for i in range(24)]
key = call("POST", f"/api/orgs/{org}/agent-keys", {"name": "load"}, token)["key"]
open(work + "/providers", "w").write(",".join(providers))
open(work + "/key", "w").write(key)
PY

# Request n (over all threads) books quarter hour n: practitioner n mod 24, then 48 quarter
# hours a day from tomorrow; `day0` keeps the levels on days of their own.
cat >"$work/book.lua" <<'LUA'
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  providers = {}
  for p in string.gmatch(os.getenv("WRK_PROVIDERS"), "[^,]+") do table.insert(providers, p) end
  nthreads = tonumber(os.getenv("WRK_THREADS"))
  day0 = tonumber(os.getenv("WRK_DAY0"))
  n = id
  booked, refused = 0, 0
  wrk.method = "POST"
  wrk.headers["content-type"] = "application/json"
  wrk.headers["authorization"] = "Bearer " .. os.getenv("WRK_KEY")
end
function request()
  local p = providers[(n % #providers) + 1]
  local rest = math.floor(n / #providers)
  local day, q = day0 + math.floor(rest / 48), rest % 48
  local date = os.date("!%Y-%m-%d", os.time() + 86400 * (1 + day))
  local time = string.format("%02d:%02d", 8 + math.floor(q / 4), (q % 4) * 15)
  local body = string.format('{"message":{"type":"tool-calls","call":{"id":"wrk-%d"},'
    .. '"customer":{"number":"+447400%06d"},"toolCallList":[{"id":"wrk-tc-%d","type":"function",'
    .. '"function":{"name":"book_appointment","arguments":{"appointment_date":"%s",'
    .. '"appointment_time":"%s","provider_id":"%s","service":"Consultation",'
    .. '"patient_name":"Caller %d"}}}]}}', n, (n * 7919) % 1000000, n, date, time, p, n)
  n = n + nthreads
  return wrk.format(nil, "/api/vapi/tools", nil, body)
end
function response(status, headers, body)
  if status == 200 and string.find(body, '"result"', 1, true) then
    booked = booked + 1
  else
    refused = refused + 1
  end
end
function done(summary, latency, requests)
  local b, r = 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("booked")
    r = r + t:get("refused")
  end
  io.write(string.format("RESULT %d %d %.0f %.2f %.2f\n", b, r,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

echo "| connections | booked | refused | per second | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|"
day0=0
for level in 1 64; do
  threads=$(( level < 2 ? 1 : 2 ))
  line=$(WRK_PROVIDERS="$(cat "$work/providers")" WRK_KEY="$(cat "$work/key")" \
    WRK_THREADS=$threads WRK_DAY0=$day0 \
    wrk -t "$threads" -c "$level" -d "${seconds}s" -s "$work/book.lua" "$base" | grep '^RESULT')
  read -r _ booked refused rate p50 p99 <<<"$line"
  echo "| $level | $booked | $refused | $rate | $p50 | $p99 |"
  day0=$(( day0 + 400 ))
done
