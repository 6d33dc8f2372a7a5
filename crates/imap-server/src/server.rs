//! [`Server`], [`Settings`], [`Timeouts`] and [`Role`]: the accept loop.

use std::sync::Arc;
use std::time::Duration;

use calm_imap_proto::Limits;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::backend::Backend;
use crate::connection::Connection;

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Port 143: plaintext greeting, STARTTLS (RFC 3501 §6.2.1).
    Imap,
    /// Port 993: TLS from the first byte (RFC 8314 §3.3).
    Imaps,
}

/// How long the server waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For the next command once logged in. RFC 3501 §5.4: an autologout timer "MUST be of
    /// at least 30 minutes' duration" after authentication.
    pub idle: Duration,
    /// For the next command before login: shorter, so idle unauthenticated connections
    /// cannot pile up.
    pub login: Duration,
    /// For the TLS handshake.
    pub handshake: Duration,
    /// For the client to accept our output.
    pub write: Duration,
    /// How often IDLE looks for changes by others (delivery, other sessions).
    pub idle_poll: Duration,
}

impl Default for Timeouts {
    /// 30 minutes idle, 1 minute before login, 30 seconds per handshake, 2 minutes per
    /// write, IDLE polls every second.
    fn default() -> Self {
        Timeouts {
            idle: Duration::from_secs(30 * 60),
            login: Duration::from_secs(60),
            handshake: Duration::from_secs(30),
            write: Duration::from_secs(120),
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// Settings shared by all IMAP listeners.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our name, in the greeting.
    pub hostname: String,
    /// The TLS configuration for STARTTLS and implicit TLS.
    pub tls: Arc<rustls::ServerConfig>,
    /// Accept LOGIN and AUTHENTICATE before TLS (e.g. for a loopback-only listener). Off by
    /// default (RFC 8314 §3, RFC 9051 §11.1 LOGINDISABLED).
    pub allow_plaintext_auth: bool,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Line and literal limits (the literal limit bounds APPEND).
    pub limits: Limits,
    /// Pause after a failed login before answering, to slow password guessing.
    pub auth_failure_delay: Duration,
    /// Failed logins before the connection is closed.
    pub max_auth_failures: u32,
    /// Protocol errors (BAD replies) before the connection is closed.
    pub max_errors: u32,
}

impl Settings {
    /// Defaults: plaintext authentication refused, default [`Timeouts`] and [`Limits`],
    /// 1 second failure delay, 3 auth failures, 20 protocol errors.
    pub fn new(hostname: impl Into<String>, tls: Arc<rustls::ServerConfig>) -> Settings {
        Settings {
            hostname: hostname.into(),
            tls,
            allow_plaintext_auth: false,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            auth_failure_delay: Duration::from_secs(1),
            max_auth_failures: 3,
            max_errors: 20,
        }
    }
}

/// What every connection task shares.
pub(crate) struct Shared<B> {
    pub settings: Arc<Settings>,
    pub backend: Arc<B>,
    pub acceptor: TlsAcceptor,
}

/// The IMAP server: one per process, any number of listeners.
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
                    tracing::warn!(listener = %name, error = %e, "imap: accept failed; retrying");
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
