//! # Brief overview
//!
//! `calm-smtp-server` runs calm's SMTP listeners: MX on port 25, submission on 587 (STARTTLS,
//! then AUTH) and submissions on 465 (implicit TLS). It is the I/O driver around the sans-IO
//! [`calm_smtp_proto::Session`]: it accepts connections, moves bytes, does the TLS handshakes,
//! applies timeouts, writes the `Received:` header, and asks a [`Backend`] every question that
//! needs knowledge of users, domains or the spool.
//!
//! Key types: [`Server`] (the accept loop), [`Settings`] (shared by all listeners), [`Role`],
//! the [`Backend`] trait with [`SessionInfo`], [`IncomingMessage`], [`RcptVerdict`] and
//! [`EnqueueError`], and [`SmtpEvent`] for the event log.
//!
//! It deliberately does not decide relaying, look up users, verify passwords, store mail or
//! write logs: the backend does. The protocol rules (line endings, STARTTLS buffer discard,
//! limits, command order) live in `calm-smtp-proto`, so they are tested without sockets.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use calm_smtp_server::{Backend, Role, Server, Settings};
//! # async fn demo<B: Backend>(settings: Settings, backend: B) -> std::io::Result<()> {
//! let server = Server::new(Arc::new(settings), Arc::new(backend));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:2525").await?;
//! server.run("mx".to_owned(), Role::Mx, listener).await
//! # }
//! ```

mod backend;
mod connection;
mod event;
mod received;
mod server;

pub use backend::{Backend, DataOutcome, EnqueueError, IncomingMessage, SessionInfo};
pub use calm_smtp_proto::{RcptVerdict, Reply, Role};
pub use event::SmtpEvent;
pub use server::{Server, Settings};
