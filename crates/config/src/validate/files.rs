//! `[tls]` and the map files of `[accounts]`: set in pairs where needed, present, readable.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use super::{Checker, Severity};

impl Checker<'_> {
    pub(super) fn tls(&mut self) {
        let tls = &self.config.tls;
        match (&tls.cert, &tls.key) {
            (Some(_), None) => self.error(
                &["tls", "cert"],
                "tls.cert is set without tls.key".to_owned(),
            ),
            (None, Some(_)) => self.error(
                &["tls", "key"],
                "tls.key is set without tls.cert".to_owned(),
            ),
            _ => {}
        }
        if let Some(cert) = &tls.cert {
            self.file(&["tls", "cert"], "certificate file", cert, Severity::Error);
        }
        if let Some(key) = &tls.key {
            self.file(&["tls", "key"], "key file", key, Severity::Error);
        }
    }

    pub(super) fn account_files(&mut self) {
        let accounts = &self.config.accounts;
        // An unset users file is `<data_dir>/users`, which calm creates; a named one that is
        // missing is more likely a typo, but calm can still create it, so only a warning.
        if let Some(users) = &accounts.users_file {
            self.file(
                &["accounts", "users_file"],
                "users file",
                users,
                Severity::Warning,
            );
        }
        if let Some(aliases) = &accounts.aliases_file {
            self.file(
                &["accounts", "aliases_file"],
                "aliases file",
                aliases,
                Severity::Error,
            );
        }
        if let Some(virtual_file) = &accounts.virtual_file {
            self.file(
                &["accounts", "virtual_file"],
                "virtual file",
                virtual_file,
                Severity::Error,
            );
        }
        let policy = &self.config.policy;
        if let Some(file) = &policy.file {
            self.file(&["policy", "file"], "policy file", file, Severity::Error);
        }
        if let Some(shadow) = &policy.shadow {
            self.file(
                &["policy", "shadow"],
                "shadow policy file",
                shadow,
                Severity::Error,
            );
        }
        if let Some(routes) = &self.config.outbound.routes_file {
            self.file(
                &["outbound", "routes_file"],
                "routes file",
                routes,
                Severity::Error,
            );
        }
        if let Some(cases) = &policy.cases {
            self.file(
                &["policy", "cases"],
                "policy case file",
                cases,
                Severity::Error,
            );
        }
    }

    /// Checks that `path` is a readable file; a missing one is reported with `if_missing`,
    /// anything else wrong with it is an error.
    fn file(&mut self, key: &[&str], what: &str, path: &Path, if_missing: Severity) {
        let shown = path.display();
        match File::open(path).and_then(|file| file.metadata()) {
            Ok(meta) if meta.is_dir() => self.error(key, format!("{what} {shown} is a directory")),
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => {
                self.report(if_missing, key, format!("{what} {shown} does not exist"));
            }
            Err(err) => self.error(key, format!("{what} {shown} cannot be read: {err}")),
        }
    }
}
