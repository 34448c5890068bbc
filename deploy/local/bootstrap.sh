#!/usr/bin/env bash
# Installs whatever the local stack is missing: Debian packages, npm dependencies,
# Kafka and Apicurio from Maven Central (cached under .stack/cache), then builds.
# Idempotent: a second run finds everything in place and only rebuilds incrementally.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_debian_packages() {
  local missing=()
  [ -x "$PG_BIN/postgres" ] || missing+=("postgresql-${POSTGRES_MAJOR}")
  [ -x /usr/bin/psql ] || missing+=("postgresql-client-${POSTGRES_MAJOR}")
  [ -x /usr/bin/pgbench ] || missing+=("postgresql-contrib")
  command -v clickhouse-server >/dev/null || missing+=("$CLICKHOUSE_PACKAGE")
  command -v clickhouse-client >/dev/null || missing+=("clickhouse-client")
  command -v java >/dev/null || missing+=("openjdk-17-jre-headless")
  command -v mvn >/dev/null || missing+=("maven")
  command -v curl >/dev/null || missing+=("curl")
  command -v perl >/dev/null || missing+=("perl")
  command -v ss >/dev/null || missing+=("iproute2")
  command -v openssl >/dev/null || missing+=("openssl")
  # `agentgate report --format pdf` prints through headless Chromium; its tests rasterise and
  # read the PDF with poppler (pdftoppm, pdftotext). Fonts come with Chromium's fontconfig (DejaVu).
  command -v chromium >/dev/null || missing+=("chromium")
  command -v pdftoppm >/dev/null || missing+=("poppler-utils")
  # The SSH connection's target is Debian's OpenSSH server, run by the stack on its own port and
  # config (never the system's sshd); the SSH tests drive the real client, sftp, scp and tmux.
  [ -x /usr/sbin/sshd ] || missing+=("openssh-server")
  command -v ssh >/dev/null || missing+=("openssh-client")
  command -v tmux >/dev/null || missing+=("tmux")
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # policy-rc.d keeps Debian's postinst from starting system-wide services on their default ports.
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      || { as_root rm -f /usr/sbin/policy-rc.d; die "apt-get install failed for: ${missing[*]}"; }
    as_root rm -f /usr/sbin/policy-rc.d
  fi
}

install_npm_dependencies() {
  cd "$ROOT_DIR"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm dependencies"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

fetch_kafka() {
  [ -f "$KAFKA_LIBS/kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar" ] && return 0
  log "fetching Apache Kafka ${KAFKA_VERSION} from Maven Central"
  mkdir -p "$KAFKA_LIBS"
  mvn -q -B -f "$DEPLOY_DIR/maven/kafka/pom.xml" \
    -Dkafka.version="$KAFKA_VERSION" -Dscala.version="$KAFKA_SCALA_VERSION" -Dslf4j.version="$SLF4J_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS" \
    || die "could not fetch Kafka from Maven Central (see the Maven output above)"
}

fetch_apicurio() {
  [ -f "$APICURIO_HOME/apicurio-registry-app-${APICURIO_VERSION}-runner.jar" ] && return 0
  log "fetching Apicurio Registry ${APICURIO_VERSION} from Maven Central"
  local download="$CACHE_DIR/download"
  mkdir -p "$download" "$APICURIO_HOME.tmp"
  # Apicurio 3.0.x ships as a Quarkus runner layout in a tar.gz with classifier `all`;
  # 3.1+ needs Java 21, which Debian 12 does not have.
  mvn -q -B dependency:copy -Dtransitive=false \
    -Dartifact="io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all" \
    -DoutputDirectory="$download" \
    || die "could not fetch io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all from Maven Central"
  tar -xzf "$download/apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz" -C "$APICURIO_HOME.tmp"
  rm -rf "$APICURIO_HOME" && mv "$APICURIO_HOME.tmp" "$APICURIO_HOME"
  rm -f "$download/apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz"
}

build() {
  cd "$ROOT_DIR"
  log "building (tsc --build)"
  npx tsc --build
}

main() {
  mkdir -p "$STACK_DIR" "$CACHE_DIR"
  install_debian_packages
  install_npm_dependencies
  fetch_kafka
  fetch_apicurio
  build
}

main "$@"
