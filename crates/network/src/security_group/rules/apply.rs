//! Authorizing or revoking one flattened rule (the four EC2 calls), a
//! rule already there or already gone being nothing to do.

use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
use paysec_aws::AwsResultExt;
use paysec_core::ResourceError;

use super::SecurityGroupRules;

impl SecurityGroupRules {
    /// Authorizes or revokes one flattened rule.
    pub(super) async fn apply(&self, rule: &str, grant: bool) -> Result<(), ResourceError> {
        let parts: Vec<&str> = rule.split(' ').collect();
        let [group, dir, proto, ports, peer] = parts[..] else {
            return Err(ResourceError::unexpected(
                &self.id,
                format!("malformed rule {rule}"),
            ));
        };
        let (from, to) = ports.split_once('-').unwrap_or(("-1", "-1"));
        let mut perm = IpPermission::builder().ip_protocol(proto);
        if proto != "-1" {
            perm = perm
                .from_port(from.parse().unwrap_or(-1))
                .to_port(to.parse().unwrap_or(-1));
        }
        let perm = if peer.starts_with("sg-") {
            perm.user_id_group_pairs(UserIdGroupPair::builder().group_id(peer).build())
        } else if peer.contains(':') {
            perm.ipv6_ranges(
                aws_sdk_ec2::types::Ipv6Range::builder()
                    .cidr_ipv6(peer)
                    .build(),
            )
        } else if peer.starts_with("pl-") {
            perm.prefix_list_ids(
                aws_sdk_ec2::types::PrefixListId::builder()
                    .prefix_list_id(peer)
                    .build(),
            )
        } else {
            perm.ip_ranges(IpRange::builder().cidr_ip(peer).build())
        }
        .build();
        let ec2 = &self.aws.ec2;
        // The groups may be moments old: a grant naming one EC2 does not
        // show yet is retried (a NotFound there is not "done").
        let result = crate::ec2::after_create(|| async {
            self.send_rule(ec2, dir, grant, group, perm.clone()).await
        })
        .await;
        match result {
            // Revoking from a group that is gone, or a rule already there
            // or already gone: nothing to do.
            Err(e)
                if matches!(
                    e.code(),
                    Some("InvalidPermission.Duplicate" | "InvalidPermission.NotFound")
                ) || (!grant && e.code() == Some("InvalidGroup.NotFound")) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    async fn send_rule(
        &self,
        ec2: &aws_sdk_ec2::Client,
        dir: &str,
        grant: bool,
        group: &str,
        perm: IpPermission,
    ) -> Result<(), ResourceError> {
        match (dir, grant) {
            ("in", true) => ec2
                .authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(perm)
                .send()
                .await
                .or_resource(&self.id, "AuthorizeSecurityGroupIngress")
                .map(|_| ()),
            ("out", true) => ec2
                .authorize_security_group_egress()
                .group_id(group)
                .ip_permissions(perm)
                .send()
                .await
                .or_resource(&self.id, "AuthorizeSecurityGroupEgress")
                .map(|_| ()),
            ("in", false) => ec2
                .revoke_security_group_ingress()
                .group_id(group)
                .ip_permissions(perm)
                .send()
                .await
                .or_resource(&self.id, "RevokeSecurityGroupIngress")
                .map(|_| ()),
            _ => ec2
                .revoke_security_group_egress()
                .group_id(group)
                .ip_permissions(perm)
                .send()
                .await
                .or_resource(&self.id, "RevokeSecurityGroupEgress")
                .map(|_| ()),
        }
    }
}
