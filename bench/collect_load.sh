#!/usr/bin/env bash
# Collecting under load on loopback (issue 5): cash recorded at the door and
# the providers' payment notifications (each sent twice), on SQLite and
# PostgreSQL, with the lost / doubled / ledger checks; then the collector
# app's first-load size. Arguments go to the benchmark, e.g.
#   bench/collect_load.sh --backend both --reps 3
#   bench/collect_load.sh --backend sqlite --clients 16 --cash 5000 --notifications 2000
#   bench/collect_load.sh --backend none --only firstload
# PostgreSQL: --pg URL, else $DOORSTEP_TEST_PG_URL, else
# postgres://postgres@127.0.0.1:5432/test (one schema per repetition, dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p doorstep --bench collect_load -- "$@"
