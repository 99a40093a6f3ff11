#!/usr/bin/env bash
# Try paysec with no AWS account: starts the local emulator (installing it on
# first use), builds paysec, creates the environment, and shows the outputs
# and the ledger. The emulator keeps running so you can explore; the last
# lines say how to tear everything down.
#
#   scripts/try-local.sh [ENV]      default environment: dev-001
set -euo pipefail
cd "$(dirname "$0")/.."
env_name="${1:-${PAYSEC_ENV:-dev-001}}"

eval "$(scripts/emulator.sh start)"
echo "== building paysec" >&2
cargo build --quiet
paysec="$PWD/target/debug/paysec"

echo "== paysec plan" >&2
"$paysec" --env "$env_name" plan
echo "== paysec up" >&2
"$paysec" --env "$env_name" up --yes
echo "== paysec output" >&2
"$paysec" --env "$env_name" output
echo "== paysec verify" >&2
"$paysec" --env "$env_name" verify
echo "== paysec status" >&2
"$paysec" --env "$env_name" status

cat >&2 <<EOT

The environment runs on the local emulator ($AWS_ENDPOINT_URL).
Explore:   eval "\$(scripts/emulator.sh env)"; target/debug/paysec --env $env_name status
Tear down: target/debug/paysec --env $env_name down --yes && scripts/emulator.sh stop
EOT
