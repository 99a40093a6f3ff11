//! Reading a secret (the database's master password) from a file, with
//! the checks a file holding one deserves: opened without following a
//! symbolic link, readable by its owner only, a few KiB at most, and held
//! in memory that is wiped when dropped.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::Zeroizing;

/// The largest secret file read: a password is far smaller; anything
/// bigger is the wrong file.
pub const MAX_BYTES: u64 = 4096;

/// The file's content without its trailing newline, or what is wrong with
/// the file and how to fix it (`setting` names the config key).
pub fn read(path: &Path, setting: &str) -> Result<Zeroizing<String>, String> {
    let shown = path.display();
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!(
                "{shown} ({setting}) is a symbolic link; paysec reads a secret only from the file itself: point {setting} at it"
            ),
            _ => format!("cannot read {shown} ({setting}): {e}"),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown} ({setting}): {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} ({setting}) is not a regular file"));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{shown} ({setting}) can be read or written by others (mode {mode:03o}); run `chmod 600 {shown}`"
        ));
    }
    if meta.len() > MAX_BYTES {
        return Err(format!(
            "{shown} ({setting}) holds {} bytes; a password file holds the password only (at most {MAX_BYTES} bytes)",
            meta.len()
        ));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown} ({setting}): {e}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "{shown} ({setting}) grew past {MAX_BYTES} bytes while being read"
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{shown} ({setting}) is not UTF-8 text"))?;
    Ok(Zeroizing::new(
        text.trim_end_matches(['\n', '\r']).to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, body: &[u8], mode: u32) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn an_owner_only_file_is_read_without_its_newline() {
        let d = tempfile::tempdir().unwrap();
        let p = file(d.path(), "pw", b"correct-horse-battery\n", 0o600);
        assert_eq!(
            read(&p, "rds.master_password_file").unwrap().as_str(),
            "correct-horse-battery"
        );
    }

    #[test]
    fn a_shared_linked_oversized_or_missing_file_is_refused_naming_the_fix() {
        let d = tempfile::tempdir().unwrap();
        let shared = file(d.path(), "shared", b"correct-horse-battery", 0o644);
        let e = read(&shared, "rds.master_password_file").unwrap_err();
        assert!(e.contains("mode 644") && e.contains("chmod 600"), "{e}");

        let target = file(d.path(), "target", b"correct-horse-battery", 0o600);
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = read(&link, "rds.master_password_file").unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");

        let big = file(d.path(), "big", &vec![b'x'; 5000], 0o600);
        let e = read(&big, "rds.master_password_file").unwrap_err();
        assert!(e.contains("5000 bytes"), "{e}");

        let e = read(&d.path().join("absent"), "rds.master_password_file").unwrap_err();
        assert!(
            e.contains("cannot read") && e.contains("rds.master_password_file"),
            "{e}"
        );

        let e = read(d.path(), "rds.master_password_file").unwrap_err();
        assert!(
            e.contains("not a regular file") || e.contains("cannot read"),
            "{e}"
        );
    }
}
