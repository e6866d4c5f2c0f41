#!/usr/bin/env bash
# vmhost vs OpenStack Placement on the anchor workload (bench_placement.py, found at
# $VMHOST_PLACEMENT_BENCH; bench/README.md).
# Usage: bash bench/run_placement.sh [results-dir] [configs...]   (configs: flat100 flat1000
# numa100 flat5000; default: all). Needs root for the throwaway PostgreSQL (runs as postgres).
# ONLY=sqlite: only raw-claim-sqlite and vmhost-sqlite (no Placement, no PostgreSQL): the % of the
# raw SQLite claim in a minute; x Placement needs the full run.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
ANCHOR="${VMHOST_PLACEMENT_BENCH:-$ROOT/../shared/bench/placement}"
OUT="$(realpath -m "${1:-$HERE/results}")"; shift || true
CONFIGS=("$@"); [ ${#CONFIGS[@]} -eq 0 ] && CONFIGS=(flat100 flat1000 numa100 flat5000)
mkdir -p "$OUT"
if [ ! -x "$HERE/venv/bin/python" ]; then python3 -m venv "$HERE/venv"; fi
"$HERE/venv/bin/pip" install -q openstack-placement pydantic pydantic-settings cryptography 'psycopg[binary]'
"$HERE/venv/bin/pip" install -q --no-deps -e "$ROOT"
if [ "${ONLY:-}" = sqlite ]; then
  IMPLS=(--impl raw_claims:RawSqlite --impl vmhost_adapter:SqliteAdapter)
else
# a throwaway PostgreSQL on 127.0.0.1
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGD=$(mktemp -d); chown postgres "$PGD"
# a free loopback port (another engineer's throwaway server may hold any fixed one)
PORT="${VMHOST_BENCH_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
su postgres -c "$PGBIN/initdb -D $PGD/data -A trust -U postgres >/dev/null && $PGBIN/pg_ctl -D $PGD/data -o '-k $PGD -h 127.0.0.1 -p $PORT -c fsync=on' -l $PGD/log -w start >/dev/null"
trap 'su postgres -c "$PGBIN/pg_ctl -D $PGD/data -m fast stop" >/dev/null; rm -rf "$PGD"' EXIT
export VMHOST_BENCH_PG_URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
# raw_claims: the raw durable-claim limit of each database (bench/raw_claims.py), same run
IMPLS=(--impl placement --impl raw_claims:RawSqlite --impl vmhost_adapter:SqliteAdapter
       --impl raw_claims:RawPostgres --impl vmhost_adapter:PostgresAdapter)
fi
run() {
  local name=$1; shift
  local impls=("${IMPLS[@]}")
  if [ "$name" = flat_n5000 ] && [ "${ONLY:-}" != sqlite ]; then impls=("${IMPLS[@]:2}"); fi
  echo "=== $name: $*" >&2
  (cd "$ANCHOR" && PYTHONPATH="$HERE" "$HERE/venv/bin/python" bench_placement.py run "$@" "${impls[@]}" \
      --json-out "$OUT/$name.json" > /dev/null 2> "$OUT/$name.log")
  tail -n 4 "$OUT/$name.log" >&2
}
for c in "${CONFIGS[@]}"; do
  case $c in
    flat100)  run flat_n100  --mode flat --n 100  --latency-iters 50 --nolimit-iters 20 --placements 1000 --repeats ${REPEATS:-3} ;;
    flat1000) run flat_n1000 --mode flat --n 1000 --latency-iters 30 --nolimit-iters 10 --placements 1000 --repeats ${REPEATS:-3} ;;
    numa100)  run numa_n100  --mode numa --n 100  --latency-iters 50 --nolimit-iters 20 --placements 1000 --repeats ${REPEATS:-3} ;;
    flat5000) run flat_n5000 --mode flat --n 5000 --latency-iters 20 --nolimit-iters 5 --placements 10000 --repeats 1 --latency-after-fill ;;
  esac
done
"$HERE/venv/bin/python" "$HERE/summarise.py" "$OUT"
