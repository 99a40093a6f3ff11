//! What a raw HTTP request or answer says, read the one way the proxy, the
//! rules and the model all use: a header, the SigV4 credential scope, the
//! text of an XML element, each element of a list rewritten.

/// The value of header `name` (any case) in a request or answer head.
pub(crate) fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A SigV4 request's credential scope
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Scope<'a> {
    pub key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// The credential scope of a signed request's `Authorization` header.
pub(crate) fn credential_scope(head: &str) -> Option<Scope<'_>> {
    let auth = header(head, "authorization")?;
    let mut parts = auth.split("Credential=").nth(1)?.split('/');
    let key = parts.next()?;
    let region = parts.nth(1)?;
    let service = parts.next()?;
    Some(Scope {
        key,
        region,
        service,
    })
}

/// Whether an answer's status line says 2xx (CreateFunction answers 201).
pub(crate) fn succeeded(answer: &[u8]) -> bool {
    answer.starts_with(b"HTTP/1.1 2") || answer.starts_with(b"HTTP/1.0 2")
}

/// The text between the first `open` and the `close` after it.
pub(crate) fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// `body` with the text inside each `<tag>...</tag>` (elements of a list,
/// not nested in one another) passed through `rewrite`; `None` when
/// nothing changed.
pub(crate) fn rewrite_elements(
    body: &str,
    tag: &str,
    mut rewrite: impl FnMut(&str) -> String,
) -> Option<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let mut changed = false;
    while let Some(at) = rest.find(&open) {
        let start = at + open.len();
        let Some(len) = rest[start..].find(&close) else {
            break;
        };
        let inner = &rest[start..start + len];
        let new = rewrite(inner);
        changed |= new != inner;
        out.push_str(&rest[..start]);
        out.push_str(&new);
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_head_gives_its_scope_and_headers() {
        let head = "POST / HTTP/1.1\r\nhost: kms.eu-west-1.amazonaws.com\r\nAuthorization: AWS4-HMAC-SHA256 Credential=ASIAKEY/20261201/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=0\r\n";
        assert_eq!(
            credential_scope(head),
            Some(Scope {
                key: "ASIAKEY",
                region: "eu-west-1",
                service: "kms"
            })
        );
        assert_eq!(header(head, "Host"), Some("kms.eu-west-1.amazonaws.com"));
        assert_eq!(credential_scope("GET / HTTP/1.1\r\n"), None);
        assert_eq!(between("<a><b>x</b></a>", "<b>", "</b>"), Some("x"));
        assert!(succeeded(b"HTTP/1.1 201 Created\r\n") && !succeeded(b"HTTP/1.1 409 Conflict\r\n"));
    }

    #[test]
    fn each_element_of_a_list_is_rewritten_and_the_rest_kept() {
        let body = "<L><I>a</I><I>b</I></L>";
        assert_eq!(
            rewrite_elements(body, "I", |i| i.replace('b', "B")).as_deref(),
            Some("<L><I>a</I><I>B</I></L>")
        );
        assert_eq!(rewrite_elements(body, "I", str::to_owned), None);
    }
}
