//! The installed rows: installing every crate's, the [`Guard`] each client
//! carries against a call with none, and an AWS refusal matched to the
//! statement that grants it.

use std::sync::OnceLock;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::names::sid;
use super::Permission;

static INSTALLED: OnceLock<Vec<Permission>> = OnceLock::new();

/// Installs every crate's rows, once per process; later calls are
/// ignored. Until then [`Guard`] checks nothing (the library crates'
/// own tests make calls without the binary's tables).
pub fn install(rows: Vec<Permission>) {
    let _ = INSTALLED.set(rows);
}

/// The installed rows.
pub fn installed() -> &'static [Permission] {
    INSTALLED.get().map(Vec::as_slice).unwrap_or(&[])
}

/// The rows of one operation.
pub fn rows_for<'a>(
    rows: &'a [Permission],
    service: &str,
    operation: &str,
) -> impl Iterator<Item = &'a Permission> {
    let service = service.to_owned();
    let operation = operation.to_owned();
    rows.iter()
        .filter(move |p| p.service == service && p.operation == operation)
}

/// The statements that grant `operation` (by the installed rows), as
/// `paysec iam-policy` names them, with the first row's actions; `None`
/// when no row has it. Operations of two services can share a name
/// (KMS's and Lambda's `ListAliases`): AWS's refusal names the action it
/// refused ("not authorized to perform: kms:ListAliases"), and `refusal`,
/// AWS's message, picks the rows granting that action when it does.
pub fn statement_for(operation: &str, refusal: &str) -> Option<(Vec<String>, &'static Permission)> {
    statement_in(installed(), operation, refusal)
}

/// [`statement_for`] among `rows`.
pub fn statement_in<'a>(
    rows: &'a [Permission],
    operation: &str,
    refusal: &str,
) -> Option<(Vec<String>, &'a Permission)> {
    let mut rows: Vec<&'a Permission> = rows
        .iter()
        .filter(|p| p.operation == operation && !p.actions.is_empty())
        .collect();
    if let Some(action) = refused_action(refusal) {
        if rows.iter().any(|p| p.actions.contains(&action)) {
            rows.retain(|p| p.actions.contains(&action));
        } else {
            // An action named otherwise than IAM names it (an emulator's
            // `apigateway:UpdateAccount` for IAM's `apigateway:PATCH`):
            // the rows of its service, not those of actions needed beside
            // (`iam:PassRole`).
            let service = action.split(':').next().unwrap_or_default();
            let of_service = |p: &&Permission| {
                p.actions
                    .first()
                    .is_some_and(|a| a.split(':').next() == Some(service))
            };
            if rows.iter().any(of_service) {
                rows.retain(of_service);
            }
        }
    }
    let first = *rows.first()?;
    let mut sids: Vec<String> = rows
        .iter()
        .map(|p| sid(p.serves, p.need, &p.scope))
        .collect();
    sids.dedup();
    Some((sids, first))
}

/// The action an AWS refusal names: "... is not authorized to perform:
/// kms:ListAliases on resource: ..." gives `kms:ListAliases`.
pub fn refused_action(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("to perform: ")?;
    let action = rest
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .next()?;
    action.contains(':').then_some(action)
}

/// Checks each call against the installed rows: in a debug build a call
/// with no row is refused before it is sent; in a release build it is
/// logged.
#[derive(Clone, Debug, Default)]
pub struct Guard;

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "paysec permission table"
    }

    // Not `read_before_execution`: a client's interceptors see the bag
    // there before the operation's metadata is in it.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let rows = installed();
        if rows.is_empty() {
            return Ok(());
        }
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        if rows_for(rows, meta.service(), meta.name()).next().is_some() {
            return Ok(());
        }
        let what = format!(
            "paysec calls {} {} but no permission row names it: add one to the permissions.rs of the crate making the call, so `paysec iam-policy` grants it",
            meta.service(),
            meta.name()
        );
        if cfg!(debug_assertions) {
            Err(what.into())
        } else {
            tracing::warn!("{what}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::{read, Scope};

    /// A call whose operation has no row is refused before it is sent, in
    /// a debug build, naming it; one with a row goes out.
    #[tokio::test]
    async fn a_call_without_a_row_is_refused_naming_it() {
        install(vec![read(
            "Test",
            "STS",
            "GetCallerIdentity",
            &[],
            Scope::Any,
        )]);
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        let aws = crate::Aws::connect(&crate::AwsSettings {
            // Nothing listens here: a call that goes out fails to connect.
            endpoint_url: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            max_attempts: 1,
            ..crate::AwsSettings::default()
        })
        .await
        .expect("SDK config");
        let err = aws.kms.list_aliases().send().await.expect_err("refused");
        let text = format!("{:?}", err);
        assert!(
            text.contains("KMS ListAliases but no permission row names it"),
            "{text}"
        );
        let err = aws
            .sts
            .get_caller_identity()
            .send()
            .await
            .expect_err("no server");
        let text = format!("{:?}", err);
        assert!(!text.contains("no permission row"), "{text}");
    }
}
