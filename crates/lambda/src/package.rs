//! The function's deployment package, built in memory.

use std::io::Write;

/// The handler source, embedded at build time.
pub const HANDLER_PY: &str = include_str!("../../../lambda/payment/handler.py");

/// A zip holding `handler.py`, with a fixed timestamp so the same source
/// always gives the same bytes.
pub fn zip() -> std::io::Result<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        w.start_file("handler.py", opts)
            .map_err(std::io::Error::other)?;
        w.write_all(HANDLER_PY.as_bytes())?;
        w.finish().map_err(std::io::Error::other)?;
    }
    Ok(buf.into_inner())
}

/// SHA-256 of a package, base64-encoded: how Lambda reports a function's
/// `CodeSha256`.
pub fn code_sha256(zip: &[u8]) -> String {
    use sha2::Digest;
    aws_smithy_types::base64::encode(sha2::Sha256::digest(zip))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_package_is_a_zip_holding_the_handler_and_is_reproducible() {
        let a = super::zip().unwrap();
        assert_eq!(&a[..2], b"PK");
        assert_eq!(a, super::zip().unwrap());
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        assert_eq!(archive.by_index(0).unwrap().name(), "handler.py");
    }

    #[test]
    fn the_code_digest_is_lambdas_base64_sha256() {
        // SHA-256 of the empty input, base64: a known vector.
        assert_eq!(
            super::code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
