#!/usr/bin/env bash
# Installs and runs the local AWS emulator (moto server, pinned) on loopback.
#
#   scripts/emulator.sh start   install if needed, start, wait until ready,
#                               print `export AWS_ENDPOINT_URL=...` lines
#   scripts/emulator.sh stop    stop the emulator started from this checkout
#   scripts/emulator.sh env     print the export lines of the running emulator
#   scripts/emulator.sh install install if needed and print the path of
#                               moto_server (the test harness runs its own)
#
# State lives in target/emulator/ (venv, pid, port, log). Sourcing the output
# of `start` points the AWS SDK (and paysec) at the emulator with fake
# credentials: eval "$(scripts/emulator.sh start)".
set -euo pipefail

MOTO_VERSION="5.2.5"
# A real JUnit consumer, to check `verify --report FILE.xml` in the tests.
JUNITPARSER_VERSION="3.2.0"
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/target/emulator"
venv="${PAYSEC_MOTO_VENV:-$state/venv}"
mkdir -p "$state"

log() { echo "emulator: $*" >&2; }

install() {
  if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto,junitparser,sys; sys.exit(moto.__version__ != '$MOTO_VERSION' or junitparser.version != '$JUNITPARSER_VERSION')" 2>/dev/null; then
    return
  fi
  log "installing moto[server]==$MOTO_VERSION and junitparser==$JUNITPARSER_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "junitparser==$JUNITPARSER_VERSION"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

print_env() {
  local port; port="$(cat "$state/port")"
  cat <<EOT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export PAYSEC_EMULATOR=moto
export PAYSEC_TEST_ENDPOINT=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
EOT
}

running() {
  [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null \
    && curl -fsS "http://127.0.0.1:$(cat "$state/port")/moto-api/" >/dev/null 2>&1
}

start() {
  if running; then print_env; return; fi
  install
  local port; port="$(free_port)"
  echo "$port" > "$state/port"
  # Managed policies (AmazonRDSEnhancedMonitoringRole...) are off by default.
  MOTO_IAM_LOAD_MANAGED_POLICIES=true nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" \
    > "$state/moto.log" 2>&1 &
  echo $! > "$state/pid"
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
      # No Docker here: Lambda Invoke echoes the payload instead of running it.
      curl -fsS -X POST "http://127.0.0.1:$port/moto-api/config" \
        -H 'Content-Type: application/json' -d '{"lambda": {"use_docker": false}}' >/dev/null
      log "moto $MOTO_VERSION ready on 127.0.0.1:$port (pid $(cat "$state/pid"), log $state/moto.log)"
      print_env
      return
    fi
    sleep 0.2
  done
  log "moto did not become ready; see $state/moto.log"
  tail -20 "$state/moto.log" >&2 || true
  exit 1
}

stop() {
  if [ -f "$state/pid" ]; then
    kill "$(cat "$state/pid")" 2>/dev/null || true
    rm -f "$state/pid"
    log "stopped"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) running && print_env || { log "not running; use: scripts/emulator.sh start"; exit 1; } ;;
  install) install; echo "$venv/bin/moto_server" ;;
  *) echo "usage: $0 start|stop|env|install" >&2; exit 2 ;;
esac
