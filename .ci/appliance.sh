# Sourced by the CI scripts that drive a real appliance over HTTP: builds the binary as the
# test suite does, starts `voxanne serve` on a loopback port with a fresh data dir, and sets
# BIN, WORK (a temporary directory, removed on exit), DATA, SERVER_PID and BASE; the server is
# stopped on exit.

# The binary as the test suite builds it (the same features, so after `cargo test` nothing is
# rebuilt; `cargo build --bin` alone would build the dependencies again without the
# dev-dependencies' features).
cargo test --no-run --quiet
BIN="${CARGO_TARGET_DIR:-target}/debug/voxanne"

WORK="$(mktemp -d)"
DATA="$WORK/data"
SERVER_PID=""
stop_appliance() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap stop_appliance EXIT

"$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 300); do
  grep -q '^voxanne listening on ' "$WORK/server.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; echo "the server did not start"; exit 1; }
  sleep 0.1
done
BASE="$(sed -n 's/^voxanne listening on \([^ ]*\).*/\1/p' "$WORK/server.out" | head -1)"
case "$BASE" in http://*) ;; *) BASE="http://$BASE" ;; esac
