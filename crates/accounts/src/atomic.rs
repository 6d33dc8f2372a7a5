//! Replacing a file atomically: a reader sees the old file or the new one, never half of one,
//! and after a crash the file is one or the other.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::AccountsError;

/// Distinguishes temporary files made by threads of one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `contents` to `path` via a temporary file in the same directory: write, fsync,
/// rename over `path`, fsync the directory (so the rename itself survives a crash).
///
/// A new file gets mode 0600 (it holds password hashes). An existing file keeps its mode and,
/// where we may set it, its owner. If `path` is a symlink, its target is replaced.
pub(crate) fn write(path: &Path, contents: &[u8]) -> Result<(), AccountsError> {
    let target = resolve_symlink(path)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existing = match fs::metadata(&target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(AccountsError::io(&target, e)),
    };
    let (tmp_path, file) = create_temp(&dir, &target)?;
    let result = fill(&file, contents, existing.as_ref())
        .and_then(|()| fs::rename(&tmp_path, &target))
        .map_err(|e| AccountsError::io(&target, e));
    if result.is_err() {
        // Best effort: the error that matters is the one we return.
        let _ = fs::remove_file(&tmp_path);
        return result;
    }
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AccountsError::io(&dir, e))
}

/// Follows a symlink so that renaming replaces the file it points to, not the link.
fn resolve_symlink(path: &Path) -> Result<PathBuf, AccountsError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| AccountsError::io(path, e))
        }
        _ => Ok(path.to_path_buf()),
    }
}

/// Creates `.NAME.calm-tmp.PID.N` next to the target, refusing to reuse an existing name.
fn create_temp(dir: &Path, target: &Path) -> Result<(PathBuf, File), AccountsError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.calm-tmp.{}.{n}", std::process::id()));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp);
        match opened {
            Ok(file) => return Ok((tmp, file)),
            // A stale file from a crashed run of a process with our pid: try the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < u64::MAX => continue,
            Err(e) => return Err(AccountsError::io(tmp, e)),
        }
    }
}

/// Writes, copies mode and owner from the file being replaced, and fsyncs.
fn fill(mut file: &File, contents: &[u8], existing: Option<&fs::Metadata>) -> io::Result<()> {
    file.write_all(contents)?;
    if let Some(meta) = existing {
        file.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        let ours = file.metadata()?;
        if (ours.uid(), ours.gid()) != (meta.uid(), meta.gid()) {
            // Root editing a file owned by the mail user must not hand it to root.
            std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()))?;
        }
    }
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_with_mode_0600_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        write(&path, b"one\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one\n");
        let mode = fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind");
    }

    #[test]
    fn replacing_keeps_the_existing_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o640);
    }

    #[test]
    fn a_symlink_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let link = dir.path().join("link");
        fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("users");
        let err = write(&path, b"x").unwrap_err();
        assert!(matches!(err, AccountsError::Io { .. }), "{err}");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
