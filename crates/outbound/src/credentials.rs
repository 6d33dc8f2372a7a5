//! Relay credentials: the usernames and passwords that routes with `auth=NAME` use for SMTP
//! AUTH (RFC 4954). They live in their own file, never in the routes file, so the transport
//! map can be shown, diffed and committed without secrets.
//!
//! File format, one entry per line; a line whose first non-blank character is `#` is a
//! comment (a `#` inside a password is part of it):
//!
//! ```text
//! # NAME   username              password
//! isp      calm@example.org      s3cret#with-hash
//! ```
//!
//! Exactly three whitespace-separated fields: passwords cannot contain spaces. The file
//! should be mode 0600; a file readable by others is used, with a warning.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::route::RouteError;

/// RFC 4954 §4: a server need not accept an AUTH line above 12288 octets; the PLAIN response
/// is base64 of `\0user\0password`, so 4096 octets each stays well inside.
const MAX_FIELD: usize = 4096;

/// Why a username or password cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The field (`username` or `password`) is empty.
    #[error("empty {0}")]
    Empty(&'static str),
    /// The field is longer than 4096 octets.
    #[error("{0} longer than {MAX_FIELD} octets")]
    TooLong(&'static str),
    /// The field holds a control character (NUL, CR, LF, …).
    #[error("control character in the {0}")]
    Control(&'static str),
}

/// One username and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    username: String,
    password: String,
}

impl Credential {
    /// A credential; refuses empty fields, control characters (PLAIN separates with NUL, and
    /// CR/LF would end the command line) and fields over 4096 octets.
    pub fn new(username: &str, password: &str) -> Result<Credential, CredentialError> {
        for (what, value) in [("username", username), ("password", password)] {
            if value.is_empty() {
                return Err(CredentialError::Empty(what));
            }
            if value.len() > MAX_FIELD {
                return Err(CredentialError::TooLong(what));
            }
            if value.chars().any(char::is_control) {
                return Err(CredentialError::Control(what));
            }
        }
        Ok(Credential {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The username (safe to log).
    pub fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Named credentials for relay routes (`auth=NAME` in the routes file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayCredentials {
    by_name: HashMap<String, Credential>,
}

impl RelayCredentials {
    /// Reads a credentials file. Logs a warning (does not fail) when group or others may
    /// read it.
    pub fn load(path: &Path) -> Result<RelayCredentials, RouteError> {
        let file = path.display().to_string();
        let whole = |e: std::io::Error| RouteError {
            file: file.clone(),
            line: 0,
            message: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(whole)?;
        if let Some(warning) = permission_warning(&meta) {
            tracing::warn!(file = %file, "{warning}");
        }
        let text = std::fs::read_to_string(path).map_err(whole)?;
        RelayCredentials::parse(&text, &file)
    }

    /// Parses credentials text; `file` names it in errors. Errors never quote a password.
    pub fn parse(text: &str, file: &str) -> Result<RelayCredentials, RouteError> {
        let mut creds = RelayCredentials::default();
        for (index, raw) in text.lines().enumerate() {
            let err = |message: String| RouteError {
                file: file.to_owned(),
                line: index + 1,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let [name, username, password] = words.as_slice() else {
                return Err(err(format!(
                    "expected `NAME username password`, got {} fields",
                    words.len()
                )));
            };
            let credential = Credential::new(username, password).map_err(|e| err(e.to_string()))?;
            if creds.by_name.contains_key(*name) {
                return Err(err(format!("{name}: defined twice")));
            }
            creds.by_name.insert((*name).to_owned(), credential);
        }
        Ok(creds)
    }

    /// Adds or replaces an entry (for configuration not read from a file).
    pub fn insert(&mut self, name: &str, credential: Credential) {
        self.by_name.insert(name.to_owned(), credential);
    }

    /// The credential called `name`.
    pub fn get(&self, name: &str) -> Option<&Credential> {
        self.by_name.get(name)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The warning for a credentials file that group or others can read or write.
#[cfg(unix)]
pub(crate) fn permission_warning(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!("relay credentials file has mode {mode:o}; 600 is recommended (it holds passwords)")
    })
}

#[cfg(not(unix))]
pub(crate) fn permission_warning(_meta: &std::fs::Metadata) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_comments_and_hashes_in_passwords() {
        let text = "# name user pass\n\n  isp  calm@example.org  s3cret#x \nhub u p\n";
        let creds = RelayCredentials::parse(text, "c").unwrap();
        assert_eq!(creds.len(), 2);
        let isp = creds.get("isp").unwrap();
        assert_eq!(isp.username(), "calm@example.org");
        assert_eq!(isp.password(), "s3cret#x");
        assert!(creds.get("nope").is_none());
    }

    #[test]
    fn errors_name_file_and_line_and_never_the_password() {
        let e = RelayCredentials::parse("a u p\nb only-two\n", "creds").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("creds", 2));
        assert!(e.to_string().starts_with("creds:2: "), "{e}");
        let e = RelayCredentials::parse("a u p with-space\n", "c").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(!e.to_string().contains("with-space"), "{e}");
        let e = RelayCredentials::parse("a u p\na v q\n", "c").unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
    }

    #[test]
    fn hostile_fields_are_refused() {
        use CredentialError::*;
        assert_eq!(Credential::new("u", ""), Err(Empty("password")));
        assert_eq!(Credential::new("", "p"), Err(Empty("username")));
        assert_eq!(Credential::new("u\0x", "p"), Err(Control("username")));
        assert_eq!(Credential::new("u", "p\r\nQUIT"), Err(Control("password")));
        let long = "p".repeat(MAX_FIELD + 1);
        assert_eq!(Credential::new("u", &long), Err(TooLong("password")));
        let e = RelayCredentials::parse("isp u\u{7f}x p\n", "c").unwrap_err();
        assert_eq!(e.message, "control character in the username");
        assert!(Credential::new("u", &"p".repeat(MAX_FIELD)).is_ok());
    }

    #[test]
    fn debug_hides_the_password() {
        let c = Credential::new("user", "hunter2").unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("user") && !shown.contains("hunter2"),
            "{shown}"
        );
        let mut creds = RelayCredentials::default();
        creds.insert("n", c);
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    #[cfg(unix)]
    #[test]
    fn loose_permissions_warn_but_load() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        std::fs::write(&path, "isp u p\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert!(permission_warning(&meta).unwrap().contains("644"));
        assert_eq!(RelayCredentials::load(&path).unwrap().len(), 1);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(permission_warning(&std::fs::metadata(&path).unwrap()).is_none());
        let missing = RelayCredentials::load(&dir.path().join("none")).unwrap_err();
        assert_eq!(missing.line, 0);
    }
}
