#!/usr/bin/env bash
# A real RQ worker under supervise, as PID 1 of a new PID namespace:
# enqueue a 6 s job, stop the worker with SIGTERM while the job runs (what
# docker stop does), and show that the job still finished.
# Needs: root (for unshare), redis-server and python3-rq from Debian.
set -euo pipefail
bin=$(realpath "${1:-bin/supervise}")
here=$(cd "$(dirname "$0")" && pwd)
jobs="$here/../../test/e2e/testdata/rq"
for cmd in redis-server unshare /usr/bin/python3; do
  command -v "$cmd" >/dev/null || { echo "rq-stop.sh: $cmd is missing: apt-get install redis-server python3-rq util-linux" >&2; exit 2; }
done
/usr/bin/python3 -c 'import rq' 2>/dev/null || { echo "rq-stop.sh: python3-rq is missing: apt-get install python3-rq" >&2; exit 2; }

port=$((20000 + RANDOM % 20000))
url="redis://127.0.0.1:$port"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

tool() { PYTHONPATH="$jobs" /usr/bin/python3 "$jobs/rqtool.py" "$url" "$@"; }
job=$(tool enqueue 6)
echo "== enqueued job $job (6 s)"

unshare --pid --fork --mount-proc "$bin" --grace-period 30s -- rq worker --url "$url" --path "$jobs" default &
pids+=($!)
ushare=$!
until tool state "$job" | grep -q ' started '; do sleep 0.2; done
sup=$(cat "/proc/$ushare/task/$ushare/children")
echo "== job running; sending SIGTERM to supervise (pid $sup), as docker stop would"
kill -TERM "$sup"
wait "$ushare" && rc=0 || rc=$?
echo "== supervise exited with status $rc"
state=$(tool state "$job")
echo "== job state: $state"
case "$state" in *" finished finished "*) echo "== the job finished: nothing lost";; *) echo "== the job did not finish"; exit 1;; esac
