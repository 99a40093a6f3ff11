#!/usr/bin/env bash
# Installs and runs a local AWS emulator on loopback: moto server (pinned,
# the default) or LocalStack community (pinned, host mode, no Docker).
#
#   scripts/emulator.sh start [localstack]   install if needed, start, wait
#                               until ready, print `export AWS_ENDPOINT_URL=...`
#                               lines (LocalStack's include PAYSEC_RDS_ENABLED
#                               and PAYSEC_LAMBDA_ENABLED=false: it has no RDS,
#                               and its functions need Docker to become Active)
#   scripts/emulator.sh stop    stop the emulator started from this checkout
#   scripts/emulator.sh env     print the export lines of the running emulator
#   scripts/emulator.sh install [localstack]  install if needed and print the
#                               path of moto_server / localstack (the test
#                               harness runs its own)
#   scripts/emulator.sh lock    regenerate the hashed requirements in
#                               scripts/emulator-locks/ from its .in files
#
# Both venvs are installed from those locks with `pip install
# --require-hashes`: every package, transitive ones included, pinned to a
# version and to the SHA-256 of its files on PyPI.
#
# State lives in target/emulator/ (venv, pid, port, log). Sourcing the output
# of `start` points the AWS SDK (and paysec) at the emulator with fake
# credentials: eval "$(scripts/emulator.sh start)".
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/target/emulator"
locks="$root/scripts/emulator-locks"
# The versions, as locked (for the messages).
MOTO_VERSION="$(sed -n 's/^moto==\([^ ]*\).*/\1/p' "$locks/moto.txt")"
LOCALSTACK_VERSION="$(sed -n 's/^localstack-core==\([^ ]*\).*/\1/p' "$locks/localstack.txt")"
venv="${PAYSEC_MOTO_VENV:-$state/venv}"
mkdir -p "$state"

log() { echo "emulator: $*" >&2; }

# LocalStack: the last release that runs on Python 3.11 without Docker
# (4.10+ fail there: KMS uuid5 on bytes, Lambda `Lock | None`), with the
# dependency pins it needs on this Python (scripts/emulator-locks/).
ls_venv="${PAYSEC_LOCALSTACK_VENV:-$state/localstack-venv}"

install_localstack() {
  local wanted; wanted="$(cat "$locks/build-tools.txt" "$locks/localstack.txt")"
  if [ -x "$ls_venv/bin/localstack" ] && [ "$wanted" = "$(cat "$ls_venv/installed-lock.txt" 2>/dev/null)" ]; then
    return
  fi
  log "installing localstack-core==$LOCALSTACK_VERSION into $ls_venv"
  python3 -m venv "$ls_venv"
  # Four of its packages exist only as sources: they are built with the
  # locked setuptools, installed first, and no build isolation (which would
  # fetch whatever build tools are newest, unhashed). No find-links: only
  # the index, with every file's hash checked.
  "$ls_venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    -r "$locks/build-tools.txt"
  "$ls_venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    --no-build-isolation -r "$locks/localstack.txt"
  printf '%s' "$wanted" > "$ls_venv/installed-lock.txt"
}

# Runs LocalStack in the foreground on 127.0.0.1:$1 with its state under
# $2 (a scratch directory): no Docker, no DNS server, no persistence, no
# telemetry, no certificate download.
run_localstack() {
  local port="$1" dir="$2"
  mkdir -p "$dir/volume" "$dir/fs"
  GATEWAY_LISTEN="127.0.0.1:$port" DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 \
    DISABLE_EVENTS=1 PERSISTENCE=0 LOCALSTACK_VOLUME_DIR="$dir/volume" \
    FILESYSTEM_ROOT="$dir/fs" LOCALSTACK_CLI_CONFIG_DIR="$dir" HOME="$dir" \
    exec "$ls_venv/bin/localstack" start --host
}

install() {
  if [ -x "$venv/bin/moto_server" ] && cmp -s "$locks/moto.txt" "$venv/installed-lock.txt"; then
    return
  fi
  log "installing moto[server]==$MOTO_VERSION and the reports' consumers (junitparser, sarif-pydantic, markdown-it-py) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$locks/moto.txt"
  cp "$locks/moto.txt" "$venv/installed-lock.txt"
}

# Regenerates the locks with pip-tools (in a scratch venv): the pins of the
# .in files and everything they pull in, each with its files' hashes.
lock() {
  local tools="$state/pip-tools"
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check "pip-tools==7.6.2"
  for name in moto localstack build-tools; do
    log "locking $name"
    # No find-links: a machine's own wheel directory must not reach a
    # committed lock.
    (cd "$locks" && "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe \
      --strip-extras --no-header --no-emit-find-links -o "$name.txt" "$name.in")
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

print_env() {
  local port; port="$(cat "$state/port")"
  local kind; kind="$(cat "$state/kind" 2>/dev/null || echo moto)"
  cat <<EOT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export PAYSEC_EMULATOR=$kind
export PAYSEC_TEST_ENDPOINT=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
EOT
  if [ "$kind" = localstack ]; then
    echo "export PAYSEC_RDS_ENABLED=false"
    echo "export PAYSEC_LAMBDA_ENABLED=false"
  else
    # moto has no Route 53 Resolver DNS Firewall (docs/emulator-gaps.md).
    echo "export PAYSEC_NETWORK_DNS_FIREWALL=false"
  fi
}

# The path that answers once the emulator is ready.
ready_path() {
  case "$1" in localstack) echo /_localstack/health ;; *) echo /moto-api/ ;; esac
}

running() {
  [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null \
    && curl -fsS "http://127.0.0.1:$(cat "$state/port")$(ready_path "$(cat "$state/kind" 2>/dev/null || echo moto)")" >/dev/null 2>&1
}

start_localstack() {
  install_localstack
  local port; port="$(free_port)"
  echo "$port" > "$state/port"
  echo localstack > "$state/kind"
  rm -rf "$state/localstack"
  (run_localstack "$port" "$state/localstack" > "$state/localstack.log" 2>&1 &
   echo $! > "$state/pid")
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$port/_localstack/health" >/dev/null 2>&1; then
      log "LocalStack $LOCALSTACK_VERSION ready on 127.0.0.1:$port (pid $(cat "$state/pid"), log $state/localstack.log); RDS and Lambda switched off"
      print_env
      return
    fi
    sleep 0.2
  done
  log "LocalStack did not become ready; see $state/localstack.log"
  tail -20 "$state/localstack.log" >&2 || true
  exit 1
}

start() {
  if running; then print_env; return; fi
  install
  local port; port="$(free_port)"
  echo "$port" > "$state/port"
  echo moto > "$state/kind"
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

case "${1:-} ${2:-}" in
  "start ") if running && [ "$(cat "$state/kind")" != moto ]; then log "LocalStack is running; scripts/emulator.sh stop first"; exit 1; fi; start ;;
  "start localstack")
    if running && [ "$(cat "$state/kind")" != localstack ]; then log "moto is running; scripts/emulator.sh stop first"; exit 1; fi
    if running; then print_env; else start_localstack; fi ;;
  "stop ") stop ;;
  "env ") running && print_env || { log "not running; use: scripts/emulator.sh start"; exit 1; } ;;
  "install ") install; echo "$venv/bin/moto_server" ;;
  "install localstack") install_localstack; echo "$ls_venv/bin/localstack" ;;
  "lock ") lock ;;
  # The test harness's own LocalStack: foreground, on the given port and
  # scratch directory, stopped with its parent.
  "run-localstack "*) install_localstack; run_localstack "$2" "$3" ;;
  *) echo "usage: $0 start [localstack] | stop | env | install [localstack] | lock | run-localstack PORT DIR" >&2; exit 2 ;;
esac
