#!/usr/bin/env bash
# Slot listing and booking under load from wrk (a second process) on
# loopback, on SQLite and PostgreSQL, with the oversell / lost / doubled
# checks. Arguments go to the benchmark, e.g.
#   bench/booking_load.sh --backend both --seconds 10 --connections 16 --reps 3
# PostgreSQL: --pg URL, else $DOORSTEP_TEST_PG_URL, else
# postgres://postgres@127.0.0.1:5432/test (one schema per repetition, dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
    echo "wrk is not installed: apt-get install -y wrk" >&2
    exit 1
fi
exec cargo bench -p doorstep --bench booking_load -- "$@"
