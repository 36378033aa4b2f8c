# Shared helpers for scripts/services-up.sh, scripts/services-down.sh and scripts/services/*.sh.
# Sourced, never executed. Everything the scripts create lives under var/ (git-ignored).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VAR_DIR="$ROOT/var"
RUN_DIR="$VAR_DIR/run"  # pid files and "we started it" markers, read by services-down.sh
LOG_DIR="$VAR_DIR/log"
DOCKER="/usr/bin/docker" # Debian's client, same version as the engine, with BuildKit
mkdir -p "$RUN_DIR" "$LOG_DIR"

say() { printf '==> %s\n' "$*"; }

fail() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# wait_until NAME TIMEOUT_SECONDS HINT COMMAND...
# Polls COMMAND until it succeeds; on timeout names the service and what to check.
wait_until() {
  local name=$1 timeout=$2 hint=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      fail "$name did not become ready within ${timeout}s. Check: $hint"
    fi
    sleep 0.5
  done
}

# start_detached NAME LOGFILE COMMAND...
# setsid + nohup so the daemon outlives `make` and the caller's terminal; without job control
# setsid and nohup exec in place, so $! is the daemon's own pid, which services-down.sh signals.
start_detached() {
  local name=$1 log=$2
  shift 2
  setsid nohup "$@" >>"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/$name.pid"
}

# pid_of NAME: the pid recorded by start_detached if that process is still alive, else nothing.
pid_of() {
  local file="$RUN_DIR/$1.pid"
  [[ -f $file ]] || return 1
  local pid
  pid=$(<"$file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

mark_started() { touch "$RUN_DIR/$1.started"; }

http_ok() { curl -fs -o /dev/null --max-time 2 "$1"; }

# hold_lock NAME TIMEOUT_SECONDS: serialise with other runs (several engineers and `make test`
# call services-up at the same time; two debootstraps into one directory destroy each other).
# The lock is released when the calling script exits (fd 9 closes); every daemon is started with
# fd 9 closed (`9>&-`), or it would hold the lock for as long as it runs.
hold_lock() {
  local name=$1 timeout=$2
  exec 9>"$RUN_DIR/$name.lock"
  if ! flock -n 9; then
    say "waiting for another $name run to finish (lock: var/run/$name.lock)"
    flock -w "$timeout" 9 || fail "another $name run still holds var/run/$name.lock after ${timeout}s"
  fi
}
