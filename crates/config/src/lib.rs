//! # Brief overview
//!
//! `calm-config` is calm's configuration: typed structs read from one TOML file, their
//! defaults, the semantic checks behind `calm check`, and the manual generated from them.
//!
//! Key types:
//! - [`Config`] and its sections ([`Server`], [`Listener`], [`Tls`], [`Accounts`], [`Limits`],
//!   [`Spool`], [`Log`]). Every key has a default, so an empty file is a valid configuration,
//!   and unknown keys are rejected. The doc comments of these types *are* the manual.
//! - [`ConfigError`]: a file that cannot be read or parsed, displayed as
//!   `calm.toml:12:5: message` so editors can jump to it.
//! - [`Diagnostic`] and [`Severity`]: findings of [`Config::validate`], displayed as
//!   `calm.toml:12: error: message`.
//! - [`example_toml`] and [`markdown_reference`]: the commented example file and
//!   `docs/config.md`, generated from the types' JSON schema (via `schemars`), so they cannot
//!   drift from the code; a test fails when `docs/config.md` is stale.
//!
//! What it deliberately does not do: it does not open sockets, create directories, generate
//! certificates or parse the users/aliases/virtual files (it only checks they exist); those
//! belong to the crates that use them. It is parsed once at start-up: nothing looks keys up
//! by string at run time. It does not watch files or reload.
//!
//! ```
//! use std::path::Path;
//! use calm_config::Config;
//!
//! let text = "[server]\nhostname = \"mail.example.com\"\nlocal_domains = [\"example.com\"]\n";
//! let config = Config::from_str(text, Path::new("/etc/calm/calm.toml")).unwrap();
//! assert_eq!(config.users_file(), Path::new("/etc/calm/calm-data/users"));
//! for finding in config.validate() {
//!     eprintln!("{finding}"); // e.g. "/etc/calm/calm.toml:3: error: ..."
//! }
//! ```

mod docgen;
mod domain;
mod load;
mod model;
mod origin;
mod validate;

pub use docgen::{example_toml, markdown_reference};
pub use load::ConfigError;
pub use model::{
    Accounts, Admin, Config, ContentFilter, Dkim, Limits, Listener, Log, Outbound, Policy, Role,
    Server, Spool, Tls,
};
pub use validate::{Diagnostic, Severity};
