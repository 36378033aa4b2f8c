#!/bin/sh
# The upstream image's contract as docker-compose.yml uses it: RABBITMQ_DEFAULT_USER/PASS is the
# account created on first start, reachable from other containers (not loopback only).
set -eu
: "${RABBITMQ_DEFAULT_USER:=guest}" "${RABBITMQ_DEFAULT_PASS:=guest}"
umask 077
cat >/etc/rabbitmq/conf.d/10-compose.conf <<CONF
listeners.tcp.default = 5672
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
loopback_users = none
CONF
exec /usr/lib/rabbitmq/bin/rabbitmq-server
