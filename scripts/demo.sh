#!/usr/bin/env bash
# `make demo`: the Acumos paper's Fig. 2 on Modelbay, end to end, on this machine.
#
#   1. starts the platform in embedded mode (`modelbay up`: one process, embedded PostgreSQL,
#      the local Docker engine) with a fresh data directory;
#   2. runs the paper's Fig. 2 script (examples/iris/iris_fig2.py), which trains the iris
#      classifier and pushes it;
#   3. follows the version through its stages with their times (`modelbay status`);
#   4. runs the image (`modelbay run`: docker pull from the registry + docker run);
#   5. calls it over JSON and protobuf (examples/demo/call_iris.py) and prints the predictions;
#   6. says what to do next, then stops everything it started.
#
# Needs from `make services-up`: the Docker engine, the registry (127.0.0.1:5000) and the base
# image; the embedded mode brings its own PostgreSQL and needs neither RabbitMQ nor S3.
# Environment: DEMO_KEEP_RUNNING=1 keeps the platform and the model up until Enter is pressed
# (the default when the demo runs in a terminal).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.venv/bin"
PY="$BIN/python"
SERVICES_ENV="$ROOT/var/services.env"
MODEL="iris_model"  # the name Fig. 2 pushes

DATA_DIR=""
UP_PID=""
CONTAINER=""
UP_LOG=""

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf '\n\033[1;31mdemo stopped: %s\033[0m\n' "$*" >&2
  exit 1
}
# Seconds since a `date +%s%N` stamp, to a tenth (bash arithmetic: no bc on a fresh machine).
elapsed() {
  local tenths=$((($(date +%s%N) - $1) / 100000000))
  printf '%d.%d s' $((tenths / 10)) $((tenths % 10))
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $CONTAINER ]]; then
    docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  fi
  if [[ -n $UP_PID ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -INT "$UP_PID" 2>/dev/null || true # `modelbay up` stops cleanly on Ctrl-C
    for _ in $(seq 1 60); do
      kill -0 "$UP_PID" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -n $UP_LOG && -f $UP_LOG ]]; then
    printf '\nlast lines of the platform log (%s):\n' "$UP_LOG" >&2
    tail -n 25 "$UP_LOG" >&2 || true
  fi
  [[ -n $DATA_DIR ]] && rm -rf "$DATA_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

env_value() { grep -E "^$1=" "$SERVICES_ENV" | tail -n 1 | cut -d= -f2-; }

check_prerequisites() {
  [[ -x $BIN/modelbay ]] || die "the workspace is not installed: run \`make setup\`"
  [[ -f $SERVICES_ENV ]] || die "$SERVICES_ENV is missing: run \`make services-up\`"
  command -v docker >/dev/null || die "no docker command: the image cannot run (run \`make setup\`)"
  docker info >/dev/null 2>&1 || die "the Docker engine does not answer: run \`make services-up\`"
  # The embedded builder reads the same shared variables as the stack's builder.
  # The registry token key lets the builder push and the gateway hand `modelbay run` a pull
  # token (the registry is behind token auth, docs/trust.md).
  export MODELBAY_REGISTRY MODELBAY_BASE_IMAGE DOCKER_HOST
  MODELBAY_REGISTRY="$(env_value MODELBAY_REGISTRY)"
  MODELBAY_BASE_IMAGE="$(env_value MODELBAY_BASE_IMAGE)"
  DOCKER_HOST="$(env_value DOCKER_HOST)"
  local token_key
  token_key="$(env_value MODELBAY_REGISTRY_TOKEN_KEY_FILE)"
  [[ -z $token_key ]] || export MODELBAY_REGISTRY_TOKEN_KEY_FILE="$token_key"
  # The registry's root answers 200 without a token (/v2/ is 401 behind auth).
  curl -fsS "http://$MODELBAY_REGISTRY/" >/dev/null ||
    die "the registry at $MODELBAY_REGISTRY does not answer: run \`make services-up\`"
}

start_platform() {
  step "Starting Modelbay in embedded mode (modelbay up)"
  DATA_DIR="$(mktemp -d /tmp/modelbay-demo.XXXXXX)"
  UP_LOG="$DATA_DIR/up.log"
  PORT="$(free_port)"
  export MODELBAY_URL="http://127.0.0.1:$PORT"
  local started
  started="$(date +%s%N)"
  "$BIN/modelbay" up --data-dir "$DATA_DIR/data" --port "$PORT" --docker >"$UP_LOG" 2>&1 &
  UP_PID=$!
  for _ in $(seq 1 240); do
    curl -fsS "$MODELBAY_URL/healthz" >/dev/null 2>&1 && break
    kill -0 "$UP_PID" 2>/dev/null || die "modelbay up exited while starting"
    sleep 0.5
  done
  curl -fsS "$MODELBAY_URL/healthz" >/dev/null 2>&1 || die "modelbay up did not answer in 120 s"
  MODELBAY_TOKEN="$(cat "$DATA_DIR/data/admin-token")"
  export MODELBAY_TOKEN
  note "running at $MODELBAY_URL after $(elapsed "$started") (data in $DATA_DIR/data)"
  grep -E '^  images:' "$UP_LOG" | sed 's/^  /    /' || true
  if grep -q 'images: NOT built' "$UP_LOG"; then
    die "the platform cannot build images here (see above), so the model cannot run"
  fi
}

push_fig2() {
  step "Training and pushing the paper's Fig. 2 iris model (examples/iris/iris_fig2.py)"
  local started
  started="$(date +%s%N)"
  (cd "$DATA_DIR" && "$PY" "$ROOT/examples/iris/iris_fig2.py") || die "the Fig. 2 script failed"
  note "trained and pushed in $(elapsed "$started")"
  # The catalog hears of the new version from the pipeline's first event, just after the push.
  for _ in $(seq 1 60); do
    curl -fsS -H "Authorization: Bearer $MODELBAY_TOKEN" \
      "$MODELBAY_URL/v1/models/admin/$MODEL" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "the catalog does not list admin/$MODEL after the push"
}

follow_pipeline() {
  step "Following the pipeline: resolve dependencies → build image → validate → registry"
  "$BIN/modelbay" status "admin/$MODEL" || die "the version did not become ready (reason above)"
  VERSION="$(curl -fsS -H "Authorization: Bearer $MODELBAY_TOKEN" \
    "$MODELBAY_URL/v1/models/admin/$MODEL" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["latest_version"])')"
}

run_model() {
  step "Running the image (modelbay run admin/$MODEL:$VERSION: docker pull + docker run)"
  MODEL_PORT="$(free_port)"
  "$BIN/modelbay" run "admin/$MODEL:$VERSION" --port "$MODEL_PORT" || die "the image did not run"
  CONTAINER="$(docker ps -q --filter "publish=$MODEL_PORT" | head -n 1)"
}

call_model() {
  step "Calling the model over JSON and protobuf (examples/demo/call_iris.py)"
  "$PY" "$ROOT/examples/demo/call_iris.py" "http://127.0.0.1:$MODEL_PORT" ||
    die "the predictions over JSON and protobuf did not agree"
}

next_steps() {
  step "Done: Fig. 2 pushed, built, validated, pulled, run and called."
  local keep="${DEMO_KEEP_RUNNING:-}"
  [[ -z $keep && -t 0 ]] && keep=1
  if [[ $keep == 1 ]]; then
    note "Try it while it runs:"
    note "  open $MODELBAY_URL/v1/docs (the platform's API) and http://127.0.0.1:$MODEL_PORT/docs (the model's)"
    note "  export MODELBAY_URL=$MODELBAY_URL MODELBAY_TOKEN=$MODELBAY_TOKEN"
    note "  $BIN/modelbay search iris"
    read -r -p "    Press Enter to stop the platform and the model. " _ || true
  fi
  echo
  echo "Next: run \`modelbay up\` for your own platform (it keeps its data), then push your model" \
    "with \`Session().push(model, 'name')\` (docs/sdk.md) and share it with \`modelbay publish\`."
}

main() {
  check_prerequisites
  start_platform
  push_fig2
  follow_pipeline
  run_model
  call_model
  next_steps
}

main "$@"
