//! [`Server`], [`Settings`] and [`Timeouts`]: the accept loop.

use std::sync::Arc;
use std::time::Duration;

use calm_pop3_proto::Role;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::backend::Backend;
use crate::connection::Connection;

/// How long the server waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For the next command. RFC 1939 §3: an autologout timer "MUST be of at least 10
    /// minutes' duration".
    pub idle: Duration,
    /// For the TLS handshake (implicit TLS or after STLS).
    pub handshake: Duration,
    /// For the client to accept our output; a client that stops reading is dropped.
    pub write: Duration,
}

impl Default for Timeouts {
    /// 10 minutes idle, 30 seconds for a handshake, 2 minutes per write.
    fn default() -> Self {
        Timeouts {
            idle: Duration::from_secs(600),
            handshake: Duration::from_secs(30),
            write: Duration::from_secs(120),
        }
    }
}

/// Settings shared by all POP3 listeners.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our name, in the greeting.
    pub hostname: String,
    /// The TLS configuration for STLS and implicit TLS.
    pub tls: Arc<rustls::ServerConfig>,
    /// Accept USER/PASS and AUTH before TLS (e.g. for a loopback-only listener). Off by
    /// default (RFC 8314 §3).
    pub allow_plaintext_auth: bool,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Pause after a failed login before answering, to slow password guessing.
    pub auth_failure_delay: Duration,
    /// Failed logins before the connection is closed.
    pub max_auth_failures: u32,
    /// Protocol errors before the connection is closed.
    pub max_errors: u32,
}

impl Settings {
    /// Defaults: plaintext authentication refused, default [`Timeouts`], 1 second failure
    /// delay, 3 auth failures, 10 protocol errors.
    pub fn new(hostname: impl Into<String>, tls: Arc<rustls::ServerConfig>) -> Settings {
        Settings {
            hostname: hostname.into(),
            tls,
            allow_plaintext_auth: false,
            timeouts: Timeouts::default(),
            auth_failure_delay: Duration::from_secs(1),
            max_auth_failures: 3,
            max_errors: 10,
        }
    }
}

/// What every connection task shares.
pub(crate) struct Shared<B> {
    pub settings: Arc<Settings>,
    pub backend: Arc<B>,
    pub acceptor: TlsAcceptor,
}

/// The POP3 server: one per process, any number of listeners.
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
            }),
        }
    }

    /// Accepts connections on `listener` forever, one task per connection. Accept errors
    /// (such as running out of file descriptors) are logged and retried.
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
                    tracing::warn!(listener = %name, error = %e, "pop3: accept failed; retrying");
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
