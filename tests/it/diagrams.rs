//! `paysec diagram` and the reports' diagrams on moto, through the rules
//! layer: a stack with the private API is built, a rule and a security
//! group are added out of band, and both diagrams are drawn as SVG and
//! parsed (not searched as text): every subnet, security-group rule,
//! endpoint and store is there with its id, the additions are highlighted,
//! and the HTML report embeds both, which headless Chromium renders with no
//! element's box overlapping another's.

use std::collections::{BTreeMap, BTreeSet};

use paysec_aws::sdk::ec2::types::{Filter, IpPermission, IpRange};
use serde_json::Value;

use crate::support::{aws, graphviz, Paysec};

const CONFIG: &str = "[api]\nallowed_cidrs = [\"10.40.0.0/16\"]\n";

/// One drawn element of a Graphviz SVG: its class and its text lines.
#[derive(Debug)]
struct Element {
    class: String,
    texts: Vec<String>,
}

impl Element {
    fn text(&self) -> String {
        self.texts.join("\n")
    }
}

/// Every node, edge and box of an SVG document, the rows of a node's table
/// (class `row` and the origin its tooltip says), and the diagram itself
/// (its header and legend), by id.
fn elements(svg: &str) -> BTreeMap<String, Element> {
    const XLINK: &str = "http://www.w3.org/1999/xlink";
    let doc = roxmltree::Document::parse(svg).expect("the diagram is well-formed SVG");
    let texts_of = |g: roxmltree::Node| -> Vec<String> {
        g.descendants()
            .filter(|t| t.has_tag_name("text"))
            .filter(|t| {
                // Texts of nested nodes, boxes or rows belong to them.
                t.ancestors()
                    .take_while(|a| *a != g)
                    .filter(|a| a.has_tag_name("g"))
                    .all(|a| {
                        a.attribute("class").is_none()
                            && !a.attribute("id").is_some_and(|id| id.starts_with("a_"))
                    })
            })
            .filter_map(|t| t.text())
            .map(str::to_owned)
            .collect()
    };
    doc.descendants()
        .filter(|n| n.has_tag_name("g"))
        .filter_map(|g| {
            let id = g.attribute("id")?;
            if let Some(row) = id.strip_prefix("a_") {
                // Graphviz writes a cell's id on its link: `a_` and the id,
                // the tooltip on the link inside.
                let said = g
                    .children()
                    .find(|c| c.has_tag_name("a"))
                    .and_then(|a| a.attribute((XLINK, "title")))?;
                let origin = match said.rsplit(": ").next()? {
                    "made by paysec" => "paysec",
                    "made by AWS" => "aws",
                    "NOT MADE BY PAYSEC" => "foreign",
                    _ => "outside",
                };
                return Some((
                    row.to_owned(),
                    Element {
                        class: format!("row {origin}"),
                        texts: texts_of(g),
                    },
                ));
            }
            let class = g.attribute("class")?;
            let kind = class.split(' ').next()?;
            if !matches!(kind, "node" | "edge" | "cluster" | "graph") {
                return None;
            }
            Some((
                id.to_owned(),
                Element {
                    class: class.to_owned(),
                    texts: texts_of(g),
                },
            ))
        })
        .collect()
}

/// How large the diagram's smallest text prints when its page is printed
/// on A4 landscape, in points; panics when the page is not A4 landscape
/// or smaller. Graphviz writes the page's size and the scale it fitted
/// the drawing to on the SVG element and its first group.
fn printed_on_a4(svg: &str) -> f64 {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    let points = |name: &str| -> f64 {
        root.attribute(name)
            .and_then(|v| v.strip_suffix("pt"))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("the page's {name} in points"))
    };
    let (width, height) = (points("width"), points("height"));
    assert!(
        width <= 842.0 && height <= 595.5,
        "{width}x{height} pt is not within A4 landscape (842x595 pt)"
    );
    let transform = root
        .descendants()
        .find(|n| n.has_tag_name("g"))
        .and_then(|g| g.attribute("transform"))
        .unwrap();
    let scale: f64 = transform
        .strip_prefix("scale(")
        .and_then(|t| t.split([' ', ')']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a scale in {transform}"));
    let smallest = root
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.text().is_some_and(|t| !t.trim().is_empty()))
        .filter_map(|t| t.attribute("font-size")?.parse::<f64>().ok())
        .fold(f64::INFINITY, f64::min);
    scale * smallest
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn physical(l: &Value, id: &str) -> String {
    l["resources"][id]["physical_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{id} recorded"))
        .to_owned()
}

/// The SVGs embedded in an HTML report, by diagram.
fn embedded(html: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = html;
    while let Some(at) = rest.find("data-diagram=\"") {
        let after = &rest[at + 14..];
        let kind = after[..after.find('"').unwrap()].to_owned();
        let start = after.find("<svg").unwrap();
        let end = after.find("</svg>").unwrap() + 6;
        out.insert(kind, after[start..end].to_owned());
        rest = &after[end..];
    }
    out
}

/// The boxes Chromium drew for each diagram's elements and texts, written
/// into the page by a script added to a copy of it (the report itself
/// carries no script).
const PROBE: &str = r#"<pre id="boxes"></pre><script>
const out = [];
const box = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
for (const div of document.querySelectorAll('div.diagram')) {
  for (const g of div.querySelectorAll('g.node, g.edge, g.cluster, g.graph')) {
    const kind = ['node', 'edge', 'cluster', 'graph'].find(k => g.classList.contains(k));
    const shape = kind === 'node' ? g.querySelector(':scope > polygon, :scope > ellipse, :scope > path') : null;
    const texts = [...g.querySelectorAll('text')]
      .filter(t => t.closest('g.node, g.edge, g.cluster, g.graph') === g)
      .filter(t => t.textContent.trim() !== '').map(box);
    out.push({diagram: div.dataset.diagram, id: g.id, kind, shape: shape ? box(shape) : null, texts});
  }
}
// Each arrow's path, sampled every two pixels on screen, against every
// node's shape but those of its own two ends: the nodes it crosses.
for (const div of document.querySelectorAll('div.diagram')) {
  const shapes = [...div.querySelectorAll('g.node')].map(g => {
    const s = g.querySelector(':scope > polygon, :scope > ellipse, :scope > path');
    return s ? {name: g.querySelector(':scope > title').textContent, box: box(s)} : null;
  }).filter(s => s);
  for (const g of div.querySelectorAll('g.edge')) {
    const [from, to] = g.querySelector(':scope > title').textContent.split('->');
    const path = g.querySelector(':scope > path');
    if (!path) continue;
    const m = path.getScreenCTM(), length = path.getTotalLength(), crossed = new Set();
    for (let at = 0; at <= length; at += 2) {
      const p = new DOMPoint(path.getPointAtLength(at).x, path.getPointAtLength(at).y).matrixTransform(m);
      for (const s of shapes) {
        if (s.name === from || s.name === to) continue;
        const [l, t, r, b] = s.box;
        if (p.x > l + 2 && p.x < r - 2 && p.y > t + 2 && p.y < b - 2) crossed.add(s.name);
      }
    }
    out.push({diagram: div.dataset.diagram, id: g.id, kind: 'crossing', shape: null, texts: [], crosses: [...crossed]});
  }
}
document.getElementById('boxes').textContent = JSON.stringify(out);
</script>"#;

/// How far two boxes overlap, across and down (both positive when they
/// do).
fn overlap(a: &[f64], b: &[f64]) -> (f64, f64) {
    (
        a[2].min(b[2]) - a[0].max(b[0]),
        a[3].min(b[3]) - a[1].max(b[1]),
    )
}

fn rect(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Pairs of drawn things whose boxes overlap: node shapes with node
/// shapes, and every text with the texts of other elements and with the
/// shapes of nodes it is not in. (A box around nodes holds them by design.)
fn overlaps(probe: &Value, diagram: &str) -> Vec<String> {
    let items: Vec<&Value> = probe
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["diagram"] == diagram)
        .collect();
    let shapes: Vec<(&str, Vec<f64>)> = items
        .iter()
        .filter(|i| !i["shape"].is_null())
        .map(|i| (i["id"].as_str().unwrap(), rect(&i["shape"])))
        .collect();
    let texts: Vec<(&str, Vec<f64>)> = items
        .iter()
        .flat_map(|i| {
            i["texts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (i["id"].as_str().unwrap(), rect(t)))
        })
        .collect();
    // A pixel each way: rounding and a font's descent, not one drawing on
    // top of another.
    const TOLERANCE: f64 = 1.0;
    let hit = |a: &[f64], b: &[f64]| {
        let (w, h) = overlap(a, b);
        (w > TOLERANCE && h > TOLERANCE).then(|| format!("{w:.1}x{h:.1} px"))
    };
    let mut found = Vec::new();
    for (i, (a, ra)) in shapes.iter().enumerate() {
        for (b, rb) in &shapes[i + 1..] {
            if let Some(by) = hit(ra, rb) {
                found.push(format!("node {a} over node {b} by {by}"));
            }
        }
    }
    for (i, (a, ra)) in texts.iter().enumerate() {
        // Lines of one element are Graphviz's to space (their font boxes
        // touch by design); another element's text must stay clear.
        for (b, rb) in texts[i + 1..].iter().filter(|(b, _)| b != a) {
            if let Some(by) = hit(ra, rb) {
                found.push(format!("a text of {a} over a text of {b} by {by}"));
            }
        }
        for (b, rb) in &shapes {
            if a != b {
                if let Some(by) = hit(ra, rb) {
                    found.push(format!("a text of {a} over node {b} by {by}"));
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn both_diagrams_show_every_element_by_id_and_what_paysec_did_not_make() {
    graphviz();
    let p = Paysec::new("diagram");
    let aws = aws().await;
    std::fs::write(p.dir.path().join("paysec.toml"), CONFIG).unwrap();
    p.run(&["up", "--yes"]).success();
    let l = p.ledger();
    let vpc = physical(&l, "network.vpc");

    // Out of band: a rule on the function's group, and a group of its own.
    let lambda_group = physical(&l, "network.sg-lambda");
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(&lambda_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8443)
                .to_port(8443)
                .ip_ranges(IpRange::builder().cidr_ip("10.9.0.0/16").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let foreign_group = aws
        .ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name("someone-elses")
        .description("made outside paysec")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();

    // What the VPC holds, read here with the SDK.
    let subnets = aws
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &vpc))
        .send()
        .await
        .unwrap();
    let groups = aws
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc))
        .send()
        .await
        .unwrap();
    let group_ids: Vec<String> = groups
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_owned))
        .collect();
    let rules = aws
        .ec2
        .describe_security_group_rules()
        .filters(
            Filter::builder()
                .name("group-id")
                .set_values(Some(group_ids))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let endpoints = aws
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", &vpc))
        .send()
        .await
        .unwrap();
    let out_of_band = rules
        .security_group_rules()
        .iter()
        .find(|r| r.group_id() == Some(lambda_group.as_str()) && r.from_port() == Some(8443))
        .and_then(|r| r.security_group_rule_id())
        .expect("the added rule is listed")
        .to_owned();
    let paysecs_groups: BTreeSet<String> = [
        "network.sg-lambda",
        "network.sg-db",
        "network.sg-endpoints",
        "network.sg-xray",
        "network.sg-api",
    ]
    .into_iter()
    .map(|id| physical(&l, id))
    .collect();

    // The network diagram, as SVG.
    let net_path = p.dir.path().join("network.svg");
    p.run(&[
        "diagram",
        "--kind",
        "network",
        "--out",
        net_path.to_str().unwrap(),
    ])
    .success();
    let net_svg = std::fs::read_to_string(&net_path).unwrap();
    let net = elements(&net_svg);
    for s in subnets.subnets() {
        let id = s.subnet_id().unwrap();
        let e = net.get(id).unwrap_or_else(|| panic!("subnet {id} drawn"));
        assert!(e.class.starts_with("node"), "{id}: {e:?}");
        assert!(e.text().contains(s.cidr_block().unwrap()), "{id}: {e:?}");
        assert!(e.text().contains("controls: NET-3"), "{id}: {e:?}");
    }
    let rule_ids: Vec<&str> = rules
        .security_group_rules()
        .iter()
        .filter_map(|r| r.security_group_rule_id())
        .collect();
    assert!(rule_ids.len() > 8, "{rule_ids:?}");
    for r in rules.security_group_rules() {
        let id = r.security_group_rule_id().unwrap();
        let e = net.get(id).unwrap_or_else(|| panic!("rule {id} drawn"));
        assert!(e.class.starts_with("edge"), "{id}: {e:?}");
        assert!(e.text().contains(id), "{id}: {e:?}");
        let stacks = paysecs_groups.contains(r.group_id().unwrap()) && id != out_of_band;
        assert_eq!(
            e.class,
            if stacks {
                "edge paysec"
            } else {
                "edge foreign"
            },
            "rule {id} on {:?}: {e:?}",
            r.group_id()
        );
    }
    assert!(
        net[&out_of_band].text().contains("NOT THE STACK'S RULE"),
        "{:?}",
        net[&out_of_band]
    );
    // Lambda's and RDS's own interfaces (which the rules layer lists, as
    // AWS does) are the function's and the database's, not strangers.
    let function = physical(&l, "lambda.function");
    let db = physical(&l, "rds.instance");
    let services = aws
        .ec2
        .describe_network_interfaces()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("requester-managed", "true"))
        .send()
        .await
        .unwrap();
    let mut held = 0;
    for eni in services.network_interfaces() {
        let id = eni.network_interface_id().unwrap();
        let holder = if eni.description() == Some("RDSNetworkInterface") {
            format!("{db}@primary")
        } else if eni.interface_type().map(|t| t.as_str()) == Some("lambda") {
            format!("{function}@{}", eni.subnet_id().unwrap())
        } else {
            continue;
        };
        held += 1;
        let e = net
            .get(&holder)
            .unwrap_or_else(|| panic!("{holder} holds {id}: {:?}", net.keys()));
        assert!(e.text().contains(id), "{holder} names {id}: {e:?}");
    }
    assert_eq!(held, 4, "three of Lambda's interfaces and RDS's one");
    let strangers: Vec<&String> = net
        .iter()
        .filter(|(_, e)| e.class.ends_with("foreign") && !e.class.starts_with("edge"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        strangers,
        [&foreign_group],
        "only the added group is foreign"
    );
    let foreign = &net[&foreign_group];
    assert_eq!(foreign.class, "node foreign", "{foreign:?}");
    assert!(foreign.text().contains("NOT MADE BY PAYSEC"), "{foreign:?}");
    for g in &paysecs_groups {
        assert_eq!(net[g].class, "node paysec", "{g}: {:?}", net[g]);
    }
    assert!(endpoints.vpc_endpoints().len() >= 4);
    for e in endpoints.vpc_endpoints() {
        let id = e.vpc_endpoint_id().unwrap();
        let drawn: Vec<(&String, &Element)> = net
            .iter()
            .filter(|(_, el)| el.text().contains(id))
            .collect();
        assert!(!drawn.is_empty(), "endpoint {id} drawn");
        for (eid, el) in &drawn {
            assert!(!el.class.ends_with("foreign"), "{id} as {eid}: {el:?}");
        }
        // An interface endpoint is a row in each of its subnets, named by
        // its interface there; a gateway endpoint a row of the VPC's
        // routing.
        let rows: Vec<&str> = if e.network_interface_ids().is_empty() {
            vec![id]
        } else {
            e.network_interface_ids()
                .iter()
                .map(String::as_str)
                .collect()
        };
        for row in rows {
            let drawn = net
                .get(row)
                .unwrap_or_else(|| panic!("{id}'s row {row}: {:?}", net.keys()));
            assert_eq!(drawn.class, "row paysec", "{id}'s {row}: {drawn:?}");
            assert!(drawn.text().contains(id), "{id}'s {row}: {drawn:?}");
        }
    }
    // The legend is under the header, in the diagram's own label.
    let legend = net["network"].text();
    assert!(
        legend.contains("answered by: a local emulator (moto), not AWS"),
        "{legend}"
    );
    for absent in [
        "no internet gateway: DescribeInternetGateways",
        "no NAT gateway: DescribeNatGateways",
        "no egress-only internet gateway",
        "no virtual private gateway",
        "no VPC peering connection",
        "no transit gateway attachment",
        "no route leaves the VPC",
    ] {
        assert!(legend.contains(absent), "{absent}: {legend}");
    }
    // moto builds no DNS Firewall: the configuration leaves it out, said.
    assert!(legend.contains("DNS Firewall: not built"), "{legend}");

    // The data flows, as SVG: every store with its key and retention.
    let flow = p
        .run(&["diagram", "--kind", "data-flow"])
        .success()
        .stdout();
    // Printed on A4 landscape, no text is smaller than 6 points.
    for (kind, svg) in [("network", &net_svg), ("data-flow", &flow)] {
        let printed = printed_on_a4(svg);
        assert!(
            printed >= 6.0,
            "{kind}: the smallest text prints at {printed:.2} pt on A4"
        );
    }
    let flow = elements(&flow);
    for store in [
        "rds.instance",
        "lambda.dlq",
        "logs.lambda",
        "logs.api-access",
        "logs.flow-logs",
        "logs.rds-postgresql",
        "s3.flow-logs",
        "s3.access-logs",
        "s3.data",
    ] {
        let id = physical(&l, store);
        let e = flow
            .get(&id)
            .unwrap_or_else(|| panic!("store {store} ({id}) drawn: {:?}", flow.keys()));
        assert!(e.class.starts_with("node paysec"), "{store}: {e:?}");
        // The access-log bucket is S3's logging target, which takes no
        // KMS key.
        let key = if store == "s3.access-logs" {
            "SSE-S3 (AES256)"
        } else {
            "alias/"
        };
        assert!(e.text().contains(key), "{store}'s key: {e:?}");
        assert!(e.text().contains("retention"), "{store}'s retention: {e:?}");
    }
    let to_db = &flow[&format!("flow-{function}-{db}")];
    assert!(to_db.text().contains("TLS required"), "{to_db:?}");
    let api = physical(&l, "api.rest-api");
    assert!(flow.contains_key(&format!("flow-callers-{api}")));
    assert!(flow.contains_key(&format!("flow-{api}-{function}")));

    // DOT and Mermaid need no Graphviz; SVG does, and says how to get it.
    let dot = p
        .run(&["diagram", "--kind", "network", "--format", "dot"])
        .success()
        .stdout();
    assert!(dot.starts_with("digraph \"network\""), "{dot}");
    let mermaid = p
        .run(&["diagram", "--kind", "data-flow", "--format", "mermaid"])
        .success()
        .stdout();
    assert!(mermaid.contains("flowchart LR"), "{mermaid}");
    let missing = p.run_with(
        &[("PATH", "/nonexistent")],
        &["diagram", "--kind", "network"],
    );
    assert_eq!(missing.code(), 2, "{}", missing.stderr());
    assert!(
        missing.stderr().contains("apt-get install graphviz"),
        "{}",
        missing.stderr()
    );

    // The HTML report embeds both; Chromium draws them without overlaps.
    let page = p.dir.path().join("evidence.html");
    p.run(&["verify", "--report", page.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    let svgs = embedded(&html);
    assert_eq!(
        svgs.keys().collect::<Vec<_>>(),
        ["data-flow", "network"],
        "both diagrams embedded"
    );
    let in_page = elements(&svgs["network"]);
    assert_eq!(in_page[&out_of_band].class, "edge foreign");
    assert!(elements(&svgs["data-flow"]).contains_key(&db));
    let probed = p.dir.path().join("probed.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let (dom, screenshot) = crate::verify::headless_chromium(&probed, p.dir.path());
    let json = dom
        .split("<pre id=\"boxes\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .expect("the probe wrote the boxes");
    let probe: Value = serde_json::from_str(&json.replace("&quot;", "\"")).unwrap();
    for diagram in ["network", "data-flow"] {
        let drawn = probe
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["diagram"] == diagram && !i["shape"].is_null())
            .count();
        assert!(drawn > 10, "{diagram}: {drawn} nodes rendered");
        let found = overlaps(&probe, diagram);
        assert!(found.is_empty(), "{diagram}: {found:#?}\n{}", svgs[diagram]);
        // No arrow runs through an element it does not start or end at.
        let crossings: Vec<String> = probe
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["diagram"] == diagram && i["kind"] == "crossing")
            .filter(|i| !i["crosses"].as_array().unwrap().is_empty())
            .map(|i| format!("{} through {}", i["id"], i["crosses"]))
            .collect();
        assert!(
            crossings.is_empty(),
            "{diagram}: {crossings:#?}\n{}",
            svgs[diagram]
        );
    }
    assert!(screenshot > 20_000, "a rendered page: {screenshot} bytes");

    // Beside a Markdown report: both SVG files, in its manifest.
    let md = p.dir.path().join("evidence.md");
    p.run(&["verify", "--report", md.to_str().unwrap()]);
    let manifest = std::fs::read_to_string(p.dir.path().join("evidence.md.sha256")).unwrap();
    for kind in ["network", "data-flow"] {
        let name = format!("evidence.md.{kind}.svg");
        assert!(manifest.contains(&name), "{manifest}");
        let svg = std::fs::read_to_string(p.dir.path().join(&name)).unwrap();
        assert!(!elements(&svg).is_empty(), "{name}");
    }
    p.run(&["down", "--yes"]).success();
}
