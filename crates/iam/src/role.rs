//! An IAM role: trust policy, one-hour sessions, tags, and the AWS-managed
//! policies it needs. Role names are unique, so a role the ledger lost is
//! adopted by name.

use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::id::random_token;
use paysec_core::policy_doc;
use paysec_core::resource::{
    adopt_after_conflict, Checks, Comparison, Context, DeleteOutcome, Dependency, Observed,
    Present, QuickCheck, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};
use serde_json::{json, Value};

use crate::MAX_SESSION_SECONDS;

/// Who may assume the role.
#[derive(Clone, Debug)]
pub enum Trust {
    /// An AWS service, guarded against the confused deputy by
    /// `aws:SourceAccount` and, when the service sends it, `aws:SourceArn`
    /// (a pattern; `{region}` and `{account}` are filled in).
    Service {
        service: &'static str,
        source_arn: Option<String>,
    },
    /// The configured auditor, who must present the external id. `None`
    /// only in the whole stack's graph when no auditor is configured (the
    /// role is then never created, only removed if the ledger has it).
    CrossAccount {
        auditor: Option<Auditor>,
        /// From the config; when absent, 128 random bits generated at
        /// creation, recorded in the ledger and compared on every read.
        external_id: Option<String>,
    },
}

/// Who may assume the audit role.
#[derive(Clone, Debug)]
pub enum Auditor {
    /// Any principal of this account (12 digits) its own IAM lets assume it.
    Account(String),
    /// Exactly this role (an ARN).
    Role(String),
}

impl Auditor {
    fn principal(&self, partition: &str) -> String {
        match self {
            Self::Account(account) => format!("arn:{partition}:iam::{account}:root"),
            Self::Role(arn) => arn.clone(),
        }
    }
}

paysec_core::properties! {
    /// What a role's read compares (IAM-1..4, INV-1).
    pub enum RoleProperty {
        MaxSessionDuration = "max_session_duration",
        TrustPolicy = "trust_policy",
        InlinePolicies = "inline_policies",
        ManagedPolicies = "managed_policies",
        Tags = "tags",
    }
}

pub struct Role {
    id: LogicalId,
    aws: paysec_aws::Aws,
    purpose: &'static str,
    description: String,
    trust: Trust,
    /// AWS-managed policies to attach, by name under `arn:<partition>:iam::aws:policy/`.
    aws_managed: Vec<&'static str>,
}

impl Role {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        purpose: &'static str,
        description: impl Into<String>,
        trust: Trust,
        aws_managed: Vec<&'static str>,
    ) -> Self {
        Self {
            id,
            aws,
            purpose,
            description: description.into(),
            trust,
            aws_managed,
        }
    }

    fn name(&self, cx: &Context) -> String {
        cx.env.names.role(self.purpose)
    }

    fn managed_arns(&self, cx: &Context) -> Vec<String> {
        self.aws_managed
            .iter()
            .map(|p| format!("arn:{}:iam::aws:policy/{p}", cx.env.partition))
            .collect()
    }

    /// The trust policy paysec wants. `generated_external_id` is the one
    /// paysec generated (at creation, or as the ledger recorded it), used
    /// when the config names none.
    pub fn trust_policy(&self, cx: &Context, generated_external_id: Option<&str>) -> Value {
        let env = &cx.env;
        let statement = match &self.trust {
            Trust::Service {
                service,
                source_arn,
            } => {
                let mut condition = json!({ "StringEquals": { "aws:SourceAccount": env.account } });
                if let Some(arn) = source_arn {
                    condition["ArnLike"] = json!({ "aws:SourceArn": arn
                        .replace("{region}", &env.region)
                        .replace("{account}", &env.account)
                        .replace("{partition}", &env.partition) });
                }
                json!({
                    "Sid": "ServiceAssume",
                    "Effect": "Allow",
                    "Principal": { "Service": service },
                    "Action": "sts:AssumeRole",
                    "Condition": condition
                })
            }
            Trust::CrossAccount {
                auditor,
                external_id,
            } => {
                let principal = auditor
                    .as_ref()
                    .map(|a| a.principal(&env.partition))
                    .unwrap_or_default();
                let external_id = external_id
                    .as_deref()
                    .or(generated_external_id)
                    .unwrap_or_default();
                json!({
                    "Sid": "CrossAccountAssumeWithExternalId",
                    "Effect": "Allow",
                    "Principal": { "AWS": principal },
                    "Action": "sts:AssumeRole",
                    "Condition": { "StringEquals": { "sts:ExternalId": external_id } }
                })
            }
        };
        json!({ "Version": "2012-10-17", "Statement": [statement] })
    }

    fn tags(cx: &Context) -> Vec<Tag> {
        cx.tags()
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect()
    }

    fn present(&self, cx: &Context, arn: &str, trust: &Value) -> Present {
        let p = Present::new(self.name(cx)).with(Attr::Arn, arn);
        match external_id_of(trust) {
            Some(x) if matches!(self.trust, Trust::CrossAccount { .. }) => {
                p.with(Attr::ExternalId, x)
            }
            _ => p,
        }
    }

    /// The ARN prefix of this environment's own customer managed policies.
    fn own_policy_prefix(&self, cx: &Context) -> String {
        format!(
            "arn:{}:iam::{}:policy/{}",
            cx.env.partition,
            cx.env.account,
            cx.env.names.prefix()
        )
    }

    /// Attached policies that are neither wanted AWS-managed ones nor this
    /// environment's own.
    fn extra_policies(&self, cx: &Context, attached: &[String]) -> Vec<String> {
        let wanted = self.managed_arns(cx);
        let own = format!("{}-", self.own_policy_prefix(cx));
        attached
            .iter()
            .filter(|a| !wanted.contains(a) && !a.starts_with(&own))
            .cloned()
            .collect()
    }

    async fn attach_managed(&self, cx: &Context, name: &str) -> Result<(), ResourceError> {
        for arn in self.managed_arns(cx) {
            self.aws
                .iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(&arn)
                .send()
                .await
                .or_resource(&self.id, "AttachRolePolicy")?;
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for Role {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "iam_role"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    /// GetRole: it exists (trust, session length, policies and tags are
    /// read only by a full read).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let found = self
            .aws
            .iam
            .get_role()
            .role_name(self.name(cx))
            .send()
            .await
            .or_resource(&self.id, "GetRole");
        QuickCheck::from_lookup(found, |_| true)
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let name = self.name(cx);
        let role = match self
            .aws
            .iam
            .get_role()
            .role_name(&name)
            .send()
            .await
            .or_resource(&self.id, "GetRole")
        {
            Ok(out) => out.role().cloned(),
            Err(e) if e.class() == ErrorClass::NotFound => None,
            Err(e) => return Err(e),
        };
        let Some(role) = role else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let session = role.max_session_duration().unwrap_or(0);
        checks.equal(
            RoleProperty::MaxSessionDuration,
            MAX_SESSION_SECONDS,
            session,
        );
        let trust = role
            .assume_role_policy_document()
            .map(policy_doc::parse)
            .unwrap_or(Value::Null);
        let live_external = external_id_of(&trust);
        // The generated external id is the one the ledger recorded: one
        // changed in AWS (to a value someone else knows) is drift, repaired
        // back. Only a role adopted without a record goes by the live one.
        let generated = cx
            .recorded_attr(Attr::ExternalId)
            .or(live_external.as_deref());
        let wanted_trust = self.trust_policy(cx, generated);
        checks.policy(RoleProperty::TrustPolicy, &wanted_trust, &trust);
        let inline = self
            .aws
            .iam
            .list_role_policies()
            .role_name(&name)
            .send()
            .await
            .or_resource(&self.id, "ListRolePolicies")?;
        checks.check(
            RoleProperty::InlinePolicies,
            inline.policy_names().is_empty(),
            "none",
            if inline.policy_names().is_empty() {
                "none".to_owned()
            } else {
                inline.policy_names().join(",")
            },
        );
        let attached = self
            .aws
            .iam
            .list_attached_role_policies()
            .role_name(&name)
            .send()
            .await
            .or_resource(&self.id, "ListAttachedRolePolicies")?;
        // Exactly its AWS-managed policies and this environment's own
        // (`paysec-<env>-...`, attached by their policy resources): any
        // other (AdministratorAccess, say) fails least privilege.
        let mut have: Vec<String> = attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn())
            .map(str::to_owned)
            .collect();
        have.sort();
        let wanted = self.managed_arns(cx);
        let missing: Vec<&String> = wanted.iter().filter(|a| !have.contains(a)).collect();
        let extras = self.extra_policies(cx, &have);
        let live = if have.is_empty() {
            "none".to_owned()
        } else {
            have.join(",")
        };
        if missing.is_empty() && extras.is_empty() {
            checks.equal(RoleProperty::ManagedPolicies, &live, &live);
        } else {
            let mut expected: Vec<String> = wanted.clone();
            expected.push(format!(
                "{}-* (this environment's own)",
                self.own_policy_prefix(cx)
            ));
            checks.check(
                RoleProperty::ManagedPolicies,
                false,
                expected.join(","),
                live,
            );
        }
        let actual: Vec<(String, String)> = role
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        checks.tags(&cx.tags(), &actual);
        // What paysec wants is what it records (the generated id included).
        Ok(checks.observed(self.present(cx, role.arn(), &wanted_trust)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let name = self.name(cx);
        if let Trust::CrossAccount { auditor: None, .. } = self.trust {
            return Err(ResourceError::unexpected(
                &self.id,
                "no auditor is trusted: set iam.audit_trusted_account or iam.audit_trusted_role_arn",
            ));
        }
        let fresh = random_token().map_err(|e| {
            ResourceError::unexpected(
                &self.id,
                format!("cannot draw a random external id from the operating system: {e}"),
            )
        })?;
        paysec_core::shown::hide(&fresh);
        let trust_doc = self.trust_policy(cx, Some(&fresh));
        let trust = trust_doc.to_string();
        let created = retrying(&[rules::IAM_INVALID_PRINCIPAL], || async {
            self.aws
                .iam
                .create_role()
                .role_name(&name)
                .description(&self.description)
                .assume_role_policy_document(&trust)
                .max_session_duration(MAX_SESSION_SECONDS)
                .set_tags(Some(Self::tags(cx)))
                .send()
                .await
                .or_resource(&self.id, "CreateRole")
        })
        .await;
        let arn = match created {
            Ok(out) => out.role().map(|r| r.arn().to_owned()).unwrap_or_default(),
            // Created by an earlier run whose result was lost: converge it.
            Err(e) if e.class() == ErrorClass::AlreadyExists => {
                return adopt_after_conflict(self, cx, e).await;
            }
            Err(e) => return Err(e),
        };
        self.attach_managed(cx, &name).await?;
        Ok(self.present(cx, &arn, &trust_doc))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let name = self.name(cx);
        for (p, d) in RoleProperty::drifted(&self.id, drift)? {
            match p {
                RoleProperty::MaxSessionDuration => {
                    self.aws
                        .iam
                        .update_role()
                        .role_name(&name)
                        .max_session_duration(MAX_SESSION_SECONDS)
                        .send()
                        .await
                        .or_resource(&self.id, "UpdateRole")?;
                }
                RoleProperty::TrustPolicy => {
                    self.aws
                        .iam
                        .update_assume_role_policy()
                        .role_name(&name)
                        .policy_document(
                            self.trust_policy(
                                cx,
                                cx.recorded_attr(Attr::ExternalId).or(present
                                    .attrs
                                    .get(Attr::ExternalId.as_str())
                                    .map(String::as_str)),
                            )
                            .to_string(),
                        )
                        .send()
                        .await
                        .or_resource(&self.id, "UpdateAssumeRolePolicy")?;
                }
                RoleProperty::InlinePolicies => {
                    for p in d.actual.split(',') {
                        self.aws
                            .iam
                            .delete_role_policy()
                            .role_name(&name)
                            .policy_name(p)
                            .send()
                            .await
                            .or_resource(&self.id, "DeleteRolePolicy")?;
                    }
                }
                RoleProperty::ManagedPolicies => {
                    self.attach_managed(cx, &name).await?;
                    let attached: Vec<String> = self
                        .aws
                        .iam
                        .list_attached_role_policies()
                        .role_name(&name)
                        .send()
                        .await
                        .or_resource(&self.id, "ListAttachedRolePolicies")?
                        .attached_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn())
                        .map(str::to_owned)
                        .collect();
                    for extra in self.extra_policies(cx, &attached) {
                        self.aws
                            .iam
                            .detach_role_policy()
                            .role_name(&name)
                            .policy_arn(&extra)
                            .send()
                            .await
                            .or_resource(&self.id, "DetachRolePolicy")?;
                    }
                }
                RoleProperty::Tags => {
                    self.aws
                        .iam
                        .tag_role()
                        .role_name(&name)
                        .set_tags(Some(Self::tags(cx)))
                        .send()
                        .await
                        .or_resource(&self.id, "TagRole")?;
                }
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let name = self.name(cx);
        let attached = match self
            .aws
            .iam
            .list_attached_role_policies()
            .role_name(&name)
            .send()
            .await
            .or_resource(&self.id, "ListAttachedRolePolicies")
        {
            Ok(a) => a,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(DeleteOutcome::default()),
            Err(e) => return Err(e),
        };
        // DeleteRole fails with DeleteConflict while anything is attached.
        for p in attached.attached_policies() {
            if let Some(arn) = p.policy_arn() {
                // Already gone (its own delete ran first): nothing to detach.
                paysec_core::error::not_found_is_none(
                    self.aws
                        .iam
                        .detach_role_policy()
                        .role_name(&name)
                        .policy_arn(arn)
                        .send()
                        .await
                        .or_resource(&self.id, "DetachRolePolicy"),
                )?;
            }
        }
        let inline = self
            .aws
            .iam
            .list_role_policies()
            .role_name(&name)
            .send()
            .await
            .or_resource(&self.id, "ListRolePolicies")?;
        for p in inline.policy_names() {
            self.aws
                .iam
                .delete_role_policy()
                .role_name(&name)
                .policy_name(p)
                .send()
                .await
                .or_resource(&self.id, "DeleteRolePolicy")?;
        }
        not_found_is_none(
            self.aws
                .iam
                .delete_role()
                .role_name(&name)
                .send()
                .await
                .or_resource(&self.id, "DeleteRole"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

/// The `sts:ExternalId` a trust policy requires, if any.
/// The external id a trust policy requires, registered to be shown only
/// as its digest from now on (`paysec_core::shown`).
fn external_id_of(trust: &Value) -> Option<String> {
    let id = trust["Statement"].as_array()?.iter().find_map(|s| {
        s["Condition"]["StringEquals"]["sts:ExternalId"]
            .as_str()
            .map(str::to_owned)
    })?;
    paysec_core::shown::hide(&id);
    Some(id)
}

/// What a role's calls send and what its read makes of AWS's answers, with
/// the SDK's own mock transport.
#[cfg(test)]
mod requests {
    use super::*;
    use aws_sdk_iam::operation::{
        attach_role_policy::AttachRolePolicyOutput, create_role::CreateRoleOutput,
        get_role::GetRoleOutput, list_attached_role_policies::ListAttachedRolePoliciesOutput,
        list_role_policies::ListRolePoliciesOutput,
    };
    use aws_sdk_iam::primitives::DateTime;
    use aws_sdk_iam::types::{AttachedPolicy, Role as LiveRole};
    use aws_sdk_iam::Client;
    use paysec_aws::mocked_client;
    use paysec_aws::testing::{mock, offline};
    use paysec_core::testing::{context, ACCOUNT};

    const NAME: &str = "paysec-test-001-rds-monitoring";
    const SERVICE: &str = "monitoring.rds.amazonaws.com";
    const MANAGED: &str = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole";

    async fn role(iam: Client) -> (Role, Context) {
        let mut aws = offline(paysec_core::testing::REGION).await;
        aws.iam = iam;
        let role = Role::new(
            LogicalId::new("iam.rds-monitoring"),
            aws,
            "rds-monitoring",
            "RDS enhanced monitoring",
            Trust::Service {
                service: SERVICE,
                source_arn: None,
            },
            vec!["service-role/AmazonRDSEnhancedMonitoringRole"],
        );
        (role, context("iam.rds-monitoring", &[]))
    }

    fn live(max_session: i32, trust: &Value) -> LiveRole {
        LiveRole::builder()
            .path("/")
            .role_name(NAME)
            .role_id("AROAEXAMPLE")
            .arn(format!("arn:aws:iam::{ACCOUNT}:role/{NAME}"))
            .create_date(DateTime::from_secs(0))
            .max_session_duration(max_session)
            .assume_role_policy_document(trust.to_string())
            .build()
            .expect("a whole role")
    }

    #[tokio::test]
    async fn create_sends_a_one_hour_role_only_its_service_may_assume_then_its_policy() {
        let create = mock!(Client::create_role)
            .match_requests(|r| {
                let trust: Value =
                    serde_json::from_str(r.assume_role_policy_document().unwrap_or("null"))
                        .unwrap_or(Value::Null);
                let statement = &trust["Statement"][0];
                r.role_name() == Some(NAME)
                    && r.max_session_duration() == Some(3600)
                    && statement["Principal"]["Service"] == SERVICE
                    && statement["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
                    && r.tags().iter().any(|t| {
                        t.key() == "paysec:logical-id" && t.value() == "iam.rds-monitoring"
                    })
            })
            .then_output(|| {
                CreateRoleOutput::builder()
                    .role(live(3600, &Value::Null))
                    .build()
            });
        let attach = mock!(Client::attach_role_policy)
            .match_requests(|r| r.role_name() == Some(NAME) && r.policy_arn() == Some(MANAGED))
            .then_output(|| AttachRolePolicyOutput::builder().build());
        let (role, cx) = role(mocked_client!(aws_sdk_iam, [&create, &attach])).await;
        let present = role.create(&cx).await.expect("created");
        assert_eq!(
            present.attrs.get(Attr::Arn.as_str()).map(String::as_str),
            Some(format!("arn:aws:iam::{ACCOUNT}:role/{NAME}").as_str())
        );
        assert_eq!((create.num_calls(), attach.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_long_session_and_an_extra_policy_are_drift_quoting_what_is_attached() {
        let (probe, cx) = role(mocked_client!(aws_sdk_iam, [])).await;
        let trust = probe.trust_policy(&cx, None);
        let got = mock!(Client::get_role)
            .then_output(move || GetRoleOutput::builder().role(live(43_200, &trust)).build());
        let inline = mock!(Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .set_policy_names(Some(Vec::new()))
                .build()
                .expect("an answer")
        });
        let attached = mock!(Client::list_attached_role_policies).then_output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(AttachedPolicy::builder().policy_arn(MANAGED).build())
                .attached_policies(
                    AttachedPolicy::builder()
                        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
                        .build(),
                )
                .build()
        });
        let (role, cx) = role(mocked_client!(aws_sdk_iam, [&got, &inline, &attached])).await;
        let Observed::Present { drift, .. } = role.read(&cx, None).await.expect("read") else {
            panic!("present");
        };
        let found = |p: RoleProperty| {
            drift
                .iter()
                .find(|d| d.property == p.as_str())
                .map(|d| d.actual.clone())
        };
        assert_eq!(
            found(RoleProperty::MaxSessionDuration).as_deref(),
            Some("43200")
        );
        assert_eq!(
            found(RoleProperty::ManagedPolicies).as_deref(),
            Some(format!("arn:aws:iam::aws:policy/AdministratorAccess,{MANAGED}").as_str())
        );
        assert_eq!(
            found(RoleProperty::TrustPolicy),
            None,
            "the trust is as wanted"
        );
        assert_eq!(found(RoleProperty::Tags).as_deref(), Some("absent"));
    }
}
