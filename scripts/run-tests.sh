#!/usr/bin/env bash
# Runs one tier of tests from the compiled output (tsc --build runs first).
#   unit: *.test.js (pure, no stack)    int: *.int.test.js (real stack)    e2e: test/dist/e2e (real clients)
#   all:  unit, then int, then e2e
set -euo pipefail
ROOT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT_DIR"
tier=${1:-unit}

if [ -f .stack/run/stack.env ]; then
  set -a; . .stack/run/stack.env; set +a
fi
# Tests act as the stack's administrators: Kafka's `admin` (topics of their own, any ACL
# check they need to make) and ClickHouse's `default` (databases of their own).
if [ -n "${AG_SECRETS_DIR:-}" ] && [ -f "$AG_SECRETS_DIR/kafka-admin.password" ]; then
  export AG_KAFKA_USERNAME=admin AG_KAFKA_PASSWORD_FILE="$AG_SECRETS_DIR/kafka-admin.password"
  export AG_CLICKHOUSE_USER=default AG_CLICKHOUSE_PASSWORD_FILE="$AG_SECRETS_DIR/clickhouse-admin.password"
fi

files() {
  case $1 in
    unit) find libs services bench -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.test.js' ! -name '*.int.test.js' -print | sort ;;
    int)  find libs services -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.int.test.js' -print | sort ;;
    e2e)  find test/dist/e2e -name '*.test.js' 2>/dev/null | sort ;;
  esac
}

run_tier() {
  local t=$1
  mapfile -t list < <(files "$t")
  if [ ${#list[@]} -eq 0 ]; then echo "no $t tests"; return 0; fi
  echo "== $t tests (${#list[@]} files)"
  # Integration and e2e files share one stack, so they run one at a time.
  local conc=1; [ "$t" = unit ] && conc=2
  node --enable-source-maps --test --test-concurrency="$conc" --test-reporter=spec "${list[@]}"
}

npx tsc --build
case $tier in
  all) run_tier unit; run_tier int; run_tier e2e ;;
  unit|int|e2e) run_tier "$tier" ;;
  *) echo "usage: $0 unit|int|e2e|all" >&2; exit 2 ;;
esac
