//! # Brief overview
//!
//! `calm-quarantine` keeps messages the policy quarantined, byte for byte, with the verdict
//! that put them there, in a plain directory:
//!
//! - `<id>.eml`: the message exactly as received;
//! - `<id>.json`: its [`Record`]: the SMTP [`Envelope`], the [`Verdict`] (deciding rule,
//!   reason, score and every rule that contributed), when and how big;
//! - `released/`: entries that were released, kept for the record.
//!
//! Key type: [`Store`], with [`Store::put`], [`Store::list`], [`Store::show`],
//! [`Store::release`] (returns the envelope and the original bytes for redelivery) and
//! [`Store::delete`]. Every file is written atomically (temporary file, fsync, rename,
//! directory fsync): after a crash an entry is either complete or absent from [`Store::list`].
//!
//! What it deliberately does not do: no delivery (the caller enqueues what
//! [`Store::release`] returns), no expiry timer (the caller deletes old entries, e.g. from
//! [`Store::list`] by [`Record::received`]), no locking between processes beyond the atomic
//! renames: one daemon owns the directory and the CLI goes through it.
//!
//! ```
//! use calm_quarantine::{Envelope, Store, Verdict};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path())?;
//! let envelope = Envelope::new("news@sender.example", ["alice@example.test"]);
//! let verdict = Verdict::new("spam-quarantine", "spam_score >= 10").with_score(12.5);
//! let id = store.put(&envelope, &verdict, b"Subject: hi\r\n\r\nbody\r\n", 1_700_000_000)?;
//! assert_eq!(store.list()?.len(), 1);
//! let (env, bytes) = store.release(&id)?;
//! assert_eq!((env, bytes.as_slice()), (envelope, &b"Subject: hi\r\n\r\nbody\r\n"[..]));
//! assert!(store.list()?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod store;

pub use store::{Envelope, Hit, Id, QuarantineError, Record, Store, Verdict};
