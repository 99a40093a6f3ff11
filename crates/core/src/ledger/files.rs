//! The ledger on this machine's disk: written privately and atomically
//! (a fresh temp file, fsync, rename, fsync of the directory), in a
//! directory no one else can write; the errors naming the path.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::LedgerError;

pub(super) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io {
        path: path.to_owned(),
        source,
    }
}

/// An I/O error on a ledger or lock path, naming a symbolic link for what
/// it is (paysec opens them with `O_NOFOLLOW`: a link planted in a shared
/// directory must not redirect its writes).
pub(super) fn io_err_at(path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError + '_ {
    move |source| {
        if source.raw_os_error() == Some(libc::ELOOP) {
            LedgerError::Unsafe {
                path: path.to_owned(),
                why: "is a symbolic link, which paysec does not follow for its ledger, lock or reports".into(),
            }
        } else {
            LedgerError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

/// Writes a file only the user can read, never through a symbolic link:
/// for what paysec writes beside the ledger (`verify --report`, `plan
/// --out`). A link in its place is refused with a message saying so; a
/// file already there (made by someone else, with their mode) is replaced,
/// never written into: see [`replace_privately`].
pub fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let link = "it is a symbolic link, which paysec does not follow for what it writes";
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(link.to_owned());
    }
    replace_privately(path, text).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            link.to_owned()
        } else {
            e.to_string()
        }
    })
}

/// Puts `text` at `path` atomically: written to a fresh random name beside
/// it (created exclusively, mode 0600, never through a link), synced, then
/// renamed over `path`, and the directory synced. Nothing planted there
/// beforehand receives the text or lends it its mode or owner.
pub(super) fn replace_privately(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("paysec"),
        crate::id::random_token()?
    ));
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename is durable only once the directory entry is.
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Refuses a ledger directory another user owns, or that group or others
/// can write: whoever can write it can replace the ledger and direct
/// `down`. Only a directory paysec creates is given mode 0700.
pub(super) fn check_directory(dir: &Path) -> Result<(), LedgerError> {
    use std::os::unix::fs::MetadataExt;
    let unsafe_dir = |why: String| LedgerError::Unsafe {
        path: dir.to_owned(),
        why,
    };
    match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
            Ok(())
        }
        Err(source) => Err(LedgerError::Io {
            path: dir.to_owned(),
            source,
        }),
        Ok(meta) => {
            if meta.mode() & 0o022 != 0 {
                return Err(unsafe_dir(format!(
                    "can be written by its group or others (mode {:o}); `chmod go-w {}`, or use another --ledger-dir",
                    meta.mode() & 0o777,
                    dir.display()
                )));
            }
            // Who this process is, from a file it creates there (std has no
            // safe geteuid).
            let probe = dir.join(format!(
                ".paysec-owner-{}",
                crate::id::random_token().map_err(io_err(dir))?
            ));
            let me = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&probe)
                .and_then(|f| f.metadata())
                .map(|m| m.uid())
                .map_err(io_err(dir))?;
            let _ = fs::remove_file(&probe);
            if meta.uid() != me {
                return Err(unsafe_dir(format!(
                    "is owned by user {} (paysec runs as user {me}); use a ledger directory of your own (--ledger-dir)",
                    meta.uid()
                )));
            }
            Ok(())
        }
    }
}

pub(super) fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".to_owned())
}
