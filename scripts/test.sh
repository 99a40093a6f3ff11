#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the Lambda
# handler's own tests, then `cargo test` (whose integration tests start the
# pinned moto themselves, on a free port, unless one is given through
# PAYSEC_TEST_ENDPOINT or AWS_ENDPOINT_URL), then the LocalStack lane: the
# `both_emulators` integration tests on a LocalStack the tests start
# (pinned, host mode, RDS and Lambda switched off). The test that opens
# the HTML report in headless Chromium installs Debian's package itself
# when it is missing (as root or with sudo). First, the supply chain: `cargo deny` (pinned, built into target/tools on
# first use) checks licences, bans and sources against deny.toml, and the
# RustSec advisories when their database can be fetched.
#
#   scripts/test.sh            everything
#   scripts/test.sh -- kms     extra arguments go to the moto `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${1:-}" = "--" ] && shift

echo "== cargo deny (supply chain: deny.toml)" >&2
deny_version="0.20.2"
deny="target/tools/bin/cargo-deny"
# A debug build: 1 min 20 s instead of 3+ min for a release one on two
# cores, and its checks still take about two seconds.
if ! "$deny" --version 2>/dev/null | grep -qx "cargo-deny $deny_version"; then
  cargo install cargo-deny --locked --quiet --debug --version "$deny_version" --root target/tools \
    --target-dir target/tools-build
  # Its build directory is 1+ GB that nothing reads again.
  rm -rf target/tools-build
fi
# Every package of the lock file, for every platform (cargo deny reads the
# whole graph offline; a fresh machine's registry cache is empty).
cargo fetch --locked --quiet
"$deny" --offline check licenses bans sources
# The advisory database lives on GitHub: checked whenever it can be fetched;
# where only the package registries are reachable, said, not hidden.
if "$deny" fetch db >/dev/null 2>&1; then
  "$deny" check advisories
else
  echo "warning: RustSec advisories NOT checked: github.com/rustsec/advisory-db is unreachable from here (run scripts/test.sh where it is, or \`$deny check advisories\`)" >&2
fi
echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy (warnings denied)" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== lambda handler tests (local Python)" >&2
if [ -d lambda/payment ]; then python3 -m unittest discover -s lambda/payment -p 'test_*.py' -q; fi
echo "== cargo test (emulator: ${PAYSEC_TEST_ENDPOINT:-${AWS_ENDPOINT_URL:-started by the tests}})" >&2
cargo test --workspace "$@"
echo "== LocalStack lane: the both_emulators tests on LocalStack" >&2
started=$SECONDS
# `--workspace` as above: the same feature resolution (core's tests turn on
# tokio's test-util), so the lane reuses the build instead of compiling the
# SDK a second time (twice the time, and twice the disk, which ran out once).
env -u PAYSEC_TEST_ENDPOINT -u AWS_ENDPOINT_URL -u PAYSEC_EMULATOR PAYSEC_TEST_EMULATOR=localstack \
  cargo test --workspace --test it both_emulators::
echo "== LocalStack lane took $((SECONDS - started)) s (install included on a fresh checkout)" >&2
