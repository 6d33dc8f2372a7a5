//! How the store writes its own files beside the Maildir (`dovecot-uidlist`, `dovecot-keywords`,
//! `calm-modseq`, `subscriptions`): a whole file is replaced atomically (a temporary file in
//! the same directory, fsynced, renamed over it), and a line-based file is extended only when
//! it ends with a newline, so a torn write is never built upon. Owner-only permissions.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, IoContext};

/// Replaces `dir/name` with `bytes`: written to a temporary file (named after `name`, not
/// dot-prefixed: a `.name` in the INBOX directory would look like a folder), fsynced and
/// renamed over it. Fsyncing the directory is the caller's. The caller holds the lock.
pub(crate) fn replace(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = dir.join(name);
    let stem = name
        .trim_start_matches("dovecot-")
        .trim_start_matches("calm-");
    let tmp = dir.join(format!("calm-{stem}.tmp.{}", std::process::id()));
    let written = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(&path, e));
    }
    Ok(())
}

/// Appends `text` to `path` (fsynced when `sync`). False, with nothing written, if the file is
/// missing, empty or does not end with a newline (a torn write): the caller replaces it whole.
/// A failed write is cut off again, so the next reader sees the file as it was.
pub(crate) fn append_if_intact(path: &Path, text: &[u8], sync: bool) -> Result<bool, Error> {
    let mut file = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = file.metadata().at(path)?.len();
    let mut last = [0u8; 1];
    if len == 0 || file.read_exact_at(&mut last, len - 1).is_err() || last != *b"\n" {
        return Ok(false);
    }
    let written = file
        .write_all(text)
        .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
    if let Err(e) = written {
        let _ = file.set_len(len);
        return Err(Error::io(path, e));
    }
    Ok(true)
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
