//! Resource-level retries for AWS's eventual consistency, above the SDK's own
//! retryer. Every (error code, message, time budget) rule lives in [`rules`],
//! one table, so budgets are tuned in one place rather than in scattered
//! sleeps. Budgets follow the Terraform AWS provider's.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{ErrorClass, ResourceError};

/// Retry an operation while it fails with `code` (and, when set, a message
/// containing `message`) for at most `budget`. Without a code the message
/// alone decides (per-item errors whose codes AWS does not document).
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub code: Option<&'static str>,
    pub message: Option<&'static str>,
    pub budget: Duration,
}

impl Rule {
    /// Whether this rule covers `err`.
    pub fn matches(&self, err: &ResourceError) -> bool {
        self.code.is_none_or(|c| err.code() == Some(c))
            && self
                .message
                .is_none_or(|m| err.message().to_lowercase().contains(&m.to_lowercase()))
    }
}

const fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

/// The table. Names say which situation each rule covers.
pub mod rules {
    use super::{minutes, Rule};

    /// A key policy naming a role created moments ago.
    pub const KMS_POLICY_NEW_PRINCIPAL: Rule = Rule {
        code: Some("MalformedPolicyDocumentException"),
        message: None,
        budget: minutes(2),
    };
    /// EnableKeyRotation or CreateAlias right after CreateKey.
    pub const KMS_KEY_NOT_YET_VISIBLE: Rule = Rule {
        code: Some("NotFoundException"),
        message: None,
        budget: minutes(2),
    };
    /// CreateLogGroup or AssociateKmsKey naming a key created moments ago
    /// (the same words as a key policy that does not let CloudWatch Logs
    /// use the key, which therefore fails after this budget).
    pub const LOGS_KMS_KEY_NOT_YET_USABLE: Rule = Rule {
        code: Some("AccessDeniedException"),
        message: Some("The specified KMS key does not exist or is not allowed"),
        budget: minutes(2),
    };
    /// DeleteLogGroup while another operation on the group is in flight.
    pub const LOGS_OPERATION_ABORTED: Rule = Rule {
        code: Some("OperationAbortedException"),
        message: None,
        budget: minutes(1),
    };
    /// Deleting a subnet or security group while network interfaces still
    /// use it: Lambda's hyperplane ENIs take 20-45 minutes to be released.
    pub const EC2_DEPENDENCY_VIOLATION: Rule = Rule {
        code: Some("DependencyViolation"),
        message: None,
        budget: minutes(45),
    };
    /// An EC2 call naming a resource created moments ago (by the same step,
    /// or by a dependency in this run): EC2 is eventually consistent and
    /// answers `Invalid<Kind>.NotFound` for a while (the Terraform
    /// provider's `ec2PropagationTimeout`: 5 minutes). One rule per kind
    /// paysec creates; other NotFounds (a stale association id) are not
    /// this. Only for calls that follow a create; a read's NotFound means
    /// gone.
    pub const EC2_NOT_YET_VISIBLE: [Rule; 6] = [
        ec2_not_yet_visible("InvalidVpcID.NotFound"),
        ec2_not_yet_visible("InvalidSubnetID.NotFound"),
        ec2_not_yet_visible("InvalidGroup.NotFound"),
        ec2_not_yet_visible("InvalidRouteTableID.NotFound"),
        ec2_not_yet_visible("InvalidNetworkAclID.NotFound"),
        ec2_not_yet_visible("InvalidVpcEndpointId.NotFound"),
    ];
    const fn ec2_not_yet_visible(code: &'static str) -> Rule {
        Rule {
            code: Some(code),
            message: None,
            budget: minutes(5),
        }
    }
    /// Configuring a bucket right after CreateBucket.
    pub const S3_NEW_BUCKET_NOT_VISIBLE: Rule = Rule {
        code: Some("NoSuchBucket"),
        message: None,
        budget: minutes(2),
    };
    /// DeleteBucket after emptying, when a late log delivery landed in
    /// between (the Terraform provider empties and retries likewise).
    pub const S3_BUCKET_NOT_EMPTY: Rule = Rule {
        code: Some("BucketNotEmpty"),
        message: None,
        budget: minutes(2),
    };
    /// CreateBucket right after deleting the same name.
    pub const S3_OPERATION_ABORTED: Rule = Rule {
        code: Some("OperationAborted"),
        message: None,
        budget: minutes(2),
    };
    /// Deleting a DB parameter or subnet group while the instance using it
    /// is still being deleted.
    pub const RDS_PARAMETER_GROUP_IN_USE: Rule = Rule {
        code: Some("InvalidDBParameterGroupState"),
        message: None,
        budget: minutes(60),
    };
    pub const RDS_SUBNET_GROUP_IN_USE: Rule = Rule {
        code: Some("InvalidDBSubnetGroupStateFault"),
        message: None,
        budget: minutes(60),
    };
    /// CreateDBInstance or ModifyDBInstance naming a key created moments ago.
    pub const RDS_KMS_KEY_NOT_YET_ACCESSIBLE: Rule = Rule {
        code: Some("KMSKeyNotAccessibleFault"),
        message: None,
        budget: minutes(2),
    };
    /// Modifying an instance while monitoring or log exports are configuring.
    pub const RDS_INSTANCE_BUSY: Rule = Rule {
        code: Some("InvalidDBInstanceState"),
        message: None,
        budget: minutes(15),
    };
    /// RDS rejecting a monitoring role created moments ago.
    pub const RDS_MONITORING_ROLE_NOT_YET_VALID: Rule = Rule {
        code: Some("InvalidParameterValue"),
        message: Some("ENHANCED_MONITORING"),
        budget: minutes(5),
    };
    /// CreateFlowLogs naming a delivery role created moments ago: an
    /// unsuccessful item "Unable to assume given IAM role" (Terraform
    /// retries these for 2 minutes).
    pub const FLOW_LOGS_ROLE_NOT_YET_ASSUMABLE: Rule = Rule {
        code: None,
        message: Some("Unable to assume given IAM role"),
        budget: minutes(2),
    };
    /// CreateQueue within 60 s of deleting the same name.
    pub const SQS_QUEUE_DELETED_RECENTLY: Rule = Rule {
        code: Some("AWS.SimpleQueueService.QueueDeletedRecently"),
        message: None,
        budget: minutes(2),
    };
    /// Lambda rejecting a role or KMS key created moments ago.
    pub const LAMBDA_ROLE_NOT_YET_ASSUMABLE: Rule = Rule {
        code: Some("InvalidParameterValueException"),
        message: Some("cannot be assumed by Lambda"),
        budget: minutes(15),
    };
    /// The role's policies not yet seen by Lambda, whichever permission
    /// the create checks first ("...to call CreateNetworkInterface on
    /// EC2", "...SendMessage on SQS", ...), as the Terraform provider
    /// retries them.
    pub const LAMBDA_ROLE_NOT_YET_PERMITTED: Rule = Rule {
        code: Some("InvalidParameterValueException"),
        message: Some("The provided execution role does not have permissions to call"),
        budget: minutes(15),
    };
    /// Lambda setting up the function's VPC interfaces while EC2 throttles
    /// it ("Your request has been throttled by EC2").
    pub const LAMBDA_THROTTLED_BY_EC2: Rule = Rule {
        code: Some("InvalidParameterValueException"),
        message: Some("throttled by EC2"),
        budget: minutes(9),
    };
    pub const LAMBDA_KMS_NOT_YET_USABLE: Rule = Rule {
        code: Some("InvalidParameterValueException"),
        message: Some("KMS key is invalid for CreateGrant"),
        budget: minutes(2),
    };
    /// Calls while a function is Pending or being updated: "The operation
    /// cannot be performed at this time. An update is in progress for
    /// resource: ..." or "...The function is currently in the following
    /// state: Pending". Lambda's other conflicts (a statement id or an
    /// alias that exists, a version an alias holds) share the code and
    /// never clear by waiting, so the message decides.
    pub const LAMBDA_FUNCTION_BUSY: Rule = Rule {
        code: Some("ResourceConflictException"),
        message: Some("cannot be performed at this time"),
        budget: minutes(5),
    };
    /// A code signing configuration a function still uses: Lambda refuses
    /// its delete with `ResourceConflictException` (the only conflict
    /// DeleteCodeSigningConfig has) until the function detaches it, as
    /// the function's repair does in the same run when signing is
    /// switched off.
    pub const LAMBDA_CODE_SIGNING_IN_USE: Rule = Rule {
        code: Some("ResourceConflictException"),
        message: None,
        budget: minutes(5),
    };
    /// A DNS Firewall association being created or updated (UPDATING):
    /// another update or a disassociation is a `ConflictException` until
    /// it is COMPLETE (Route 53 Resolver API reference; Terraform waits
    /// for COMPLETE after every associate and update).
    pub const RESOLVER_ASSOCIATION_BUSY: Rule = Rule {
        code: Some("ConflictException"),
        message: None,
        budget: minutes(5),
    };
    /// Disassociating an association whose mutation protection is still
    /// on (its update to off not yet applied): `ValidationException`
    /// "[RSLVR-02307] ... under mutation protection"
    /// (terraform-provider-aws#21278).
    pub const RESOLVER_ASSOCIATION_PROTECTED: Rule = Rule {
        code: Some("ValidationException"),
        message: Some("RSLVR-02307"),
        budget: minutes(5),
    };
    /// A trust policy naming a principal created moments ago.
    pub const IAM_INVALID_PRINCIPAL: Rule = Rule {
        code: Some("MalformedPolicyDocument"),
        message: Some("invalid principal"),
        budget: minutes(2),
    };
    /// Two changes to one REST API at once: "Unable to complete operation
    /// due to concurrent modification. Please try again later." (the
    /// Terraform provider retries it for every API Gateway call).
    pub const APIGATEWAY_CONCURRENT_MODIFICATION: Rule = Rule {
        code: Some("ConflictException"),
        message: Some("try again later"),
        budget: minutes(2),
    };
    /// UpdateAccount naming a CloudWatch role made moments ago: "The role
    /// ARN does not have required permissions set to API Gateway" until
    /// IAM propagates it (the provider's aws_api_gateway_account).
    pub const APIGATEWAY_ROLE_NOT_YET_USABLE: Rule = Rule {
        code: Some("BadRequestException"),
        message: Some("does not have required permissions"),
        budget: minutes(2),
    };
}

/// Throttling and transient server errors get this budget on top of the
/// SDK's attempts; they never fail a run on their own before it.
pub const TRANSIENT_BUDGET: Duration = Duration::from_secs(5 * 60);

/// One scheduler step (a resource's converge or delete), as its retry
/// loops see it. Loops nest (the scheduler repeats a whole step; a
/// resource retries its own calls), so a repeatable 5xx would otherwise
/// pay each loop's transient budget in turn: the step holds one budget
/// for transient errors that every loop inside it draws from. A stop
/// (Ctrl-C) ends the waiting at once: the error is returned instead of
/// retried.
#[derive(Clone, Debug)]
pub struct Step {
    /// When the step first met a transient error: the budget runs from
    /// there, counting the SDK's own attempts as well as the waits.
    first_transient: Arc<Mutex<Option<Instant>>>,
    stop: Option<watch::Receiver<bool>>,
}

impl Step {
    pub fn new(stop: Option<watch::Receiver<bool>>) -> Self {
        Self {
            first_transient: Arc::default(),
            stop,
        }
    }

    /// Runs `f` as this step: its retry loops share the step's budget.
    pub async fn run<F: Future>(self, f: F) -> F::Output {
        STEP.scope(self, f).await
    }

    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| *s.borrow())
    }

    /// Whether waiting `delay` more stays within the step's transient
    /// budget, which starts at its first transient error.
    fn take_transient(&self, delay: Duration) -> bool {
        let mut first = self
            .first_transient
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let since = first.get_or_insert_with(Instant::now).elapsed();
        since + delay <= TRANSIENT_BUDGET
    }
}

tokio::task_local! {
    static STEP: Step;
}

/// Runs `op`, retrying with capped exponential backoff while its error is
/// throttling, transient, or matches one of `rules`, within that rule's budget.
pub async fn retrying<T, F, Fut>(rules: &[Rule], op: F) -> Result<T, ResourceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ResourceError>>,
{
    retrying_on(rules, |e: &ResourceError| Some(e), op).await
}

/// [`retrying`] for operations whose errors may wrap an AWS error (`aws`
/// finds it; errors without one are never retried), such as a scheduler
/// step that also writes the ledger.
pub async fn retrying_on<T, E, F, Fut>(
    rules: &[Rule],
    aws: impl Fn(&E) -> Option<&ResourceError>,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    let step = STEP.try_with(Step::clone).ok();
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if step.as_ref().is_some_and(Step::stopped) {
            return Err(err);
        }
        let retry = aws(&err).and_then(|e| {
            let within = match e.class() {
                // Drawn from the step's one budget when in a step.
                ErrorClass::Throttled | ErrorClass::Transient => match &step {
                    Some(s) => s.take_transient(delay),
                    None => started.elapsed() + delay < TRANSIENT_BUDGET,
                },
                _ => rules
                    .iter()
                    .find(|r| r.matches(e))
                    .is_some_and(|r| started.elapsed() + delay < r.budget),
            };
            within.then_some(e)
        });
        let Some(e) = retry else {
            return Err(err);
        };
        tracing::info!(resource = %e.resource(), error = %e, ?delay, "retrying");
        let mut stop = step.as_ref().and_then(|s| s.stop.clone());
        match stop.as_mut() {
            Some(stop) => {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.wait_for(|s| *s) => return Err(err),
                }
            }
            None => tokio::time::sleep(delay).await,
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::id::LogicalId;

    fn aws(code: &str, message: &str, class: ErrorClass) -> ResourceError {
        ResourceError::Aws {
            resource: LogicalId::new("t"),
            operation: "Op",
            class,
            code: Some(code.into()),
            message: message.into(),
            source: message.to_owned().into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_a_matching_rule_then_succeeds() {
        let calls = AtomicU32::new(0);
        let out = retrying(&[rules::IAM_INVALID_PRINCIPAL], || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(aws(
                    "MalformedPolicyDocument",
                    "Invalid principal in policy",
                    ErrorClass::Other,
                ))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn ec2_new_ids_match_their_kinds_only() {
        let nf = |code: &str| aws(code, "The ID 'x' does not exist", ErrorClass::NotFound);
        let covered = |code: &str| {
            rules::EC2_NOT_YET_VISIBLE
                .iter()
                .any(|r| r.matches(&nf(code)))
        };
        for code in [
            "InvalidVpcID.NotFound",
            "InvalidGroup.NotFound",
            "InvalidRouteTableID.NotFound",
        ] {
            assert!(covered(code), "{code}");
        }
        for code in [
            "InvalidAssociationID.NotFound",
            "InvalidParameterValue",
            "DependencyViolation",
        ] {
            assert!(!covered(code), "{code}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn message_must_match_too() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = retrying(&[rules::IAM_INVALID_PRINCIPAL], || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(aws(
                "MalformedPolicyDocument",
                "Syntax error",
                ErrorClass::Other,
            ))
        })
        .await;
        assert!(out.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a real policy error fails fast"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_budget() {
        let start = tokio::time::Instant::now();
        let out: Result<(), _> = retrying(&[rules::KMS_POLICY_NEW_PRINCIPAL], || async {
            Err(aws(
                "MalformedPolicyDocumentException",
                "x",
                ErrorClass::Other,
            ))
        })
        .await;
        assert!(out.is_err());
        let waited = start.elapsed();
        assert!(
            waited <= rules::KMS_POLICY_NEW_PRINCIPAL.budget,
            "{waited:?}"
        );
        assert!(waited >= Duration::from_secs(60), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn nested_loops_share_one_transient_budget_per_step() {
        let start = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let out: Result<(), ResourceError> = Step::new(None)
            .run(retrying(&[], || async {
                // An inner loop (a resource's own) under the outer one.
                retrying(&[], || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(), _>(aws("InternalError", "boom", ErrorClass::Transient))
                })
                .await
            }))
            .await;
        assert!(out.is_err());
        let waited = start.elapsed();
        assert!(
            waited <= TRANSIENT_BUDGET + Duration::from_secs(10),
            "one budget, not one per loop: {waited:?}"
        );
        assert!(
            waited >= TRANSIENT_BUDGET - Duration::from_secs(20),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_waiting_at_once() {
        let (tx, rx) = watch::channel(false);
        let start = tokio::time::Instant::now();
        let task = tokio::spawn(Step::new(Some(rx)).run(retrying(&[], || async {
            Err::<(), _>(aws("Throttling", "slow down", ErrorClass::Throttled))
        })));
        tokio::time::sleep(Duration::from_secs(3)).await;
        tx.send(true).unwrap();
        assert!(task.await.unwrap().is_err());
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_always_retried() {
        let calls = AtomicU32::new(0);
        let out = retrying(&[], || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 5 {
                Err(aws(
                    "ThrottlingException",
                    "Rate exceeded",
                    ErrorClass::Throttled,
                ))
            } else {
                Ok(())
            }
        })
        .await;
        assert!(out.is_ok());
    }
}
