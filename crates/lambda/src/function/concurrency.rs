//! Reserved concurrency: whether the account has room for it, and
//! reserving it (or removing a reservation the configuration does not want).

use paysec_aws::AwsResultExt;
use paysec_core::resource::Context;
use paysec_core::retry::{retrying, rules};
use paysec_core::ResourceError;

use super::Function;

impl Function {
    /// Whether the account can reserve `wanted` executions for this
    /// function, which reserves `current` now. Lambda keeps 100 of the
    /// account's concurrency unreserved, or the whole limit when it is
    /// smaller (a new account's 10), and refuses PutFunctionConcurrency
    /// past that. `Err` says why not and what to do.
    pub(super) async fn concurrency_room(
        &self,
        wanted: i32,
        current: Option<i32>,
    ) -> Result<Result<(), String>, ResourceError> {
        let out = match self
            .aws
            .lambda
            .get_account_settings()
            .send()
            .await
            .or_resource(&self.id, "GetAccountSettings")
        {
            Ok(out) => out,
            // Unreadable (denied to this caller; an emulator without the
            // call, moto among them): try the reservation, and let
            // PutFunctionConcurrency say whether it fits.
            Err(e) => {
                tracing::info!(resource = %self.id, error = %e, "cannot read the account's Lambda concurrency; trying the reservation");
                return Ok(Ok(()));
            }
        };
        let Some(limit) = out.account_limit() else {
            return Ok(Ok(()));
        };
        let total = limit.concurrent_executions();
        let unreserved = limit.unreserved_concurrent_executions().unwrap_or(total);
        Ok(concurrency_fits(total, unreserved, wanted, current))
    }

    /// Reserves the configured concurrency (or removes a reservation when
    /// the configuration says none); when the account has no room, warns
    /// and leaves it, so a new account's `up` still completes.
    pub(super) async fn set_concurrency(&self, cx: &Context) -> Result<(), ResourceError> {
        let name = Self::name(cx);
        let current = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
            self.aws
                .lambda
                .get_function_concurrency()
                .function_name(&name)
                .send()
                .await
                .or_resource(&self.id, "GetFunctionConcurrency")
        })
        .await?
        .reserved_concurrent_executions();
        let Some(wanted) = self.spec.reserved_concurrency else {
            if current.is_some() {
                retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
                    self.aws
                        .lambda
                        .delete_function_concurrency()
                        .function_name(&name)
                        .send()
                        .await
                        .or_resource(&self.id, "DeleteFunctionConcurrency")
                })
                .await?;
            }
            return Ok(());
        };
        if let Err(why) = self.concurrency_room(wanted, current).await? {
            tracing::warn!("{}: reserved concurrency not set: {why}", self.id);
            return Ok(());
        }
        let put = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
            self.aws
                .lambda
                .put_function_concurrency()
                .function_name(&name)
                .reserved_concurrent_executions(wanted)
                .send()
                .await
                .or_resource(&self.id, "PutFunctionConcurrency")
        })
        .await;
        match put {
            Ok(_) => Ok(()),
            // No room, found only now (the account's settings could not
            // be read first): the same warning as when they could.
            Err(e)
                if e.code() == Some("InvalidParameterValueException")
                    && e.message().contains("UnreservedConcurrentExecution") =>
            {
                tracing::warn!(
                    "{}: reserved concurrency not set: Lambda refused {wanted} ({}); request a higher \"Concurrent executions\" quota (Service Quotas), lower lambda.reserved_concurrency, or set it to \"none\"",
                    self.id,
                    e.message()
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether reserving `wanted` (the function reserving `current` now) fits
/// an account whose limit is `total` with `unreserved` left; `Err` says
/// why not and what to do.
pub fn concurrency_fits(
    total: i32,
    unreserved: i32,
    wanted: i32,
    current: Option<i32>,
) -> Result<(), String> {
    let keep = total.min(100);
    let free = unreserved + current.unwrap_or(0);
    if free - wanted >= keep {
        return Ok(());
    }
    Err(format!(
        "the account's Lambda concurrency limit is {total} with {unreserved} unreserved, and AWS keeps {keep} unreserved, so {wanted} cannot be reserved; request a higher \"Concurrent executions\" quota (Service Quotas), lower lambda.reserved_concurrency, or set it to \"none\""
    ))
}

#[cfg(test)]
mod concurrency_tests {
    use super::concurrency_fits;

    #[test]
    fn a_new_account_has_no_room_and_a_grown_one_has() {
        assert!(
            concurrency_fits(10, 10, 1, None).is_err(),
            "new account: limit 10"
        );
        let why = concurrency_fits(10, 10, 10, None).unwrap_err();
        assert!(
            why.contains("limit is 10") && why.contains("\"none\""),
            "{why}"
        );
        assert!(concurrency_fits(1000, 1000, 10, None).is_ok());
        assert!(
            concurrency_fits(1000, 105, 10, None).is_err(),
            "100 must stay unreserved"
        );
        assert!(
            concurrency_fits(1000, 100, 10, Some(10)).is_ok(),
            "its own reservation counts back"
        );
    }
}
