//! The master password's secret (RDS-26): its rotation read from Secrets
//! Manager, and turned back on.

use aws_sdk_rds::types::DbInstance;
use paysec_aws::emulator::Gap;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{Checks, Present};
use paysec_core::Attr;
use paysec_core::ResourceError;

use super::{Instance, InstanceProperty, Password};

/// Days between rotations `up` sets when rotation is off: RDS's own
/// default for the secrets it manages.
const ROTATION_DAYS: i64 = 7;

impl Instance {
    /// The master password's secret (managed by RDS) rotates: Secrets
    /// Manager's DescribeSecret, its rotation, period, last and next
    /// dates quoted. A supplied password is a deviation (RDS-20 says so).
    pub(super) async fn check_secret_rotation(
        &self,
        db: &DbInstance,
        checks: &mut Checks,
    ) -> Result<(), ResourceError> {
        if !matches!(self.spec.password, Password::Managed) {
            checks.deviation(
                InstanceProperty::MasterSecretRotation,
                "the password is supplied (rds.master_password_env / rds.master_password_file): its rotation is yours",
            );
            return Ok(());
        }
        let expected = format!("rotation on (RDS's default: every {ROTATION_DAYS} days)");
        let Some(arn) = db.master_user_secret().and_then(|s| s.secret_arn()) else {
            checks.check(
                InstanceProperty::MasterSecretRotation,
                false,
                expected,
                "no secret managed by RDS",
            );
            return Ok(());
        };
        let out = paysec_core::error::not_found_is_none(
            self.aws
                .secrets
                .describe_secret()
                .secret_id(arn)
                .send()
                .await
                .or_resource(&self.id, "DescribeSecret"),
        )?;
        let Some(secret) = out else {
            checks.check(
                InstanceProperty::MasterSecretRotation,
                false,
                expected,
                format!("secret {arn} not found"),
            );
            return Ok(());
        };
        let Some(on) = secret.rotation_enabled() else {
            if !self.aws.tolerates(Gap::SecretRotationUnreported) {
                checks.check(
                    InstanceProperty::MasterSecretRotation,
                    false,
                    expected,
                    "RotationEnabled not reported",
                );
            }
            return Ok(());
        };
        let rules = secret.rotation_rules();
        let period = rules
            .and_then(|r| r.automatically_after_days())
            .map(|d| format!("every {d} days"))
            .or_else(|| {
                rules
                    .and_then(|r| r.schedule_expression())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "no schedule".to_owned());
        let date = |d: Option<&paysec_aws::sdk::secretsmanager::primitives::DateTime>| {
            d.map_or("-".to_owned(), |d| d.to_string())
        };
        checks.check(
            InstanceProperty::MasterSecretRotation,
            on,
            expected,
            format!(
                "rotation {}: {period}; last rotated {}; next {}",
                if on { "on" } else { "off" },
                date(secret.last_rotated_date()),
                date(secret.next_rotation_date())
            ),
        );
        Ok(())
    }

    /// RotateSecret with a schedule turns rotation back on for a secret
    /// RDS manages (its rotation needs no function), without rotating now.
    pub(super) async fn turn_rotation_on(&self, present: &Present) -> Result<(), ResourceError> {
        let arn = present
            .attrs
            .get(Attr::MasterUserSecretArn.as_str())
            .ok_or_else(|| {
                ResourceError::unexpected(
                    &self.id,
                    "the master password is not managed by RDS, so there is no secret to rotate: run `paysec up` again once RDS-20 is repaired",
                )
            })?;
        self.aws
            .secrets
            .rotate_secret()
            .secret_id(arn)
            .rotation_rules(
                paysec_aws::sdk::secretsmanager::types::RotationRulesType::builder()
                    .automatically_after_days(ROTATION_DAYS)
                    .build(),
            )
            .rotate_immediately(false)
            .send()
            .await
            .or_resource(&self.id, "RotateSecret")?;
        Ok(())
    }
}
