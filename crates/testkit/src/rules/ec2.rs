//! EC2: client tokens compared without the token, ids AWS shows only
//! eventually, and interface endpoints' private DNS needing the VPC's.

use std::net::SocketAddr;

use crate::exchange::{ask, form, form_get, Call, Verdict};
use crate::wire::between;

/// The id a successful EC2 create answers with, for the creates whose new
/// resource AWS shows only eventually.
pub(super) fn created_ec2_id(signature: &str, answer: &str) -> Option<String> {
    let tag = match signature {
        "CreateVpc" => "vpcId",
        "CreateSubnet" => "subnetId",
        "CreateSecurityGroup" => "groupId",
        "CreateRouteTable" => "routeTableId",
        "CreateNetworkAcl" => "networkAclId",
        "CreateVpcEndpoint" => "vpcEndpointId",
        _ => return None,
    };
    between(answer, &format!("<{tag}>"), &format!("</{tag}>")).map(str::to_owned)
}

/// EC2's not-found code for an id, by its prefix.
pub(super) fn not_found_code(id: &str) -> &'static str {
    match id.split('-').next().unwrap_or_default() {
        "vpc" => "InvalidVpcID.NotFound",
        "subnet" => "InvalidSubnetID.NotFound",
        "sg" => "InvalidGroup.NotFound",
        "rtb" => "InvalidRouteTableID.NotFound",
        "acl" => "InvalidNetworkAclID.NotFound",
        "vpce" => "InvalidVpcEndpointId.NotFound",
        _ => "InvalidID.NotFound",
    }
}

/// The form parameters that decide an EC2 call, without its client token,
/// in a canonical order.
pub(super) fn parameters_without_token(body: &str) -> String {
    let mut pairs: Vec<(String, String)> = form(body)
        .into_iter()
        .filter(|(k, _)| k != "ClientToken")
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// CreateVpcEndpoint: "To use a private hosted zone, you must set the
/// following VPC attributes to true: enableDnsHostnames and
/// enableDnsSupport" (the API reference); private DNS is on unless asked
/// off. The refusal's words are AWS's as users report them.
pub(super) async fn private_dns_refusal(upstream: SocketAddr, call: &Call<'_>) -> Option<Verdict> {
    let pairs = form(call.body);
    let interface = form_get(&pairs, "VpcEndpointType").as_deref() == Some("Interface");
    let private_dns = form_get(&pairs, "PrivateDnsEnabled").as_deref() != Some("false");
    let vpc = form_get(&pairs, "VpcId")?;
    if !(interface && private_dns) {
        return None;
    }
    for attribute in ["enableDnsSupport", "enableDnsHostnames"] {
        let (ok, body) = ask(
            upstream,
            call.head,
            "ec2",
            &format!(
                "Action=DescribeVpcAttribute&Attribute={attribute}&VpcId={vpc}&Version=2016-11-15"
            ),
            None,
        )
        .await?;
        let on = between(&body, &format!("<{attribute}>"), &format!("</{attribute}>"))
            .and_then(|a| between(a, "<value>", "</value>"))
            == Some("true");
        if ok && !on {
            return Some(Verdict::Refuse(
                400,
                "InvalidParameter",
                format!("Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {vpc}"),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_compare_everything_but_the_token() {
        let a = parameters_without_token("Action=CreateVpcEndpoint&VpcId=vpc-1&ClientToken=t");
        let b = parameters_without_token("ClientToken=t&VpcId=vpc-1&Action=CreateVpcEndpoint");
        let c = parameters_without_token("Action=CreateVpcEndpoint&VpcId=vpc-2&ClientToken=t");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
