#!/usr/bin/env bash
# One environment through review, as a CI pipeline runs it (used by
# examples/github-actions-review.yml; tests/it/day_two.rs runs it against
# the emulator):
#
#   examples/ci-review.sh plan ENV     plan.json saved; prints changes=true|false
#   examples/ci-review.sh apply ENV    applies exactly plan.json (exit 9: stale, plan again)
#   examples/ci-review.sh verify ENV   report.junit.xml for the CI's test view
#
# Exit codes (docs/exit-codes.md): `plan --detailed-exitcode` exits 8 when
# there are changes, which is not a failure here; `verify` exits 10 when
# nothing fails but some controls could not be checked, which is a warning
# here, not a pass and not a failure; everything else fails the step.
set -uo pipefail
step="${1:?plan, apply or verify}"
env="${2:?an environment name}"
paysec="${PAYSEC_BIN:-paysec}"

case "$step" in
  plan)
    "$paysec" plan --env "$env" --out plan.json --detailed-exitcode
    rc=$?
    case $rc in
      0) echo "changes=false" ;;
      8) echo "changes=true" ;;
      *) exit "$rc" ;;
    esac
    ;;
  apply)
    # Reviewed when it was saved: applied without a question, exactly, or
    # refused (exit 9) when anything it was made from changed since.
    "$paysec" up --env "$env" --plan plan.json
    ;;
  verify)
    "$paysec" verify --env "$env" --report report.junit.xml
    rc=$?
    case $rc in
      0) ;;
      10) echo "warning: some controls could not be checked (UNKNOWN); see report.junit.xml" >&2 ;;
      *) exit "$rc" ;;
    esac
    ;;
  *)
    echo "unknown step $step: plan, apply or verify" >&2
    exit 2
    ;;
esac
