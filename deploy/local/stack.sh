#!/usr/bin/env bash
# The local agentgate stack on 127.0.0.1: target PostgreSQL, ClickHouse, Kafka (KRaft),
# Apicurio Registry, then the agentgate services.
#
#   stack.sh start [--ingress N] [--processors N] [component...]
#                                   bootstrap if needed, start what is not running
#   stack.sh stop  [component...]   stop by pid, leave no process or port behind
#   stack.sh status                 one line per component
#   stack.sh test                   bootstrap, start if needed, run every test tier
#   stack.sh env <instance>         the environment a service instance runs with, NAME=VALUE a line
#
# Components: postgres clickhouse kafka registry sshd-target dev-idp policy-processor projector checkpointer approval-service
# audit-api ingress-postgres ingress-ssh ingress-http,
# and the extra instances ingress-postgres-N and policy-processor-N (N = 2..9, see "extra instances").
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INFRA=(postgres clickhouse kafka registry sshd-target)
SERVICES=(dev-idp policy-processor projector checkpointer approval-service audit-api ingress-postgres ingress-ssh ingress-http)
ALL=("${INFRA[@]}" "${SERVICES[@]}")

# ---------------------------------------------------------------- PostgreSQL (target)

PG_DATA="$DATA_DIR/postgres"
PG_USER_OS=""

pg_os_user() {
  # initdb refuses to run as root; as root the cluster belongs to Debian's `postgres` user.
  if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_data_dir() {
  # The postgres user must be able to reach the data directory; when the checkout lives
  # somewhere it cannot traverse (e.g. under /root), keep the cluster in /var/lib and link it.
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$DATA_DIR" 2>/dev/null; then
    local key; key=$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-12)
    local alt="/var/lib/agentgate/$key/postgres"
    mkdir -p "$alt"; chown postgres "$alt" "$(dirname "$alt")"
    [ -L "$PG_DATA" ] || { rm -rf "$PG_DATA"; ln -s "$alt" "$PG_DATA"; }
    echo "$alt"
    return
  fi
  echo "$PG_DATA"
}

# A random secret file of the stack (mode 600), created once.
ensure_secret() {
  mkdir -p "$SECRETS_DIR" && chmod 700 "$SECRETS_DIR"
  [ -s "$SECRETS_DIR/$1" ] || { openssl rand -hex 24 > "$SECRETS_DIR/$1"; chmod 600 "$SECRETS_DIR/$1"; }
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$AG_TARGET_PG_PORT"; }

admin_psql() {
  PGPASSWORD="$(cat "$SECRETS_DIR/target-admin-password")" psql -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$AG_TARGET_PG_PORT" -U agentgate_admin "$@"
}

start_postgres() {
  mkdir -p "$DATA_DIR" "$SECRETS_DIR" "$RUN_DIR" "$LOG_DIR"
  chmod 755 "$STACK_DIR" "$DATA_DIR" "$RUN_DIR" "$LOG_DIR"
  chmod 700 "$SECRETS_DIR"
  local data; data=$(pg_data_dir)
  # The admin's password, one per target role the gateway logs in as (roles.sql), and the key
  # the ingress tokenizes masked values with (deploy/connections.json, maskingKeys).
  for s in target-admin-password target-demo-rw-password target-demo-ro-password target-scratch-password masking-key; do
    ensure_secret "$s"
  done
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising the target PostgreSQL cluster"
    mkdir -p "$data"; [ "$(id -u)" = 0 ] && chown postgres "$data"
    local pwfile; pwfile=$(mktemp); cp "$SECRETS_DIR/target-admin-password" "$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    as_pg "$PG_BIN/initdb" -D "$data" -U agentgate_admin --pwfile="$pwfile" \
      --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$LOG_DIR/postgres-initdb.log" 2>&1 \
      || { rm -f "$pwfile"; die "initdb failed, see $LOG_DIR/postgres-initdb.log"; }
    rm -f "$pwfile"
    cat >> "$data/postgresql.conf" <<EOF
# agentgate local target
listen_addresses = '127.0.0.1'
port = ${AG_TARGET_PG_PORT}
unix_socket_directories = ''
password_encryption = 'scram-sha-256'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
max_connections = 700
fsync = on
EOF
  fi
  # The gateway's roles only over TLS and each only to its own database; the stack's own admin
  # scripts may use either. Rewritten on every start, so an older cluster gets the new rules.
  printf '%s\n' \
    'hostssl demo    agentgate_demo_rw,agentgate_demo_ro                   127.0.0.1/32 scram-sha-256' \
    'hostssl scratch agentgate_scratch                                     127.0.0.1/32 scram-sha-256' \
    'host    all     agentgate_demo_rw,agentgate_demo_ro,agentgate_scratch all          reject' \
    'host    all     all                                                   127.0.0.1/32 scram-sha-256' > "$data/pg_hba.conf"
  # TLS with a certificate from the local CA, so the gateway can verify the target (verify-full).
  ensure_tls
  if ! cmp -s "$TLS_DIR/server.crt" "$data/server.crt" 2>/dev/null; then
    cp "$TLS_DIR/server.crt" "$data/server.crt"; cp "$TLS_DIR/server.key" "$data/server.key"
    chmod 600 "$data/server.key"; [ "$(id -u)" = 0 ] && chown postgres "$data/server.crt" "$data/server.key"
  fi
  grep -q '^ssl = on' "$data/postgresql.conf" || printf "ssl = on\nssl_min_protocol_version = 'TLSv1.2'\n" >> "$data/postgresql.conf"
  # Connections are logged so tests can prove what never reached the target.
  grep -q '^log_connections = on' "$data/postgresql.conf" || printf "log_connections = on\nlog_line_prefix = '%%m [%%p] %%a '\n" >> "$data/postgresql.conf"
  if is_running postgres; then
    # Already up (perhaps seeded with an older layout): reload pg_hba.conf and seed, both idempotent.
    if pg_ready; then admin_psql -d postgres -c 'SELECT pg_reload_conf()' >/dev/null; seed_postgres; fi
    return 0
  fi
  require_free_port "$AG_TARGET_PG_PORT" "target PostgreSQL"
  # The server log must be writable by the postgres user; next to a relocated cluster it is,
  # and .stack/logs/postgres.log links to it.
  local pglog="$LOG_DIR/postgres.log"
  if [ -L "$PG_DATA" ]; then
    pglog="$(dirname "$(readlink "$PG_DATA")")/postgres.log"
    [ -L "$LOG_DIR/postgres.log" ] || { rm -f "$LOG_DIR/postgres.log"; ln -s "$pglog" "$LOG_DIR/postgres.log"; }
  fi
  touch "$pglog"; [ "$(id -u)" = 0 ] && chown postgres "$pglog"
  as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$pglog" -w -t 60 start >/dev/null \
    || die "target PostgreSQL did not start, see $LOG_DIR/postgres.log"
  head -1 "$data/postmaster.pid" > "$(pid_file postgres)"
  wait_for "target PostgreSQL" 30 pg_ready || die "target PostgreSQL is not ready"
  seed_postgres
}

seed_postgres() {
  # Roles, databases and database privileges (migrating the first layout, where one role owned
  # everything); then demo's data once, as its owner role; then the privileges inside each
  # database. Every step is idempotent. The passwords reach psql in its environment, not argv.
  AG_TARGET_DEMO_RW_PASSWORD="$(cat "$SECRETS_DIR/target-demo-rw-password")" \
    AG_TARGET_DEMO_RO_PASSWORD="$(cat "$SECRETS_DIR/target-demo-ro-password")" \
    AG_TARGET_SCRATCH_PASSWORD="$(cat "$SECRETS_DIR/target-scratch-password")" \
    admin_psql -d postgres -f "$DEPLOY_DIR/postgres/roles.sql" >/dev/null
  # The old shared role's password file goes with the role.
  rm -f "$SECRETS_DIR/target-password"
  if [ "$(admin_psql -d demo -tAc "select count(*) from pg_tables where tablename = 'customers'")" = 0 ]; then
    log "seeding the demo database"
    admin_psql -d demo -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
    admin_psql -d demo --single-transaction -f "$DEPLOY_DIR/postgres/seed-demo.sql" >/dev/null
  fi
  # Customer notes and the well-known test customer came later: brought up to date every start.
  admin_psql -d demo --single-transaction -f "$DEPLOY_DIR/postgres/seed-demo-notes.sql" >/dev/null
  admin_psql -d demo -f "$DEPLOY_DIR/postgres/grants-demo.sql" >/dev/null
  admin_psql -d scratch -f "$DEPLOY_DIR/postgres/grants-scratch.sql" >/dev/null
}

stop_postgres() {
  # The real path: the postgres user may not be able to traverse the checkout (see pg_data_dir).
  local data; data=$(readlink -f "$PG_DATA" 2>/dev/null || echo "$PG_DATA")
  if [ -f "$data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    log "postgres stopped"
  fi
  rm -f "$(pid_file postgres)"
}

# ---------------------------------------------------------------- OpenSSH (target of connection `web`)

SSHD_DIR="$DATA_DIR/sshd-target"
SSHD_TARGET_USER=agentgate-web

# The gateway's SSH keys, each created once (mode 600): the ingress's host key (agents pin it),
# the CA that signs agents' short-lived certificates (`agentgate ssh login`), and the vaulted key
# the gateway logs in to the target with. Agents never see the last two.
ensure_ssh_keys() {
  mkdir -p "$SECRETS_DIR" && chmod 700 "$SECRETS_DIR"
  [ -s "$SECRETS_DIR/ssh-host-ed25519.key" ] \
    || ssh-keygen -q -t ed25519 -N '' -C 'agentgate ssh ingress' -f "$SECRETS_DIR/ssh-host-ed25519.key" || die "could not create the SSH host key"
  [ -s "$SECRETS_DIR/ssh-ca.key" ] || (umask 077 && openssl genpkey -algorithm ed25519 -out "$SECRETS_DIR/ssh-ca.key") \
    || die "could not create the SSH CA key"
  [ -s "$SECRETS_DIR/ssh-target-web.key" ] \
    || ssh-keygen -q -t ed25519 -N '' -C 'agentgate -> web' -f "$SECRETS_DIR/ssh-target-web.key" || die "could not create the SSH target key"
  chmod 600 "$SECRETS_DIR"/ssh-*.key
}

# The target account, and the demo notes file whose well-known test values the masking checks look for.
ensure_target_account() {
  id -u "$SSHD_TARGET_USER" >/dev/null 2>&1 \
    || as_root useradd --create-home --shell /bin/bash "$SSHD_TARGET_USER" || die "could not create the target account $SSHD_TARGET_USER"
  # useradd leaves the account locked ("!"), which sshd without PAM refuses: "*" has no password and is not locked.
  as_root usermod -p '*' "$SSHD_TARGET_USER"
  local home; home=$(getent passwd "$SSHD_TARGET_USER" | cut -d: -f6)
  as_root install -o "$SSHD_TARGET_USER" -g "$SSHD_TARGET_USER" -m 644 "$DEPLOY_DIR/sshd/planted-notes.txt" "$home/notes.txt"
  # The home directory and its startup files belong to root: bash reads ~/.bashrc before every
  # command sshd runs, so an agent able to write them would run code no request names.
  as_root chown root:root "$home" "$home"/.bashrc "$home"/.profile "$home"/.bash_logout 2>/dev/null || true
  as_root chmod 755 "$home"
}

# The demo MCP servers' folders (deploy/connections.json: files, mcp-lab): the files server is
# confined to mcp-files, whose notes hold the well-known test values the masking checks look
# for; mcp-lab reads its tool's description from a file an operator (or a test) may change.
ensure_mcp_demo() {
  mkdir -p "$DATA_DIR/mcp-files" "$DATA_DIR/mcp-lab"
  install -m 644 "$ROOT_DIR/deploy/mcp/files/README.md" "$ROOT_DIR/deploy/mcp/files/deploy-notes.txt" "$DATA_DIR/mcp-files/"
  [ -s "$DATA_DIR/mcp-lab/description.txt" ] || echo 'Returns the demo note with the given id.' > "$DATA_DIR/mcp-lab/description.txt"
}

start_sshd_target() {
  is_running sshd-target && return 0
  require_free_port "$AG_TARGET_SSH_PORT" "SSH target"
  ensure_ssh_keys
  ensure_target_account
  mkdir -p "$SSHD_DIR/authorized_keys" "$RUN_DIR" "$LOG_DIR"
  [ -s "$SSHD_DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C 'agentgate demo target' -f "$SSHD_DIR/ssh_host_ed25519_key"
  # Only the gateway's key logs in, and only as the target account.
  cp "$SECRETS_DIR/ssh-target-web.key.pub" "$SSHD_DIR/authorized_keys/$SSHD_TARGET_USER"
  chmod 644 "$SSHD_DIR/authorized_keys/$SSHD_TARGET_USER"
  SSHD_DIR="$SSHD_DIR" SSHD_TARGET_USER="$SSHD_TARGET_USER" render "$DEPLOY_DIR/sshd/sshd_config.template" "$SSHD_DIR/sshd_config"
  # sshd's privilege separation directory (Debian's systemd unit makes it; nothing does here).
  as_root mkdir -p /run/sshd
  /usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" || die "the SSH target's config is invalid: $SSHD_DIR/sshd_config"
  # sshd re-executes itself: it must be started by its absolute path. -e logs to the log file.
  spawn sshd-target /usr/sbin/sshd -D -e -f "$SSHD_DIR/sshd_config"
  wait_for sshd-target 20 tcp_open "$AG_TARGET_SSH_PORT" || die "the SSH target did not start, see $LOG_DIR/sshd-target.log"
}

# The fingerprint agents pin for the SSH ingress (ssh-keygen -l).
ssh_host_fingerprint() {
  ssh-keygen -l -f "$SECRETS_DIR/ssh-host-ed25519.key.pub" 2>/dev/null | cut -d' ' -f2 || echo "(none yet)"
}

# ---------------------------------------------------------------- ClickHouse

CLICKHOUSE_DATA_DIR="$DATA_DIR/clickhouse"
CLICKHOUSE_CONF_DIR="$STACK_DIR/conf/clickhouse"

CLICKHOUSE_USERS=(admin projector reader retention)

clickhouse_password_file() { echo "$SECRETS_DIR/clickhouse-$1.password"; }

# The environment a ClickHouse client needs to act as <user> (`admin` is ClickHouse's `default`).
clickhouse_client_env() {
  local name=$1; [ "$name" = admin ] && name=default
  echo "AG_CLICKHOUSE_USER=$name AG_CLICKHOUSE_PASSWORD_FILE=$(clickhouse_password_file "$1")"
}

clickhouse_ready() { curl -sf -m 2 -o /dev/null "http://127.0.0.1:${AG_CLICKHOUSE_HTTP_PORT}/ping"; }

# Runs one statement as the administrator; the password goes to curl on stdin, not argv.
clickhouse_admin_query() {
  printf 'user = "default:%s"\n' "$(cat "$(clickhouse_password_file admin)")" |
    curl -sf -m 5 -K - "http://127.0.0.1:${AG_CLICKHOUSE_HTTP_PORT}/" --data-binary "$1"
}

ensure_clickhouse_secrets() {
  mkdir -p "$SECRETS_DIR" && chmod 700 "$SECRETS_DIR"
  local u f; for u in "${CLICKHOUSE_USERS[@]}"; do
    f=$(clickhouse_password_file "$u")
    [ -s "$f" ] || { openssl rand -hex 24 > "$f"; chmod 600 "$f"; }
  done
}

# users.xml with the SHA-256 of each generated password; $1 = the <networks> a login may come from.
render_clickhouse_users() {
  sha() { printf '%s' "$(cat "$(clickhouse_password_file "$1")")" | sha256sum | cut -d' ' -f1; }
  CLICKHOUSE_NETWORKS=$1 CLICKHOUSE_ADMIN_SHA256=$(sha admin) CLICKHOUSE_PROJECTOR_SHA256=$(sha projector) \
    CLICKHOUSE_READER_SHA256=$(sha reader) CLICKHOUSE_RETENTION_SHA256=$(sha retention) \
    render "$DEPLOY_DIR/clickhouse/users.xml.template" "$2"
  chmod 644 "$2"
}

start_clickhouse() {
  is_running clickhouse && return 0
  require_free_port "$AG_CLICKHOUSE_HTTP_PORT" "ClickHouse HTTP"
  require_free_port "$AG_CLICKHOUSE_TCP_PORT" "ClickHouse native"
  mkdir -p "$CLICKHOUSE_DATA_DIR"/{tmp,user_files,format_schemas} "$CLICKHOUSE_CONF_DIR" "$SECRETS_DIR"
  chmod 700 "$CLICKHOUSE_CONF_DIR" "$SECRETS_DIR"
  ensure_clickhouse_secrets
  export STACK_DIR CLICKHOUSE_DATA_DIR CLICKHOUSE_CONF_DIR
  render "$DEPLOY_DIR/clickhouse/config.xml.template" "$CLICKHOUSE_CONF_DIR/config.xml"
  render_clickhouse_users '<ip>::1</ip><ip>127.0.0.1</ip>' "$CLICKHOUSE_CONF_DIR/users.xml"
  local bin; bin=$(command -v clickhouse-server)
  spawn clickhouse "$bin" --config-file="$CLICKHOUSE_CONF_DIR/config.xml"
  wait_for "ClickHouse" 180 clickhouse_ready || die "ClickHouse did not become ready, see $LOG_DIR/clickhouse*.log"
  clickhouse_admin_query 'CREATE DATABASE IF NOT EXISTS agentgate' >/dev/null \
    || die "could not create the ClickHouse database agentgate"
}

# ---------------------------------------------------------------- Kafka (KRaft)

KAFKA_DATA_DIR="$DATA_DIR/kafka"
KAFKA_CONF_DIR="$STACK_DIR/conf/kafka"

# One JVM command line for the storage tool and the broker.
KAFKA_JVM=(java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$DEPLOY_DIR/kafka/log4j.properties" -cp "$KAFKA_LIBS/*")

kafka_java() { "${KAFKA_JVM[@]}" "$@"; }

# SCRAM users: the broker itself, the stack's admin (super user; setup and tests), one per
# service, and `operator` for administrators' tools. `controller` is a PLAIN credential of
# the controller listener and lives only in server.properties.
KAFKA_SCRAM_USERS=(broker admin ingress-postgres ingress-ssh ingress-http policy-processor projector approval-service checkpointer audit-api operator)

kafka_password_file() { echo "$SECRETS_DIR/kafka-$1.password"; }

# The environment a Kafka client needs to act as <user> (services, tests, setup).
kafka_client_env() {
  echo "AG_KAFKA_USERNAME=$1 AG_KAFKA_PASSWORD_FILE=$(kafka_password_file "$1") AG_KAFKA_CA_FILE=$TLS_DIR/ca.crt"
}

kafka_ready() {
  # Ready when the broker answers API requests as the admin, not merely when the port is open.
  env $(kafka_client_env admin) node "$ROOT_DIR/scripts/kafka-ready.mjs" "127.0.0.1:${AG_KAFKA_PORT}"
}

ensure_kafka_secrets() {
  mkdir -p "$SECRETS_DIR" && chmod 700 "$SECRETS_DIR"
  local u f; for u in "${KAFKA_SCRAM_USERS[@]}" controller; do
    f=$(kafka_password_file "$u")
    [ -s "$f" ] || { openssl rand -hex 24 > "$f"; chmod 600 "$f"; }
  done
}

# The broker's certificate, from the local CA, with its key in PKCS#8 next to it (Kafka's PEM keystore).
ensure_kafka_tls() {
  ensure_tls
  [ -s "$TLS_DIR/kafka.pem" ] && return 0
  openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$TLS_DIR/kafka.key"
  openssl req -new -key "$TLS_DIR/kafka.key" -subj "/CN=localhost" -out "$TLS_DIR/kafka.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,DNS:kafka,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' > "$TLS_DIR/kafka.ext"
  openssl x509 -req -in "$TLS_DIR/kafka.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$TLS_DIR/kafka.ext" -out "$TLS_DIR/kafka.crt" 2>/dev/null || die "could not create the Kafka certificate"
  cat "$TLS_DIR/kafka.key" "$TLS_DIR/kafka.crt" > "$TLS_DIR/kafka.pem"
  chmod 600 "$TLS_DIR/kafka.key" "$TLS_DIR/kafka.pem"
}

format_kafka() {
  log "formatting Kafka storage (KRaft, SCRAM users: ${KAFKA_SCRAM_USERS[*]})"
  local cluster_id u scram=(); cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid)
  for u in "${KAFKA_SCRAM_USERS[@]}"; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(cat "$(kafka_password_file "$u")")]")
  done
  kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_CONF_DIR/server.properties" "${scram[@]}" \
    >"$LOG_DIR/kafka-format.log" 2>&1 || die "Kafka storage format failed, see $LOG_DIR/kafka-format.log"
  printf '%s\n' "${KAFKA_SCRAM_USERS[@]}" > "$KAFKA_DATA_DIR/agentgate-scram-users"
}

# SCRAM users added to the stack after its storage was formatted are created through the broker.
add_missing_kafka_users() {
  local u props
  for u in "${KAFKA_SCRAM_USERS[@]}"; do
    grep -qx "$u" "$KAFKA_DATA_DIR/agentgate-scram-users" && continue
    log "adding Kafka SCRAM user $u"
    props="$KAFKA_CONF_DIR/admin-client.properties"
    printf 'security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nssl.truststore.type=PEM\nssl.truststore.location=%s\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\n' \
      "$TLS_DIR/ca.crt" "$(cat "$(kafka_password_file admin)")" > "$props"
    chmod 600 "$props"
    kafka_java kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:${AG_KAFKA_PORT}" --command-config "$props" \
      --alter --entity-type users --entity-name "$u" --add-config "SCRAM-SHA-512=[password=$(cat "$(kafka_password_file "$u")")]" \
      >>"$LOG_DIR/kafka-setup.log" 2>&1 || die "could not add the Kafka user $u, see $LOG_DIR/kafka-setup.log"
    echo "$u" >> "$KAFKA_DATA_DIR/agentgate-scram-users"
  done
}

# Topics, ACLs and users as this checkout's code plans them (scripts/kafka-setup.mjs, libs/kafka
# acl-plan): run when Kafka starts, and when a running Kafka was set up by other code.
kafka_setup_stamp() {
  local f; for f in "$ROOT_DIR/libs/kafka/dist/acl-plan.js" "$ROOT_DIR/libs/events/dist/topics.js" "$ROOT_DIR/scripts/kafka-setup.mjs"; do
    [ -f "$f" ] && cat "$f"
  done | sha256sum | cut -c1-16
  printf '%s\n' "${KAFKA_SCRAM_USERS[@]}" | sha256sum | cut -c1-16
}

run_kafka_setup() {
  ensure_kafka_secrets
  add_missing_kafka_users
  env $(kafka_client_env admin) AG_KAFKA_BROKERS="127.0.0.1:${AG_KAFKA_PORT}" node "$ROOT_DIR/scripts/kafka-setup.mjs" \
    >>"$LOG_DIR/kafka-setup.log" 2>&1 || die "Kafka topics and ACLs could not be set up, see $LOG_DIR/kafka-setup.log"
  kafka_setup_stamp > "$KAFKA_DATA_DIR/agentgate-setup-stamp"
}

start_kafka() {
  if is_running kafka; then
    [ "$(cat "$KAFKA_DATA_DIR/agentgate-setup-stamp" 2>/dev/null)" = "$(kafka_setup_stamp)" ] || run_kafka_setup
    return 0
  fi
  require_free_port "$AG_KAFKA_PORT" "Kafka"
  require_free_port "$AG_KAFKA_CONTROLLER_PORT" "Kafka controller"
  mkdir -p "$KAFKA_DATA_DIR" "$KAFKA_CONF_DIR" && chmod 700 "$KAFKA_CONF_DIR"
  ensure_kafka_secrets
  ensure_kafka_tls
  KAFKA_BROKER_PASSWORD=$(cat "$(kafka_password_file broker)") KAFKA_CONTROLLER_PASSWORD=$(cat "$(kafka_password_file controller)") \
    KAFKA_DATA_DIR="$KAFKA_DATA_DIR" TLS_DIR="$TLS_DIR" \
    render "$DEPLOY_DIR/kafka/server.properties.template" "$KAFKA_CONF_DIR/server.properties"
  chmod 600 "$KAFKA_CONF_DIR/server.properties"
  if [ -f "$KAFKA_DATA_DIR/meta.properties" ] && [ ! -f "$KAFKA_DATA_DIR/agentgate-scram-users" ]; then
    # Storage from before the broker required authentication has no SCRAM users, and no
    # user can be added without one: start that development log afresh.
    log "Kafka storage predates SASL/ACLs: reformatting it (the local development log is discarded)"
    rm -rf "${KAFKA_DATA_DIR:?}"/*
  fi
  [ -f "$KAFKA_DATA_DIR/meta.properties" ] || format_kafka
  spawn kafka "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_CONF_DIR/server.properties"
  wait_for "Kafka" 90 kafka_ready || die "Kafka did not become ready, see $LOG_DIR/kafka.log"
  run_kafka_setup
}

# ---------------------------------------------------------------- Apicurio Registry

registry_ready() {
  curl -sf -m 2 "http://127.0.0.1:${AG_REGISTRY_PORT}/apis/ccompat/v7/subjects" >/dev/null
}

start_registry() {
  is_running registry && return 0
  require_free_port "$AG_REGISTRY_PORT" "Apicurio Registry"
  mkdir -p "$DATA_DIR/registry"
  # H2 in a file, so schema ids survive restarts along with the Kafka log that references them.
  spawn registry java -Xms128m -Xmx512m -XX:+UseG1GC \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$AG_REGISTRY_PORT" \
    -Dquarkus.management.enabled=false \
    -Dapicurio.datasource.url="jdbc:h2:file:$DATA_DIR/registry/registry;DB_CLOSE_ON_EXIT=FALSE" \
    -Dapicurio.storage.snapshot.location="$DATA_DIR/registry" \
    -jar "$APICURIO_HOME/apicurio-registry-app-${APICURIO_VERSION}-runner.jar"
  wait_for "Apicurio Registry" 120 registry_ready || die "Apicurio Registry did not become ready, see $LOG_DIR/registry.log"
}

# ---------------------------------------------------------------- local CA and certificates

TLS_DIR="$STACK_DIR/tls"

# A CA of the local stack's own and a server certificate for 127.0.0.1/localhost, so agents
# can use sslmode=verify-full with sslrootcert=.stack/tls/ca.crt.
ensure_tls() {
  [ -s "$TLS_DIR/server.crt" ] && [ -s "$TLS_DIR/server.key" ] && return 0
  log "creating the local CA and the ingress certificate"
  mkdir -p "$TLS_DIR" && chmod 700 "$TLS_DIR"
  openssl ecparam -name prime256v1 -genkey -noout -out "$TLS_DIR/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$TLS_DIR/ca.key" -sha256 -days 3650 -subj "/CN=agentgate local CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$TLS_DIR/ca.crt" 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out "$TLS_DIR/server.key" 2>/dev/null
  openssl req -new -key "$TLS_DIR/server.key" -subj "/CN=localhost" -out "$TLS_DIR/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' > "$TLS_DIR/server.ext"
  openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$TLS_DIR/server.ext" -out "$TLS_DIR/server.crt" 2>/dev/null || die "could not create the ingress certificate"
  chmod 600 "$TLS_DIR"/*.key
  chmod 644 "$TLS_DIR/ca.crt" "$TLS_DIR/server.crt"
  chmod 755 "$TLS_DIR"
}

# ---------------------------------------------------------------- agentgate services

write_service_env() {
  mkdir -p "$RUN_DIR"
  cat > "$RUN_DIR/stack.env" <<EOF
AG_KAFKA_BROKERS=127.0.0.1:${AG_KAFKA_PORT}
AG_REGISTRY_URL=http://127.0.0.1:${AG_REGISTRY_PORT}/apis/ccompat/v7
AG_CLICKHOUSE_URL=http://127.0.0.1:${AG_CLICKHOUSE_HTTP_PORT}
AG_CLICKHOUSE_DATABASE=agentgate
AG_PG_INGRESS_HOST=127.0.0.1
AG_PG_INGRESS_PORT=${AG_PG_INGRESS_PORT}
AG_TARGET_PG_HOST=127.0.0.1
AG_TARGET_PG_PORT=${AG_TARGET_PG_PORT}
AG_CONNECTIONS_FILE=${ROOT_DIR}/deploy/connections.json
AG_SECRETS_DIR=${SECRETS_DIR}
AG_STACK_DIR=${STACK_DIR}
AG_REPO_DIR=${ROOT_DIR}
AG_LOG_DIR=${LOG_DIR}
AG_INGRESS_POSTGRES_ADMIN_PORT=${AG_INGRESS_POSTGRES_ADMIN_PORT}
AG_POLICY_PROCESSOR_ADMIN_PORT=${AG_POLICY_PROCESSOR_ADMIN_PORT}
AG_PROJECTOR_ADMIN_PORT=${AG_PROJECTOR_ADMIN_PORT}
AG_APPROVAL_SERVICE_PORT=${AG_APPROVAL_SERVICE_PORT}
AG_APPROVAL_SERVICE_ADMIN_PORT=${AG_APPROVAL_SERVICE_ADMIN_PORT}
AG_CHECKPOINTER_ADMIN_PORT=${AG_CHECKPOINTER_ADMIN_PORT}
AG_AUDIT_API_PORT=${AG_AUDIT_API_PORT}
AG_AUDIT_API_ADMIN_PORT=${AG_AUDIT_API_ADMIN_PORT}
AG_SSH_INGRESS_HOST=127.0.0.1
AG_SSH_INGRESS_PORT=${AG_SSH_INGRESS_PORT}
AG_SSH_CERT_API_PORT=${AG_SSH_CERT_API_PORT}
AG_SSH_CERT_URL=http://127.0.0.1:${AG_SSH_CERT_API_PORT}
AG_INGRESS_SSH_ADMIN_PORT=${AG_INGRESS_SSH_ADMIN_PORT}
AG_SSH_HOST_KEY_FILE=${SECRETS_DIR}/ssh-host-ed25519.key
AG_SSH_CA_KEY_FILE=${SECRETS_DIR}/ssh-ca.key
AG_TARGET_SSH_PORT=${AG_TARGET_SSH_PORT}
AG_HTTP_INGRESS_HOST=127.0.0.1
AG_HTTP_INGRESS_PORT=${AG_HTTP_INGRESS_PORT}
AG_INGRESS_HTTP_ADMIN_PORT=${AG_INGRESS_HTTP_ADMIN_PORT}
AG_HTTP_TLS_CERT_FILE=${TLS_DIR}/server.crt
AG_HTTP_TLS_KEY_FILE=${TLS_DIR}/server.key
AG_CHECKPOINT_KEYS_FILE=${RUN_DIR}/checkpoint-keys.json
AG_PUBLIC_APPROVALS_URL=http://127.0.0.1:${AG_APPROVAL_SERVICE_PORT}
AG_APPROVAL_CHANNELS_FILE=${ROOT_DIR}/deploy/approval-channels.json
AG_IDENTITY_FILE=${ROOT_DIR}/deploy/identity.json
AG_DEV_IDP_HOST=127.0.0.1
AG_DEV_IDP_PORT=${AG_DEV_IDP_PORT}
AG_DEV_IDP_ISSUER=http://127.0.0.1:${AG_DEV_IDP_PORT}
AG_DEV_IDP_ADMIN_PORT=${AG_DEV_IDP_ADMIN_PORT}
AG_DEV_IDP_STATE_DIR=${DATA_DIR}/dev-idp
AG_DEV_IDP_CLIENTS_FILE=${SECRETS_DIR}/dev-idp-clients.json
AG_PG_TLS_CERT_FILE=${TLS_DIR}/server.crt
AG_PG_TLS_KEY_FILE=${TLS_DIR}/server.key
AG_TLS_CA_FILE=${TLS_DIR}/ca.crt
AG_KAFKA_CA_FILE=${TLS_DIR}/ca.crt
EOF
}

service_ready() { curl -sf -m 2 "http://127.0.0.1:$1/readyz" >/dev/null; }

# ---------------------------------------------------------------- extra instances
#
# Horizontal scale: `start --ingress N --processors N` adds ingress-postgres-2..N and
# policy-processor-2..N next to the first instance of each, which is unchanged. Node 20 has no
# SO_REUSEPORT, so every instance listens on ports of its own:
#   ingress-postgres-N   PostgreSQL AG_PG_INGRESS_PORT+N-1 (15433, ...), admin 15500+N (15502, ...)
#   policy-processor-N   admin 15510+N (15512, ...)
# An extra ingress has its own AG_INSTANCE_NAME (it names its verdict and control consumer
# groups: every ingress reads every verdict of its protocol and decodes only those addressed to it); extra
# processors join the first one's consumer group, which splits the ingress topic's partitions.
# Each runs as its service's Kafka principal and AG_SERVICE_NAME.
EXTRA_INGRESS_ADMIN_BASE=15500
EXTRA_PROCESSOR_ADMIN_BASE=15510
MAX_INSTANCES=9

# "<service> <n>" for an instance name: ingress-postgres-3 is "ingress-postgres 3", any other
# name (a first instance) is "<name> 1".
instance_parts() {
  if [[ $1 =~ ^(ingress-postgres|policy-processor)-([2-9])$ ]]; then echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
  else echo "$1 1"; fi
}

# The extra instances that have a pid file (running, or killed without a stop).
extra_instances() {
  local f; for f in "$RUN_DIR"/ingress-postgres-[2-9].pid "$RUN_DIR"/policy-processor-[2-9].pid; do
    [ -f "$f" ] && basename "$f" .pid
  done
  return 0
}

# The extra instances a start with these counts wants, processors first.
wanted_extras() {
  local processors=$1 ingress=$2 n
  for ((n = 2; n <= processors; n++)); do echo "policy-processor-$n"; done
  for ((n = 2; n <= ingress; n++)); do echo "ingress-postgres-$n"; done
}

# Ports of an instance: admin_port_of <instance>, pg_port_of <ingress instance>.
admin_port_of() {
  local service n; read -r service n < <(instance_parts "$1")
  case $service in
    ingress-postgres) if [ "$n" = 1 ]; then echo "$AG_INGRESS_POSTGRES_ADMIN_PORT"; else echo $((EXTRA_INGRESS_ADMIN_BASE + n)); fi ;;
    policy-processor) if [ "$n" = 1 ]; then echo "$AG_POLICY_PROCESSOR_ADMIN_PORT"; else echo $((EXTRA_PROCESSOR_ADMIN_BASE + n)); fi ;;
    projector) echo "$AG_PROJECTOR_ADMIN_PORT" ;;
    approval-service) echo "$AG_APPROVAL_SERVICE_ADMIN_PORT" ;;
    checkpointer) echo "$AG_CHECKPOINTER_ADMIN_PORT" ;;
    audit-api) echo "$AG_AUDIT_API_ADMIN_PORT" ;;
    ingress-ssh) echo "$AG_INGRESS_SSH_ADMIN_PORT" ;;
    ingress-http) echo "$AG_INGRESS_HTTP_ADMIN_PORT" ;;
    dev-idp) echo "$AG_DEV_IDP_ADMIN_PORT" ;;
  esac
}
pg_port_of() {
  local service n; read -r service n < <(instance_parts "$1")
  echo $((AG_PG_INGRESS_PORT + n - 1))
}

# The environment of one service instance, NAME=VALUE a line: the stack's (stack.env), the
# service's own Kafka principal (and the projector's ClickHouse login), and for an extra
# instance its ports and name. start_service runs with it; the e2e tests start instances of
# their own from it (test/support/instances.ts).
service_env() {
  local name=$1 service n
  read -r service n < <(instance_parts "$name")
  [ -f "$RUN_DIR/stack.env" ] || die "no $RUN_DIR/stack.env: start the stack first (npm start)"
  grep -v '^#' "$RUN_DIR/stack.env"
  # Each service acts as its own Kafka principal (and the projector as ClickHouse's `projector`).
  local credentials; credentials=$(kafka_client_env "$service")
  [ "$service" = projector ] && credentials="$credentials $(clickhouse_client_env projector)"
  # The audit API reads ClickHouse as the SOC does: read-only, the agentgate database only;
  # retention drops partitions as `retention`, a login of its own.
  [ "$service" = audit-api ] && credentials="$credentials $(clickhouse_client_env reader) AG_RETENTION_CLICKHOUSE_USER=retention AG_RETENTION_CLICKHOUSE_PASSWORD_FILE=$(clickhouse_password_file retention)"
  [ "$service" = checkpointer ] && credentials="$credentials AG_CHECKPOINT_KEY_FILE=$SECRETS_DIR/checkpoint-signing.key AG_CHECKPOINT_PUBLIC_KEY_FILE=$RUN_DIR/checkpoint-keys.json"
  [ "$service" = dev-idp ] && credentials=""
  if [ -n "$credentials" ]; then printf '%s\n' $credentials; fi
  echo "AG_SERVICE_NAME=$service"
  [ "$n" = 1 ] && return 0
  case $service in
    ingress-postgres)
      echo "AG_PG_INGRESS_PORT=$(pg_port_of "$name")"
      echo "AG_INGRESS_POSTGRES_ADMIN_PORT=$(admin_port_of "$name")"
      echo "AG_INSTANCE_NAME=$name" ;;
    policy-processor)
      echo "AG_POLICY_PROCESSOR_ADMIN_PORT=$(admin_port_of "$name")"
      echo "AG_INSTANCE_ID=policy-processor/$name" ;;
  esac
}

start_service() {
  local name=$1 service n
  read -r service n < <(instance_parts "$name")
  is_running "$name" && return 0
  case $service in
    ingress-postgres)
      if [ "$n" = 1 ]; then require_free_port "$AG_PG_INGRESS_PORT" "PostgreSQL ingress"
      else require_free_port "$(pg_port_of "$name")" "PostgreSQL ingress $name"; fi ;;
    dev-idp) require_free_port "$AG_DEV_IDP_PORT" "development IdP"; mkdir -p "$DATA_DIR/dev-idp" ;;
    approval-service)
      require_free_port "$AG_APPROVAL_SERVICE_PORT" "approval service"
      # The key its webhook notifications are signed with (deploy/approval-channels.json).
      ensure_secret approval-webhook-secret ;;
    checkpointer) ensure_checkpoint_key ;;
    audit-api) require_free_port "$AG_AUDIT_API_PORT" "audit API" ;;
    ingress-ssh)
      require_free_port "$AG_SSH_INGRESS_PORT" "SSH ingress"
      require_free_port "$AG_SSH_CERT_API_PORT" "SSH certificate API"
      ensure_ssh_keys ;;
    ingress-http)
      require_free_port "$AG_HTTP_INGRESS_PORT" "HTTP ingress"
      # The demo HTTP connection's upstream credential (deploy/connections.json, registry).
      ensure_secret registry-api-token
      ensure_mcp_demo ;;
  esac
  local admin_port; admin_port=$(admin_port_of "$name")
  require_free_port "$admin_port" "$name admin"
  ensure_tls
  write_service_env
  spawn "$name" env $(service_env "$name" | xargs) \
    node --enable-source-maps ${AG_NODE_FLAGS:-} "$ROOT_DIR/services/$service/dist/main.js"
  wait_for "$name" 60 service_ready "$admin_port" || die "$name did not become ready, see $LOG_DIR/$name.log"
}

stop_service() { stop_pid "$1" 15; }

# The key id of the checkpoint signing key (as in checkpoint-keys.json), or "(none yet)".
checkpoint_key_id() {
  sed -n 's/.*"keyId": *"\([0-9a-f]*\)".*/\1/p' "$RUN_DIR/checkpoint-keys.json" 2>/dev/null | head -1 | grep . || echo "(none yet)"
}

# The checkpoint service's Ed25519 signing key (PKCS#8 PEM, mode 600), created once; its public
# key is published by the service itself (.stack/run/checkpoint-keys.json) and in reports.
ensure_checkpoint_key() {
  mkdir -p "$SECRETS_DIR" && chmod 700 "$SECRETS_DIR"
  local f="$SECRETS_DIR/checkpoint-signing.key"
  [ -s "$f" ] && return 0
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$f") || die "could not create the checkpoint signing key"
}

# ---------------------------------------------------------------- commands

start_component() {
  case $1 in
    postgres|clickhouse|kafka|registry) "start_$1" ;;
    sshd-target) start_sshd_target ;;
    dev-idp|policy-processor|projector|checkpointer|approval-service|audit-api|ingress-postgres|ingress-ssh|ingress-http) start_service "$1" ;;
    ingress-postgres-[2-9]|policy-processor-[2-9]) start_service "$1" ;;
    *) die "unknown component $1" ;;
  esac
}

stop_component() {
  case $1 in
    postgres) stop_postgres ;;
    clickhouse) stop_pid clickhouse 20 ;;
    kafka) stop_pid kafka 30 ;;
    registry) stop_pid registry 20 ;;
    sshd-target) stop_pid sshd-target 10 ;;
    dev-idp|policy-processor|projector|checkpointer|approval-service|audit-api|ingress-postgres|ingress-ssh|ingress-http) stop_service "$1" ;;
    ingress-postgres-[2-9]|policy-processor-[2-9]) stop_service "$1" ;;
    *) die "unknown component $1" ;;
  esac
}

all_running() {
  local c; for c in "${ALL[@]}"; do is_running "$c" || return 1; done
}

# A count of instances (--ingress, --processors): 1 to MAX_INSTANCES.
instance_count() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] && [ "$2" -le "$MAX_INSTANCES" ] || die "$1 takes a count from 1 to $MAX_INSTANCES, not '$2'"
  echo "$2"
}

cmd_start() {
  local ingress=1 processors=1 components=()
  while [ $# -gt 0 ]; do
    case $1 in
      --ingress | --processors)
        [ $# -ge 2 ] || die "$1 takes a count"
        if [ "$1" = --ingress ]; then ingress=$(instance_count "$1" "$2"); else processors=$(instance_count "$1" "$2"); fi
        shift 2 ;;
      --ingress=*) ingress=$(instance_count --ingress "${1#*=}"); shift ;;
      --processors=*) processors=$(instance_count --processors "${1#*=}"); shift ;;
      -*) die "unknown option $1 (start takes --ingress N and --processors N)" ;;
      *) components+=("$1"); shift ;;
    esac
  done
  # Extra instances beyond the first of each (none by default); ones already running stay.
  local extras; mapfile -t extras < <(wanted_extras "$processors" "$ingress")
  if [ ${#components[@]} -gt 0 ]; then
    local c; for c in "${components[@]}" ${extras[@]+"${extras[@]}"}; do start_component "$c"; done
    return
  fi
  if all_running && extras_running ${extras[@]+"${extras[@]}"}; then
    log "the stack is already running"
    # Topics, ACLs and users as this code plans them (set up again only when they changed).
    start_kafka
    ensure_demo_policy
    print_connect_info
    return 0
  fi
  [ "${AG_SKIP_BOOTSTRAP:-0}" = 1 ] || bash "$DEPLOY_DIR/bootstrap.sh"
  local c; for c in "${ALL[@]}" ${extras[@]+"${extras[@]}"}; do start_component "$c"; done
  ensure_demo_policy
  print_connect_info
}

extras_running() {
  local c; for c in "$@"; do is_running "$c" || return 1; done
}

# The demo policy (deploy/policies/demo) is what the processor decides with: published, as the
# local administrator erin, unless the processor already runs this very version.
ensure_demo_policy() {
  local cli="$ROOT_DIR/services/cli/bin/agentgate.js" version
  version=$(node "$cli" policy test "$ROOT_DIR/deploy/policies/demo" | sed -n 's/.*(\(demo@[0-9a-f]*\),.*/\1/p')
  [ -n "$version" ] || die "the demo policy does not pass its tests: node $cli policy test deploy/policies/demo"
  if curl -sf -m 2 "http://127.0.0.1:${AG_POLICY_PROCESSOR_ADMIN_PORT}/metrics" | grep -q "version=\"$version\",shadow=\"false\""; then
    extra_processors_live "$version"
    return 0
  fi
  AGENTGATE_TOKEN=$(node "$ROOT_DIR/scripts/token.mjs" erin) node "$cli" policy publish "$ROOT_DIR/deploy/policies/demo" >&2 \
    || die "could not publish the demo policy"
  # The processor swaps policies as it reads them: wait until it decides with this one.
  wait_for "the demo policy ($version)" 30 demo_policy_live "$version" || die "the policy processor did not take up $version"
  extra_processors_live "$version"
}

# Extra processors read the same policy topic; each must decide with the version too.
extra_processors_live() {
  local x; for x in $(extra_instances); do
    [[ $x == policy-processor-* ]] && is_running "$x" || continue
    wait_for "the demo policy on $x" 30 demo_policy_live "$1" "$(admin_port_of "$x")" || die "$x did not take up $1"
  done
}

demo_policy_live() {
  curl -sf -m 2 "http://127.0.0.1:${2:-$AG_POLICY_PROCESSOR_ADMIN_PORT}/metrics" | grep -q "version=\"$1\",shadow=\"false\""
}

# Process groups of the running components (each was started as its own session leader).
stack_pids() {
  local c f; for c in "${ALL[@]}" $(extra_instances); do f=$(pid_file "$c"); [ -f "$f" ] && cat "$f"; done
  return 0
}

# The stack's ports, and those of the extra instances named.
STACK_PORTS=()
stack_ports() {
  STACK_PORTS=("$AG_PG_INGRESS_PORT" "$AG_INGRESS_POSTGRES_ADMIN_PORT" "$AG_POLICY_PROCESSOR_ADMIN_PORT" "$AG_PROJECTOR_ADMIN_PORT"
    "$AG_APPROVAL_SERVICE_PORT" "$AG_APPROVAL_SERVICE_ADMIN_PORT" "$AG_AUDIT_API_PORT" "$AG_AUDIT_API_ADMIN_PORT" "$AG_CHECKPOINTER_ADMIN_PORT"
    "$AG_DEV_IDP_PORT" "$AG_DEV_IDP_ADMIN_PORT" "$AG_SSH_INGRESS_PORT" "$AG_SSH_CERT_API_PORT" "$AG_INGRESS_SSH_ADMIN_PORT" "$AG_TARGET_SSH_PORT"
    "$AG_HTTP_INGRESS_PORT" "$AG_INGRESS_HTTP_ADMIN_PORT"
    "$AG_KAFKA_PORT" "$AG_KAFKA_CONTROLLER_PORT" "$AG_REGISTRY_PORT" "$AG_CLICKHOUSE_HTTP_PORT" "$AG_CLICKHOUSE_TCP_PORT" "$AG_TARGET_PG_PORT")
  local x; for x in "$@"; do
    STACK_PORTS+=("$(admin_port_of "$x")")
    [[ $x == ingress-postgres-* ]] && STACK_PORTS+=("$(pg_port_of "$x")")
  done
  return 0
}

cmd_stop() {
  local components=("$@")
  local whole=0 extras=()
  if [ ${#components[@]} -eq 0 ]; then
    whole=1
    # Extra instances first: ingresses before processors, as for the first instances.
    mapfile -t extras < <(extra_instances | sort)
    components=(${extras[@]+"${extras[@]}"} ingress-http ingress-ssh ingress-postgres audit-api approval-service checkpointer policy-processor projector dev-idp sshd-target registry kafka clickhouse postgres)
  fi
  local before; before=$(stack_pids | tr '\n' ' ')
  local c; for c in "${components[@]}"; do stop_component "$c"; done
  [ "$whole" = 1 ] || return 0
  # Nothing of the stack may be left: no process of any group we started, no listening port.
  local pid left=() busy=() p
  alive() { # the process or any member of its group, zombies excepted (they have exited)
    [ -n "$(ps -e -o pid=,pgid=,stat= | awk -v p="$1" '($1 == p || $2 == p) && $3 !~ /^Z/')" ]
  }
  local deadline=$(( $(date +%s) + 5 ))
  for pid in $before; do
    while alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
    if alive "$pid"; then left+=("$pid"); fi
  done
  stack_ports ${extras[@]+"${extras[@]}"}
  for p in "${STACK_PORTS[@]}"; do port_in_use "$p" && busy+=("$p"); done
  if [ ${#left[@]} -gt 0 ] || [ ${#busy[@]} -gt 0 ]; then
    log "error: after stop, processes still alive: ${left[*]:-none}; ports still listening: ${busy[*]:-none}"
    return 1
  fi
  log "stopped; no process or port of the stack is left"
}

# Status probes: one second at most each, so `status` stays fast even when something hangs.
tcp_open() { timeout 1 bash -c ": </dev/tcp/127.0.0.1/$1" 2>/dev/null; }
http_ok() { curl -sf -o /dev/null -m 1 "$1"; }

# ready <component>: does it answer the way its clients need (not merely: is the pid alive)?
status_ready() {
  case $1 in
    postgres)
      if [ -x "$PG_BIN/pg_isready" ]; then "$PG_BIN/pg_isready" -q -t 1 -h 127.0.0.1 -p "$AG_TARGET_PG_PORT"
      else tcp_open "$AG_TARGET_PG_PORT"; fi ;;
    clickhouse) http_ok "http://127.0.0.1:${AG_CLICKHOUSE_HTTP_PORT}/ping" ;;
    # An open port, not an API round trip: that needs a Kafka client (scripts/kafka-ready.mjs), too slow here.
    kafka) tcp_open "$AG_KAFKA_PORT" ;;
    registry) http_ok "http://127.0.0.1:${AG_REGISTRY_PORT}/apis/ccompat/v7/subjects" ;;
    dev-idp) http_ok "http://127.0.0.1:${AG_DEV_IDP_ADMIN_PORT}/readyz" && tcp_open "$AG_DEV_IDP_PORT" ;;
    policy-processor) http_ok "http://127.0.0.1:${AG_POLICY_PROCESSOR_ADMIN_PORT}/readyz" ;;
    projector) http_ok "http://127.0.0.1:${AG_PROJECTOR_ADMIN_PORT}/readyz" ;;
    approval-service) http_ok "http://127.0.0.1:${AG_APPROVAL_SERVICE_ADMIN_PORT}/readyz" && tcp_open "$AG_APPROVAL_SERVICE_PORT" ;;
    checkpointer) http_ok "http://127.0.0.1:${AG_CHECKPOINTER_ADMIN_PORT}/readyz" ;;
    audit-api) http_ok "http://127.0.0.1:${AG_AUDIT_API_ADMIN_PORT}/readyz" && tcp_open "$AG_AUDIT_API_PORT" ;;
    ingress-postgres) http_ok "http://127.0.0.1:${AG_INGRESS_POSTGRES_ADMIN_PORT}/readyz" && tcp_open "$AG_PG_INGRESS_PORT" ;;
    ingress-ssh) http_ok "http://127.0.0.1:${AG_INGRESS_SSH_ADMIN_PORT}/readyz" && tcp_open "$AG_SSH_INGRESS_PORT" ;;
    sshd-target) tcp_open "$AG_TARGET_SSH_PORT" ;;
    ingress-http) http_ok "http://127.0.0.1:${AG_INGRESS_HTTP_ADMIN_PORT}/readyz" && tcp_open "$AG_HTTP_INGRESS_PORT" ;;
    ingress-postgres-*) http_ok "http://127.0.0.1:$(admin_port_of "$1")/readyz" && tcp_open "$(pg_port_of "$1")" ;;
    policy-processor-*) http_ok "http://127.0.0.1:$(admin_port_of "$1")/readyz" ;;
  esac
}

status_ports() {
  case $1 in
    postgres) echo "${AG_TARGET_PG_PORT} target postgres" ;;
    clickhouse) echo "${AG_CLICKHOUSE_HTTP_PORT} http, ${AG_CLICKHOUSE_TCP_PORT} native" ;;
    kafka) echo "${AG_KAFKA_PORT} broker, ${AG_KAFKA_CONTROLLER_PORT} controller" ;;
    registry) echo "${AG_REGISTRY_PORT} http (/apis/ccompat/v7)" ;;
    dev-idp) echo "${AG_DEV_IDP_PORT} oidc, ${AG_DEV_IDP_ADMIN_PORT} admin" ;;
    policy-processor) echo "${AG_POLICY_PROCESSOR_ADMIN_PORT} admin" ;;
    projector) echo "${AG_PROJECTOR_ADMIN_PORT} admin" ;;
    approval-service) echo "${AG_APPROVAL_SERVICE_PORT} http (approvers), ${AG_APPROVAL_SERVICE_ADMIN_PORT} admin" ;;
    checkpointer) echo "${AG_CHECKPOINTER_ADMIN_PORT} admin" ;;
    audit-api) echo "${AG_AUDIT_API_PORT} http (auditors), ${AG_AUDIT_API_ADMIN_PORT} admin" ;;
    ingress-postgres) echo "${AG_PG_INGRESS_PORT} postgres (agents connect here), ${AG_INGRESS_POSTGRES_ADMIN_PORT} admin" ;;
    ingress-ssh) echo "${AG_SSH_INGRESS_PORT} ssh (agents connect here), ${AG_SSH_CERT_API_PORT} certificates, ${AG_INGRESS_SSH_ADMIN_PORT} admin" ;;
    sshd-target) echo "${AG_TARGET_SSH_PORT} target sshd" ;;
    ingress-http) echo "${AG_HTTP_INGRESS_PORT} https (agents call /<connection>/..., MCP clients /mcp/<connection>), ${AG_INGRESS_HTTP_ADMIN_PORT} admin" ;;
    ingress-postgres-*) echo "$(pg_port_of "$1") postgres, $(admin_port_of "$1") admin" ;;
    policy-processor-*) echo "$(admin_port_of "$1") admin" ;;
  esac
}

cmd_status() {
  local c process ready down=() stray=0 components
  # Extra instances are listed when they have a pid file (started and not stopped).
  mapfile -t components < <(printf '%s\n' "${ALL[@]}"; extra_instances | sort)
  printf '%-18s %-22s %-10s %s\n' component process ready 'ports (127.0.0.1)'
  for c in "${components[@]}"; do
    if is_running "$c"; then process="running (pid $(cat "$(pid_file "$c")"))"; else process=stopped; fi
    if status_ready "$c"; then ready=ready; else ready='NOT READY'; down+=("$c"); fi
    # Something else answering on a stopped component's port would confuse every client.
    if [ "$process" = stopped ] && [ "$ready" = ready ]; then ready='ready?'; down+=("$c"); stray=1; fi
    printf '%-18s %-22s %-10s %s\n' "$c" "$process" "$ready" "$(status_ports "$c")"
  done
  echo
  if [ ${#down[@]} -eq 0 ]; then
    echo "all ${#components[@]} components are running and ready"
  else
    echo "not ready: ${down[*]}. Start with: npm start (or bash deploy/local/stack.sh start <component>); logs in ${LOG_DIR}"
  fi
  if [ "$stray" = 1 ]; then echo "ready? = stopped here, yet something answers on its port (another checkout's stack?)"; fi
}

print_connect_info() {
  cat <<EOF

agentgate is running on 127.0.0.1
  PostgreSQL ingress   PGPASSWORD=\$(npm run -s token -- demo-agent) psql "host=127.0.0.1 port=${AG_PG_INGRESS_PORT} dbname=demo user=demo-agent sslmode=require"
  ClickHouse (SOC)     curl -u reader:\$(cat ${SECRETS_DIR}/clickhouse-reader.password) 'http://127.0.0.1:${AG_CLICKHOUSE_HTTP_PORT}/?query=SELECT+event_type,count()+FROM+agentgate.events+GROUP+BY+event_type'
  Kafka ${AG_KAFKA_PORT} (SASL_SSL, SCRAM-SHA-512; credentials in ${SECRETS_DIR}/kafka-*.password)   registry http://127.0.0.1:${AG_REGISTRY_PORT}/apis/ccompat/v7   target PostgreSQL ${AG_TARGET_PG_PORT}
  SSH ingress          ssh -p ${AG_SSH_INGRESS_PORT} web@127.0.0.1   (password: \$(npm run -s token -- demo-agent); or npx agentgate ssh login first)
                       host key ${AG_SSH_INGRESS_PORT}: $(ssh_host_fingerprint)
  HTTP ingress         curl --cacert ${TLS_DIR}/ca.crt -H "authorization: Bearer \$(npm run -s token -- demo-agent)" https://127.0.0.1:${AG_HTTP_INGRESS_PORT}/registry/apis/ccompat/v7/subjects
  approvals            http://127.0.0.1:${AG_APPROVAL_SERVICE_PORT}/v1/approvals   AGENTGATE_TOKEN=\$(npm run -s token -- alice) npx agentgate approvals list
  audit API            curl -H "authorization: Bearer \$(npm run -s token -- bob)" http://127.0.0.1:${AG_AUDIT_API_PORT}/v1/requests   npx agentgate replay <session>
  verify               npx agentgate verify --since 24h   (checkpoints signed by key $(checkpoint_key_id), trusted keys in ${RUN_DIR}/checkpoint-keys.json)
  development IdP      http://127.0.0.1:${AG_DEV_IDP_PORT}   local CA ${TLS_DIR}/ca.crt
  logs in ${LOG_DIR}; stop with: npm stop
EOF
  local x; for x in $(extra_instances | sort); do
    is_running "$x" || continue
    case $x in
      ingress-postgres-*) echo "  $x   port $(pg_port_of "$x"), admin $(admin_port_of "$x")" ;;
      policy-processor-*) echo "  $x   admin $(admin_port_of "$x")" ;;
    esac
  done
  echo
}

cmd_test() {
  bash "$DEPLOY_DIR/bootstrap.sh"
  local started_here=0
  all_running || started_here=1
  AG_SKIP_BOOTSTRAP=1 cmd_start
  cd "$ROOT_DIR"
  local rc=0
  npm run -s lint || rc=$?
  [ "$rc" = 0 ] && { bash scripts/run-tests.sh all || rc=$?; }
  if [ "$started_here" = 1 ]; then
    # The test run started the stack, so it also proves that stop leaves nothing behind.
    cmd_stop || rc=$?
  fi
  return "$rc"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) cmd_status ;;
  test) cmd_test ;;
  env)
    [ $# -eq 2 ] || { echo "usage: $0 env <instance>" >&2; exit 2; }
    case $2 in
      dev-idp | policy-processor | projector | checkpointer | approval-service | audit-api | ingress-postgres | ingress-ssh | ingress-http | ingress-postgres-[2-9] | policy-processor-[2-9]) service_env "$2" ;;
      *) die "unknown service instance $2" ;;
    esac ;;
  bootstrap) bash "$DEPLOY_DIR/bootstrap.sh" ;;
  # For docker-compose (deploy/docker/init-secrets.sh): certificates and service credentials.
  tls) ensure_tls; ensure_kafka_tls ;;
  secrets)
    ensure_kafka_secrets; ensure_clickhouse_secrets; ensure_checkpoint_key; ensure_ssh_keys
    mkdir -p "$STACK_DIR/conf/docker"
    render_clickhouse_users '<ip>::/0</ip>' "$STACK_DIR/conf/docker/clickhouse-users.xml" ;;
  *) echo "usage: $0 start [--ingress N] [--processors N] [component...] | stop [component...] | status | test | env <instance>" >&2; exit 2 ;;
esac
