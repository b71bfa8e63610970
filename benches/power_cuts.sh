#!/usr/bin/env bash
# The long power-cut run: POWER_CUTS (default 10,000) simulated power cuts under concurrent
# bookings on the redb file alone, each at a random write, with every kind of loss of the
# unsynced writes; fails on a database that does not open, a lost acknowledged booking, an
# overlap or a broken audit chain. Bounded by the count (about 90 s for 10,000 on two cores).
# POWER_CUT_SEED replays a run.
set -euo pipefail
cd "$(dirname "$0")/.."
POWER_CUTS="${POWER_CUTS:-10000}" cargo test --test api -- \
  power_cut::every_acknowledged_booking_survives_a_power_cut_at_any_write --exact --nocapture
