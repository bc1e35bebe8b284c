#!/usr/bin/env bash
# Builds parmana and installs it into the PostgreSQL that PG_CONFIG names (default: Debian's 15).
# --clean first removes every parmana file a previous install left in the share and lib
# directories, so only what this build installs is there. Extra arguments go to cargo pgrx install
# (for example --release).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
if [ "${1:-}" = --clean ]; then
  shift
  $SUDO rm -f "$("$PG_CONFIG" --sharedir)"/extension/parmana* "$("$PG_CONFIG" --pkglibdir)/parmana.so"
fi
PGRX_SUDO=; [ "$(id -u)" = 0 ] || PGRX_SUDO=--sudo
cargo pgrx install --pg-config "$PG_CONFIG" $PGRX_SUDO "$@"
