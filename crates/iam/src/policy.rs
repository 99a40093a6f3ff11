//! A customer-managed IAM policy attached to roles of the stack. Its
//! document is built at run time from its dependencies' ARNs, so every
//! statement names the stack's own resources wherever the service allows.

use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::policy_doc;
use paysec_core::resource::{
    adopt_after_conflict, Checks, Comparison, Context, DeleteOutcome, Dependency, Observed,
    Present, QuickCheck, Resource,
};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};
use serde_json::Value;

/// Builds the policy document from the context (dependency ARNs, names).
pub type DocumentFn = Box<dyn Fn(&Context) -> Result<Value, ResourceError> + Send + Sync>;

paysec_core::properties! {
    /// What a managed policy's read compares (IAM-5, IAM-6).
    pub enum PolicyProperty {
        Document = "document",
        Attachments = "attachments",
    }
}

pub struct ManagedPolicy {
    id: LogicalId,
    aws: paysec_aws::Aws,
    purpose: &'static str,
    description: String,
    document: DocumentFn,
    attach_to: Vec<LogicalId>,
    needs: Vec<LogicalId>,
}

impl ManagedPolicy {
    /// `attach_to`: role resources; `needs`: resources whose attributes the
    /// document reads (queues, keys...).
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        purpose: &'static str,
        description: impl Into<String>,
        attach_to: Vec<LogicalId>,
        needs: Vec<LogicalId>,
        document: DocumentFn,
    ) -> Self {
        Self {
            id,
            aws,
            purpose,
            description: description.into(),
            document,
            attach_to,
            needs,
        }
    }

    fn name(&self, cx: &Context) -> String {
        cx.env.names.policy(self.purpose)
    }

    fn arn(&self, cx: &Context) -> String {
        cx.env.arn("iam", "", &format!("policy/{}", self.name(cx)))
    }

    fn role_names(&self, cx: &Context) -> Result<Vec<String>, ResourceError> {
        self.attach_to
            .iter()
            .map(|r| cx.physical_id(r).map(str::to_owned))
            .collect()
    }

    /// The roles of this policy that have it attached, asked of each role
    /// (ListAttachedRolePolicies) rather than of the policy: moto's
    /// ListEntitiesForPolicy looks only at the account's first 100 roles,
    /// and each role's own list is short on AWS too.
    async fn attached_roles(&self, cx: &Context, arn: &str) -> Result<Vec<String>, ResourceError> {
        let mut attached = Vec::new();
        for role in self.role_names(cx)? {
            let out = self
                .aws
                .iam
                .list_attached_role_policies()
                .role_name(&role)
                .send()
                .await
                .or_resource(&self.id, "ListAttachedRolePolicies");
            let out = match out {
                Ok(o) => o,
                Err(e) if e.class() == ErrorClass::NotFound => continue,
                Err(e) => return Err(e),
            };
            if out
                .attached_policies()
                .iter()
                .any(|p| p.policy_arn() == Some(arn))
            {
                attached.push(role);
            }
        }
        Ok(attached)
    }

    /// Every role, user and group the policy is attached to, as
    /// `role/NAME`, `user/NAME`, `group/NAME` (ListEntitiesForPolicy, all
    /// pages): what least privilege compares with its roles.
    async fn entities(&self, arn: &str) -> Result<Vec<String>, ResourceError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .aws
                .iam
                .list_entities_for_policy()
                .policy_arn(arn)
                .set_marker(marker.take())
                .send()
                .await
                .or_resource(&self.id, "ListEntitiesForPolicy")?;
            all.extend(
                out.policy_roles()
                    .iter()
                    .filter_map(|r| r.role_name())
                    .map(|n| format!("role/{n}")),
            );
            all.extend(
                out.policy_users()
                    .iter()
                    .filter_map(|u| u.user_name())
                    .map(|n| format!("user/{n}")),
            );
            all.extend(
                out.policy_groups()
                    .iter()
                    .filter_map(|g| g.group_name())
                    .map(|n| format!("group/{n}")),
            );
            match (out.is_truncated(), out.marker()) {
                (true, Some(m)) => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// Detaches the policy from whatever it is attached to besides its
    /// roles (`role/NAME`, `user/NAME`, `group/NAME`).
    async fn detach_extras(&self, arn: &str, extras: &[String]) -> Result<(), ResourceError> {
        for e in extras {
            let (kind, name) = e.split_once('/').unwrap_or(("", e));
            let sent = match kind {
                "role" => self
                    .aws
                    .iam
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map(|_| ())
                    .or_resource(&self.id, "DetachRolePolicy"),
                "user" => self
                    .aws
                    .iam
                    .detach_user_policy()
                    .user_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map(|_| ())
                    .or_resource(&self.id, "DetachUserPolicy"),
                _ => self
                    .aws
                    .iam
                    .detach_group_policy()
                    .group_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map(|_| ())
                    .or_resource(&self.id, "DetachGroupPolicy"),
            };
            match sent {
                Ok(()) => {}
                Err(e) if e.class() == ErrorClass::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn attach(&self, cx: &Context, arn: &str) -> Result<(), ResourceError> {
        let have = self.attached_roles(cx, arn).await?;
        for role in self.role_names(cx)? {
            if !have.contains(&role) {
                self.aws
                    .iam
                    .attach_role_policy()
                    .role_name(&role)
                    .policy_arn(arn)
                    .send()
                    .await
                    .or_resource(&self.id, "AttachRolePolicy")?;
            }
        }
        Ok(())
    }

    /// IAM keeps at most five versions; the oldest non-default goes first.
    async fn new_version(&self, arn: &str, document: &str) -> Result<(), ResourceError> {
        let versions = self
            .aws
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .or_resource(&self.id, "ListPolicyVersions")?;
        let mut old: Vec<_> = versions
            .versions()
            .iter()
            .filter(|v| !v.is_default_version())
            .collect();
        if versions.versions().len() >= 5 {
            old.sort_by_key(|v| v.create_date().map(|d| d.secs()));
            if let Some(v) = old.first().and_then(|v| v.version_id()) {
                self.aws
                    .iam
                    .delete_policy_version()
                    .policy_arn(arn)
                    .version_id(v)
                    .send()
                    .await
                    .or_resource(&self.id, "DeletePolicyVersion")?;
            }
        }
        self.aws
            .iam
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
            .or_resource(&self.id, "CreatePolicyVersion")?;
        Ok(())
    }
}

#[async_trait]
impl Resource for ManagedPolicy {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "iam_policy"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        self.attach_to
            .iter()
            .chain(&self.needs)
            .cloned()
            .map(Dependency::Identity)
            .collect()
    }

    /// GetPolicy: it exists and is attached (the document and which role
    /// it is attached to are read only by a full read).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let found = self
            .aws
            .iam
            .get_policy()
            .policy_arn(self.arn(cx))
            .send()
            .await
            .or_resource(&self.id, "GetPolicy");
        QuickCheck::from_lookup(found, |out| {
            out.policy().and_then(|p| p.attachment_count()).unwrap_or(0) > 0
        })
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let arn = self.arn(cx);
        let policy = match self
            .aws
            .iam
            .get_policy()
            .policy_arn(&arn)
            .send()
            .await
            .or_resource(&self.id, "GetPolicy")
        {
            Ok(out) => out.policy().cloned(),
            Err(e) if e.class() == ErrorClass::NotFound => None,
            Err(e) => return Err(e),
        };
        let Some(policy) = policy else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let version = policy.default_version_id().unwrap_or("v1");
        let got = self
            .aws
            .iam
            .get_policy_version()
            .policy_arn(&arn)
            .version_id(version)
            .send()
            .await
            .or_resource(&self.id, "GetPolicyVersion")?;
        let actual = got
            .policy_version()
            .and_then(|v| v.document())
            .map(policy_doc::parse)
            .unwrap_or(Value::Null);
        checks.policy(PolicyProperty::Document, &(self.document)(cx)?, &actual);
        // Attached to exactly its roles: asked of each role (see
        // `attached_roles`) for the missing ones, of the policy for
        // anything else it is attached to (least privilege: a user or
        // another role given the function's rights fails).
        let have = self.attached_roles(cx, &arn).await?;
        let mut live: Vec<String> = have.iter().map(|r| format!("role/{r}")).collect();
        live.extend(self.entities(&arn).await?);
        live.sort();
        live.dedup();
        let mut wanted: Vec<String> = self
            .role_names(cx)?
            .iter()
            .map(|r| format!("role/{r}"))
            .collect();
        wanted.sort();
        checks.equal(
            PolicyProperty::Attachments,
            wanted.join(","),
            live.join(","),
        );
        Ok(checks.observed(Present::new(&arn).with(Attr::Arn, &arn)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let arn = self.arn(cx);
        let document = (self.document)(cx)?.to_string();
        let tags: Vec<Tag> = cx
            .tags()
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let created = self
            .aws
            .iam
            .create_policy()
            .policy_name(self.name(cx))
            .description(&self.description)
            .policy_document(&document)
            .set_tags(Some(tags))
            .send()
            .await
            .or_resource(&self.id, "CreatePolicy");
        match created {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::AlreadyExists => {
                return adopt_after_conflict(self, cx, e).await;
            }
            Err(e) => return Err(e),
        }
        self.attach(cx, &arn).await?;
        Ok(Present::new(&arn).with(Attr::Arn, &arn))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let arn = self.arn(cx);
        for (p, _) in PolicyProperty::drifted(&self.id, drift)? {
            match p {
                PolicyProperty::Document => {
                    self.new_version(&arn, &(self.document)(cx)?.to_string())
                        .await?
                }
                PolicyProperty::Attachments => {
                    self.attach(cx, &arn).await?;
                    let roles: Vec<String> = self
                        .role_names(cx)?
                        .iter()
                        .map(|r| format!("role/{r}"))
                        .collect();
                    let extras: Vec<String> = self
                        .entities(&arn)
                        .await?
                        .into_iter()
                        .filter(|e| !roles.contains(e))
                        .collect();
                    self.detach_extras(&arn, &extras).await?
                }
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let arn = self.arn(cx);
        // Every role it is meant for: a listing can lag an attachment, and a
        // policy deleted while still attached leaves its role undeletable
        // (DeleteConflict). Detaching what is not attached is NotFound.
        let roles = self.role_names(cx).unwrap_or_default();
        for role in roles {
            match self
                .aws
                .iam
                .detach_role_policy()
                .role_name(&role)
                .policy_arn(&arn)
                .send()
                .await
                .or_resource(&self.id, "DetachRolePolicy")
            {
                Ok(_) => {}
                Err(e) if e.class() == ErrorClass::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        // Gone already (an earlier, interrupted `down` got this far).
        let versions = match self
            .aws
            .iam
            .list_policy_versions()
            .policy_arn(&arn)
            .send()
            .await
            .or_resource(&self.id, "ListPolicyVersions")
        {
            Ok(v) => v,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(DeleteOutcome::default()),
            Err(e) => return Err(e),
        };
        for v in versions
            .versions()
            .iter()
            .filter(|v| !v.is_default_version())
        {
            if let Some(id) = v.version_id() {
                self.aws
                    .iam
                    .delete_policy_version()
                    .policy_arn(&arn)
                    .version_id(id)
                    .send()
                    .await
                    .or_resource(&self.id, "DeletePolicyVersion")?;
            }
        }
        not_found_is_none(
            self.aws
                .iam
                .delete_policy()
                .policy_arn(&arn)
                .send()
                .await
                .or_resource(&self.id, "DeletePolicy"),
        )?;
        Ok(DeleteOutcome::default())
    }
}
