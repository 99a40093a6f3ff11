//! The rules wanted, as text comparable with the live ones: each rule's
//! group and peer resolved to their physical ids or CIDR.

use paysec_core::resource::Context;
use paysec_core::Attr;
use paysec_core::ResourceError;

use super::{Flat, Peer, SecurityGroupRules};

impl SecurityGroupRules {
    fn peer(&self, cx: &Context, p: &Peer) -> Result<String, ResourceError> {
        Ok(match p {
            Peer::Group(g) => cx.physical_id(g)?.to_owned(),
            Peer::VpcCidr => cx.attr(&self.vpc, Attr::Cidr)?.to_owned(),
            Peer::Cidr(c) | Peer::ForeignGroup(c) => c.clone(),
        })
    }

    pub(super) fn desired(&self, cx: &Context) -> Result<Flat, ResourceError> {
        self.rules
            .iter()
            .map(|r| {
                Ok(format!(
                    "{} {} tcp {}-{} {}",
                    cx.physical_id(&r.group)?,
                    if r.egress { "out" } else { "in" },
                    r.port,
                    r.port,
                    self.peer(cx, &r.peer)?
                ))
            })
            .collect()
    }

    /// Every group's physical id (all must be recorded).
    pub(super) fn group_ids(&self, cx: &Context) -> Result<Vec<String>, ResourceError> {
        self.groups
            .iter()
            .map(|g| cx.physical_id(g).map(str::to_owned))
            .collect()
    }
}
