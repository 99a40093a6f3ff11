//! PrivateLink's acceptance, where moto 5.2.5 makes every interface
//! endpoint `available` at once (a row in `docs/real-aws.md`):
//!
//! | rule | what the proxy does |
//! |---|---|
//! | a partner's service accepts by hand | an interface endpoint to an endpoint service of another account (`com.amazonaws.vpce.<region>.vpce-svc-*`) reads `pendingAcceptance` in CreateVpcEndpoint's and DescribeVpcEndpoints' answers until its provider accepts the connection ([`crate::FaultProxy::accept_endpoint_connection`], as the provider's AcceptVpcEndpointConnections from their account) |
//!
//! Sources: Amazon VPC API reference (CreateVpcEndpoint, VpcEndpoint's
//! `State`: `PendingAcceptance`, `Rejected`...); AWS PrivateLink guide,
//! "Accept or reject connection requests" (a service with acceptance
//! required leaves each new endpoint pending until the provider acts);
//! terraform-provider-aws `aws_vpc_endpoint` (its create wait ends at
//! `available` or `pendingAcceptance`; `auto_accept` only for a service of
//! the same account).

use crate::exchange::{form, form_get, Call};
use crate::memory::Memory;
use crate::ruleset::Rules;
use crate::wire::between;

/// Whether a service name is an endpoint service offered by an account
/// (not one of AWS's own).
fn partner_service(name: &str) -> bool {
    name.contains(".vpce-svc-")
}

/// Notes a new endpoint to a partner's service and shows the ones not yet
/// accepted as pending: returns the answer rewritten, if it is one to
/// rewrite.
pub(crate) fn after(
    rules: &Rules,
    m: &mut Memory,
    call: &Call<'_>,
    head: &str,
    body: &str,
) -> Option<Vec<u8>> {
    if !rules.endpoint_acceptance || !call.ec2 {
        return None;
    }
    match call.signature {
        "CreateVpcEndpoint" => {
            let service = form_get(&form(call.body), "ServiceName")?;
            if !partner_service(&service) {
                return None;
            }
            let id = between(body, "<vpcEndpointId>", "</vpcEndpointId>")?;
            if !m.accepted_endpoints.contains(id) {
                m.awaiting_acceptance.insert(id.to_owned());
            }
        }
        "DescribeVpcEndpoints" => {}
        _ => return None,
    }
    let awaiting: Vec<&str> = m.awaiting_acceptance.iter().map(String::as_str).collect();
    let rewritten = crate::model::endpoints_in_state(body, &awaiting, "pendingAcceptance");
    (rewritten != body).then(|| crate::with_new_body(head, &rewritten))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_partner_s_endpoint_waits_for_acceptance() {
        let rules = Rules::aws();
        let mut m = Memory::default();
        let created = |service: &str, id: &str| {
            format!("Action=CreateVpcEndpoint&ServiceName={service}&VpcId=vpc-1&id={id}")
        };
        let answer = |id: &str| {
            format!("<CreateVpcEndpointResponse><vpcEndpoint><vpcEndpointId>{id}</vpcEndpointId><state>available</state></vpcEndpoint></CreateVpcEndpointResponse>")
        };
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n";
        let aws_service = created("com.amazonaws.us-east-1.kms", "vpce-1");
        let partner = created("com.amazonaws.vpce.us-east-1.vpce-svc-0abc", "vpce-2");
        let ec2_call = |body| Call {
            ec2: true,
            ..Call::of("CreateVpcEndpoint", body)
        };
        assert!(after(
            &rules,
            &mut m,
            &ec2_call(&aws_service),
            head,
            &answer("vpce-1")
        )
        .is_none());
        let call = ec2_call(&partner);
        let out = after(&rules, &mut m, &call, head, &answer("vpce-2")).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("<state>pendingAcceptance</state>"));
        m.awaiting_acceptance.remove("vpce-2");
        m.accepted_endpoints.insert("vpce-2".into());
        assert!(
            after(&rules, &mut m, &call, head, &answer("vpce-2")).is_none(),
            "accepted: available"
        );
    }
}
