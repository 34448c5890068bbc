#!/usr/bin/env bash
# Fuzz soak: the same two fuzzers CI runs, much longer. First the pg-wire codec
# (libs/pg-wire/src/fuzz.test.ts), then raw connections to the live ingress
# (test/e2e/fuzz-live.test.ts) against the running local stack (npm start).
#   AG_FUZZ_ITERATIONS        mutated client streams fed to FrontendParser (default 5,000,000)
#   AG_LIVE_FUZZ_CONNECTIONS  fuzzed connections to the ingress (default 100,000)
#   AG_FUZZ_SEED              default: a fresh random seed, printed, so a failure can be replayed
set -euo pipefail
ROOT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT_DIR"

if [ ! -f .stack/run/stack.env ]; then
  echo "soak-fuzz: no running stack (.stack/run/stack.env missing); run npm start first" >&2
  exit 2
fi
set -a; . .stack/run/stack.env; set +a

export AG_FUZZ_ITERATIONS=${AG_FUZZ_ITERATIONS:-5000000}
export AG_LIVE_FUZZ_CONNECTIONS=${AG_LIVE_FUZZ_CONNECTIONS:-100000}
export AG_FUZZ_SEED=${AG_FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}
echo "soak-fuzz: AG_FUZZ_SEED=$AG_FUZZ_SEED AG_FUZZ_ITERATIONS=$AG_FUZZ_ITERATIONS AG_LIVE_FUZZ_CONNECTIONS=$AG_LIVE_FUZZ_CONNECTIONS"

npx tsc --build
node --enable-source-maps --test --test-reporter=spec libs/pg-wire/dist/fuzz.test.js
node --enable-source-maps --test --test-reporter=spec test/dist/e2e/fuzz-live.test.js
echo "soak-fuzz: passed (seed $AG_FUZZ_SEED)"
