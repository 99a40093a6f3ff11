#!/usr/bin/env bash
# Crash sweep: kills `paysec up` (SIGKILL) after the k-th AWS API call, for
# every k of a full run (or every STEP-th), then runs `up` again and checks:
# ledger valid, exactly one of each resource (by tag), and a `down` killed at
# the same point then completed leaves nothing. Prints the figures.
#
#   scripts/crash-sweep.sh          every k
#   scripts/crash-sweep.sh 5        every 5th k
set -euo pipefail
cd "$(dirname "$0")/.."
step="${1:-1}"
started_here=0
if ! scripts/emulator.sh env >/dev/null 2>&1; then started_here=1; fi
eval "$(scripts/emulator.sh start)"
if [ "$started_here" = 1 ]; then trap 'scripts/emulator.sh stop' EXIT; fi
# A full up makes under 400 calls; the test drops points past the real total.
ks=$(seq 1 "$step" 400 | paste -sd, -)
PAYSEC_CRASH_KS="$ks" cargo test --test it killed_after_the_kth_call -- --nocapture 2>&1 | grep -E "crash sweep|test result|panicked|k="
