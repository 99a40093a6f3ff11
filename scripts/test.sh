#!/usr/bin/env bash
# The whole test suite, as CI runs it: starts the pinned emulator (installing
# it on first use), checks formatting and lints, runs every test against the
# emulator, and stops the emulator again (unless it was already running).
#
#   scripts/test.sh            everything
#   scripts/test.sh -- kms     extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

started_here=0
if ! scripts/emulator.sh env >/dev/null 2>&1; then started_here=1; fi
eval "$(scripts/emulator.sh start)"
if [ "$started_here" = 1 ]; then trap 'scripts/emulator.sh stop' EXIT; fi

[ "${1:-}" = "--" ] && shift

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy (warnings denied)" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== lambda handler tests (local Python)" >&2
if [ -d lambda/payment ]; then python3 -m unittest discover -s lambda/payment -p 'test_*.py' -q; fi
echo "== cargo test against the emulator at $AWS_ENDPOINT_URL" >&2
cargo test --workspace "$@"
