#!/usr/bin/env bash
# RabbitMQ (Debian rabbitmq-server) on 127.0.0.1:5672 with user modelbay/modelbay, administrator
# on vhost "/". A broker that already answers is used as is and left running by services-down.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

USER_NAME=modelbay
PASSWORD=modelbay
LOGS=/var/log/rabbitmq

broker_running() { rabbitmq-diagnostics -q ping >/dev/null 2>&1; }

start_broker() {
  command -v rabbitmq-server >/dev/null || fail "RabbitMQ: rabbitmq-server is missing; run \`make setup\`"
  say "starting rabbitmq-server"
  # Loopback only, for AMQP and for Erlang distribution (rabbitmqctl): nothing outside this
  # machine should reach the broker. The Debian wrapper `su`s to rabbitmq and keeps these.
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
    rabbitmq-server -detached >/dev/null 2>&1 9>&- ||
    broker_running || fail "RabbitMQ did not start. Check: $LOGS/"
  mark_started rabbitmq
}

provision_user() {
  say "RabbitMQ: creating user $USER_NAME"
  rabbitmqctl -q add_user "$USER_NAME" "$PASSWORD" >/dev/null 2>&1 ||
    rabbitmqctl -q change_password "$USER_NAME" "$PASSWORD" >/dev/null
  rabbitmqctl -q set_user_tags "$USER_NAME" administrator >/dev/null
  rabbitmqctl -q set_permissions -p / "$USER_NAME" ".*" ".*" ".*" >/dev/null
}

# The password check alone does not prove the vhost permissions, so both are looked at.
user_ready() {
  rabbitmqctl -q authenticate_user "$USER_NAME" "$PASSWORD" >/dev/null 2>&1 &&
    rabbitmqctl -q list_user_permissions "$USER_NAME" 2>/dev/null | grep -q '^/'
}

main() {
  broker_running || start_broker
  # The node answers ping before its AMQP listener is up; wait for the port itself.
  wait_until RabbitMQ 90 "$LOGS/ and \`rabbitmq-diagnostics status\`" \
    rabbitmq-diagnostics -q check_port_connectivity
  user_ready || provision_user
  user_ready || fail "RabbitMQ is up but user $USER_NAME cannot log in to vhost /. Check \`rabbitmqctl list_users\`"
  say "RabbitMQ ready at 127.0.0.1:5672 (user $USER_NAME)"
}

main "$@"
