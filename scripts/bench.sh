#!/usr/bin/env bash
# Benchmark of up/down under the latency model of AWS (makespan against the
# critical path, speed-up over a sequential run, API calls and polls, CPU,
# peak RSS, fleets, cold status/output). Prints figures; see benches/apply.rs
# and docs/performance.md. About 15 minutes. Debug build, as most documented
# figures: a release build lowers paysec's own CPU time, which bounds only
# the largest fleets on two cores (measure one with
# PAYSEC_BENCH_BIN=target/release/paysec after cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
started_here=0
if ! scripts/emulator.sh env >/dev/null 2>&1; then started_here=1; fi
eval "$(scripts/emulator.sh start)"
if [ "$started_here" = 1 ]; then trap 'scripts/emulator.sh stop' EXIT; fi
cargo test --bench apply
