#!/usr/bin/env bash
# `npm start`: everything on a fresh machine without Docker — build, a real
# Kafka broker, PostgreSQL, the load producer and the supervisor — in one
# terminal. Ctrl-C stops the producer and supervisor; Kafka keeps running
# (it is slow-ish to restart and keeps the topic): `npm run kafka:stop`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RATE=${RATE:-1000}
mkdir -p .run

bash scripts/prepare.sh start
# node_modules/.bin first: the project's own Node.js, whatever `node` the shell has.
export PATH=$PWD/node_modules/.bin:$PATH
npm run build
pids=()
cleanup() {
  trap - EXIT
  echo "up.sh: stopping producer and supervisor..."
  # SIGTERM lets the supervisor flush open windows and commit offsets.
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local p alive
  for _ in $(seq 40); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.25
  done
  echo "up.sh: still running after 10s; SIGKILL" >&2
  kill -KILL "${pids[@]}" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Supervisor first so it's subscribed before load arrives.
# V8 heap bounds of every thread of the supervisor: see scripts/supervisor-node-flags.
node $(cat scripts/supervisor-node-flags) dist/supervisor.js >>.run/supervisor.log 2>&1 &
pids+=($!)
node dist/producer.js --rate "$RATE" >>.run/producer.log 2>&1 &
pids+=($!)

url="http://${HTTP_HOST:-127.0.0.1}:${HTTP_PORT:-8501}"
broker_log=.kafka/logs/server.log
[[ -f $broker_log ]] || broker_log="(the broker that answered was not started from this checkout)"
cat <<EOF
tumbler is up (producer at $RATE events/s):
  dashboard  $url/
  metrics    $url/metrics
  logs       .run/supervisor.log  .run/producer.log  $broker_log
Ctrl-C to stop the producer and supervisor.
EOF

# Either process dying ends the session, so a crash isn't hidden behind a
# still-running sibling.
status=0
wait -n "${pids[@]}" || status=$?
echo "up.sh: a process exited (status $status); see .run/*.log" >&2
exit "$status"
