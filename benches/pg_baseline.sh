#!/usr/bin/env bash
# The competing design, measured on this machine: PostgreSQL with the seeds' `claim_slot_atomic`
# (SELECT … FOR UPDATE on the slot row, refuse if claimed, else UPDATE), default durability
# (fsync on, synchronous_commit on), driven by pgbench over TCP loopback with prepared
# statements, each transaction claiming a different free slot — the method of
# ../shared/BASELINES.md, so the booking load generator's numbers can be set beside a
# PostgreSQL run on the same disk and cores.
#
# Needs a PostgreSQL server (initdb, pg_ctl, postgres) and pgbench on PATH or in
# /usr/lib/postgresql/*/bin. Bounded: SECONDS_PER_LEVEL (default 10) at each of 1, 16 and 64
# clients; the cluster lives in a temporary directory and is removed at the end.
#
# Run: bash benches/pg_baseline.sh        (prints a Markdown table)
set -euo pipefail

seconds="${SECONDS_PER_LEVEL:-10}"
port="${PG_BASELINE_PORT:-54329}"
for d in /usr/lib/postgresql/*/bin; do PATH="$PATH:$d"; done
for tool in initdb pg_ctl pgbench psql; do
  command -v "$tool" >/dev/null || { echo "pg_baseline: $tool not found" >&2; exit 2; }
done

work="$(mktemp -d)"
run_as=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$work"
  run_as=(runuser -u postgres --)
fi
stop() {
  "${run_as[@]}" pg_ctl -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop EXIT

"${run_as[@]}" initdb -D "$work/data" -A trust -U bench >/dev/null
"${run_as[@]}" pg_ctl -D "$work/data" -l "$work/log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$work -c max_connections=100" \
  start >/dev/null

sql() { psql -X -q -h 127.0.0.1 -p "$port" -U bench -d postgres -v ON_ERROR_STOP=1 "$@"; }

sql <<'SQL'
CREATE TABLE calendar_slots (
  id uuid PRIMARY KEY,
  clinic_id uuid NOT NULL,
  claimed_by uuid,
  claimed_at timestamptz
);
-- Slot n has the id 00000000-0000-0000-0000-<n in hex>, so a sequence hands each
-- transaction its own free slot.
CREATE FUNCTION slot_id(n bigint) RETURNS uuid IMMUTABLE LANGUAGE sql
  AS $$ SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(n), 12, '0'))::uuid $$;
INSERT INTO calendar_slots (id, clinic_id)
  SELECT slot_id(n), '11111111-1111-1111-1111-111111111111' FROM generate_series(1, 2000000) n;
CREATE SEQUENCE next_slot;
VACUUM ANALYZE calendar_slots;

-- The seeds' function (Phase 3, Task 1), as written there.
CREATE FUNCTION claim_slot_atomic(p_slot_id uuid, p_patient_id uuid, p_clinic_id uuid)
RETURNS jsonb AS $$
DECLARE
  v_slot RECORD;
BEGIN
  SELECT * INTO v_slot FROM calendar_slots
  WHERE id = p_slot_id AND clinic_id = p_clinic_id
  FOR UPDATE;
  IF v_slot.claimed_by IS NOT NULL THEN
    RETURN jsonb_build_object('status', 409, 'error', 'Slot already claimed');
  END IF;
  UPDATE calendar_slots SET claimed_by = p_patient_id, claimed_at = NOW() WHERE id = p_slot_id;
  RETURN jsonb_build_object('status', 200, 'success', true, 'slotId', p_slot_id, 'claimedAt', NOW());
END;
$$ LANGUAGE plpgsql;
SQL

cat >"$work/claim.sql" <<'SQL'
SELECT claim_slot_atomic(slot_id(nextval('next_slot')), gen_random_uuid(), '11111111-1111-1111-1111-111111111111');
SQL
chmod a+r "$work/claim.sql"

echo "| clients | claims/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
for clients in 1 16 64; do
  logdir="$work/log-$clients"
  mkdir -p "$logdir"
  (cd "$logdir" && pgbench -n -M prepared -h 127.0.0.1 -p "$port" -U bench -c "$clients" -j 2 \
    -T "$seconds" -f "$work/claim.sql" -l postgres >"$logdir/out" 2>&1)
  tps="$(grep -Eo 'tps = [0-9.]+' "$logdir/out" | head -1 | cut -d' ' -f3)"
  # Per-transaction log lines: client, transaction no, latency in µs, ...
  cat "$logdir"/pgbench_log.* | awk '{print $3}' | sort -n >"$logdir/lat"
  count="$(wc -l <"$logdir/lat")"
  p50="$(sed -n "$(( (count - 1) * 50 / 100 + 1 ))p" "$logdir/lat")"
  p99="$(sed -n "$(( (count - 1) * 99 / 100 + 1 ))p" "$logdir/lat")"
  printf '| %s | %.0f | %.2f | %.2f |\n' "$clients" "$tps" "$(echo "$p50/1000" | bc -l)" "$(echo "$p99/1000" | bc -l)"
done
claimed="$(sql -At -c "SELECT count(*) FROM calendar_slots WHERE claimed_by IS NOT NULL")"
echo "slots claimed in all: $claimed"
