#!/usr/bin/env bash
# Installs what building and testing parmana needs, skipping what is already there:
# Debian packages, cargo-pgrx 0.18.0 (initialised for the system PostgreSQL 15), Python test libraries.
set -euo pipefail
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

need_apt=()
for pkg in postgresql-15 postgresql-server-dev-15 libclang-dev clang sudo; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! cargo pgrx --version 2>/dev/null | grep -q '0\.18\.0'; then
  echo "== installing cargo-pgrx 0.18.0 (a few minutes)"
  cargo install cargo-pgrx --version 0.18.0 --locked
fi
if ! grep -qs "pg15" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  cargo pgrx init --pg15 "$PG_CONFIG"
fi

if ! python3 -c 'import psycopg, rfc8785, cryptography, pytest' 2>/dev/null; then
  echo "== installing Python test libraries"
  python3 -m pip --version >/dev/null 2>&1 || python3 -m ensurepip --upgrade >/dev/null
  python3 -m pip install -q --disable-pip-version-check -r tests/python/requirements.txt 2>&1 | grep -v -i "running pip as the 'root' user" || true
fi
