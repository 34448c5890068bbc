# Shared helpers of the local stack scripts. Sourced, never run.
# Everything the stack writes lives under $STACK_DIR (git-ignored).

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY_DIR="$ROOT_DIR/deploy/local"
STACK_DIR="${AG_STACK_DIR:-$ROOT_DIR/.stack}"
RUN_DIR="$STACK_DIR/run"
LOG_DIR="$STACK_DIR/logs"
DATA_DIR="$STACK_DIR/data"
CACHE_DIR="$STACK_DIR/cache"
SECRETS_DIR="$STACK_DIR/secrets"

# shellcheck source=versions.env
set -a
. "$DEPLOY_DIR/versions.env"
set +a

PG_BIN="/usr/lib/postgresql/${POSTGRES_MAJOR}/bin"
KAFKA_LIBS="$CACHE_DIR/kafka-${KAFKA_VERSION}/libs"
APICURIO_HOME="$CACHE_DIR/apicurio-registry-${APICURIO_VERSION}"

log() { printf '[agentgate] %s\n' "$*" >&2; }
die() { printf '[agentgate] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Renders a template by substituting ${VAR} from the environment (only exported names).
render() {
  local template=$1 out=$2
  perl -pe 's/\$\{([A-Z0-9_]+)\}/exists $ENV{$1} ? $ENV{$1} : die("unset variable $1 in template\n")/ge' "$template" > "$out"
}

pid_file() { echo "$RUN_DIR/$1.pid"; }

# True when the component's recorded pid is alive.
is_running() {
  local f pid; f=$(pid_file "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  # A process killed with SIGKILL stays a zombie until its parent (here often init) reaps it:
  # kill -0 still succeeds, but it runs nothing.
  case $(ps -o stat= -p "$pid" 2>/dev/null) in Z*) return 1 ;; esac
}

# Who listens on a TCP port of 127.0.0.1 (pid or empty).
port_owner() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

port_in_use() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

require_free_port() {
  local port=$1 what=$2
  if port_in_use "$port"; then
    local owner; owner=$(port_owner "$port")
    die "port $port (for $what) is already in use${owner:+ by pid $owner ($(tr '\0' ' ' < /proc/$owner/cmdline 2>/dev/null | cut -c1-120))}. Stop that process or change the port in deploy/local/versions.env."
  fi
}

# wait_for <what> <seconds> <command...>: polls until the command succeeds.
wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.5
  done
  log "$what is ready"
}

# Starts a long-running process in the background with its own log and pid file.
spawn() {
  local name=$1; shift
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  nohup setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$(pid_file "$name")"
}

# Stops a component by its pid file: TERM, then KILL after a grace period.
stop_pid() {
  local name=$1 grace=${2:-15}
  local f; f=$(pid_file "$name")
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$(( $(date +%s) + grace ))
    while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in ${grace}s, killing"
      kill -KILL "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    log "$name stopped"
  fi
  rm -f "$f"
}
