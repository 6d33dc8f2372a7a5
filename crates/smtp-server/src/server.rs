//! [`Server`] and [`Settings`]: the accept loop.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::backend::Backend;
use crate::connection::Connection;
use calm_smtp_proto::Role;

/// Settings shared by all listeners.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our name: in the greeting, the EHLO reply and `Received:` headers.
    pub hostname: String,
    /// Largest message accepted, in octets (advertised as `SIZE`).
    pub max_message_size: u64,
    /// Recipients per message (RFC 5321 §4.5.3.1.8: at least 100).
    pub max_recipients: usize,
    /// How long to wait for a command (RFC 5321 §4.5.3.2.7 suggests 5 minutes).
    pub command_timeout: Duration,
    /// How long to wait for the next block of message data (§4.5.3.2.6: 3 minutes).
    pub data_timeout: Duration,
    /// Negative replies before the session is closed with 421.
    pub max_errors: u32,
    /// Failed AUTH attempts before the session is closed with 421.
    pub max_auth_failures: u32,
    /// On `mx` listeners, how long to wait before the greeting; a client that talks during
    /// the pause is refused (early talker, a spam-bot trait). Zero disables the check.
    pub mx_greeting_delay: Duration,
    /// The TLS configuration for STARTTLS and implicit TLS.
    pub tls: Arc<rustls::ServerConfig>,
}

/// What every connection task shares.
pub(crate) struct Shared<B> {
    pub settings: Arc<Settings>,
    pub backend: Arc<B>,
    pub acceptor: TlsAcceptor,
    /// Source of [`crate::SessionInfo::id`].
    pub next_id: std::sync::atomic::AtomicU64,
}

/// The SMTP server: one per process, any number of listeners.
pub struct Server<B: Backend> {
    shared: Arc<Shared<B>>,
}

impl<B: Backend> Server<B> {
    /// A server with these settings, asking `backend`.
    pub fn new(settings: Arc<Settings>, backend: Arc<B>) -> Self {
        let acceptor = TlsAcceptor::from(settings.tls.clone());
        Server {
            shared: Arc::new(Shared {
                settings,
                backend,
                acceptor,
                next_id: std::sync::atomic::AtomicU64::new(1),
            }),
        }
    }

    /// Accepts connections on `listener` forever, one task per connection. Failures of single
    /// connections are events; only the accept loop itself can end this (it does not, today:
    /// accept errors such as running out of file descriptors are logged and retried).
    pub async fn run(
        &self,
        name: String,
        role: Role,
        listener: TcpListener,
    ) -> std::io::Result<()> {
        let name: Arc<str> = Arc::from(name);
        loop {
            let (tcp, client) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(listener = %name, error = %e, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let shared = self.shared.clone();
            let name = name.clone();
            tokio::spawn(async move {
                Connection::serve(shared, &name, role, tcp, client).await;
            });
        }
    }
}
