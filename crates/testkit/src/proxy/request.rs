//! A request read off the connection: its head and body, the operation it
//! names and how its service speaks.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::Request;
use crate::answers::Protocol;
use crate::wire;

pub(super) async fn read_request(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| wire::header(&head, name).map(str::to_owned);
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Vec<u8> = buf[head_end..(head_end + len).min(buf.len())].to_vec();
    buf.drain(..(head_end + len).min(buf.len()));
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let body_text = String::from_utf8_lossy(&body);
    let action = body_text
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_owned);
    let (signature, protocol) = if let Some(target) = header("x-amz-target") {
        (
            target.rsplit('.').next().unwrap_or_default().to_owned(),
            Protocol::AwsJson,
        )
    } else if let Some(action) = action {
        let ec2 = body_text.contains("Version=2016-11-15");
        (action, if ec2 { Protocol::Ec2 } else { Protocol::Query })
    } else {
        let mut parts = request_line.split(' ');
        let sig = format!(
            "{} {}",
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("")
        );
        // REST-JSON services version their paths by date (Lambda:
        // /2015-03-31/...), or are API Gateway's, which does not.
        let path = sig.split(' ').nth(1).unwrap_or("");
        let b = path.as_bytes();
        let dated = b.len() > 12
            && b[0] == b'/'
            && b[5] == b'-'
            && b[8] == b'-'
            && b[11] == b'/'
            && b[1..5].iter().all(u8::is_ascii_digit);
        // API Gateway's paths and Signer's carry no date.
        let apigateway = wire::credential_scope(&head)
            .is_some_and(|s| s.service == "apigateway" || s.service == "signer");
        (
            sig,
            if dated || apigateway {
                Protocol::RestJson
            } else {
                Protocol::S3
            },
        )
    };
    Ok(Some(Request {
        head,
        body,
        signature,
        protocol,
    }))
}
