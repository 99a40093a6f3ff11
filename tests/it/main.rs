//! Integration tests: the `paysec` binary and the AWS SDK against a real
//! emulator process (moto server by default; LocalStack runs the
//! `both_emulators` tests: `PAYSEC_TEST_EMULATOR=localstack`), given
//! by `PAYSEC_TEST_ENDPOINT` or `AWS_ENDPOINT_URL`, or else started by the
//! test run itself (`support::emulator_endpoint`). A test that cannot reach
//! one fails; none skips.

mod support;

mod accounts;
mod api;
mod both_emulators;
mod cli;
mod code_signing;
mod crash;
mod day_two;
mod diagrams;
mod faults;
mod kms;
mod least_privilege;
mod plans;
mod releases;
mod rules;
mod shared_ledger;
mod snapshots;
mod stack;
mod structure;
mod verify;
