//! The full read's checks (KMS-1..5, INV-1): state, rotation, policy,
//! alias, grants and tags; and which grantees a grant may have.

use paysec_aws::AwsResultExt;
use paysec_core::resource::{Checks, Context};
use paysec_core::ResourceError;
use serde_json::Value;

use super::{KeyProperty, KmsKey};

impl KmsKey {
    pub(super) async fn checks(
        &self,
        cx: &Context,
        meta: &aws_sdk_kms::types::KeyMetadata,
    ) -> Result<Checks, ResourceError> {
        let key_id = meta.key_id();
        let mut checks = Checks::default();
        let state = meta
            .key_state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        checks.equal(KeyProperty::KeyState, "Enabled", state);
        let rotation = self
            .aws
            .kms
            .get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .or_resource(&self.id, "GetKeyRotationStatus")?;
        // The cryptoperiod as KMS reports it (3.7.4): the rotation period
        // and the next rotation date, where the answer carries them.
        let enabled = rotation.key_rotation_enabled();
        let mut live = if enabled { "enabled" } else { "disabled" }.to_owned();
        if enabled {
            if let Some(days) = rotation.rotation_period_in_days() {
                live.push_str(&format!(", every {days} days"));
            }
            if let Some(next) = rotation.next_rotation_date() {
                live.push_str(&format!(", next {next}"));
            }
        }
        checks.check(KeyProperty::Rotation, enabled, "enabled", live);
        let got = self
            .aws
            .kms
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .or_resource(&self.id, "GetKeyPolicy")?;
        let actual: Value = got
            .policy()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null);
        let desired = self.desired_policy(cx)?;
        checks.policy(KeyProperty::Policy, &desired, &actual);
        let alias = self.alias(cx);
        let aliases = self
            .aws
            .kms
            .list_aliases()
            .key_id(key_id)
            .send()
            .await
            .or_resource(&self.id, "ListAliases")?;
        let found = aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name() == Some(alias.as_str()));
        checks.check(
            KeyProperty::Alias,
            found,
            alias.clone(),
            if found { alias.as_str() } else { "absent" },
        );
        let grants = self.grants(key_id).await?;
        let unexpected: Vec<&(String, String)> = grants
            .iter()
            .filter(|(_, grantee)| !Self::expected_grantee(cx, grantee))
            .collect();
        let live = if grants.is_empty() {
            "no grants".to_owned()
        } else {
            let grantees: Vec<&str> = grants.iter().map(|(_, g)| g.as_str()).collect();
            format!("grants to {}", grantees.join(", "))
        };
        checks.check(
            KeyProperty::Grants,
            unexpected.is_empty(),
            "grants only to AWS services and this environment's roles",
            live,
        );
        let actual = self.live_tags(key_id).await?;
        checks.tags(&self.wanted_tags(cx), &actual);
        Ok(checks)
    }

    /// The key's grants, as (grant id, grantee principal), every page.
    pub(super) async fn grants(
        &self,
        key_id: &str,
    ) -> Result<Vec<(String, String)>, ResourceError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .aws
                .kms
                .list_grants()
                .key_id(key_id)
                .set_marker(marker.take())
                .send()
                .await
                .or_resource(&self.id, "ListGrants")?;
            all.extend(out.grants().iter().map(|g| {
                (
                    g.grant_id().unwrap_or_default().to_owned(),
                    g.grantee_principal().unwrap_or_default().to_owned(),
                )
            }));
            match (out.truncated(), out.next_marker()) {
                (true, Some(m)) => marker = Some(m.to_owned()),
                _ => return Ok(all),
            }
        }
    }

    /// Who may hold a grant on the key (PCI DSS 3.6.1, fewest custodians):
    /// an AWS service principal (RDS grants itself `rds.<region>.amazonaws.com`
    /// for the resources it runs), a service-linked role of this account,
    /// or a role of this environment. Anything else, another account's
    /// principal above all, is not.
    pub(super) fn expected_grantee(cx: &Context, grantee: &str) -> bool {
        if !grantee.starts_with("arn:") {
            return grantee.ends_with(".amazonaws.com");
        }
        let own = format!("arn:{}:iam::{}:role/", cx.env.partition, cx.env.account);
        grantee.strip_prefix(&own).is_some_and(|role| {
            role.starts_with("aws-service-role/")
                || role.starts_with(&format!("{}-", cx.env.names.prefix()))
        })
    }
}
