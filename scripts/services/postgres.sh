#!/usr/bin/env bash
# PostgreSQL 15 (Debian's cluster 15/main) on 127.0.0.1:5432, with role and database `modelbay`
# (password `modelbay`, CREATEDB so tests can make throw-away databases) and one schema per
# service. Idempotent: an already running cluster is used as is and left running by services-down.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

VERSION=15
CLUSTER=main
HOST=127.0.0.1
PORT=5432
SCHEMAS=(onboarding catalog builder gateway)
PG_LOG="/var/log/postgresql/postgresql-$VERSION-$CLUSTER.log"

cluster_running() { pg_ctlcluster "$VERSION" "$CLUSTER" status >/dev/null 2>&1; }

# The federation e2e test runs two whole stacks (eight service processes, each with a pool of up
# to 15 connections) beside the test's own clients: Debian's default of 100 is too tight. A
# running cluster learns it at its next start; `make services-up` never restarts it for this.
MAX_CONNECTIONS=300
set_max_connections() {
  local dir="/etc/postgresql/$VERSION/$CLUSTER"
  [ -d "$dir" ] || return 0  # no cluster yet: start_cluster calls this again once it exists
  mkdir -p "$dir/conf.d"
  echo "max_connections = $MAX_CONNECTIONS" >"$dir/conf.d/modelbay.conf"
}

start_cluster() {
  if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$VERSION/$CLUSTER"; then
    say "creating PostgreSQL cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >/dev/null
  fi
  set_max_connections
  say "starting PostgreSQL $VERSION/$CLUSTER"
  # Another engineer's run may start it at the same moment: a lost race is fine.
  if ! pg_ctlcluster "$VERSION" "$CLUSTER" start 9>&- && ! cluster_running; then
    fail "PostgreSQL $VERSION/$CLUSTER did not start. Check: $PG_LOG"
  fi
  mark_started postgres
}

provision() {
  # Runs as the postgres superuser over the local socket (peer auth); every statement is
  # idempotent so re-running is harmless.
  PGOPTIONS="-c client_min_messages=warning" runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'modelbay') THEN
    CREATE ROLE modelbay LOGIN CREATEDB PASSWORD 'modelbay';
  END IF;
END
$$;
-- Tests drop their throw-away databases WITH (FORCE); an autovacuum worker busy in one can only
-- be terminated by a member of pg_signal_backend.
GRANT pg_signal_backend TO modelbay;
SELECT 'CREATE DATABASE modelbay OWNER modelbay'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'modelbay')\gexec
SQL
  local sql="" schema
  for schema in "${SCHEMAS[@]}"; do
    sql+="CREATE SCHEMA IF NOT EXISTS $schema AUTHORIZATION modelbay; ALTER SCHEMA $schema OWNER TO modelbay;"
  done
  PGOPTIONS="-c client_min_messages=warning" runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d modelbay -c "$sql"
}

# A TCP login as modelbay proves role, password, database, schemas, listen address and the
# pg_signal_backend grant in one go.
login_works() {
  PGPASSWORD=modelbay PGCONNECT_TIMEOUT=3 psql -X -q -h "$HOST" -p "$PORT" -U modelbay -d modelbay \
    -tAc "SELECT count(*) + pg_has_role('pg_signal_backend', 'MEMBER')::int FROM pg_namespace
          WHERE nspname IN ('onboarding','catalog','builder','gateway')" \
    2>/dev/null | grep -qx 5
}

main() {
  set_max_connections
  cluster_running || start_cluster
  wait_until PostgreSQL 30 "$PG_LOG (pg_lsclusters shows the cluster state)" \
    pg_isready -q -h "$HOST" -p "$PORT"
  login_works || provision
  login_works || fail "PostgreSQL is up but login as modelbay@$HOST:$PORT/modelbay fails. Check pg_hba.conf and $PG_LOG"
  say "PostgreSQL ready at $HOST:$PORT (database modelbay)"
}

main "$@"
