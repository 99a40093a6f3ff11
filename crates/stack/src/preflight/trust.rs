//! Who outside the caller's account the stack would trust (key
//! administrators, the auditor): a warning naming them.

use paysec_config::Config;

use super::Verdict;

/// Who outside the caller's account the stack would trust: key
/// administrators of another account (they could change the keys'
/// policies) and the audit role's auditor (who can read the account's
/// security configuration). Each is legitimate when meant, so a warning
/// naming them, never a refusal.
pub(super) fn trust_outside(
    config: &Config,
    caller_arn: &str,
    key_admins: &[String],
) -> (Verdict, String) {
    let account_of = |arn: &str| arn.split(':').nth(4).map(str::to_owned);
    let Some(own) = account_of(caller_arn) else {
        return (
            Verdict::NotChecked,
            format!("no account in the caller's ARN {caller_arn}"),
        );
    };
    let mut outside: Vec<String> = key_admins
        .iter()
        .filter(|a| account_of(a).is_some_and(|acct| acct != own))
        .map(|a| format!("key administrator {a}"))
        .collect();
    let auditor = config.stack.iam.audit_trusted_account.clone().or_else(|| {
        config
            .stack
            .iam
            .audit_trusted_role_arn
            .as_deref()
            .and_then(account_of)
    });
    if let Some(acct) = auditor.filter(|a| *a != own) {
        outside.push(format!("the audit role's auditor (account {acct})"));
    }
    if outside.is_empty() {
        (
            Verdict::Ok,
            format!("nothing trusted outside account {own}"),
        )
    } else {
        (
            Verdict::Warning,
            format!(
                "trusted outside account {own}: {}; check this is meant",
                outside.join(", ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_of_other_accounts_are_named() {
        let caller = "arn:aws:sts::123456789012:assumed-role/Deployer/me";
        let mut config = Config::default();
        let own = ["arn:aws:iam::123456789012:role/KeyAdmin".to_owned()];
        assert_eq!(trust_outside(&config, caller, &own).0, Verdict::Ok);
        let foreign = ["arn:aws:iam::999999999999:role/KeyAdmin".to_owned()];
        let (verdict, detail) = trust_outside(&config, caller, &foreign);
        assert_eq!(verdict, Verdict::Warning);
        assert!(
            detail.contains("key administrator arn:aws:iam::999999999999:role/KeyAdmin"),
            "{detail}"
        );
        config.stack.iam.audit_trusted_role_arn =
            Some("arn:aws:iam::210987654321:role/Auditor".into());
        let (verdict, detail) = trust_outside(&config, caller, &own);
        assert_eq!(verdict, Verdict::Warning);
        assert!(
            detail.contains("auditor (account 210987654321)"),
            "{detail}"
        );
    }
}
