//! Signatures: a claim in a package's zip comment (the profile version, the
//! job and the SHA-256 of the package before signing), made and read back.

use serde_json::{json, Value};
use sha2::Digest;

/// The start of a signature in a package's zip comment.
const SIGNATURE: &[u8] = b"paysec-testkit-signature:";

/// The position of a zip's end-of-central-directory record.
fn end_record(zip: &[u8]) -> Option<usize> {
    let earliest = zip.len().saturating_sub(22 + usize::from(u16::MAX));
    (earliest..=zip.len().checked_sub(22)?)
        .rev()
        .find(|&i| zip[i..].starts_with(b"PK\x05\x06"))
}

/// The package as it was before signing (its comment removed), and the
/// comment.
fn split_comment(zip: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let at = end_record(zip)?;
    let len = usize::from(u16::from_le_bytes([zip[at + 20], zip[at + 21]]));
    let comment = zip.get(at + 22..at + 22 + len)?;
    let mut unsigned = zip[..at + 20].to_vec();
    unsigned.extend_from_slice(&[0, 0]);
    Some((unsigned, comment))
}

fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Lambda's `CodeSha256` of a package: base64 SHA-256.
pub(super) fn code_sha256(data: &[u8]) -> String {
    aws_smithy_types::base64::encode(sha2::Sha256::digest(data))
}

/// `package` signed for `profile_version_arn` by `job_arn`; `Err` says why
/// Signer refuses it.
pub(crate) fn sign(
    package: &[u8],
    profile_version_arn: &str,
    job_arn: &str,
) -> Result<Vec<u8>, String> {
    let Some((unsigned, comment)) = split_comment(package) else {
        return Err("The package is not a valid zip file".into());
    };
    if comment.starts_with(SIGNATURE) {
        return Err("The package already has a signature".into());
    }
    let claim = json!({
        "profile_version_arn": profile_version_arn,
        "job_arn": job_arn,
        "sha256": sha256_hex(&unsigned),
    })
    .to_string();
    let mut comment = SIGNATURE.to_vec();
    comment.extend_from_slice(claim.as_bytes());
    let len = u16::try_from(comment.len()).map_err(|_| "signature too long".to_owned())?;
    let mut signed = unsigned[..unsigned.len() - 2].to_vec();
    signed.extend_from_slice(&len.to_le_bytes());
    signed.extend_from_slice(&comment);
    Ok(signed)
}

/// A package's signature: `None` unsigned, `Some(Err)` altered after
/// signing, `Some(Ok((profile version ARN, job ARN)))`.
pub(crate) fn signature(package: &[u8]) -> Option<Result<(String, String), ()>> {
    let (unsigned, comment) = split_comment(package)?;
    let claim = comment.strip_prefix(SIGNATURE)?;
    let Ok(claim) = serde_json::from_slice::<Value>(claim) else {
        return Some(Err(()));
    };
    if claim["sha256"].as_str() != Some(sha256_hex(&unsigned).as_str()) {
        return Some(Err(()));
    }
    Some(Ok((
        claim["profile_version_arn"].as_str()?.to_owned(),
        claim["job_arn"].as_str()?.to_owned(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip of one empty file, as `zip` writes it.
    fn a_zip() -> Vec<u8> {
        let mut z = Vec::new();
        // Local file header, name "a".
        z.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00a");
        let central = z.len();
        z.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00a");
        let size = (z.len() - central) as u32;
        z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
        z.extend_from_slice(&size.to_le_bytes());
        z.extend_from_slice(&(central as u32).to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z
    }

    #[test]
    fn a_signed_package_names_its_signer_and_breaks_when_altered() {
        let zip = a_zip();
        assert_eq!(signature(&zip), None, "unsigned");
        let signed = sign(&zip, "arn:profile/v1", "arn:job/1").unwrap();
        assert_eq!(
            signature(&signed),
            Some(Ok(("arn:profile/v1".into(), "arn:job/1".into())))
        );
        assert!(sign(&signed, "p", "j").unwrap_err().contains("already"));
        let mut altered = signed.clone();
        altered[29] = b'b';
        assert_eq!(signature(&altered), Some(Err(())));
        assert!(sign(b"not a zip at all, far too short", "p", "j").is_err());
    }

    #[test]
    fn the_code_digest_is_lambdas_base64_sha256() {
        // SHA-256 of the empty input, base64: a known vector.
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
