//! AWS policy documents (IAM, KMS, S3, SNS, VPC endpoint): parsing what AWS
//! returns and comparing by meaning, since AWS re-serializes what it stores.

use serde_json::Value;

/// Decodes `%XX` escapes: IAM returns documents RFC 3986-encoded.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a document as returned by AWS, raw or URL-encoded; `Null` when it
/// is neither.
pub fn parse(raw: &str) -> Value {
    serde_json::from_str(raw)
        .or_else(|_| serde_json::from_str(&percent_decode(raw)))
        .unwrap_or(Value::Null)
}

/// Compares by meaning: a one-element list equals its element and list
/// order does not matter.
pub fn same(a: &Value, b: &Value) -> bool {
    let (mut a, mut b) = (normalize(a), normalize(b));
    // Some services return a stored policy without its `Version` (the
    // language version, not the content); one side lacking it is no
    // difference in what the policy allows.
    for key in ["Version", "Id"] {
        let missing = |v: &Value| v.as_object().is_some_and(|m| !m.contains_key(key));
        if missing(&a) || missing(&b) {
            for v in [&mut a, &mut b] {
                if let Value::Object(m) = v {
                    m.remove(key);
                }
            }
        }
    }
    a == b
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::Array(items) if items.len() == 1 => normalize(&items[0]),
        Value::Array(items) => {
            let mut n: Vec<Value> = items.iter().map(normalize).collect();
            n.sort_by_key(|x| x.to_string());
            Value::Array(n)
        }
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

/// `doc` as evidence: the SHA-256 of its canonical form (what anyone can
/// recompute from the document AWS returns, normalized as [`same`]
/// compares: one-element lists as their element, lists sorted, keys
/// sorted) and that canonical form itself, so a finding quotes the live
/// document rather than a label.
pub fn quote(doc: &Value) -> String {
    let canonical = canonical(&normalize(doc));
    let hex = crate::digest::sha256_hex(canonical.as_bytes());
    format!("sha256:{hex} {canonical}")
}

/// Compact JSON with object keys sorted, whatever the map's own order.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// The strings of a field that may be a string or a list of strings.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

/// The document of a [`quote`] (`sha256:<hex> <canonical JSON>`), if
/// `text` is one.
pub fn unquote(text: &str) -> Option<Value> {
    let (digest, doc) = text.split_once(' ')?;
    digest.strip_prefix("sha256:")?;
    let v: Value = serde_json::from_str(doc).ok()?;
    v.get("Statement").is_some().then_some(v)
}

/// What changed from policy `before` to `after`, statement by statement
/// (by `Sid`; a statement without one by its place, `#1`...), as
/// Terraform shows a JSON diff: `+ Sid` added, `- Sid` removed, `~ Sid:
/// Field old -> new` for each field that differs; the documents' other
/// keys (`Version`, `Id`) as `~ Id: old -> new`.
pub fn statement_changes(before: &Value, after: &Value) -> Vec<String> {
    fn statements(doc: &Value) -> Vec<(String, Value)> {
        let list = match doc.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(one) => vec![one.clone()],
            None => vec![],
        };
        list.into_iter()
            .enumerate()
            .map(|(i, s)| {
                let sid = s
                    .get("Sid")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("#{}", i + 1), str::to_owned);
                (sid, normalize(&s))
            })
            .collect()
    }
    let mut out = Vec::new();
    for key in ["Version", "Id"] {
        let (b, a) = (before.get(key), after.get(key));
        if b.is_some() && a.is_some() && b != a {
            out.push(format!(
                "~ {key}: {} -> {}",
                b.map_or("none".into(), canonical),
                a.map_or("none".into(), canonical)
            ));
        }
    }
    let (old, new) = (statements(before), statements(after));
    for (sid, s) in &old {
        match new.iter().find(|(n, _)| n == sid) {
            None => out.push(format!("- {sid}: {}", canonical(s))),
            Some((_, t)) if t != s => {
                let fields = |v: &Value| -> Vec<String> {
                    v.as_object()
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default()
                };
                let mut keys = fields(s);
                keys.extend(fields(t));
                keys.sort();
                keys.dedup();
                for k in keys {
                    let (b, a) = (s.get(&k), t.get(&k));
                    if b != a {
                        out.push(format!(
                            "~ {sid}: {k} {} -> {}",
                            b.map_or("none".into(), canonical),
                            a.map_or("none".into(), canonical)
                        ));
                    }
                }
            }
            Some(_) => {}
        }
    }
    for (sid, t) in &new {
        if !old.iter().any(|(o, _)| o == sid) {
            out.push(format!("+ {sid}: {}", canonical(t)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_policy_returned_without_its_version_is_the_same() {
        let ours = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": "*"}]});
        let returned = serde_json::json!({"Statement": {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*", "Principal": "*"}});
        assert!(super::same(&ours, &returned));
        let wider = serde_json::json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}});
        assert!(!super::same(&ours, &wider));
    }

    use serde_json::json;

    use super::*;

    #[test]
    fn a_policy_change_reads_as_the_statements_that_changed() {
        let before = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/Alice"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Old", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "Same", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
        ]});
        let after = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/Bob"}, "Action": ["kms:*"], "Resource": "*"},
            {"Sid": "Same", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"},
            {"Sid": "New", "Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}
        ]});
        let changes = statement_changes(&before, &after);
        assert_eq!(
            changes,
            [
                r#"~ Admins: Principal {"AWS":"arn:aws:iam::1:role/Alice"} -> {"AWS":"arn:aws:iam::1:role/Bob"}"#,
                r#"- Old: {"Action":"kms:Decrypt","Effect":"Allow","Principal":"*","Resource":"*","Sid":"Old"}"#,
                r#"+ New: {"Action":"kms:Encrypt","Effect":"Allow","Principal":"*","Resource":"*","Sid":"New"}"#,
            ]
        );
        assert_eq!(
            unquote(&quote(&before)).unwrap()["Statement"][0]["Sid"],
            "Admins"
        );
        assert!(unquote("enabled").is_none());
    }

    #[test]
    fn decodes_url_encoded_documents() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(parse(raw)["Version"], "2012-10-17");
        assert_eq!(parse(r#"{"Version":"x"}"#)["Version"], "x");
        assert_eq!(parse("not json"), Value::Null);
    }

    #[test]
    fn a_quote_is_the_digest_and_the_canonical_document() {
        let a = json!({"Version": "2012-10-17", "Statement": [{"Sid": "X", "Action": ["kms:Decrypt"], "Effect": "Allow"}]});
        let b = json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Sid": "X"}, "Version": "2012-10-17"});
        let q = quote(&a);
        assert_eq!(q, quote(&b), "the same document, however AWS serialised it");
        assert!(q.starts_with("sha256:") && q.len() > 7 + 64);
        let body = &q[7 + 64 + 1..];
        assert_eq!(
            body,
            r#"{"Statement":{"Action":"kms:Decrypt","Effect":"Allow","Sid":"X"},"Version":"2012-10-17"}"#
        );
        use sha2::Digest;
        let hex: String = sha2::Sha256::digest(body.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&q[7..7 + 64], hex, "anyone can recompute the digest");
    }

    #[test]
    fn compares_by_meaning() {
        let a =
            json!({"Statement": [{"Action": ["kms:Decrypt"], "Principal": {"AWS": ["b", "a"]}}]});
        let b = json!({"Statement": {"Action": "kms:Decrypt", "Principal": {"AWS": ["a", "b"]}}});
        assert!(same(&a, &b));
        let c = json!({"Statement": {"Action": "kms:Encrypt", "Principal": {"AWS": ["a", "b"]}}});
        assert!(!same(&a, &c));
    }
}
