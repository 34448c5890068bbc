#!/usr/bin/env bash
# The Docker stack's SSH target: Debian's OpenSSH server with the local stack's config template
# (deploy/local/sshd), the target account, the demo notes, and the gateway's key as the only one.
set -euo pipefail
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server perl >/dev/null
id -u agentgate-web >/dev/null 2>&1 || useradd --create-home --shell /bin/bash agentgate-web
usermod -p "*" agentgate-web
install -o agentgate-web -g agentgate-web -m 644 /app/deploy/local/sshd/planted-notes.txt /home/agentgate-web/notes.txt
export SSHD_DIR=/app/.stack/data/sshd-target SSHD_TARGET_USER=agentgate-web AG_TARGET_SSH_PORT=22222
mkdir -p "$SSHD_DIR/authorized_keys" /run/sshd
[ -s "$SSHD_DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/ssh_host_ed25519_key"
cp /keys/gateway.pub "$SSHD_DIR/authorized_keys/agentgate-web"
perl -pe 's/\$\{([A-Z0-9_]+)\}/$ENV{$1}/ge' /app/deploy/local/sshd/sshd_config.template | sed 's/^ListenAddress .*/ListenAddress 0.0.0.0/' > /etc/ssh/sshd_config.agentgate
exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config.agentgate
