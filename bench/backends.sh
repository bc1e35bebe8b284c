#!/usr/bin/env bash
# Ed25519 verification with curve25519-dalek's AVX2 backend (RUSTFLAGS emptied, so
# .cargo/config.toml's backend flag is not applied) against the AVX-512 IFMA backend the build uses,
# criterion benchmarks alternated A B A B A B. Usage: bench/backends.sh [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
bench_binary() {
  local log; log=$(cargo bench -p parmana-core --bench core --no-run 2>&1) || { echo "$log" >&2; echo "building the benchmarks failed" >&2; exit 1; }
  grep -o '[^ (]*/release/deps/core-[0-9a-f]*' <<<"$log" | tail -1
}
AVX2=$(RUSTFLAGS="" CARGO_TARGET_DIR=target/avx2-backend bench_binary)
AVX512=$(bench_binary)
for round in $(seq "${1:-3}"); do
  for variant in AVX2 AVX512; do
    "${!variant}" --bench 'verify' 2>/dev/null | awk -v v="$variant" -v r="$round" '
      /^[^ ]/ { name = $0; sub(/ *time:.*/, "", name) }
      /time:/ { print "round " r " " v ": " name ": median " $(NF-3) " " $(NF-2) }'
  done
done
