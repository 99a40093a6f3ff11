//! SNS subscription confirmation: a subscription waits for its recipient
//! until ConfirmSubscription brings the token SNS sent.

use super::answer;
use crate::exchange::{form, form_get, Call, Verdict, XML_OK};
use crate::memory::{Confirmation, Memory};
use crate::wire::between;

/// Protocols whose subscriptions SNS confirms with the recipient.
const CONFIRMED_BY_RECIPIENT: &[&str] = &["email", "email-json", "http", "https"];

/// SNS subscriptions as AWS keeps them: remembers a new subscription that
/// waits for its recipient, and rewrites answers that would show it
/// confirmed (moto's). `Some(body)`: the answer's new body.
pub(super) fn subscriptions(
    m: &mut Memory,
    confirming: &[String],
    call: &Call<'_>,
    body: &str,
) -> Option<String> {
    match call.signature {
        "Subscribe" => {
            let pairs = form(call.body);
            let protocol = form_get(&pairs, "Protocol").unwrap_or_default();
            let endpoint = form_get(&pairs, "Endpoint").unwrap_or_default();
            let arn = between(body, "<SubscriptionArn>", "</SubscriptionArn>")?.to_owned();
            if !CONFIRMED_BY_RECIPIENT.contains(&protocol.as_str())
                || confirming.contains(&endpoint)
                || !arn.starts_with("arn:")
            {
                return None;
            }
            let token = format!("{:x}", fingerprint(&arn));
            m.pending.entry(arn.clone()).or_insert(Confirmation {
                topic_arn: form_get(&pairs, "TopicArn").unwrap_or_default(),
                endpoint,
                token,
            });
            // "If you don't set ReturnSubscriptionArn, the response
            // returns 'pending confirmation' for a subscription that needs
            // it" (the Subscribe reference).
            let returned = form_get(&pairs, "ReturnSubscriptionArn").as_deref() == Some("true");
            (!returned && m.pending.contains_key(&arn)).then(|| {
                body.replace(
                    &format!("<SubscriptionArn>{arn}</SubscriptionArn>"),
                    "<SubscriptionArn>pending confirmation</SubscriptionArn>",
                )
            })
        }
        "ListSubscriptionsByTopic" | "ListSubscriptions" => {
            let shown = m.pending.keys().fold(body.to_owned(), |b, arn| {
                b.replace(
                    &format!("<SubscriptionArn>{arn}</SubscriptionArn>"),
                    "<SubscriptionArn>PendingConfirmation</SubscriptionArn>",
                )
            });
            (shown != body).then_some(shown)
        }
        "Unsubscribe" => {
            let arn = form_get(&form(call.body), "SubscriptionArn")?;
            m.pending.remove(&arn);
            None
        }
        "DeleteTopic" => {
            let topic = form_get(&form(call.body), "TopicArn")?;
            m.pending.retain(|_, c| c.topic_arn != topic);
            None
        }
        _ => None,
    }
}

/// ConfirmSubscription: the token SNS sent confirms its subscription; any
/// other is refused ("Invalid token", as AWS words it).
pub(super) fn confirm(m: &mut Memory, pairs: &[(String, String)]) -> Verdict {
    let topic = form_get(pairs, "TopicArn").unwrap_or_default();
    let token = form_get(pairs, "Token").unwrap_or_default();
    let found = m
        .pending
        .iter()
        .find(|(_, c)| c.topic_arn == topic && c.token == token)
        .map(|(arn, _)| arn.clone());
    match found {
        Some(arn) => {
            m.pending.remove(&arn);
            answer(
                XML_OK,
                &format!(
                    "<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ConfirmSubscriptionResult><SubscriptionArn>{arn}</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata><RequestId>rules</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>"
                ),
            )
        }
        None => Verdict::Refuse(400, "InvalidParameter", "Invalid token".into()),
    }
}

/// A stable token for a subscription (FNV-1a of its ARN).
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_subscription_waits_for_its_token() {
        let mut m = Memory::default();
        let call = |signature: &'static str, body: &'static str| Call {
            head: "",
            body,
            signature,
            ec2: false,
        };
        let arn = "arn:aws:sns:eu-west-1:123456789012:alarms:1f2e";
        let answer =
            format!("<SubscribeResult><SubscriptionArn>{arn}</SubscriptionArn></SubscribeResult>");
        let subscribe = "Action=Subscribe&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A123456789012%3Aalarms&Protocol=email&Endpoint=oncall%40example.com";
        let shown = subscriptions(&mut m, &[], &call("Subscribe", subscribe), &answer).unwrap();
        assert!(shown.contains("<SubscriptionArn>pending confirmation</SubscriptionArn>"));
        let listed =
            subscriptions(&mut m, &[], &call("ListSubscriptionsByTopic", ""), &answer).unwrap();
        assert!(listed.contains("<SubscriptionArn>PendingConfirmation</SubscriptionArn>"));
        // A recipient who follows the link at once, and another protocol,
        // are confirmed as moto has them.
        let mut other = Memory::default();
        let confirming = ["oncall@example.com".to_owned()];
        assert!(subscriptions(
            &mut other,
            &confirming,
            &call("Subscribe", subscribe),
            &answer
        )
        .is_none());
        let sqs = "Action=Subscribe&TopicArn=t&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Ax";
        assert!(subscriptions(&mut other, &[], &call("Subscribe", sqs), &answer).is_none());
        // Only the token sent confirms.
        let token = m.pending[arn].token.clone();
        let topic = "arn:aws:sns:eu-west-1:123456789012:alarms".to_owned();
        let pairs = |t: &str| {
            vec![
                ("TopicArn".to_owned(), topic.clone()),
                ("Token".to_owned(), t.to_owned()),
            ]
        };
        assert!(matches!(
            confirm(&mut m, &pairs("wrong")),
            Verdict::Refuse(400, "InvalidParameter", _)
        ));
        assert!(matches!(
            confirm(&mut m, &pairs(&token)),
            Verdict::Answer(_)
        ));
        assert!(m.pending.is_empty());
        assert!(
            subscriptions(&mut m, &[], &call("ListSubscriptionsByTopic", ""), &answer).is_none()
        );
    }
}
