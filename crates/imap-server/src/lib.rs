//! # Brief overview
//!
//! `calm-imap-server` runs calm's IMAP listeners: `imap` (port 143, STARTTLS) and `imaps`
//! (port 993, implicit TLS), over the user's Maildir through `calm-mailstore`. It drives the
//! sans-IO framer and parser of `calm-imap-proto`: it accepts connections, does the TLS
//! handshakes (discarding anything pipelined after STARTTLS), applies timeouts and limits,
//! and asks a [`Backend`] for passwords, mailbox locations, storage limits and usage, and
//! event logging.
//!
//! Key types: [`Server`] (the accept loop), [`Settings`], [`Timeouts`], [`Role`], the
//! [`Backend`] trait and [`ImapEvent`] (including [`ImapEvent::Transferred`] for COPY/MOVE,
//! which calm's spam training follows).
//!
//! Commands: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE PLAIN (SASL-IR), ID,
//! ENABLE, NAMESPACE, SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE,
//! LIST (LIST-EXTENDED basics, SPECIAL-USE, LIST-STATUS), LSUB, STATUS (SIZE, DELETED),
//! APPEND (LITERAL+, APPENDUID), CHECK, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE, SEARCH
//! (ESEARCH, SEARCHRES), FETCH (BODY sections, BINARY, ENVELOPE, BODYSTRUCTURE), STORE, COPY
//! (COPYUID), MOVE, their UID forms, IDLE (changes by others are polled every second), and
//! GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208; SETQUOTA is refused, limits are the
//! operator's, and QUOTA is advertised to users who have one; APPEND and COPY past the limit
//! answer `NO [OVERQUOTA]`).
//! Both IMAP4rev1 and IMAP4rev2 are offered; `ENABLE IMAP4rev2` switches to UTF-8 mailbox
//! names and ESEARCH answers and drops RECENT.
//!
//! Keywords (`$Junk`, `$label1`, ...) are stored as Dovecot stores them in a Maildir (see
//! `calm-mailstore`), compared without regard to case: FLAGS and PERMANENTFLAGS list the
//! mailbox's keywords, with `\*` while fewer than 26 exist; STORE, APPEND, FETCH FLAGS,
//! SEARCH KEYWORD/UNKEYWORD and COPY/MOVE (mapped by name) handle them, and a keyword new to
//! the mailbox sends FLAGS and PERMANENTFLAGS again, to other sessions too. The Maildir holds
//! 26 keywords per folder (letters `a`–`z`): PERMANENTFLAGS then drops `\*` (RFC 3501 §7.1),
//! and a STORE or APPEND that would create a 27th answers `NO [LIMIT]` and changes nothing
//! (a COPY drops such a keyword rather than the message). `$Forwarded` is the Maildir `P`
//! flag.
//!
//! CONDSTORE (RFC 7162 §3.1) over the mailstore's MODSEQs: enabled by `ENABLE CONDSTORE`,
//! `SELECT`/`EXAMINE (CONDSTORE)` or any command that uses a MODSEQ (the selected mailbox's
//! `HIGHESTMODSEQ` follows at once); then SELECT sends `OK [HIGHESTMODSEQ n]` and every
//! unsolicited FETCH and STORE's FETCH (even `.SILENT`) carries `MODSEQ`. FETCH `MODSEQ` and
//! `(CHANGEDSINCE n)`, STORE `(UNCHANGEDSINCE n)` with `OK [MODIFIED set]` (checked under the
//! mailbox lock), SEARCH `MODSEQ` with `(MODSEQ n)` in SEARCH and ESEARCH answers, and STATUS
//! `HIGHESTMODSEQ`. One MODSEQ per message: the flag entry names of SEARCH MODSEQ are
//! accepted and ignored. A `FETCH ... (CHANGEDSINCE n)` runs on the session's view, like any
//! FETCH; changes by others follow as unsolicited FETCHes.
//!
//! What it deliberately does not do: verify passwords or map users to directories (the
//! backend does), keep `\Recent`, or QRESYNC.
//! A FETCH is sent in chunks of about 256 KiB as it runs, but each message it returns is
//! read into memory whole (bounded by the APPEND literal limit for messages added by IMAP).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use calm_imap_server::{Backend, Role, Server, Settings};
//! # async fn demo<B: Backend>(tls: Arc<rustls::ServerConfig>, backend: B) -> std::io::Result<()> {
//! let server = Server::new(Arc::new(Settings::new("mail.example.test", tls)), Arc::new(backend));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:1143").await?;
//! server.run("imap".to_owned(), Role::Imap, listener).await
//! # }
//! ```

mod backend;
mod connection;
mod event;
mod server;
mod session;

pub use backend::Backend;
pub use event::{ImapEvent, MAX_TRANSFER_PATHS};
pub use server::{Role, Server, Settings, Timeouts};
