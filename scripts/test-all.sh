#!/usr/bin/env bash
# `make test`: the integration suite on PostgreSQL and the whole suite on SQLite, at the same
# time on two instances (own ports, own Asterisk, own database). The tests mostly wait on
# calls, so the two passes share two cores well and the suite takes the time of the longer.
#
# A test that failed is run once more, alone, after both passes (the machine quiet then): the
# suite passes only if it passes then, and the summary names it as having needed the second
# run, so a timing-sensitive test shows up without failing CI on one slow moment. A test that
# fails twice fails the suite.
# The PostgreSQL pass's output follows once both ended; the summaries close the output.
set -uo pipefail
PY=${PY:-.venv/bin/python}
PG_INSTANCE=${VOXCAST_PG_INSTANCE:-test-pg}
PG_OFFSET=${VOXCAST_PG_PORT_OFFSET:-1000}
SQLITE_INSTANCE=${VOXCAST_SQLITE_INSTANCE:-test}
SQLITE_OFFSET=${VOXCAST_SQLITE_PORT_OFFSET:-0}
runtime=.runtime
mkdir -p "$runtime"
pg_log="$runtime/test-postgresql.log"
sqlite_log="$runtime/test-sqlite.log"
pg_cache="$runtime/pytest-cache-postgresql"
sqlite_cache="$runtime/pytest-cache-sqlite"
rm -rf "$pg_cache" "$sqlite_cache"

pg_url=$(bash scripts/pg-test-db.sh "${VOXCAST_PG_TEST_DB:-voxcast_test}") || { echo "PostgreSQL set-up failed" >&2; exit 1; }
VOXCAST_INSTANCE=$PG_INSTANCE VOXCAST_PORT_OFFSET=$PG_OFFSET .venv/bin/voxcast asterisk provision \
  || exit 1

pg_env=(DATABASE_URL="$pg_url" VOXCAST_INSTANCE="$PG_INSTANCE" VOXCAST_PORT_OFFSET="$PG_OFFSET")
sqlite_env=(VOXCAST_INSTANCE="$SQLITE_INSTANCE" VOXCAST_PORT_OFFSET="$SQLITE_OFFSET")

env "${pg_env[@]}" "$PY" -m pytest -ra --durations=15 -o cache_dir="$pg_cache" \
  tests/integration "$@" > "$pg_log" 2>&1 &
pg_pid=$!
echo "PostgreSQL pass running (instance $PG_INSTANCE), its output: $pg_log"

env "${sqlite_env[@]}" "$PY" -m pytest -ra --durations=15 -o cache_dir="$sqlite_cache" "$@" 2>&1 \
  | tee "$sqlite_log"
sqlite_rc=${PIPESTATUS[0]}
wait "$pg_pid"
pg_rc=$?

echo
echo "================ PostgreSQL pass (tests/integration, DATABASE_URL=postgresql) ================"
cat "$pg_log"

# rerun_failed NAME CACHE RC ENV...: the pass's failed tests once more; prints their ids
rerun_failed() {
  local name=$1 cache=$2 rc=$3; shift 3
  # exit codes 1 (tests failed) only: 2-5 (interrupted, internal error, usage, nothing
  # collected) are not a test's timing and stand as they are
  [ "$rc" -eq 1 ] || return "$rc"
  local failed="$cache/v/cache/lastfailed"
  [ -s "$failed" ] || return 1
  echo
  echo "================ $name: the failed tests once more, alone ================"
  "$PY" - "$failed" <<'PY'
import json, sys
for node in sorted(json.load(open(sys.argv[1]))):
    print("  rerun:", node)
PY
  env "$@" "$PY" -m pytest -ra -o cache_dir="$cache" --last-failed --last-failed-no-failures none \
    "${EXTRA_ARGS[@]}" 2>&1 | tee "$runtime/test-$name-rerun.log"
  return "${PIPESTATUS[0]}"
}
EXTRA_ARGS=("$@")
pg_first=$pg_rc sqlite_first=$sqlite_rc
rerun_failed postgresql "$pg_cache" "$pg_rc" "${pg_env[@]}"; pg_rc=$?
rerun_failed sqlite "$sqlite_cache" "$sqlite_rc" "${sqlite_env[@]}"; sqlite_rc=$?

echo
echo "================ summaries ================"
echo "PostgreSQL: $(tail -n 1 "$pg_log")"
[ "$pg_first" -ne 0 ] && [ -f "$runtime/test-postgresql-rerun.log" ] \
  && echo "  rerun:    $(tail -n 1 "$runtime/test-postgresql-rerun.log")"
echo "SQLite:     $(tail -n 1 "$sqlite_log")"
[ "$sqlite_first" -ne 0 ] && [ -f "$runtime/test-sqlite-rerun.log" ] \
  && echo "  rerun:    $(tail -n 1 "$runtime/test-sqlite-rerun.log")"
[ "$pg_rc" -eq 0 ] && [ "$sqlite_rc" -eq 0 ]
