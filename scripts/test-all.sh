#!/usr/bin/env bash
# `make test`: the integration suite on PostgreSQL and the whole suite on SQLite, at the same
# time on two instances (own ports, own Asterisk, own database). The tests mostly wait on
# calls, so the two passes share two cores well and the suite takes the time of the longer.
# The PostgreSQL pass's output follows once both ended; the SQLite summary closes the output.
set -uo pipefail
PY=${PY:-.venv/bin/python}
PG_INSTANCE=${VOXCAST_PG_INSTANCE:-test-pg}
PG_OFFSET=${VOXCAST_PG_PORT_OFFSET:-1000}
runtime=.runtime
mkdir -p "$runtime"
pg_log="$runtime/test-postgresql.log"
sqlite_log="$runtime/test-sqlite.log"

pg_url=$(bash scripts/pg-test-db.sh) || { echo "PostgreSQL set-up failed" >&2; exit 1; }
VOXCAST_INSTANCE=$PG_INSTANCE VOXCAST_PORT_OFFSET=$PG_OFFSET .venv/bin/voxcast asterisk provision \
  || exit 1

DATABASE_URL=$pg_url VOXCAST_INSTANCE=$PG_INSTANCE VOXCAST_PORT_OFFSET=$PG_OFFSET \
  "$PY" -m pytest -ra -p no:cacheprovider tests/integration "$@" > "$pg_log" 2>&1 &
pg_pid=$!
echo "PostgreSQL pass running (instance $PG_INSTANCE), its output: $pg_log"

VOXCAST_INSTANCE=test "$PY" -m pytest -ra "$@" 2>&1 | tee "$sqlite_log"
sqlite_rc=${PIPESTATUS[0]}
wait "$pg_pid"
pg_rc=$?

echo
echo "================ PostgreSQL pass (tests/integration, DATABASE_URL=postgresql) ================"
cat "$pg_log"
echo
echo "================ summaries ================"
echo "PostgreSQL: $(tail -n 1 "$pg_log")"
echo "SQLite:     $(tail -n 1 "$sqlite_log")"
[ "$pg_rc" -eq 0 ] && [ "$sqlite_rc" -eq 0 ]
