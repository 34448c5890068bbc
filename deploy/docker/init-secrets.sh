#!/usr/bin/env bash
# Creates the secret files docker-compose.yml mounts (random, mode 600, git-ignored).
set -euo pipefail
dir="$(cd "$(dirname "$0")/../.." && pwd)/.stack/secrets"
mkdir -p "$dir" && chmod 700 "$dir"
for s in target-admin-password target-demo-rw-password target-demo-ro-password target-scratch-password; do
  [ -s "$dir/$s" ] || { openssl rand -hex 24 > "$dir/$s"; chmod 600 "$dir/$s"; }
done
# The ingress certificate and the local CA, as `npm start` creates them.
bash "$(dirname "$0")/../local/stack.sh" tls
echo "secrets in $dir"
