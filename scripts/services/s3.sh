#!/usr/bin/env bash
# S3 on 127.0.0.1:9000: moto's server (MinIO cannot be had on these machines; docker-compose uses
# MinIO) with authentication on, an IAM user whose key the platform uses, and bucket `modelbay`.
# The key lands in var/run/s3.env, which services-up.sh copies into var/services.env.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

HOST=127.0.0.1
PORT=9000
BUCKET=modelbay
LOG="$LOG_DIR/moto.log"
PYTHON="$ROOT/.venv/bin/python"

# moto's own dashboard path: proves it is moto on the port, not some other server.
moto_answers() { http_ok "http://$HOST:$PORT/moto-api/"; }

start_moto() {
  [[ -x $PYTHON ]] || fail "S3 (moto): $PYTHON is missing; run \`make setup\`"
  if curl -s -o /dev/null --max-time 2 "http://$HOST:$PORT/"; then
    fail "S3 (moto): $HOST:$PORT is taken by something that is not moto (check: ss -ltnp | grep $PORT)"
  fi
  say "starting moto S3 server on $HOST:$PORT (log: $LOG)"
  # moto's own server app behind a gate that makes presigned URLs work with auth on;
  # INITIAL_NO_AUTH_ACTION_COUNT=0: signatures are checked from the very first request.
  INITIAL_NO_AUTH_ACTION_COUNT=0 start_detached moto "$LOG" \
    "$PYTHON" "$ROOT/scripts/services/moto_s3_server.py" "$HOST" "$PORT"
}

main() {
  moto_answers || start_moto
  wait_until "S3 (moto)" 30 "$LOG and curl http://$HOST:$PORT/moto-api/" moto_answers
  "$PYTHON" "$ROOT/scripts/services/s3_provision.py" "$HOST:$PORT" "$BUCKET" "$RUN_DIR/s3.env" ||
    fail "S3 (moto): provisioning the access key and bucket failed; see $LOG"
  say "S3 (moto) ready at $HOST:$PORT (bucket $BUCKET, auth on)"
}

main "$@"
