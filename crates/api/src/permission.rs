//! The function's permission for the API: one statement in the alias
//! `live`'s resource policy letting API Gateway invoke it for calls to
//! this API's stage `v1` only (`AWS:SourceArn`), and for nothing else.

use async_trait::async_trait;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Ownership, Present, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{Attr, LogicalId, Property, ResourceError};
use serde_json::Value;

use crate::{execute_api_arn, STAGE};

paysec_core::properties! {
    /// What the permission's read compares (API-10).
    pub enum PermissionProperty {
        Statement = "statement",
    }
}

const SID: &str = "paysec-api-invoke";
const ALIAS: &str = "live";
const PRINCIPAL: &str = "apigateway.amazonaws.com";

pub struct InvokePermission {
    id: LogicalId,
    aws: paysec_aws::Aws,
    function: LogicalId,
    api: LogicalId,
}

impl InvokePermission {
    pub fn new(id: LogicalId, aws: paysec_aws::Aws, function: LogicalId, api: LogicalId) -> Self {
        Self {
            id,
            aws,
            function,
            api,
        }
    }

    fn source_arn(&self, cx: &Context) -> Result<String, ResourceError> {
        Ok(format!(
            "{}/{STAGE}/*",
            execute_api_arn(cx, cx.physical_id(&self.api)?)
        ))
    }

    /// The statement as `principal action source`, comparable with the
    /// live one.
    fn wanted(&self, cx: &Context) -> Result<String, ResourceError> {
        Ok(format!(
            "{PRINCIPAL} lambda:InvokeFunction {}",
            self.source_arn(cx)?
        ))
    }

    async fn add(&self, cx: &Context) -> Result<(), ResourceError> {
        let function = cx.attr(&self.function, Attr::Name)?.to_owned();
        let source = self.source_arn(cx)?;
        // lambda:AddPermission on the alias; a function being updated
        // (a release in flight) answers ResourceConflictException.
        retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
            self.aws
                .lambda
                .add_permission()
                .function_name(&function)
                .qualifier(ALIAS)
                .statement_id(SID)
                .action("lambda:InvokeFunction")
                .principal(PRINCIPAL)
                .source_arn(&source)
                .source_account(&cx.env.account)
                .send()
                .await
                .or_resource(&self.id, "AddPermission")
        })
        .await?;
        Ok(())
    }

    async fn remove(&self, cx: &Context) -> Result<(), ResourceError> {
        let Ok(function) = cx.attr(&self.function, Attr::Name) else {
            return Ok(());
        };
        // lambda:RemovePermission on the alias
        not_found_is_none(
            retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
                self.aws
                    .lambda
                    .remove_permission()
                    .function_name(function)
                    .qualifier(ALIAS)
                    .statement_id(SID)
                    .send()
                    .await
                    .or_resource(&self.id, "RemovePermission")
            })
            .await,
        )?;
        Ok(())
    }
}

/// `principal action source` of statement `SID` in `policy`, if there.
fn live_statement(policy: &str) -> Option<String> {
    let doc: Value = serde_json::from_str(policy).ok()?;
    let statements = match doc.get("Statement")? {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    let s = statements
        .into_iter()
        .find(|s| s.get("Sid").and_then(Value::as_str) == Some(SID))?;
    let principal = match s.get("Principal") {
        Some(Value::Object(o)) => o
            .get("Service")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned(),
        Some(other) => other.to_string(),
        None => "?".into(),
    };
    let action = s.get("Action").and_then(Value::as_str).unwrap_or("?");
    let source = s
        .pointer("/Condition/ArnLike/AWS:SourceArn")
        .and_then(Value::as_str)
        .unwrap_or("any source");
    Some(format!("{principal} {action} {source}"))
}

#[async_trait]
impl Resource for InvokePermission {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "lambda_permission"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Identity(self.function.clone()),
            Dependency::Identity(self.api.clone()),
        ]
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let function = cx.attr(&self.function, Attr::Name)?;
        // lambda:GetPolicy on the alias
        let policy = not_found_is_none(
            self.aws
                .lambda
                .get_policy()
                .function_name(function)
                .qualifier(ALIAS)
                .send()
                .await
                .or_resource(&self.id, "GetPolicy"),
        )?;
        let Some(live) = policy
            .as_ref()
            .and_then(|p| p.policy())
            .and_then(live_statement)
        else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        checks.equal(PermissionProperty::Statement, self.wanted(cx)?, live);
        Ok(checks.observed(Present::new(format!("{function}:{ALIAS}/{SID}"))))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        match self.add(cx).await {
            Ok(()) => {}
            // Added by a run whose answer was lost: read and converge.
            Err(e) if e.code() == Some("ResourceConflictException") => {
                return paysec_core::resource::adopt_after_conflict(self, cx, e).await
            }
            Err(e) => return Err(e),
        }
        Ok(Present::new(format!(
            "{}:{ALIAS}/{SID}",
            cx.attr(&self.function, Attr::Name)?
        )))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        PermissionProperty::drifted(&self.id, drift)?;
        self.remove(cx).await?;
        self.add(cx).await?;
        Ok(present.clone())
    }

    /// A statement on paysec's own function, proven by the function's
    /// ownership.
    fn adoption_needs_proof(&self) -> bool {
        false
    }

    async fn ownership(&self, _cx: &Context, _known: &Present) -> Result<Ownership, ResourceError> {
        Ok(Ownership::Proven)
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        self.remove(cx).await?;
        Ok(DeleteOutcome::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_reads_as_principal_action_and_source() {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"paysec-api-invoke","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:123456789012:function:f:live","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:eu-west-1:123456789012:abc/v1/*"}}}]}"#;
        assert_eq!(
            live_statement(policy).as_deref(),
            Some("apigateway.amazonaws.com lambda:InvokeFunction arn:aws:execute-api:eu-west-1:123456789012:abc/v1/*")
        );
        assert_eq!(live_statement(r#"{"Statement":[]}"#), None);
    }
}
