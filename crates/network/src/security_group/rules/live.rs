//! The rules live on the groups (DescribeSecurityGroups), flattened to the
//! same text as the wanted ones.

use paysec_core::ResourceError;

use super::{Flat, SecurityGroupRules};
use crate::ec2;

impl SecurityGroupRules {
    /// The rules live on `ids`.
    pub(super) async fn actual(&self, ids: Vec<String>) -> Result<Flat, ResourceError> {
        // The groups may have been created moments ago, by this run or a
        // run just before: a NotFound is "not yet visible".
        let req = self
            .aws
            .ec2
            .describe_security_groups()
            .set_group_ids(Some(ids));
        let out = ec2::send_after_create!(req, &self.id, "DescribeSecurityGroups").await?;
        let mut flat = Flat::new();
        for sg in out.security_groups() {
            let gid = sg.group_id().unwrap_or_default();
            for (dir, perms) in [
                ("in", sg.ip_permissions()),
                ("out", sg.ip_permissions_egress()),
            ] {
                for p in perms {
                    let proto = match p.ip_protocol().unwrap_or("-1") {
                        "6" => "tcp",
                        other => other,
                    };
                    let ports = format!(
                        "{}-{}",
                        p.from_port().unwrap_or(-1),
                        p.to_port().unwrap_or(-1)
                    );
                    let peers = p
                        .user_id_group_pairs()
                        .iter()
                        .filter_map(|u| u.group_id().map(str::to_owned))
                        .chain(
                            p.ip_ranges()
                                .iter()
                                .filter_map(|r| r.cidr_ip().map(str::to_owned)),
                        )
                        .chain(
                            p.ipv6_ranges()
                                .iter()
                                .filter_map(|r| r.cidr_ipv6().map(str::to_owned)),
                        )
                        .chain(
                            p.prefix_list_ids()
                                .iter()
                                .filter_map(|r| r.prefix_list_id().map(str::to_owned)),
                        );
                    for peer in peers {
                        flat.insert(format!("{gid} {dir} {proto} {ports} {peer}"));
                    }
                }
            }
        }
        Ok(flat)
    }
}
