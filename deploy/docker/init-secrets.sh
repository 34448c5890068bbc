#!/usr/bin/env bash
# Creates the secret files docker-compose.yml mounts (random, mode 600, git-ignored), the
# certificates, and ClickHouse's users.xml with the hashes of its passwords.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../.." && pwd)/.stack/secrets"
mkdir -p "$dir" && chmod 700 "$dir"
for s in target-admin-password target-demo-rw-password target-demo-ro-password target-scratch-password masking-key approval-webhook-secret registry-api-token; do
  [ -s "$dir/$s" ] || { openssl rand -hex 24 > "$dir/$s"; chmod 600 "$dir/$s"; }
done
# The CA, the ingress and Kafka certificates, Kafka and ClickHouse credentials, as `npm start` creates them.
bash "$(dirname "$0")/../local/stack.sh" tls
bash "$(dirname "$0")/../local/stack.sh" secrets
echo "secrets in $dir"
