//! # Brief overview
//!
//! `calm-accounts` knows who receives mail and who may log in: users with password hashes
//! (a Dovecot passwd-file, usable by Dovecot unchanged), aliases (`/etc/aliases` format) and a
//! virtual map (Postfix virtual(5) format), plus the rules that turn a recipient address into
//! mailboxes and forwards.
//!
//! Key types:
//! - [`Directory`]: everything loaded and shared; [`Directory::resolve`] gives a
//!   [`Resolution`] of [`Target`]s, [`Directory::authenticate`] checks a login,
//!   [`Directory::owns`] says whether a user may send as an address.
//! - [`Users`], [`Aliases`], [`VirtualMap`]: the three files, parsed; load errors name
//!   `file:line` ([`AccountsError::Parse`]).
//! - [`UsersFile`]: atomic edits of the users file (`add`, `passwd`, `delete`, `list`).
//! - [`PasswordHash`] and [`Scheme`]: argon2id/argon2i, SHA512/SHA256-CRYPT, bcrypt, `{PLAIN}`.
//! - [`UserQuota`]: a user's own storage limit (Dovecot's `userdb_quota_rule=*:storage=1G`),
//!   read by [`Users::storage_limit`].
//!
//! What it deliberately does not do: no async and no I/O beyond reading and replacing its own
//! files (password checks are CPU-bound and sync: callers use `spawn_blocking`); no pipe,
//! file or `:include:` alias targets (refused at load time, with the reason); no address
//! syntax validation beyond what its files need (the SMTP layer validates addresses); no
//! watching files for changes (the caller reloads and swaps the `Directory`).
//!
//! ```
//! use calm_accounts::{Aliases, Directory, DirectorySettings, Resolution, Target, Users, VirtualMap};
//! use std::path::Path;
//!
//! let users = Users::from_bytes(Path::new("users"), b"bob@example.test:{PLAIN}secret\n")?;
//! let aliases = Aliases::from_bytes(Path::new("aliases"), b"postmaster: bob\n")?;
//! let settings = DirectorySettings {
//!     local_domains: vec!["example.test".into()],
//!     subaddress_separator: Some('+'),
//!     ..Default::default()
//! };
//! let dir = Directory::new(users, aliases, VirtualMap::default(), settings)?;
//! let bob = Target::Mailbox("bob@example.test".into());
//! assert_eq!(dir.resolve("Postmaster@example.test"), Resolution::Deliver(vec![bob.clone()]));
//! assert_eq!(dir.resolve("bob+lists@example.test"), Resolution::Deliver(vec![bob]));
//! assert_eq!(dir.resolve("nobody@example.test"), Resolution::Unknown);
//! assert_eq!(dir.resolve("alice@elsewhere.test"), Resolution::NotLocal);
//! assert_eq!(dir.authenticate("BOB@example.test", "secret").as_deref(), Some("bob@example.test"));
//! assert!(dir.owns("bob@example.test", "postmaster@example.test"));
//! # Ok::<(), calm_accounts::AccountsError>(())
//! ```

mod address;
mod aliases;
mod atomic;
mod directory;
mod error;
mod lines;
#[cfg(test)]
mod never_panic;
mod password;
mod quota;
mod resolve;
mod target;
mod users;
mod users_file;
mod virtual_map;

pub use aliases::Aliases;
pub use directory::{Directory, DirectorySettings, Resolution, ResolveError, Target};
pub use error::AccountsError;
pub use password::{InvalidHash, PasswordHash, Scheme};
pub use quota::UserQuota;
pub use users::Users;
pub use users_file::UsersFile;
pub use virtual_map::VirtualMap;
