#!/usr/bin/env bash
# npm run bench [-- --quick]: benchmarks against the running local stack (started if needed),
# side by side with a direct connection and with PgBouncer, in one run.
# npm run bench -- --scenarios [--quick] [--only floor,stages,fleet,migration,bulk,connect,processors,masking,http,ssh] [--fleet N]:
# the scenarios of issue 12 alone (bench/src/scenarios).
set -euo pipefail
ROOT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT_DIR"
bash deploy/local/stack.sh start >/dev/null
if ! command -v pgbouncer >/dev/null; then
  echo "[bench] installing pgbouncer (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
  else sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null; fi
fi
set -a; . .stack/run/stack.env; set +a
npx tsc --build bench
exec node --enable-source-maps bench/dist/main.js "$@"
