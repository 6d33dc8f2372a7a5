//! # Brief overview
//!
//! `calm-imap-proto` is the sans-IO half of calm's IMAP server (RFC 3501 IMAP4rev1 and
//! RFC 9051 IMAP4rev2): bytes in, commands out, and the pieces of response syntax the server
//! writes. It does no I/O and knows nothing about the store.
//!
//! Key types: [`Framer`] cuts the client's byte stream into whole commands, literals
//! included, asking for continuation on synchronizing literals and enforcing [`Limits`] on
//! lines and literals; [`parse_command`] turns one into a [`Command`] ([`CommandBody`] with
//! [`SequenceSet`], [`FetchItem`], [`SearchKey`], …) or a [`ParseError`] for a `BAD` reply;
//! [`encode`] writes strings, literals and mailbox names; [`message`] cuts body sections and
//! builds ENVELOPE and BODYSTRUCTURE; [`date`] handles IMAP dates.
//!
//! It deliberately does not hold session state (which commands are allowed when is the
//! server's business), parse responses (it is not a client), or implement extensions calm
//! does not advertise. The hand-written parser covers the commands calm offers; it is
//! written so that no input can make it panic or recurse without bound.
//!
//! ```
//! use calm_imap_proto::{CommandBody, Frame, Framer, parse_command};
//! let mut framer = Framer::default();
//! framer.push(b"a1 LOGIN {3}\r\n");
//! assert_eq!(framer.next_frame(), Some(Frame::Continue)); // send "+ Ready"
//! framer.push(b"bob secret\r\n");
//! let Some(Frame::Command(bytes)) = framer.next_frame() else { panic!() };
//! let command = parse_command(&bytes)?;
//! assert_eq!(command.tag, "a1");
//! assert!(matches!(command.body, CommandBody::Login { .. }));
//! # Ok::<(), calm_imap_proto::ParseError>(())
//! ```

mod command;
pub mod date;
pub mod encode;
mod framer;
pub mod message;
mod mutf7;
mod parse;

pub use command::{
    Command, CommandBody, DateCmp, Day, FetchItem, Flag, ListCommand, SearchKey, SearchReturn,
    Section, SectionText, SeqNum, SequenceSet, StatusItem, StoreOp,
};
pub use framer::{Frame, Framer, Limits};
pub use mutf7::{decode as mutf7_decode, encode as mutf7_encode};
pub use parse::{ParseError, parse_command, parse_command_with};
