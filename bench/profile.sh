#!/usr/bin/env bash
# CPU profiles of the ingress and the policy processor under the 32-client load:
#   bash bench/profile.sh [seconds]
# Restarts both services with --cpu-prof, runs pgbench -S -M prepared -c 32 through the
# gateway, stops them (the profile is written on exit), restarts them normally, and prints
# the functions with the most self time. Profiles land in .stack/profiles/.
set -euo pipefail
ROOT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT_DIR"
seconds=${1:-15}
bash deploy/local/stack.sh start >/dev/null
set -a; . .stack/run/stack.env; set +a
out="$ROOT_DIR/.stack/profiles/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
for s in ingress-postgres policy-processor; do bash deploy/local/stack.sh stop "$s" >/dev/null; done
for s in ingress-postgres policy-processor; do
  AG_NODE_FLAGS="--cpu-prof --cpu-prof-dir=$out/$s" bash deploy/local/stack.sh start "$s" >/dev/null
done
PGPASSWORD=$(node scripts/token.mjs dba-agent) pgbench -n -S -M prepared -c 32 -j 2 -T "$seconds" \
  "host=127.0.0.1 port=${AG_PG_INGRESS_PORT} dbname=scratch user=dba-agent sslmode=require" | grep -E 'tps|failed'
for s in ingress-postgres policy-processor; do bash deploy/local/stack.sh stop "$s" >/dev/null; done
for s in ingress-postgres policy-processor; do bash deploy/local/stack.sh start "$s" >/dev/null; done
for s in ingress-postgres policy-processor; do
  echo "== $s"
  node bench/top-self-time.mjs "$out/$s"/*.cpuprofile
done
