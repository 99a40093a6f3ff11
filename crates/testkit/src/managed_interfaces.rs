//! The network interfaces AWS services make in a VPC for what runs there,
//! which moto 5.2.5 never makes (a row in `docs/real-aws.md`):
//!
//! | rule | what the proxy does |
//! |---|---|
//! | a VPC function has Lambda's interfaces | while a function's configuration names subnets, DescribeNetworkInterfaces lists one interface per subnet: `InterfaceType` `lambda`, `Description` `AWS Lambda VPC ENI-<function>-<uuid>`, requester-managed, `in-use`, holding the function's groups |
//! | a DB instance has RDS's interface | while an instance lives, DescribeNetworkInterfaces lists one interface in its zone's subnet of its subnet group: `Description` `RDSNetworkInterface`, requester-managed, `in-use`, holding its VPC security groups |
//!
//! The interfaces are listed only (moto holds none), so they block no
//! delete; on AWS Lambda's outlive the function by up to 20 minutes, which
//! paysec's drain already waits out (`network.eni_drain_minutes`).
//!
//! Sources: Amazon EC2 user guide, "Requester-managed network interfaces"
//! (RDS instances and Lambda functions among their makers; `Description`,
//! `InterfaceType` and `RequesterManaged` tell them apart); Lambda
//! developer guide, "Giving Lambda functions access to resources in an
//! Amazon VPC" (Hyperplane interfaces per subnet and security-group
//! combination); EC2 API reference, DescribeNetworkInterfaces (filters,
//! `*` and `?` wildcards); terraform-provider-aws finds a function's
//! leftover interfaces by the description `AWS Lambda VPC ENI*`, as
//! paysec's drain does.

use serde_json::Value;

use crate::exchange::{form, form_get, Call};
use crate::memory::{Memory, Placements};
use crate::ruleset::Rules;
use crate::wire::between;

/// One interface the proxy lists.
#[derive(Debug, PartialEq)]
struct Interface {
    id: String,
    subnet: String,
    vpc: String,
    zone: String,
    ip: String,
    description: String,
    interface_type: &'static str,
    requester: &'static str,
    groups: Vec<String>,
}

/// A stable id from what the interface is for (FNV-1a).
fn stable_hex(seed: &str, digits: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = format!("{h:016x}{:016x}", h.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15);
    out.truncate(digits);
    out
}

/// An address in the range's first /24 (10–249), from the seed.
fn address_in(cidr: &str, seed: &str) -> String {
    let base: Vec<&str> = cidr.split(['.', '/']).collect();
    let host = 10 + u64::from_str_radix(&stable_hex(seed, 8), 16).unwrap_or(0) % 240;
    match base.as_slice() {
        [a, b, c, _, ..] => format!("{a}.{b}.{c}.{host}"),
        _ => format!("10.0.0.{host}"),
    }
}

/// The indexed values of a query form: `Prefix.1`, `Prefix.2`...
fn listed(pairs: &[(String, String)], prefix: &str) -> Vec<String> {
    (1..)
        .map_while(|i| form_get(pairs, &format!("{prefix}.{i}")))
        .collect()
}

fn json_strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Placements {
    fn interfaces(&self) -> Vec<Interface> {
        let mut out = Vec::new();
        let mut names: Vec<&String> = self.functions.keys().collect();
        names.sort();
        for name in names {
            let (subnets, groups) = &self.functions[name];
            for subnet in subnets {
                let Some((vpc, zone, cidr)) = self.subnets.get(subnet) else {
                    continue;
                };
                let seed = format!("lambda/{name}/{subnet}");
                let uuid = stable_hex(&seed, 32);
                out.push(Interface {
                    id: format!("eni-{}", stable_hex(&seed, 17)),
                    subnet: subnet.clone(),
                    vpc: vpc.clone(),
                    zone: zone.clone(),
                    ip: address_in(cidr, &seed),
                    description: format!(
                        "AWS Lambda VPC ENI-{name}-{}-{}-{}-{}-{}",
                        &uuid[..8],
                        &uuid[8..12],
                        &uuid[12..16],
                        &uuid[16..20],
                        &uuid[20..32]
                    ),
                    interface_type: "lambda",
                    requester: "AROAEXAMPLELAMBDAROLE:awslambda",
                    groups: groups.clone(),
                });
            }
        }
        let mut ids: Vec<&String> = self.instances.keys().collect();
        ids.sort();
        for db in ids {
            let (group, groups, zone) = &self.instances[db];
            let subnets = self.subnet_groups.get(group).cloned().unwrap_or_default();
            let placed = subnets
                .iter()
                .find(|s| self.subnets.get(*s).is_some_and(|(_, z, _)| z == zone))
                .or(subnets.first());
            let Some((subnet, (vpc, zone, cidr))) =
                placed.and_then(|s| Some((s, self.subnets.get(s)?)))
            else {
                continue;
            };
            let seed = format!("rds/{db}");
            out.push(Interface {
                id: format!("eni-{}", stable_hex(&seed, 17)),
                subnet: subnet.clone(),
                vpc: vpc.clone(),
                zone: zone.clone(),
                ip: address_in(cidr, &seed),
                description: "RDSNetworkInterface".to_owned(),
                interface_type: "interface",
                requester: "amazon-rds",
                groups: groups.clone(),
            });
        }
        out
    }
}

/// Whether `value` matches a filter value with EC2's wildcards (`*` any
/// run, `?` one character).
fn wildcard(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

/// Whether `i` answers the request's ids and filters; a filter the model
/// does not know lists nothing of its own (moto answers the rest).
fn wanted(i: &Interface, pairs: &[(String, String)]) -> bool {
    let ids = listed(pairs, "NetworkInterfaceId");
    if !ids.is_empty() && !ids.contains(&i.id) {
        return false;
    }
    (1..)
        .map_while(|n| form_get(pairs, &format!("Filter.{n}.Name")).map(|name| (n, name)))
        .all(|(n, name)| {
            let values = listed(pairs, &format!("Filter.{n}.Value"));
            let fields: Vec<&str> = match name.as_str() {
                "vpc-id" => vec![&i.vpc],
                "subnet-id" => vec![&i.subnet],
                "availability-zone" => vec![&i.zone],
                "group-id" => i.groups.iter().map(String::as_str).collect(),
                "description" => vec![&i.description],
                "status" => vec!["in-use"],
                "interface-type" => vec![i.interface_type],
                "requester-managed" => vec!["true"],
                "network-interface-id" => vec![&i.id],
                "private-ip-address" => vec![&i.ip],
                _ => return false,
            };
            values.iter().any(|v| fields.iter().any(|f| wildcard(v, f)))
        })
}

fn item(i: &Interface) -> String {
    let groups: String = i
        .groups
        .iter()
        .map(|g| format!("<item><groupId>{g}</groupId></item>"))
        .collect();
    format!(
        "<item><networkInterfaceId>{id}</networkInterfaceId><subnetId>{subnet}</subnetId><vpcId>{vpc}</vpcId><availabilityZone>{zone}</availabilityZone><description>{description}</description><requesterId>{requester}</requesterId><requesterManaged>true</requesterManaged><status>in-use</status><privateIpAddress>{ip}</privateIpAddress><sourceDestCheck>true</sourceDestCheck><interfaceType>{kind}</interfaceType><groupSet>{groups}</groupSet><privateIpAddressesSet><item><privateIpAddress>{ip}</privateIpAddress><primary>true</primary></item></privateIpAddressesSet><tagSet/></item>",
        id = i.id,
        subnet = i.subnet,
        vpc = i.vpc,
        zone = i.zone,
        description = i.description,
        requester = i.requester,
        ip = i.ip,
        kind = i.interface_type,
    )
}

/// Notes what places an interface (subnets, functions, instances).
pub(crate) fn note(rules: &Rules, m: &mut Memory, call: &Call<'_>, body: &str) {
    if !rules.managed_interfaces {
        return;
    }
    let p = &mut m.placements;
    match call.signature {
        "CreateSubnet" if call.ec2 => {
            let field = |tag: &str| between(body, &format!("<{tag}>"), &format!("</{tag}>"));
            if let (Some(id), Some(vpc), Some(zone), Some(cidr)) = (
                field("subnetId"),
                field("vpcId"),
                field("availabilityZone"),
                field("cidrBlock"),
            ) {
                p.subnets
                    .insert(id.into(), (vpc.into(), zone.into(), cidr.into()));
            }
        }
        "CreateDBSubnetGroup" => {
            let pairs = form(call.body);
            if let Some(name) = form_get(&pairs, "DBSubnetGroupName") {
                p.subnet_groups
                    .insert(name, listed(&pairs, "SubnetIds.SubnetIdentifier"));
            }
        }
        "CreateDBInstance" | "ModifyDBInstance" => {
            let pairs = form(call.body);
            let Some(db) = form_get(&pairs, "DBInstanceIdentifier") else {
                return;
            };
            let groups = listed(&pairs, "VpcSecurityGroupIds.VpcSecurityGroupId");
            let zone = between(body, "<AvailabilityZone>", "</AvailabilityZone>")
                .unwrap_or_default()
                .to_owned();
            match p.instances.get_mut(&db) {
                Some(known) if !groups.is_empty() => known.1 = groups,
                Some(_) => {}
                None => {
                    let group = form_get(&pairs, "DBSubnetGroupName").unwrap_or_default();
                    p.instances.insert(db, (group, groups, zone));
                }
            }
        }
        "DeleteDBInstance" => {
            if let Some(db) = form_get(&form(call.body), "DBInstanceIdentifier") {
                p.instances.remove(&db);
            }
        }
        signature => {
            let Some((method, path)) = signature.split_once(' ') else {
                return;
            };
            let path = path.split('?').next().unwrap_or(path);
            let Some(rest) = path.strip_prefix("/2015-03-31/functions") else {
                return;
            };
            let request: Value = serde_json::from_str(call.body).unwrap_or(Value::Null);
            let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            let name = answer["FunctionName"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| {
                    rest.trim_start_matches('/').split('/').next().map(|n| {
                        crate::exchange::percent_decode(n)
                            .rsplit(':')
                            .next()
                            .unwrap_or_default()
                            .to_owned()
                    })
                })
                .unwrap_or_default();
            let placed = |v: &Value| {
                (
                    json_strings(&v["SubnetIds"]),
                    json_strings(&v["SecurityGroupIds"]),
                )
            };
            match (method, rest.ends_with("/configuration"), rest.is_empty()) {
                ("POST", _, true) | ("PUT", true, _) if !request["VpcConfig"].is_null() => {
                    let (subnets, groups) = placed(&request["VpcConfig"]);
                    if subnets.is_empty() {
                        p.functions.remove(&name);
                    } else {
                        p.functions.insert(name, (subnets, groups));
                    }
                }
                // A qualified delete removes a version, not the function.
                ("DELETE", false, false)
                    if !rest.trim_start_matches('/').contains('/')
                        && !signature.contains("Qualifier=") =>
                {
                    p.functions.remove(&name);
                }
                _ => {}
            }
        }
    }
}

/// DescribeNetworkInterfaces' answer with the services' interfaces the
/// request asks for, on its first page.
pub(crate) fn after_ec2(
    rules: &Rules,
    m: &Memory,
    call: &Call<'_>,
    head: &str,
    body: &str,
) -> Option<Vec<u8>> {
    if !rules.managed_interfaces || !call.ec2 || call.signature != "DescribeNetworkInterfaces" {
        return None;
    }
    let pairs = form(call.body);
    if form_get(&pairs, "NextToken").is_some() {
        return None;
    }
    let items: String = m
        .placements
        .interfaces()
        .iter()
        .filter(|i| wanted(i, &pairs))
        .filter(|i| !body.contains(&format!("<networkInterfaceId>{}<", i.id)))
        .map(item)
        .collect();
    if items.is_empty() {
        return None;
    }
    let rewritten = if body.contains("<networkInterfaceSet/>") {
        body.replacen(
            "<networkInterfaceSet/>",
            &format!("<networkInterfaceSet>{items}</networkInterfaceSet>"),
            1,
        )
    } else if body.contains("</networkInterfaceSet>") {
        body.replacen(
            "</networkInterfaceSet>",
            &format!("{items}</networkInterfaceSet>"),
            1,
        )
    } else {
        return None;
    };
    Some(crate::with_new_body(head, &rewritten))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed() -> Placements {
        let mut p = Placements::default();
        for (s, z, c) in [
            ("subnet-a", "us-east-1a", "10.20.0.0/20"),
            ("subnet-b", "us-east-1b", "10.20.16.0/20"),
        ] {
            p.subnets
                .insert(s.into(), ("vpc-1".into(), z.into(), c.into()));
        }
        p.functions.insert(
            "pay".into(),
            (
                vec!["subnet-a".into(), "subnet-b".into()],
                vec!["sg-fn".into()],
            ),
        );
        p.subnet_groups
            .insert("dbs".into(), vec!["subnet-a".into(), "subnet-b".into()]);
        p.instances.insert(
            "db".into(),
            ("dbs".into(), vec!["sg-db".into()], "us-east-1b".into()),
        );
        p
    }

    fn pairs(query: &str) -> Vec<(String, String)> {
        form(query)
    }

    #[test]
    fn a_function_has_an_interface_per_subnet_and_an_instance_one_in_its_zone() {
        let all = placed().interfaces();
        assert_eq!(all.len(), 3);
        let lambda: Vec<&Interface> = all
            .iter()
            .filter(|i| i.interface_type == "lambda")
            .collect();
        assert_eq!(
            lambda.iter().map(|i| i.subnet.as_str()).collect::<Vec<_>>(),
            ["subnet-a", "subnet-b"]
        );
        assert!(lambda[0].description.starts_with("AWS Lambda VPC ENI-pay-"));
        assert!(lambda[0].ip.starts_with("10.20.0."), "{}", lambda[0].ip);
        let db = all
            .iter()
            .find(|i| i.description == "RDSNetworkInterface")
            .unwrap();
        assert_eq!(
            (db.subnet.as_str(), db.groups.as_slice()),
            ("subnet-b", &["sg-db".to_owned()][..])
        );
        // Stable across reads.
        assert_eq!(placed().interfaces(), all);
    }

    #[test]
    fn filters_pick_as_ec2_does() {
        let all = placed().interfaces();
        let count = |q: &str| all.iter().filter(|i| wanted(i, &pairs(q))).count();
        assert_eq!(
            count("Action=DescribeNetworkInterfaces&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1"),
            3
        );
        assert_eq!(count("Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-2"), 0);
        assert_eq!(
            count("Filter.1.Name=description&Filter.1.Value.1=AWS+Lambda+VPC+ENI*"),
            2
        );
        assert_eq!(count("Filter.1.Name=description&Filter.1.Value.1=AWS+Lambda+VPC+ENI*&Filter.2.Name=status&Filter.2.Value.1=available"), 0);
        assert_eq!(
            count("Filter.1.Name=group-id&Filter.1.Value.1=sg-db&Filter.1.Value.2=sg-x"),
            1
        );
        assert_eq!(
            count("Filter.1.Name=owner-id&Filter.1.Value.1=1"),
            0,
            "an unknown filter lists none"
        );
    }

    #[test]
    fn the_answer_gains_the_interfaces_once() {
        let rules = Rules::aws();
        let m = Memory {
            placements: placed(),
            ..Default::default()
        };
        let call = Call {
            head: "",
            body: "Action=DescribeNetworkInterfaces&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1",
            signature: "DescribeNetworkInterfaces",
            ec2: true,
        };
        let body = "<DescribeNetworkInterfacesResponse><networkInterfaceSet/></DescribeNetworkInterfacesResponse>";
        let out = after_ec2(&rules, &m, &call, "HTTP/1.1 200 OK\r\n", body).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.matches("<interfaceType>lambda</interfaceType>")
                .count(),
            2
        );
        assert_eq!(text.matches("RDSNetworkInterface").count(), 1);
    }
}
