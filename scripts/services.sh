#!/usr/bin/env bash
# Make sure the services the test suite talks to are up: PostgreSQL on 127.0.0.1:5432 with
# trust auth and a database `test`, Redis on 127.0.0.1:6379 and RabbitMQ on 127.0.0.1:5672
# (guest/guest). This machine kind starts them before the session; on a machine without them
# we install Debian's packages and start them with the same commands.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

start_postgres() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || return 1
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
}

install_postgres() {
  echo "services: installing PostgreSQL from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  local version hba
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # tests connect as postgres over TCP without a password, like this machine kind is set up
  sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/' "$hba"
  sed -i -E 's/^(host\s+all\s+all\s+::1\/128\s+)\S+/\1trust/' "$hba"
}

if ! pg_up; then
  start_postgres || { install_postgres && start_postgres; }
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "services: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname='test'" \
  | grep -q 1 || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test" >/dev/null
echo "services: PostgreSQL ready on 127.0.0.1:5432"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_redis() {
  port_open 6379 && return 0
  command -v redis-server >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  }
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do port_open 6379 && return 0; sleep 1; done
  echo "services: Redis did not come up on 127.0.0.1:6379" >&2; return 1
}

ensure_rabbitmq() {
  port_open 5672 && return 0
  command -v rabbitmq-server >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  }
  rabbitmq-server -detached || true
  for _ in $(seq 1 90); do port_open 5672 && return 0; sleep 1; done
  echo "services: RabbitMQ did not come up on 127.0.0.1:5672" >&2; return 1
}

ensure_redis && echo "services: Redis ready on 127.0.0.1:6379"
ensure_rabbitmq && echo "services: RabbitMQ ready on 127.0.0.1:5672"

# tools the deployment tests call: pg_dump/pg_restore (tests/test_backup.py, PostgreSQL's
# client package) and systemd-analyze (tests/test_deploy_files.py checks the unit files)
ensure_tool() {  # ensure_tool COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null && return 0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
ensure_tool pg_dump postgresql-client && ensure_tool pg_restore postgresql-client
ensure_tool systemd-analyze systemd && echo "services: pg_dump, pg_restore, systemd-analyze ready"
