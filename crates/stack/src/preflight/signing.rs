//! The configured Signer profile, checked before the first release needs
//! it.

use paysec_aws::Aws;
use paysec_core::ErrorClass;

use super::{Preflight, Verdict};

/// The configured Signer profile exists here, is Active and signs for
/// Lambda: otherwise the first release would fail after the bucket and
/// the configuration were made.
///
/// IAM: signer:GetSigningProfile.
pub(super) async fn signing_profile(aws: &Aws, p: &mut Preflight, name: &str, emulator: bool) {
    match aws
        .signer
        .get_signing_profile()
        .profile_name(name)
        .send()
        .await
    {
        Ok(out) => {
            let profile = paysec_lambda::signing::Profile {
                version_arn: out.profile_version_arn().unwrap_or_default().to_owned(),
                status: out
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                platform: out.platform_id().unwrap_or_default().to_owned(),
            };
            match paysec_lambda::signing::profile_problem(name, &profile) {
                Some(why) => p.push("signing profile", Verdict::Fail, why),
                None => p.push(
                    "signing profile",
                    Verdict::Ok,
                    format!(
                        "{name}: Active, {}, version {}",
                        profile.platform, profile.version_arn
                    ),
                ),
            }
        }
        Err(e) if paysec_aws::classify::classify(&e) == ErrorClass::NotFound => p.push(
            "signing profile",
            Verdict::Fail,
            format!(
                "no Signer signing profile {name} in this account and region ({}); create it with `aws signer put-signing-profile --platform-id {} --profile-name {name}`, or fix lambda.signing_profile",
                paysec_aws::classify::one_line(&e),
                paysec_lambda::signing::LAMBDA_PLATFORM
            ),
        ),
        Err(e) => {
            p.note_refusal("GetSigningProfile", &e);
            p.push(
                "signing profile",
                Verdict::unanswered(emulator, Verdict::Fail),
                format!("GetSigningProfile: {}", paysec_aws::classify::one_line(&e)),
            )
        }
    }
}
