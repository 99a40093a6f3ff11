//! What the ledger records of the function: its name and ARN, the release
//! `live` points to, and the job that signed `$LATEST`'s code.

use paysec_core::Attr;

use aws_sdk_lambda::types::FunctionConfiguration;
use paysec_core::resource::Present;

use super::Function;
use crate::release;
use crate::signing::Signed;

impl Function {
    pub(super) fn present(cfg: &FunctionConfiguration, live: Option<&release::Live>) -> Present {
        let p = Self::present_of(
            cfg.function_name().unwrap_or_default(),
            cfg.function_arn().unwrap_or_default(),
            live,
        );
        // The job that signed `$LATEST`'s code: what a version published
        // from it runs (the release record names it).
        match cfg.signing_job_arn() {
            Some(job) => p.with(Attr::SigningJobArn, job),
            None => p,
        }
    }

    /// `present` naming the job that signed `$LATEST`'s code, or none when
    /// the code just put there is unsigned.
    pub(super) fn with_job(mut present: Present, signed: Option<Signed>) -> Present {
        match signed {
            Some(s) => present.with(Attr::SigningJobArn, s.job_arn),
            None => {
                present.attrs.remove(Attr::SigningJobArn.as_str());
                present
            }
        }
    }

    pub(super) fn present_of(name: &str, arn: &str, live: Option<&release::Live>) -> Present {
        let mut p = Present::new(name)
            .with(Attr::Name, name)
            .with(Attr::Arn, arn);
        if let Some(live) = live {
            p = p
                .with(Attr::Version, &live.version)
                .with(Attr::CodeSha256, &live.code_sha256)
                .with(Attr::AliasArn, &live.alias_arn)
                .with(Attr::AliasResource, format!("{name}:{}", release::ALIAS));
        }
        p
    }
}
