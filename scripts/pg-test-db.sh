#!/usr/bin/env bash
# Debian's PostgreSQL for the suite's second run: installed, started, a fresh test database.
# Prints the DATABASE_URL to use. Safe to run again. An argument names the database (default
# voxcast_test), so that several runs at once each have their own.
set -euo pipefail
db=${1:-voxcast_test}
bash "$(dirname "$0")/apt-install.sh" postgresql >&2
ver=$(ls /etc/postgresql | sort -n | tail -1)
pg_ctlcluster "$ver" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 0.5
done
as_pg() { su postgres -c "$*"; }
as_pg "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='voxcast_test'\"" | grep -q 1 ||
  as_pg "psql -qc \"CREATE ROLE voxcast_test LOGIN PASSWORD 'voxcast_test'\"" >&2
as_pg "dropdb --if-exists --force $db" >&2  # --force: sessions a killed run left
as_pg "createdb -O voxcast_test $db" >&2
echo "postgresql://voxcast_test:voxcast_test@127.0.0.1:5432/$db"
