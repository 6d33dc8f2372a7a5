//! # Brief overview
//!
//! `calm-dkim` signs outbound mail with DKIM (RFC 6376; RSA-SHA256, and Ed25519-SHA256 per
//! RFC 8463) and makes the keys an operator publishes.
//!
//! Key types:
//! - [`Keys`]: one signing key per domain, loaded from a directory of
//!   `<domain>.<selector>.key` files (PKCS#8 PEM; PKCS#1 `RSA PRIVATE KEY` PEM as written by
//!   `opendkim-genkey` is accepted too, so keys can be carried over).
//! - [`Signer`]: signs a message for one domain and returns the `DKIM-Signature:` header
//!   field to prepend (relaxed/relaxed; From, To, Cc, Subject, Date, Message-ID, the
//!   reply/thread headers and the MIME headers).
//! - [`keygen`] / [`keygen_with`]: write a new key (mode 0600, never overwriting) and return the
//!   [`Generated`] DNS TXT record to publish.
//!
//! It deliberately does not verify inbound signatures (calm-content does that with
//! mail-auth), look anything up in DNS, or decide *whether* a message should be signed: the
//! caller asks [`Keys::signer_for`] with the From domain and prepends what
//! [`Signer::sign`] returns. Selectors containing dots cannot be expressed in a file name
//! and are not supported.
//!
//! ```no_run
//! # fn f() -> Result<(), calm_dkim::DkimError> {
//! use std::path::Path;
//! let generated = calm_dkim::keygen(Path::new("/etc/calm/dkim"), "example.com", "calm1")?;
//! println!("{}", generated.zone_line());
//! let keys = calm_dkim::Keys::load(Path::new("/etc/calm/dkim"))?;
//! let message = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello\r\n";
//! if let Some(signer) = keys.signer_for("example.com") {
//!     let header = signer.sign(message)?; // "DKIM-Signature: ...\r\n"
//!     let mut signed = header.into_bytes();
//!     signed.extend_from_slice(message);
//! }
//! # Ok(()) }
//! ```

mod keygen;
mod keys;
mod names;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use keygen::{Generated, KeyType, keygen, keygen_with};
pub use keys::{Keys, Signer};

/// What can go wrong loading keys, generating them or signing.
#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    /// Reading the key directory or a key file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file is not a usable private key, or its name is not `<domain>.<selector>.key`.
    #[error("{}: {reason}", path.display())]
    BadKeyFile {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// Two key files for one domain; only one may sign (rename the other away from `.key`).
    #[error("two DKIM keys for {domain}: {} and {}", first.display(), second.display())]
    DuplicateDomain {
        /// The domain.
        domain: String,
        /// The file loaded first.
        first: PathBuf,
        /// The file that clashed with it.
        second: PathBuf,
    },
    /// A domain or selector that is not a DNS name (RFC 6376 §3.1, §3.5).
    #[error("invalid {what}: {value:?}")]
    InvalidName {
        /// "domain" or "selector".
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// `keygen` refuses to overwrite an existing key file.
    #[error("{} already exists; not overwriting a DKIM key", .0.display())]
    Exists(PathBuf),
    /// Key generation failed in the crypto library.
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    /// The message has no From header field, which RFC 6376 §5.4 requires to be signed.
    #[error("message has no From header field to sign")]
    NoFrom,
    /// Signing failed in mail-auth.
    #[error("signing failed: {0}")]
    Sign(String),
}
