#!/usr/bin/env bash
# Every benchmark, one after the other (about 90 minutes on 2 cores). Results: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "## micro-benchmarks (criterion)"; cargo bench -p parmana-core --bench core 2>&1 | grep -E "time:"
echo "## Ed25519 backends (criterion)"; bench/backends.sh 3
echo "## 0.3.0 against this version";   bench/versions.sh 15
echo "## (a) execute vs baseline";       bench/execute.sh 15 3
echo "## (b) verify throughput";         bench/verify.sh 1000000
echo "## (c) backend memory";            bench/memory.sh 1000000
echo "## audit trail";                   bench/audit.sh 20
echo "## the verifiable log";            bench/log.sh 1000000
echo "## shadow evaluation";             bench/shadow.sh 15
echo "## governed-table verification";   bench/govern_verify.sh 1000000
echo "## profiles (perf)";               bench/profile.sh 200000
