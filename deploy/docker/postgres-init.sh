#!/usr/bin/env bash
# Runs once in the target PostgreSQL container (docker-entrypoint-initdb.d), on an empty data
# volume: the same roles, databases, seed and privileges as deploy/local/stack.sh
# (deploy/local/postgres/*.sql, mounted at /seed), with the passwords from secret files, and
# the same pg_hba rules: the gateway's roles only over TLS, each only to its own database.
# (A volume created with the first layout, one agentgate_gateway role for everything, is not
# migrated here: `docker compose down -v` and up again, or run /seed/roles.sql by hand.)
set -euo pipefail
export AG_TARGET_DEMO_RW_PASSWORD AG_TARGET_DEMO_RO_PASSWORD AG_TARGET_SCRATCH_PASSWORD
AG_TARGET_DEMO_RW_PASSWORD=$(cat /run/secrets/target_demo_rw_password)
AG_TARGET_DEMO_RO_PASSWORD=$(cat /run/secrets/target_demo_ro_password)
AG_TARGET_SCRATCH_PASSWORD=$(cat /run/secrets/target_scratch_password)
admin() { psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" "$@"; }
admin -d postgres -f /seed/roles.sql >/dev/null
admin -d demo -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
admin -d demo --single-transaction -f /seed/seed-demo.sql >/dev/null
admin -d demo -f /seed/grants-demo.sql >/dev/null
admin -d scratch -f /seed/grants-scratch.sql >/dev/null
# First match wins: these lines go before the image's own.
roles=agentgate_demo_rw,agentgate_demo_ro,agentgate_scratch
{
  echo "hostssl demo    agentgate_demo_rw,agentgate_demo_ro all scram-sha-256"
  echo "hostssl scratch agentgate_scratch                   all scram-sha-256"
  echo "host    all     $roles all reject"
  echo "local   all     $roles     reject"
  cat "$PGDATA/pg_hba.conf"
} > "$PGDATA/pg_hba.conf.agentgate"
mv "$PGDATA/pg_hba.conf.agentgate" "$PGDATA/pg_hba.conf"
