#!/usr/bin/env bash
# The serving benchmark in one command (issue 5): one venv per server, the iris models exported
# in each server's native format, every server measured in the same run with wrk, and the
# results written to bench/serve/results/latest.json and docs/benchmarks.md (serve section).
#
#   bash bench/serve/run.sh
#
# Environment (all optional):
#   BENCH_PEERS     comma list of modelbay,modelbay-auto,modelbay-threads,modelbay-asgi,mlflow,bentoml,
#                   bentoml-batch,mlserver,mlserver-batch,fastapi,fastapi-async (default: all but
#                   modelbay-asgi, the hot path switched off, which only ceiling.py compares;
#                   `-auto`, `-threads`, `-batch` and `-async` are the issue-14 configurations,
#                   peers.py + peers_configured.py). A
#                   subset is a development run: it writes to bench/serve/work/, not the docs.
#   BENCH_MODELS    rf,logreg (default both)
#   BENCH_DURATION  seconds per measured cell (default 12); BENCH_WARMUP (default 2)
#   BENCH_PYTHON    interpreter request for `uv venv` (default 3.11)
set -euo pipefail

# The header above is the help: `--help` prints it; any other argument is a mistake (the
# benchmark is configured by the environment, and a stray argument used to start a full run).
if [[ $# -gt 0 ]]; then
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
  case "$1" in
    -h|--help) exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (the benchmark takes its options from the environment above)" >&2; exit 2 ;;
  esac
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
UV="$ROOT/.tools/bin/uv"
VENVS="$HERE/.venvs"
WORK="$HERE/work"
REQS="$HERE/requirements"
ALL_PEERS="modelbay,modelbay-auto,modelbay-threads,mlflow,bentoml,bentoml-batch,mlserver,mlserver-batch,fastapi,fastapi-async"
PEERS="${BENCH_PEERS:-$ALL_PEERS}"
MODELS="${BENCH_MODELS:-rf,logreg}"
PY_SPEC="${BENCH_PYTHON:-3.11}"
if [[ $PEERS == "$ALL_PEERS" ]]; then
  RESULTS="$HERE/results/latest.json"
  DOC="$ROOT/docs/benchmarks.md"
else
  RESULTS="$WORK/results-partial.json"
  DOC="$WORK/benchmarks-preview.md"
fi
MODEL_ARGS=(${MODELS//,/ })
CHILD=""

# Servers run in their own process groups; the harness lists them in work/live-pgids while
# they live. Whatever way this script ends, none of them may outlive it.
kill_leftover_servers() {
  [[ -f $WORK/live-pgids ]] || return 0
  while read -r pgid; do
    [[ -n $pgid ]] && kill -KILL -- "-$pgid" 2>/dev/null || true
  done <"$WORK/live-pgids"
  rm -f "$WORK/live-pgids"
}
on_signal() {
  # Let the harness stop its servers itself first (it turns SIGTERM into cleanup).
  if [[ -n $CHILD ]]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" || true; fi
  exit 130
}
trap kill_leftover_servers EXIT
trap on_signal INT TERM

# Run in the background and wait, so a signal reaches our trap while the step runs.
run_step() {
  "$@" &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

wants() { [[ ",$PEERS," == *",$1,"* ]]; }

# Bytecode is compiled at install time, as a production image would ship it: without it every
# server start compiles its imports from source (and this machine sets PYTHONDONTWRITEBYTECODE,
# so nothing would ever be cached), which inflates every cold start by seconds.
INSTALL_FLAGS=(--quiet --compile-bytecode)

# A venv is rebuilt only when its lock file or install flags changed (a hash is stamped inside).
venv_from_lock() {
  local name=$1 lock=$2 venv="$VENVS/$1" want
  want="$({ cat "$lock"; echo "${INSTALL_FLAGS[*]}"; } | sha256sum | cut -d' ' -f1)"
  if [[ -x $venv/bin/python && "$(cat "$venv/.bench-stamp" 2>/dev/null)" == "$want" ]]; then
    echo "==> venv $name: up to date"
    return 0
  fi
  echo "==> venv $name: installing $(basename "$lock")"
  rm -rf "$venv"
  "$UV" venv --quiet --python "$PY_SPEC" --python-preference only-system "$venv"
  "$UV" pip install "${INSTALL_FLAGS[@]}" --python "$venv/bin/python" -r "$lock"
  echo "$want" >"$venv/.bench-stamp"
}

# Modelbay comes from the workspace and changes under us, so its packages are always
# reinstalled on top of the shared model stack (common.txt). Two venvs: `modelbay-sdk` only
# runs modelbay.dump; `modelbay` holds what a model image holds (runtime + model stack, no
# SDK), so the run also proves a bundle loads without the SDK.
modelbay_venvs() {
  venv_from_lock modelbay-sdk "$REQS/common.txt"
  venv_from_lock modelbay "$REQS/common.txt"
  echo "==> venv modelbay(-sdk): installing libs/runtime[server] and libs/sdk from the workspace"
  "$UV" pip install "${INSTALL_FLAGS[@]}" --python "$VENVS/modelbay-sdk/bin/python" -c "$REQS/common.txt" \
    --reinstall-package modelbay --reinstall-package modelbay-runtime \
    "$ROOT/libs/runtime" "$ROOT/libs/sdk"
  "$UV" pip install "${INSTALL_FLAGS[@]}" --python "$VENVS/modelbay/bin/python" -c "$REQS/common.txt" \
    --reinstall-package modelbay-runtime "$ROOT/libs/runtime[server]"
}

export_modelbay() {
  rm -f "$WORK/modelbay.pending"
  local rc=0 out
  out="$("$VENVS/modelbay-sdk/bin/python" "$HERE/peers/export_modelbay.py" "$WORK" \
    "${MODEL_ARGS[@]}" 2>&1)" || rc=$?
  echo "$out"
  if ((rc == 3)); then
    echo "$out" | tail -n 1 >"$WORK/modelbay.pending"
  elif ((rc != 0)); then
    echo "modelbay.dump failed: $(echo "$out" | tail -n 1)" >"$WORK/modelbay.pending"
  elif ! "$VENVS/modelbay/bin/python" -c \
    'import importlib.util, sys; sys.exit(importlib.util.find_spec("modelbay_runtime.__main__") is None)'; then
    echo "modelbay_runtime has no __main__ (\`python -m modelbay_runtime serve\` not landed)" \
      >"$WORK/modelbay.pending"
  fi
}

main() {
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  mkdir -p "$VENVS" "$WORK"
  kill_leftover_servers

  # The floor venv also trains the models and runs the (stdlib-only) harness.
  venv_from_lock fastapi "$REQS/fastapi.txt"
  wants mlflow && venv_from_lock mlflow "$REQS/mlflow.txt"
  wants bentoml && venv_from_lock bentoml "$REQS/bentoml.txt"
  wants mlserver && venv_from_lock mlserver "$REQS/mlserver.txt"
  wants modelbay && modelbay_venvs

  echo "==> training and exporting models: ${MODEL_ARGS[*]}"
  "$VENVS/fastapi/bin/python" "$HERE/peers/train_models.py" "$WORK"
  wants mlflow && "$VENVS/mlflow/bin/python" "$HERE/peers/export_mlflow.py" "$WORK" "${MODEL_ARGS[@]}"
  if wants bentoml; then
    rm -rf "$WORK/bentoml_home/models"  # one stored version per model, not one per run
    BENTOML_HOME="$WORK/bentoml_home" BENTOML_DO_NOT_TRACK=true \
      "$VENVS/bentoml/bin/python" "$HERE/peers/export_bentoml.py" "$WORK" "${MODEL_ARGS[@]}"
  fi
  wants mlserver && "$VENVS/mlserver/bin/python" "$HERE/peers/export_mlserver.py" "$WORK" "${MODEL_ARGS[@]}"
  wants modelbay && export_modelbay

  echo "==> measuring (each cell ${BENCH_DURATION:-12} s after ${BENCH_WARMUP:-2} s warm-up)"
  cd "$HERE"  # `python -m servebench` finds the harness here; no PYTHONPATH leaks into servers
  run_step "$VENVS/fastapi/bin/python" -m servebench run --here "$HERE" --work "$WORK" \
    --venvs "$VENVS" --out "$RESULTS" --peers "$PEERS" --models "$MODELS" \
    --duration "${BENCH_DURATION:-12}" --warmup "${BENCH_WARMUP:-2}"
  "$VENVS/fastapi/bin/python" -m servebench report --results "$RESULTS" --doc "$DOC"
}

main "$@"
