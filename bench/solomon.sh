#!/usr/bin/env bash
# Doorstep's route planner beside PyVRP, VROOM (pyvroom) and OR-Tools on the
# 56 Solomon instances, one thread each, same budgets, every solution checked.
# Usage: bench/solomon.sh [--time-limit 1 10] [--data DIR] [--only R1]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p doorstep
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q pyvrp==0.14.1 pyvroom==1.15.2 ortools==9.15.6755
fi
# One thread per solver.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
exec "$venv/bin/python" bench/compare_solomon.py "$@"
