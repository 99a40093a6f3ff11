//! VPC flow logs of all traffic (PCI DSS 10.2), to S3 and to CloudWatch.
//! Flow logs cannot be modified: a drifted one is replaced.

use async_trait::async_trait;
use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::Property;
use paysec_core::{LogicalId, ResourceError};

use crate::ec2;

pub enum FlowLogDestination {
    /// A bucket resource (attribute `arn`).
    S3 { bucket: LogicalId },
    /// A log group resource (attribute `name`) and the delivery role
    /// (attribute `arn`); `policy` is the role's permissions, which must
    /// exist before delivery starts.
    CloudWatch {
        log_group: LogicalId,
        role: LogicalId,
        policy: LogicalId,
    },
}

paysec_core::properties! {
    /// What a flow log's read compares (LOG-1..3, LOG-6, INV-1).
    pub enum FlowLogProperty {
        TrafficType = "traffic_type",
        Destination = "destination",
        DeliveryStatus = "delivery_status",
        Resource = "resource",
        Tags = "tags",
    }
}

pub struct FlowLog {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
    destination: FlowLogDestination,
}

impl FlowLog {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        destination: FlowLogDestination,
    ) -> Self {
        Self {
            id,
            aws,
            vpc,
            destination,
        }
    }

    fn target(&self, cx: &Context) -> Result<String, ResourceError> {
        match &self.destination {
            FlowLogDestination::S3 { bucket } => cx.attr(bucket, Attr::Arn).map(str::to_owned),
            FlowLogDestination::CloudWatch { log_group, .. } => {
                cx.attr(log_group, Attr::Name).map(str::to_owned)
            }
        }
    }
}

#[async_trait]
impl Resource for FlowLog {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "flow_log"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        let mut d = vec![Dependency::Identity(self.vpc.clone())];
        match &self.destination {
            FlowLogDestination::S3 { bucket } => d.push(Dependency::Identity(bucket.clone())),
            FlowLogDestination::CloudWatch {
                log_group,
                role,
                policy,
            } => {
                d.extend(
                    [log_group, role, policy]
                        .into_iter()
                        .cloned()
                        .map(Dependency::Identity),
                );
            }
        }
        d
    }

    /// One DescribeFlowLogs of the environment answers both flow logs'
    /// checks: there (traffic type and destination: full read only).
    async fn quick_check(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        cx.census()
            .check("flow_logs", &known.physical_id, || async {
                let out = self
                    .aws
                    .ec2
                    .describe_flow_logs()
                    .set_filter(Some(ec2::in_environment(cx)))
                    .send()
                    .await
                    .or_resource(&self.id, "DescribeFlowLogs")?;
                Ok(out
                    .flow_logs()
                    .iter()
                    .filter_map(|f| f.flow_log_id().map(str::to_owned))
                    .collect())
            })
            .await
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let Some(f) = ec2::find!(
            self,
            cx,
            known,
            describe_flow_logs,
            flow_log_ids,
            set_filter,
            flow_logs,
            "DescribeFlowLogs"
        ) else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        checks.equal(
            FlowLogProperty::TrafficType,
            TrafficType::All.as_str(),
            f.traffic_type().map(|t| t.as_str()).unwrap_or("?"),
        );
        let target = self.target(cx)?;
        let actual = match &self.destination {
            FlowLogDestination::S3 { .. } => f.log_destination().unwrap_or(""),
            FlowLogDestination::CloudWatch { .. } => f.log_group_name().unwrap_or(""),
        };
        checks.check(
            FlowLogProperty::Destination,
            actual.starts_with(&target),
            &target,
            actual,
        );
        // Whether AWS can deliver (PCI DSS 10.7.2: a logging failure is
        // detected): FAILED comes with its reason (the role cannot be
        // assumed, the group or bucket refuses). `verify` fails it; `up`
        // does not recreate the flow log for it (see `repair`).
        let status = f.deliver_logs_status().unwrap_or("unreported");
        checks.check(
            FlowLogProperty::DeliveryStatus,
            status == "SUCCESS",
            "SUCCESS",
            match f.deliver_logs_error_message() {
                Some(why) if status != "SUCCESS" => format!("{status}: {why}"),
                _ => status.to_owned(),
            },
        );
        checks.equal(
            FlowLogProperty::Resource,
            cx.physical_id(&self.vpc)?,
            f.resource_id().unwrap_or("?"),
        );
        ec2::check_tags(&mut checks, cx, f.tags());
        Ok(checks.observed(Present::new(f.flow_log_id().unwrap_or_default())))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let mut req = self
            .aws
            .ec2
            .create_flow_logs()
            .resource_ids(cx.physical_id(&self.vpc)?)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::All)
            .tag_specifications(ec2::tag_spec(cx, ResourceType::VpcFlowLog));
        req = match &self.destination {
            FlowLogDestination::S3 { bucket } => req
                .log_destination_type(LogDestinationType::S3)
                .log_destination(cx.attr(bucket, Attr::Arn)?),
            FlowLogDestination::CloudWatch {
                log_group, role, ..
            } => req
                .log_destination_type(LogDestinationType::CloudWatchLogs)
                .log_group_name(cx.attr(log_group, Attr::Name)?)
                .deliver_logs_permission_arn(cx.attr(role, Attr::Arn)?),
        };
        // The SDK's own retries of one attempt share its token (no
        // duplicate from a retried timeout); a new attempt after a refused
        // item needs a new one, or AWS would replay the refusal. The
        // create's token comes with its intent from the ledger, so a run
        // resuming a crashed create repeats its tokens and AWS answers with
        // what it made then.
        let token = cx.create_token();
        let attempt = std::sync::atomic::AtomicU32::new(0);
        let out = retrying(&flow_log_rules(), || async {
            let n = attempt.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let out = req
                .clone()
                .client_token(format!("{token}-{n}"))
                .send()
                .await
                .or_resource(&self.id, "CreateFlowLogs")?;
            // Per-item failures come back with HTTP 200.
            match out.unsuccessful().first() {
                Some(item) => {
                    let err = item.error();
                    Err(ResourceError::Aws {
                        resource: self.id.clone(),
                        operation: "CreateFlowLogs",
                        class: paysec_core::ErrorClass::Other,
                        code: err.and_then(|e| e.code()).map(str::to_owned),
                        message: err
                            .and_then(|e| e.message())
                            .unwrap_or("unsuccessful")
                            .to_owned(),
                        source: "CreateFlowLogs reported an unsuccessful item".into(),
                    })
                }
                None => Ok(out),
            }
        })
        .await?;
        let flow_log_id = out
            .flow_log_ids()
            .first()
            .ok_or_else(|| ResourceError::unexpected(&self.id, "CreateFlowLogs returned no id"))?;
        Ok(Present::new(flow_log_id))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        // A flow log's settings cannot be changed in place: anything but
        // its tags is repaired by making it again.
        let drifted = FlowLogProperty::drifted(&self.id, drift)?;
        let settings = drifted
            .iter()
            .filter(|(p, _)| !matches!(p, FlowLogProperty::Tags | FlowLogProperty::DeliveryStatus))
            .count();
        if settings == 0 {
            if drifted.iter().any(|(p, _)| *p == FlowLogProperty::Tags) {
                ec2::retag(&self.aws, cx, &self.id, &present.physical_id).await?;
            }
            // A delivery failure is outside the flow log (the role's trust
            // or permissions, the destination's policy or key): making it
            // again fixes nothing and leaves a gap in the logs each time.
            // Said, with AWS's reason; `verify` keeps failing LOG-6.
            if let Some((_, d)) = drifted
                .iter()
                .find(|(p, _)| *p == FlowLogProperty::DeliveryStatus)
            {
                tracing::warn!(
                    "{}: AWS reports the flow log not delivering ({}); fix the delivery role's trust and permissions or the destination's policy and key: the flow log itself is as configured and is left as it is",
                    self.id,
                    d.actual
                );
            }
            return Ok(present.clone());
        }
        self.delete(cx, present).await?;
        // A client token of its own: the first create's would make EC2
        // answer with the flow log just deleted.
        self.create(&cx.for_another_create()).await
    }

    async fn delete(&self, _cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let out = ec2::not_found_is_none(
            self.aws
                .ec2
                .delete_flow_logs()
                .flow_log_ids(&known.physical_id)
                .send()
                .await
                .or_resource(&self.id, "DeleteFlowLogs"),
        )?;
        if let Some(item) = out.as_ref().and_then(|o| o.unsuccessful().first()) {
            let code = item.error().and_then(|e| e.code()).unwrap_or("");
            if !code.contains("NotFound") {
                return Err(ResourceError::unexpected(
                    &self.id,
                    format!("DeleteFlowLogs failed: {code}"),
                ));
            }
        }
        Ok(DeleteOutcome::default())
    }
}

/// A flow log's create: its role may not be assumable yet, its VPC not yet
/// visible.
fn flow_log_rules() -> Vec<paysec_core::retry::Rule> {
    let mut all = vec![rules::FLOW_LOGS_ROLE_NOT_YET_ASSUMABLE];
    all.extend(rules::EC2_NOT_YET_VISIBLE);
    all
}
