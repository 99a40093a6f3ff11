#!/usr/bin/env bash
# Benchmark of up/down (makespan, speed-up over a sequential run, API calls,
# CPU, peak RSS, cold status/output), against the emulator behind a latency
# proxy. Prints figures; see benches/apply.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
started_here=0
if ! scripts/emulator.sh env >/dev/null 2>&1; then started_here=1; fi
eval "$(scripts/emulator.sh start)"
if [ "$started_here" = 1 ]; then trap 'scripts/emulator.sh stop' EXIT; fi
cargo bench --bench apply
