//! # Brief overview
//!
//! `calm-smtp-proto` is calm's SMTP server protocol without I/O: the grammar, the replies and
//! the session state machine. Bytes from the client go in, [`Action`]s come out (send this
//! reply, start TLS, ask the backend about this recipient, deliver this message, close), and the
//! I/O driver (`calm-smtp-server`) carries them out and feeds the answers back.
//!
//! Key types:
//! - [`Reply`] and [`EnhancedCode`]: RFC 5321 §4.2 replies with RFC 3463 codes, multi-line aware.
//! - [`LineReader`]: CRLF-only command framing; a bare CR or LF is an error (SMTP smuggling).
//! - [`Command`]: one parsed command line, with [`SyntaxError::reply`] giving the exact answer.
//! - [`DataDecoder`]: the DATA phase, dot-unstuffing and strict end-of-data detection.
//! - [`Session`]: the state machine per connection, configured by [`SessionConfig`] and [`Role`].
//!
//! It deliberately does not touch sockets, files or clocks, verify passwords, decide relaying
//! or store messages: those are questions it asks through [`Action`]s. It does not implement
//! CHUNKING (BDAT is refused with 502) or DSN (its parameters are refused with 555).
//!
//! ```
//! use calm_smtp_proto::{Action, Answer, Role, Session, SessionConfig};
//!
//! let mut s = Session::new(SessionConfig::new("mx.example.test", Role::Mx));
//! s.greet();
//! s.receive(b"EHLO client.test\r\nNOOP\r\n");
//! let mut replies = Vec::new();
//! while let Some(action) = s.poll() {
//!     match action {
//!         Action::Reply(r) => replies.push(r.code),
//!         // The backend's policy accepts the HELO name.
//!         Action::CheckHello(_) => s.answer(Answer::Hello(Ok(()))).unwrap(),
//!         _ => {}
//!     }
//! }
//! assert_eq!(replies, [220, 250, 250]);
//! ```

pub mod client;
mod command;
mod data;
mod line;
mod reply;
mod session;

pub use command::{BodyType, Command, ForwardPath, MailParams, RcptParams, SyntaxError};
pub use data::{DataDecoder, DataError, DataStatus, TEXT_LINE_LIMIT, dot_stuff};
pub use line::{COMMAND_LINE_LIMIT, LONG_LINE_LIMIT, LineError, LineReader};
pub use reply::{EnhancedCode, Reply};
pub use session::{
    Action, Answer, CloseReason, Envelope, RcptVerdict, Role, Session, SessionConfig, SessionError,
};
