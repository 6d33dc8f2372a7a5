//! # Brief overview
//!
//! `calm-pop3-server` runs calm's POP3 listeners: `pop3` (port 110, STLS) and `pop3s`
//! (port 995, implicit TLS). It is the I/O driver around the sans-IO
//! [`calm_pop3_proto::Session`]: it accepts connections, does the TLS handshakes, applies the
//! idle, handshake and write timeouts, streams messages from the user's Maildir through
//! `calm-mailstore`, and asks a [`Backend`] for passwords, mailbox locations and event logging.
//!
//! Key types: [`Server`] (the accept loop), [`Settings`] and [`Timeouts`] (shared by all
//! listeners), [`Role`], the [`Backend`] trait, and [`Pop3Event`] for the event log.
//!
//! It deliberately does not verify passwords, map users to directories or write logs (the
//! backend does), and keeps no protocol rules of its own: command order, STLS buffer discard,
//! line limits and the UPDATE state live in `calm-pop3-proto` and are tested without sockets.
//! A session holds the maildrop lock (RFC 1939 §8) from login to disconnect, so a second
//! login gets `-ERR [IN-USE]`; IMAP sessions and delivery are not blocked by it.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use calm_pop3_server::{Backend, Role, Server, Settings};
//! # async fn demo<B: Backend>(tls: Arc<rustls::ServerConfig>, backend: B) -> std::io::Result<()> {
//! let server = Server::new(Arc::new(Settings::new("pop.example.test", tls)), Arc::new(backend));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:1110").await?;
//! server.run("pop3".to_owned(), Role::Pop3, listener).await
//! # }
//! ```

mod backend;
mod connection;
mod event;
mod maildrop;
mod server;

pub use backend::Backend;
pub use calm_pop3_proto::Role;
pub use event::Pop3Event;
pub use server::{Server, Settings, Timeouts};
