//! Route 53 Resolver DNS Firewall as AWS behaves where the emulators do
//! not (LocalStack stores names as given and applies updates at once;
//! moto has no DNS Firewall). Each rule is in `docs/real-aws.md`:
//!
//! | rule | what the proxy does |
//! |---|---|
//! | names end with a dot | ListFirewallDomains answers every domain with a trailing dot (`*` as `*.`), as Route 53 Resolver stores them |
//! | association updates are asynchronous | after AssociateFirewallRuleGroup or UpdateFirewallRuleGroupAssociation, for `dns_association_update_time`, GetFirewallRuleGroupAssociation reads `UPDATING` with the protection it had before; another update or a disassociation meanwhile is a `ConflictException` |
//! | mutation protection | DisassociateFirewallRuleGroup of an association whose protection is (still) on is a `ValidationException` "[RSLVR-02307]" |
//!
//! Sources: Route 53 Resolver API reference (UpdateFirewallRuleGroupAssociation,
//! DisassociateFirewallRuleGroup, ListFirewallDomains);
//! terraform-provider-aws `aws_route53_resolver_firewall_rule_group_association`
//! (waits for `COMPLETE` after create and update) and issues #21278
//! (RSLVR-02307) and #23543 (trailing dots).

use serde_json::Value;
use tokio::time::Instant;

use crate::exchange::{Call, Verdict};
use crate::memory::{Association, Memory};
use crate::ruleset::Rules;

impl Association {
    /// Applies a finished update.
    fn settle(&mut self, now: Instant) {
        if let Some((to, until)) = self.pending {
            if now >= until {
                self.protected = to;
                self.pending = None;
            }
        }
    }
}

fn association_id(call: &Call<'_>) -> Option<String> {
    serde_json::from_str::<Value>(call.body).ok()?["FirewallRuleGroupAssociationId"]
        .as_str()
        .map(str::to_owned)
}

/// Decides a call before it reaches the emulator.
pub(crate) fn before(rules: &Rules, m: &mut Memory, call: &Call<'_>) -> Option<Verdict> {
    if !rules.dns_firewall_mutation_protection {
        return None;
    }
    let now = Instant::now();
    let refuse_while_updating = matches!(
        call.signature,
        "DisassociateFirewallRuleGroup" | "UpdateFirewallRuleGroupAssociation"
    );
    if !refuse_while_updating {
        return None;
    }
    let id = association_id(call)?;
    let a = m.dns_associations.get_mut(&id)?;
    a.settle(now);
    if a.pending.is_some() {
        return Some(Verdict::Refuse(
            400,
            "ConflictException",
            format!("[RSLVR-00910] The firewall rule group association {id} is being updated (UPDATING). Try again after the update completes."),
        ));
    }
    if call.signature == "DisassociateFirewallRuleGroup" && a.protected {
        return Some(Verdict::Refuse(
            400,
            "ValidationException",
            format!("[RSLVR-02307] The firewall rule group association {id} is under mutation protection. Disable mutation protection before you disassociate it."),
        ));
    }
    None
}

/// Notes what a successful call changed, and rewrites an answer to show
/// what AWS would: names with trailing dots, an association updating.
pub(crate) fn after(
    rules: &Rules,
    m: &mut Memory,
    call: &Call<'_>,
    head: &str,
    body: &str,
) -> Option<Vec<u8>> {
    if !rules.dns_firewall_mutation_protection {
        return None;
    }
    let now = Instant::now();
    match call.signature {
        "ListFirewallDomains" => {
            let mut v: Value = serde_json::from_str(body).ok()?;
            let domains = v["Domains"].as_array_mut()?;
            let mut changed = false;
            for d in domains.iter_mut() {
                if let Some(s) = d.as_str().filter(|s| !s.ends_with('.')) {
                    *d = Value::from(format!("{s}."));
                    changed = true;
                }
            }
            changed.then(|| crate::with_new_body(head, &v.to_string()))
        }
        "AssociateFirewallRuleGroup" | "UpdateFirewallRuleGroupAssociation" => {
            let answer: Value = serde_json::from_str(body).ok()?;
            let association = &answer["FirewallRuleGroupAssociation"];
            let asked = serde_json::from_str::<Value>(call.body).unwrap_or_default();
            let id = association["Id"].as_str()?.to_owned();
            // The request says what was asked, when an emulator echoes the
            // old value.
            let to = asked["MutationProtection"]
                .as_str()
                .or_else(|| association["MutationProtection"].as_str())
                .map(|p| p == "ENABLED");
            let until = now + rules.dns_association_update_time;
            let entry = m.dns_associations.entry(id).or_insert(Association {
                protected: false,
                pending: None,
            });
            if call.signature == "AssociateFirewallRuleGroup" {
                entry.protected = false;
            }
            if let Some(to) = to {
                entry.pending = Some((to, until));
            } else {
                entry.pending = Some((entry.protected, until));
            }
            None
        }
        "GetFirewallRuleGroupAssociation" => {
            let mut v: Value = serde_json::from_str(body).ok()?;
            let id = v["FirewallRuleGroupAssociation"]["Id"].as_str()?.to_owned();
            let a = m.dns_associations.get_mut(&id)?;
            a.settle(now);
            let shown = v["FirewallRuleGroupAssociation"].as_object_mut()?;
            let protection = if a.protected { "ENABLED" } else { "DISABLED" };
            shown.insert("MutationProtection".into(), Value::from(protection));
            if a.pending.is_some() {
                shown.insert("Status".into(), Value::from("UPDATING"));
            }
            Some(crate::with_new_body(head, &v.to_string()))
        }
        "DisassociateFirewallRuleGroup" => {
            if let Some(id) = association_id(call) {
                m.dns_associations.remove(&id);
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call<'a>(signature: &'a str, body: &'a str) -> Call<'a> {
        Call::of(signature, body)
    }

    #[test]
    fn protection_changes_only_once_the_update_completes() {
        let rules = Rules {
            dns_association_update_time: Duration::from_millis(200),
            ..Rules::aws()
        };
        let mut m = Memory::default();
        after(
            &rules,
            &mut m,
            &call(
                "AssociateFirewallRuleGroup",
                r#"{"MutationProtection":"ENABLED"}"#,
            ),
            "HTTP/1.1 200 OK\r\n",
            r#"{"FirewallRuleGroupAssociation":{"Id":"a-1","MutationProtection":"ENABLED"}}"#,
        );
        let go = call(
            "DisassociateFirewallRuleGroup",
            r#"{"FirewallRuleGroupAssociationId":"a-1"}"#,
        );
        // Associating: a conflict, then protected.
        assert!(matches!(
            before(&rules, &mut m, &go),
            Some(Verdict::Refuse(400, "ConflictException", _))
        ));
        std::thread::sleep(Duration::from_millis(250));
        assert!(matches!(
            before(&rules, &mut m, &go),
            Some(Verdict::Refuse(400, "ValidationException", ref msg)) if msg.contains("RSLVR-02307")
        ));
        // Protection off: still protected while the update runs.
        after(
            &rules,
            &mut m,
            &call(
                "UpdateFirewallRuleGroupAssociation",
                r#"{"FirewallRuleGroupAssociationId":"a-1","MutationProtection":"DISABLED"}"#,
            ),
            "HTTP/1.1 200 OK\r\n",
            r#"{"FirewallRuleGroupAssociation":{"Id":"a-1","MutationProtection":"DISABLED"}}"#,
        );
        let read = after(
            &rules,
            &mut m,
            &call("GetFirewallRuleGroupAssociation", "{}"),
            "HTTP/1.1 200 OK\r\n",
            r#"{"FirewallRuleGroupAssociation":{"Id":"a-1","Status":"COMPLETE","MutationProtection":"DISABLED"}}"#,
        )
        .unwrap();
        let read = String::from_utf8(read).unwrap();
        assert!(
            read.contains(r#""Status":"UPDATING""#)
                && read.contains(r#""MutationProtection":"ENABLED""#),
            "{read}"
        );
        std::thread::sleep(Duration::from_millis(250));
        assert!(before(&rules, &mut m, &go).is_none());
    }

    #[test]
    fn domains_are_answered_with_trailing_dots() {
        let mut m = Memory::default();
        let out = after(
            &Rules::aws(),
            &mut m,
            &call("ListFirewallDomains", "{}"),
            "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n",
            r#"{"Domains":["*","s3.us-east-1.amazonaws.com","done."]}"#,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(r#"["*.","s3.us-east-1.amazonaws.com.","done."]"#),
            "{text}"
        );
    }
}
