#!/usr/bin/env bash
# Runs once in the target PostgreSQL container (docker-entrypoint-initdb.d): creates the
# gateway's login from a secret file and seeds the demo database, as stack.sh does locally.
set -euo pipefail
gw_password=$(cat /run/secrets/target_password)
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -v pw="$gw_password" <<'SQL'
SELECT format('CREATE ROLE agentgate_gateway LOGIN PASSWORD %L', :'pw') \gexec
CREATE DATABASE demo OWNER agentgate_gateway;
CREATE DATABASE scratch OWNER agentgate_gateway;
SQL
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d demo -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
PGPASSWORD="$gw_password" psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -U agentgate_gateway -d demo --single-transaction -f /seed/seed-demo.sql
