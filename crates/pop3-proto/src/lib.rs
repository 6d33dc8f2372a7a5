//! # Brief overview
//!
//! `calm-pop3-proto` is calm's POP3 server protocol without I/O: RFC 1939 (USER/PASS, STAT,
//! LIST, RETR, TOP, DELE, RSET, NOOP, UIDL, QUIT with the UPDATE state), RFC 2449 (CAPA and
//! response codes), RFC 2595 (STLS) and RFC 5034 (AUTH PLAIN and LOGIN through `calm-sasl`).
//! Bytes from the client go in; [`Action`]s come out (send these bytes, start TLS, check these
//! credentials, open this maildrop, stream this message, apply the deletions, close), and the
//! I/O driver (`calm-pop3-server`) carries them out and feeds [`Answer`]s back.
//!
//! Key types:
//! - [`Session`], configured by [`SessionConfig`] and [`Role`]: the state machine.
//! - [`Command`]: one parsed command line; [`LineReader`]: framing with a length limit.
//! - [`BodyEncoder`]: streams a message as a multi-line response (byte-stuffing, CRLF
//!   normalisation, TOP).
//! - [`Listing`], [`uidl_for`] and [`uidl_digest`]: what the driver tells the session about
//!   each message.
//!
//! It deliberately does not touch sockets, files or clocks, check passwords, lock or read
//! mailboxes: it asks. APOP is not offered (it needs plaintext-equivalent password storage).
//! Plaintext authentication before TLS is refused unless [`SessionConfig`] allows it.
//!
//! ```
//! use calm_pop3_proto::{Action, Role, Session, SessionConfig};
//!
//! let mut s = Session::new(SessionConfig::new("pop.example.test", Role::Pop3));
//! s.greet();
//! s.receive(b"CAPA\r\nUSER bob\r\n");
//! let mut out = Vec::new();
//! while let Some(Action::Send(bytes)) = s.poll() {
//!     out.extend(bytes);
//! }
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.starts_with("+OK pop.example.test POP3 ready.\r\n+OK Capability list follows\r\n"));
//! assert!(text.contains("STLS\r\n") && !text.contains("USER\r\n"));
//! assert!(text.ends_with("-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n"));
//! ```

mod body;
mod command;
mod line;
mod reply;
mod session;
mod uidl;

pub use body::{BodyEncoder, encode_message};
pub use command::{Command, CommandError};
pub use line::{COMMAND_LINE_LIMIT, LineError, LineReader, SASL_LINE_LIMIT};
pub use reply::RespCode;
pub use session::{
    Action, Answer, AuthMethod, CloseReason, Listing, MaildropError, RetrieveError, Role, Session,
    SessionConfig, SessionError,
};
pub use uidl::{uidl_digest, uidl_for};
