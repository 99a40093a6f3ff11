#!/usr/bin/env bash
# Draws docs/diagrams/network.svg and docs/diagrams/data-flow.svg: the
# example environment (the configuration's defaults, as
# scripts/try-local.sh builds it, with one caller block for the API and an
# auditor's account) built on a moto server of its own (a fresh one each
# time, stopped at the end), drawn by `paysec diagram`. Needs Graphviz's
# `dot` (apt-get install graphviz).
#
#   scripts/diagrams.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dot >/dev/null; then
  echo "Graphviz's dot is not installed: apt-get install graphviz (macOS: brew install graphviz)" >&2
  exit 2
fi
moto_server="$(scripts/emulator.sh install)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
scratch="$(mktemp -d)"
MOTO_IAM_LOAD_MANAGED_POLICIES=true "$moto_server" -H 127.0.0.1 -p "$port" >"$scratch/moto.log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null; rm -rf "$scratch"' EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" PAYSEC_EMULATOR=moto \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
# moto has no Route 53 Resolver DNS Firewall (docs/emulator-gaps.md).
export PAYSEC_NETWORK_DNS_FIREWALL=false
export PAYSEC_MONITORING_ALARM_EMAILS="security-alarms@example.com"
export PAYSEC_API_ALLOWED_CIDRS="10.40.0.0/16"
export PAYSEC_IAM_AUDIT_TRUSTED_ACCOUNT="210987654321"
cargo build --quiet
run() { target/debug/paysec --env dev-001 --ledger "$scratch/ledger" "$@"; }
run up --yes --quiet
mkdir -p docs/diagrams
run diagram --kind network --out docs/diagrams/network.svg
run diagram --kind data-flow --out docs/diagrams/data-flow.svg
echo "docs/diagrams/network.svg and docs/diagrams/data-flow.svg drawn" >&2
