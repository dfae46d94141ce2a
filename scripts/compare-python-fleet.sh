#!/usr/bin/env bash
# Compare client CPU time of python-fleet 0.1.3 and fleet-client (Rust) on the same workloads,
# against the same fleet-testserver process.
#
#   scripts/compare-python-fleet.sh
#
# Knobs (environment): LIST_UNITS (units in the cluster for the list workload, default 1000),
# LIST_ROUNDS (times the whole list is read, default 20), CREATE_COUNT (units each client
# creates, default 300), REPEAT (runs of each workload per client; the least CPU time of the
# runs is compared, default 3), VENV (virtualenv dir, default target/compare-python-fleet-venv),
# PYTHON (interpreter for the venv, default python3), TRANSPORT (tcp, the default: the server
# listens on 127.0.0.1; unix: on a unix socket, fleet's usual endpoint, which both clients
# reach through their unix-socket endpoint forms).
#
# Each client measures its own CPU time (user + system, getrusage(RUSAGE_SELF)) around the
# workload only; the server runs in a separate process and is not counted.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LIST_UNITS=${LIST_UNITS:-1000}
LIST_ROUNDS=${LIST_ROUNDS:-20}
CREATE_COUNT=${CREATE_COUNT:-300}
REPEAT=${REPEAT:-3}
VENV=${VENV:-$ROOT/target/compare-python-fleet-venv}
PYTHON=${PYTHON:-python3}

echo "==> python-fleet 0.1.3 in $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
    -r scripts/compare-python-fleet.requirements.txt
"$VENV/bin/python" -c 'import importlib.metadata as m; assert m.version("fleet") == "0.1.3", m.version("fleet")'

echo "==> building fleet-testserver and the Rust workload driver (release)"
cargo build --quiet --release -p fleet-testserver --bin fleet-testserver
cargo build --quiet --release -p fleet-client --example workload
SERVER="$ROOT/target/release/fleet-testserver"
WORKLOAD="$ROOT/target/release/examples/workload"

TRANSPORT=${TRANSPORT:-tcp}
LOG=$(mktemp)
# No upper-case letters in the socket's path (so not mktemp -d): python-fleet's HTTP library
# lowercases it.
SOCKDIR="${TMPDIR:-/tmp}/fleet-compare-$$-$RANDOM"
mkdir -m 700 "$SOCKDIR"
case "$TRANSPORT" in
tcp) SERVER_ARGS=(--listen 127.0.0.1:0) ;;
unix) SERVER_ARGS=(--unix "$SOCKDIR/fleet.sock") ;;
*)
    echo "TRANSPORT must be tcp or unix, not '$TRANSPORT'" >&2
    exit 2
    ;;
esac
# The server prints "fleet-testserver ready" and then its endpoints once it listens: a TCP
# address (http://127.0.0.1:PORT), or a unix socket in fleetctl's form (unix://PATH) followed
# by python-fleet's (http+unix://%2F...). Read them from a pipe rather than polling.
mkfifo "$SOCKDIR/announce"
"$SERVER" "${SERVER_ARGS[@]}" >"$SOCKDIR/announce" 2>"$LOG" &
SERVER_PID=$!
cleanup() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -rf "$LOG" "$SOCKDIR"; }
trap cleanup EXIT
exec 3<"$SOCKDIR/announce"
if ! read -r -t 30 FIRST <&3 || [ "$FIRST" != "fleet-testserver ready" ] || ! read -r -t 5 ENDPOINT <&3; then
    echo "fleet-testserver did not come up" >&2
    cat "$LOG" >&2
    exit 1
fi
PY_ENDPOINT=$ENDPOINT
if [ "$TRANSPORT" = unix ] && ! read -r -t 5 PY_ENDPOINT <&3; then
    echo "fleet-testserver did not announce its http+unix endpoint" >&2
    exit 1
fi
echo "==> fleet-testserver at $ENDPOINT (python-fleet: $PY_ENDPOINT, pid $SERVER_PID)"

RESULTS=$(mktemp)
trap 'cleanup; rm -f "$RESULTS"' EXIT

echo "==> loading $LIST_UNITS units for the list workload"
"$WORKLOAD" --endpoint "$ENDPOINT" --workload create --count "$LIST_UNITS" --prefix list >/dev/null

# All list runs first: the create runs add units, which would change what a later list sees.
for run in $(seq 1 "$REPEAT"); do
    echo "==> run $run of $REPEAT: list $LIST_ROUNDS x $LIST_UNITS units"
    "$WORKLOAD" --endpoint "$ENDPOINT" --workload list --rounds "$LIST_ROUNDS" | tee -a "$RESULTS"
    "$VENV/bin/python" scripts/compare-python-fleet.py --endpoint "$PY_ENDPOINT" --workload list --rounds "$LIST_ROUNDS" | tee -a "$RESULTS"
    echo "==> run $run of $REPEAT: list $LIST_ROUNDS x $LIST_UNITS units, reading every option"
    "$WORKLOAD" --endpoint "$ENDPOINT" --workload list-options --rounds "$LIST_ROUNDS" | tee -a "$RESULTS"
    "$VENV/bin/python" scripts/compare-python-fleet.py --endpoint "$PY_ENDPOINT" --workload list-options --rounds "$LIST_ROUNDS" | tee -a "$RESULTS"
done
for run in $(seq 1 "$REPEAT"); do
    echo "==> run $run of $REPEAT: create $CREATE_COUNT units per client"
    "$WORKLOAD" --endpoint "$ENDPOINT" --workload create --count "$CREATE_COUNT" --prefix "rs$run" | tee -a "$RESULTS"
    "$VENV/bin/python" scripts/compare-python-fleet.py --endpoint "$PY_ENDPOINT" --workload create --count "$CREATE_COUNT" --prefix "py$run" | tee -a "$RESULTS"
done

echo "==> client CPU time (least of $REPEAT runs), python-fleet / fleet-client"
"$PYTHON" - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
by = {}
for r in rows:
    key = (r["client"], r["workload"])
    if key not in by or r["cpu_s"] < by[key]["cpu_s"]:
        by[key] = r
ok = True
for w in ("list", "list-options", "create"):
    py, rs = by[("python-fleet", w)], by[("fleet-client", w)]
    if py["items"] != rs["items"]:
        ok = False
        print(f"{w}: item counts differ: python-fleet {py['items']}, fleet-client {rs['items']}")
    ratio = py["cpu_s"] / rs["cpu_s"] if rs["cpu_s"] > 0 else float("inf")
    print(f"{w:12} {py['items']:>7} items  python-fleet {py['cpu_s']*1000:9.1f} ms CPU"
          f"  fleet-client {rs['cpu_s']*1000:8.1f} ms CPU  ratio {ratio:6.1f}x"
          f"  ({'meets' if ratio >= 20 else 'BELOW'} the 20x target)")
sys.exit(0 if ok else 1)
PY
