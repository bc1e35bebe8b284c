# Shared by the bench scripts: a release build in a throwaway cluster, pgbench and medians.
set -euo pipefail
cd "$(dirname "$0")/.."
export PARMANA_PGDIR=${PARMANA_PGDIR:-/tmp/parmana-bench-pg} PARMANA_PGPORT=${PARMANA_PGPORT:-54331}
PGBIN=/usr/lib/postgresql/15/bin
SUDO=; [ "$(id -u)" = 0 ] || SUDO=--sudo

bench_setup() {
  cargo pgrx install --release --pg-config $PGBIN/pg_config $SUDO >/dev/null
  scripts/cluster.sh start >/dev/null
  trap 'scripts/cluster.sh stop' EXIT
  scripts/cluster.sh psql -d postgres -qc 'CREATE DATABASE bench'
  bpsql -c 'CREATE EXTENSION parmana' -c "SELECT parmana.parmana_register_policy('$(cat fixtures/policies/loan-approval-1.0.0.json)'::jsonb)" >/dev/null
}
bpsql() { scripts/cluster.sh psql -d bench -v ON_ERROR_STOP=1 -qAt "$@"; }
# pgbench_tps SECONDS SCRIPT [extra pgbench args]: TPS of 2 clients
pgbench_tps() {
  local secs=$1 script=$2; shift 2
  runuser -u postgres -- $PGBIN/pgbench -h "$PARMANA_PGDIR" -p "$PARMANA_PGPORT" -n -c 2 -j 2 -T "$secs" -f "$script" "$@" bench \
    | awk '/^tps = / {print $3}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
