//! Integration tests: the `paysec` binary and the AWS SDK against a real
//! emulator process (moto server by default; LocalStack works too), found
//! through `PAYSEC_TEST_ENDPOINT` or `AWS_ENDPOINT_URL`. `scripts/test.sh`
//! starts the emulator; without one these tests fail, they never skip.

mod support;

mod cli;
mod crash;
mod faults;
mod kms;
mod rules;
mod snapshots;
mod stack;
mod verify;
