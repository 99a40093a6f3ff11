//! The function's deployment package: the team's code (a directory zipped
//! reproducibly, or a ready `.zip`) or, when none is configured, paysec's
//! example handler. Everything Lambda would refuse later, or that would
//! leave the function unable to start, is refused here, before any AWS
//! call: a missing path, a package over Lambda's size limits, a handler
//! the package does not hold (interpreted runtimes), a custom runtime
//! without its `bootstrap`, a symlink leaving the package's directory.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The example handler's source, embedded at build time.
pub const HANDLER_PY: &str = include_str!("../../../lambda/payment/handler.py");

/// The example handler's entry point.
pub const EXAMPLE_HANDLER: &str = "handler.handler";

/// Lambda's limit on a .zip uploaded in the request (CreateFunction and
/// UpdateFunctionCode `ZipFile`): 50 MB zipped (Lambda quotas page,
/// "Deployment package (.zip file archive) size": 50 MB zipped, for direct
/// upload; 250 MB unzipped).
pub const MAX_ZIPPED: u64 = 50 * 1024 * 1024;
/// Lambda's limit on a package's unzipped size, layers included: 250 MB.
pub const MAX_UNZIPPED: u64 = 250 * 1024 * 1024;

/// A deployment package, built: its bytes and Lambda's digest of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    pub zip: Vec<u8>,
    /// Lambda's `CodeSha256`: base64 SHA-256 of the zip as uploaded.
    pub sha256: String,
    /// Where it came from, for messages: a path, or the example handler.
    pub source: String,
}

/// A package that cannot be deployed: what is wrong, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("lambda.package {path}: does not exist; build your code first or fix the path (relative paths are from the current directory)")]
    Missing { path: PathBuf },
    #[error("lambda.package {path}: {detail}")]
    Unreadable { path: PathBuf, detail: String },
    #[error("lambda.package {path}: {size} bytes zipped, over Lambda's {limit}-byte limit for an uploaded .zip; make the package smaller (leave out tests and build caches, move dependencies to a layer)")]
    TooLargeZipped {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("lambda.package {path}: {size} bytes unzipped, over Lambda's {limit}-byte limit; make the package smaller")]
    TooLargeUnzipped {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("lambda.package {path}: the symlink {link} points outside the package's directory ({target}); copy what it points to into the package")]
    SymlinkEscapes {
        path: PathBuf,
        link: String,
        target: String,
    },
    #[error("lambda.handler {handler}: the package {path} holds no {wanted}; fix lambda.handler (module.function for Python, file.function for Node.js and Ruby) or the package")]
    HandlerMissing {
        path: PathBuf,
        handler: String,
        wanted: String,
    },
    #[error("lambda.package {path}: runtime {runtime} starts the executable `bootstrap` at the package's root, and there is none (cargo lambda build puts it there)")]
    NoBootstrap { path: PathBuf, runtime: String },
}

impl Code {
    /// The example handler, zipped in memory.
    pub fn example() -> Self {
        let files = vec![Entry {
            name: "handler.py".into(),
            data: HANDLER_PY.as_bytes().to_vec(),
            executable: false,
        }];
        let zip = write_zip(&files).unwrap_or_default();
        Self {
            sha256: code_sha256(&zip),
            zip,
            source: "paysec's example handler".into(),
        }
    }

    /// The team's package at `path` (a directory or a `.zip`), checked for
    /// `runtime` and `handler`.
    pub fn load(path: &Path, runtime: &str, handler: &str) -> Result<Self, PackageError> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PackageError::Missing {
                path: path.to_owned(),
            },
            _ => PackageError::Unreadable {
                path: path.to_owned(),
                detail: e.to_string(),
            },
        })?;
        let (zip, names, unzipped) = if meta.is_dir() {
            let files = collect(path)?;
            let unzipped: u64 = files.iter().map(|f| f.data.len() as u64).sum();
            // Checked before zipping: deflating 250 MB takes a while.
            if unzipped > MAX_UNZIPPED {
                return Err(PackageError::TooLargeUnzipped {
                    path: path.to_owned(),
                    size: unzipped,
                    limit: MAX_UNZIPPED,
                });
            }
            let names = files.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
            let zip = write_zip(&files).map_err(|e| PackageError::Unreadable {
                path: path.to_owned(),
                detail: format!("cannot zip it: {e}"),
            })?;
            (zip, names, unzipped)
        } else {
            let zip = std::fs::read(path).map_err(|e| PackageError::Unreadable {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
            let (names, unzipped) =
                zip_entries(&zip).map_err(|detail| PackageError::Unreadable {
                    path: path.to_owned(),
                    detail: format!(
                        "not a readable .zip ({detail}); give a directory or a .zip file"
                    ),
                })?;
            (zip, names, unzipped)
        };
        if zip.len() as u64 > MAX_ZIPPED {
            return Err(PackageError::TooLargeZipped {
                path: path.to_owned(),
                size: zip.len() as u64,
                limit: MAX_ZIPPED,
            });
        }
        if unzipped > MAX_UNZIPPED {
            return Err(PackageError::TooLargeUnzipped {
                path: path.to_owned(),
                size: unzipped,
                limit: MAX_UNZIPPED,
            });
        }
        check_entry_point(path, runtime, handler, &names)?;
        Ok(Self {
            sha256: code_sha256(&zip),
            zip,
            source: path.display().to_string(),
        })
    }
}

/// The file an interpreted runtime loads for `handler`, if paysec can
/// tell: Python's `pkg.module.function` → `pkg/module.py`; Node.js's
/// `dir/file.function` → `dir/file.js|.mjs|.cjs`; Ruby's `file.method`
/// → `file.rb`. Compiled runtimes (Java, .NET) name classes, not files.
fn handler_files(runtime: &str, handler: &str) -> Option<Vec<String>> {
    let (module, _function) = handler.rsplit_once('.')?;
    if runtime.starts_with("python") {
        let file = module.replace('.', "/");
        return Some(vec![format!("{file}.py"), format!("{file}/__init__.py")]);
    }
    if runtime.starts_with("nodejs") {
        return Some(
            ["js", "mjs", "cjs"]
                .iter()
                .map(|ext| format!("{module}.{ext}"))
                .collect(),
        );
    }
    if runtime.starts_with("ruby") {
        return Some(vec![format!("{module}.rb")]);
    }
    None
}

fn check_entry_point(
    path: &Path,
    runtime: &str,
    handler: &str,
    names: &[String],
) -> Result<(), PackageError> {
    if runtime.starts_with("provided") {
        if !names.iter().any(|n| n == "bootstrap") {
            return Err(PackageError::NoBootstrap {
                path: path.to_owned(),
                runtime: runtime.to_owned(),
            });
        }
        return Ok(());
    }
    let Some(wanted) = handler_files(runtime, handler) else {
        return Ok(());
    };
    if wanted.iter().any(|w| names.iter().any(|n| n == w)) {
        return Ok(());
    }
    Err(PackageError::HandlerMissing {
        path: path.to_owned(),
        handler: handler.to_owned(),
        wanted: wanted.join(" or "),
    })
}

/// One file of a package.
struct Entry {
    /// Its path inside the zip, `/`-separated.
    name: String,
    data: Vec<u8>,
    executable: bool,
}

/// Every file under `root`, sorted by path. A symlink is followed when it
/// stays inside `root` (its target's bytes are zipped under the link's
/// name) and refused otherwise: a link to `~/.aws` must not ship.
fn collect(root: &Path) -> Result<Vec<Entry>, PackageError> {
    let canonical_root = root.canonicalize().map_err(|e| PackageError::Unreadable {
        path: root.to_owned(),
        detail: e.to_string(),
    })?;
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let read = std::fs::read_dir(&dir).map_err(|e| PackageError::Unreadable {
            path: dir.clone(),
            detail: e.to_string(),
        })?;
        for item in read {
            let item = item.map_err(|e| PackageError::Unreadable {
                path: dir.clone(),
                detail: e.to_string(),
            })?;
            let path = item.path();
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let link = std::fs::symlink_metadata(&path)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if link {
                let target = path.canonicalize().map_err(|e| PackageError::Unreadable {
                    path: path.clone(),
                    detail: format!("a broken symlink: {e}"),
                })?;
                if !target.starts_with(&canonical_root) {
                    return Err(PackageError::SymlinkEscapes {
                        path: root.to_owned(),
                        link: relative,
                        target: target.display().to_string(),
                    });
                }
            }
            let meta = std::fs::metadata(&path).map_err(|e| PackageError::Unreadable {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let data = std::fs::read(&path).map_err(|e| PackageError::Unreadable {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            use std::os::unix::fs::PermissionsExt;
            out.push(Entry {
                name: relative,
                data,
                executable: meta.permissions().mode() & 0o111 != 0,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A zip of `files` in their order, every entry with the same timestamp
/// (1980-01-01, zip's epoch) and a mode that depends only on whether the
/// file is executable: the same tree always gives the same bytes.
fn write_zip(files: &[Entry]) -> std::io::Result<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for f in files {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .last_modified_time(zip::DateTime::default())
                .unix_permissions(if f.executable { 0o755 } else { 0o644 });
            w.start_file(f.name.as_str(), opts)
                .map_err(std::io::Error::other)?;
            w.write_all(&f.data)?;
        }
        w.finish().map_err(std::io::Error::other)?;
    }
    Ok(buf.into_inner())
}

/// The file names of a ready zip and their unzipped size (what Lambda
/// counts against its 250 MB), read from the archive's directory; the
/// sizes are read by decompressing, not trusted from the headers.
fn zip_entries(zip: &[u8]) -> Result<(Vec<String>, u64), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).map_err(|e| e.to_string())?;
        if f.is_dir() {
            continue;
        }
        names.push(f.name().to_owned());
        // Counted through a bounded reader: a zip bomb stops at the limit.
        let mut sink = std::io::sink();
        let budget = MAX_UNZIPPED + 1 - total.min(MAX_UNZIPPED);
        total += std::io::copy(&mut (&mut f).take(budget), &mut sink).map_err(|e| e.to_string())?;
        if total > MAX_UNZIPPED {
            break;
        }
    }
    Ok((names, total))
}

/// SHA-256 of a package, base64-encoded: how Lambda reports a function's
/// `CodeSha256`.
pub fn code_sha256(zip: &[u8]) -> String {
    use sha2::Digest;
    aws_smithy_types::base64::encode(sha2::Sha256::digest(zip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn the_example_is_a_zip_holding_the_handler_and_is_reproducible() {
        let a = Code::example();
        assert_eq!(&a.zip[..2], b"PK");
        assert_eq!(a, Code::example());
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a.zip)).unwrap();
        assert_eq!(archive.by_index(0).unwrap().name(), "handler.py");
    }

    #[test]
    fn the_code_digest_is_lambdas_base64_sha256() {
        // SHA-256 of the empty input, base64: a known vector.
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn a_directory_zips_to_the_same_digest_whatever_its_timestamps_and_order() {
        let a = tree(&[
            ("app.py", "def main(e, c): pass\n"),
            ("lib/util.py", "X = 1\n"),
        ]);
        let first = Code::load(a.path(), "python3.13", "app.main").unwrap();
        // Touched later, written in the other order: the same bytes.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = tree(&[
            ("lib/util.py", "X = 1\n"),
            ("app.py", "def main(e, c): pass\n"),
        ]);
        let second = Code::load(b.path(), "python3.13", "app.main").unwrap();
        assert_eq!(first.sha256, second.sha256);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(first.zip)).unwrap();
        let names: Vec<_> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().to_owned())
            .collect();
        assert_eq!(names, ["app.py", "lib/util.py"]);
        // A changed byte is a changed digest.
        std::fs::write(b.path().join("lib/util.py"), "X = 2\n").unwrap();
        let third = Code::load(b.path(), "python3.13", "app.main").unwrap();
        assert_ne!(third.sha256, second.sha256);
    }

    #[test]
    fn a_ready_zip_is_taken_as_it_is() {
        let a = tree(&[("index.mjs", "export const handler = async () => 1;\n")]);
        let built = Code::load(a.path(), "nodejs22.x", "index.handler").unwrap();
        let file = a.path().join("../ready.zip");
        std::fs::write(&file, &built.zip).unwrap();
        let ready = Code::load(&file, "nodejs22.x", "index.handler").unwrap();
        assert_eq!(ready.sha256, built.sha256);
        let _ = std::fs::remove_file(file);
    }

    #[test]
    fn bad_packages_are_refused_naming_what_is_wrong() {
        let missing = Code::load(Path::new("/no/such/dir"), "python3.13", "a.b").unwrap_err();
        assert!(matches!(missing, PackageError::Missing { .. }), "{missing}");
        assert!(missing.to_string().contains("/no/such/dir"));

        let a = tree(&[("app.py", "")]);
        let handler = Code::load(a.path(), "python3.13", "main.handler").unwrap_err();
        assert!(
            handler.to_string().contains("main.py")
                && handler.to_string().contains("lambda.handler"),
            "{handler}"
        );
        // A package directory is found by its __init__.py too.
        let pkg = tree(&[("svc/__init__.py", "")]);
        Code::load(pkg.path(), "python3.13", "svc.handler").unwrap();

        let rust = tree(&[("main", "")]);
        let no_bootstrap = Code::load(rust.path(), "provided.al2023", "bootstrap").unwrap_err();
        assert!(matches!(no_bootstrap, PackageError::NoBootstrap { .. }));

        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("credentials"), "secret").unwrap();
        let leaky = tree(&[("app.py", "")]);
        std::os::unix::fs::symlink(
            outside.path().join("credentials"),
            leaky.path().join("creds"),
        )
        .unwrap();
        let escape = Code::load(leaky.path(), "python3.13", "app.h").unwrap_err();
        assert!(
            matches!(escape, PackageError::SymlinkEscapes { ref link, .. } if link == "creds"),
            "{escape}"
        );
        // A link that stays inside is zipped as the file it points to.
        let inside = tree(&[("app.py", "")]);
        std::os::unix::fs::symlink(inside.path().join("app.py"), inside.path().join("alias.py"))
            .unwrap();
        Code::load(inside.path(), "python3.13", "alias.h").unwrap();

        let not_zip = a.path().join("package.zip");
        std::fs::write(&not_zip, "not a zip").unwrap();
        let corrupt = Code::load(&not_zip, "python3.13", "app.h").unwrap_err();
        assert!(
            corrupt.to_string().contains("not a readable .zip"),
            "{corrupt}"
        );
    }

    #[test]
    fn a_package_over_the_unzipped_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..4 {
            // Sparse: no 256 MB written to the disk.
            let f = std::fs::File::create(dir.path().join(format!("blob{i}.bin"))).unwrap();
            f.set_len(64 * 1024 * 1024 + 1).unwrap();
        }
        std::fs::write(dir.path().join("app.py"), "").unwrap();
        let big = Code::load(dir.path(), "python3.13", "app.h").unwrap_err();
        assert!(
            matches!(big, PackageError::TooLargeUnzipped { .. }),
            "{big}"
        );
    }
}
