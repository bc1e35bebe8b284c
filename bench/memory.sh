#!/usr/bin/env bash
# (c) Backend memory after 100k and 1M executes. Usage: bench/memory.sh [total, default 1000000]
source "$(dirname "$0")/lib.sh"
bench_setup
python3 bench/memory.py "$PARMANA_PGDIR" "$PARMANA_PGPORT" "${1:-1000000}"
