//! One client connection: drives a [`Session`] over TCP, then TLS.

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use calm_pop3_proto::{
    Action, Answer, AuthMethod, BodyEncoder, MaildropError, RetrieveError, Role, Session,
    SessionConfig,
};
use calm_sasl::Credentials;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::backend::Backend;
use crate::event::Pop3Event;
use crate::maildrop::Maildrop;
use crate::server::Shared;

/// Output is flushed in pieces of about this size while a message streams.
const FLUSH_AT: usize = 64 * 1024;

/// How a conversation on one stream ended.
enum Exit {
    /// The session wants TLS: the plain stream may be handed to the TLS acceptor.
    StartTls,
    /// The connection is over, for this reason.
    Closed(String),
}

pub(crate) struct Connection<B> {
    shared: Arc<Shared<B>>,
    session: Session,
    client: SocketAddr,
    /// The authenticated user (for events).
    user: Option<String>,
    /// The locked maildrop, once open; dropping it releases the lock.
    maildrop: Option<Maildrop>,
    /// The message checked by the last RETR/TOP, waiting to be streamed.
    opened: Option<(u32, File)>,
    deleted: usize,
}

impl<B: Backend> Connection<B> {
    /// Serves one connection to the end; every outcome becomes a `quit` event.
    pub(crate) async fn serve(
        shared: Arc<Shared<B>>,
        listener: &str,
        role: Role,
        tcp: TcpStream,
        client: SocketAddr,
    ) {
        // Replies are written in batches; do not let Nagle hold the last one back.
        let _ = tcp.set_nodelay(true);
        let s = &shared.settings;
        let mut config = SessionConfig::new(s.hostname.clone(), role);
        config.allow_plaintext_auth = s.allow_plaintext_auth;
        config.max_auth_failures = s.max_auth_failures;
        config.max_errors = s.max_errors;
        let mut conn = Connection {
            session: Session::new(config),
            shared,
            client,
            user: None,
            maildrop: None,
            opened: None,
            deleted: 0,
        };
        conn.event(Pop3Event::Connect {
            listener: listener.to_owned(),
            role,
            client_ip: client.ip(),
            tls: role == Role::Pop3s,
        });
        let reason = conn.run(tcp, role).await;
        // Release the maildrop lock before reporting the end.
        conn.maildrop = None;
        conn.event(Pop3Event::Quit {
            user: conn.user.clone(),
            client_ip: client.ip(),
            reason,
            deleted: conn.deleted,
        });
    }

    async fn run(&mut self, mut tcp: TcpStream, role: Role) -> String {
        if role == Role::Pop3s {
            let mut tls = match self.handshake(tcp).await {
                Ok(tls) => tls,
                Err(reason) => return reason,
            };
            self.session.greet();
            return match self.converse(&mut tls).await {
                Exit::Closed(reason) => reason,
                Exit::StartTls => "stls under implicit tls".to_owned(),
            };
        }
        self.session.greet();
        if let Exit::Closed(reason) = self.converse(&mut tcp).await {
            return reason;
        }
        let mut tls = match self.handshake(tcp).await {
            Ok(tls) => tls,
            Err(reason) => return reason,
        };
        self.session.tls_established();
        match self.converse(&mut tls).await {
            Exit::Closed(reason) => reason,
            Exit::StartTls => "stls repeated".to_owned(),
        }
    }

    async fn handshake(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::server::TlsStream<TcpStream>, String> {
        let limit = self.shared.settings.timeouts.handshake;
        match timeout(limit, self.shared.acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => Ok(tls),
            Ok(Err(e)) => Err(format!("tls handshake failed: {e}")),
            Err(_) => Err("tls handshake timeout".to_owned()),
        }
    }

    /// Runs the session's actions until it closes or asks for TLS.
    async fn converse<S>(&mut self, stream: &mut S) -> Exit
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8 * 1024];
        loop {
            let Some(action) = self.session.poll() else {
                // RFC 2449 §6.6 PIPELINING: answer everything queued before blocking on a read.
                if let Err(reason) = self.flush(stream, &mut out).await {
                    return Exit::Closed(reason);
                }
                if let Some(exit) = self.read(stream, &mut buf).await {
                    return exit;
                }
                continue;
            };
            match action {
                Action::Send(bytes) => out.extend_from_slice(&bytes),
                Action::StartTls => {
                    return match self.flush(stream, &mut out).await {
                        Ok(()) => Exit::StartTls,
                        Err(reason) => Exit::Closed(reason),
                    };
                }
                Action::Close(reason) => {
                    let _ = self.flush(stream, &mut out).await;
                    let _ = timeout(Duration::from_secs(1), stream.shutdown()).await;
                    return Exit::Closed(reason.as_str().to_owned());
                }
                Action::SendMessage {
                    status,
                    id,
                    top,
                    encoder,
                } => {
                    out.extend_from_slice(&status);
                    if let Err(reason) = self.stream_message(stream, &mut out, id, encoder).await {
                        return Exit::Closed(reason);
                    }
                    self.retrieved_event(id, top);
                }
                other => self.ask(other).await,
            }
        }
    }

    /// Reads once; `Some` if the connection is over.
    async fn read<S: AsyncRead + Unpin>(&mut self, stream: &mut S, buf: &mut [u8]) -> Option<Exit> {
        let limit = self.shared.settings.timeouts.idle;
        match timeout(limit, stream.read(buf)).await {
            Err(_) => self.session.timeout(),
            Ok(Ok(0)) => return Some(Exit::Closed("client closed connection".to_owned())),
            Ok(Ok(n)) => self.session.receive(buf.get(..n).unwrap_or_default()),
            Ok(Err(e)) => return Some(Exit::Closed(format!("read error: {e}"))),
        }
        None
    }

    async fn flush<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        if out.is_empty() {
            return Ok(());
        }
        let write = async {
            stream.write_all(out).await?;
            stream.flush().await
        };
        let result = match timeout(self.shared.settings.timeouts.write, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write error: {e}")),
            Err(_) => Err("write timeout".to_owned()),
        };
        out.clear();
        result
    }

    /// Streams the message opened for `id` through the encoder, flushing as it goes so a
    /// large message never sits in memory. An error midway ends the connection: the
    /// multi-line response cannot be completed honestly.
    async fn stream_message<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        out: &mut Vec<u8>,
        id: u32,
        mut encoder: BodyEncoder,
    ) -> Result<(), String> {
        let file = match self.opened.take() {
            Some((opened, file)) if opened == id => file,
            _ => return Err("internal error: message was not opened".to_owned()),
        };
        let mut file = tokio::fs::File::from_std(file);
        let mut buf = vec![0u8; FLUSH_AT];
        while !encoder.is_done() {
            let n = file
                .read(&mut buf)
                .await
                .map_err(|e| format!("message read error: {e}"))?;
            if n == 0 {
                break;
            }
            encoder.push(buf.get(..n).unwrap_or_default(), out);
            if out.len() >= FLUSH_AT {
                self.flush(stream, out).await?;
            }
        }
        encoder.finish(out);
        Ok(())
    }

    async fn ask(&mut self, action: Action) {
        let answer = match action {
            Action::Authenticate {
                method,
                credentials,
            } => self.authenticate(method, credentials).await,
            Action::OpenMaildrop { user } => self.open_maildrop(&user).await,
            Action::Retrieve { id } => self.retrieve(id).await,
            Action::Update { delete, seen } => self.update(delete, seen).await,
            _ => return,
        };
        if self.session.answer(answer).is_err() {
            tracing::error!("pop3 session refused an answer; this is a bug in the driver");
        }
    }

    async fn authenticate(&mut self, method: AuthMethod, credentials: Credentials) -> Answer {
        let backend = self.shared.backend.clone();
        let user = backend
            .authenticate(&credentials.username, &credentials.password)
            .await;
        let client_ip = self.client.ip();
        let mechanism = method.name().to_owned();
        match &user {
            Some(user) => {
                self.user = Some(user.clone());
                self.event(Pop3Event::AuthSuccess {
                    user: user.clone(),
                    client_ip,
                    mechanism,
                });
            }
            None => {
                self.event(Pop3Event::AuthFailure {
                    user: credentials.username.clone(),
                    client_ip,
                    mechanism,
                });
                tokio::time::sleep(self.shared.settings.auth_failure_delay).await;
            }
        }
        Answer::Auth(user)
    }

    async fn open_maildrop(&mut self, user: &str) -> Answer {
        let root = self.shared.backend.mailbox_root(user);
        let opened = tokio::task::spawn_blocking(move || Maildrop::open(&root))
            .await
            .unwrap_or(Err(MaildropError::Unavailable));
        match opened {
            Ok((maildrop, listings)) => {
                self.maildrop = Some(maildrop);
                Answer::Maildrop(Ok(listings))
            }
            Err(e) => {
                self.user = None;
                Answer::Maildrop(Err(e))
            }
        }
    }

    async fn retrieve(&mut self, id: u32) -> Answer {
        let Some(maildrop) = self.maildrop.take() else {
            return Answer::Retrieve(Err(RetrieveError::Unavailable));
        };
        let joined = tokio::task::spawn_blocking(move || {
            let file = maildrop.open_message(id);
            (maildrop, file)
        })
        .await;
        let Ok((maildrop, file)) = joined else {
            return Answer::Retrieve(Err(RetrieveError::Unavailable));
        };
        self.maildrop = Some(maildrop);
        Answer::Retrieve(file.map(|file| self.opened = Some((id, file))))
    }

    async fn update(&mut self, delete: Vec<u32>, seen: Vec<u32>) -> Answer {
        let Some(mut maildrop) = self.maildrop.take() else {
            return Answer::Update(delete.is_empty());
        };
        let joined = tokio::task::spawn_blocking(move || {
            let updated = maildrop.update(&delete, &seen);
            (maildrop, updated)
        })
        .await;
        let Ok((maildrop, updated)) = joined else {
            return Answer::Update(false);
        };
        self.maildrop = Some(maildrop);
        self.deleted = updated.removed.len();
        for uidl in updated.removed {
            self.event(Pop3Event::Dele {
                user: self.user.clone().unwrap_or_default(),
                uidl,
                client_ip: self.client.ip(),
            });
        }
        Answer::Update(updated.complete)
    }

    fn retrieved_event(&self, id: u32, top: Option<u32>) {
        let (uidl, octets) = self
            .maildrop
            .as_ref()
            .map(|m| m.describe(id))
            .unwrap_or_default();
        self.event(Pop3Event::Retr {
            user: self.user.clone().unwrap_or_default(),
            uidl,
            octets,
            top,
            client_ip: self.client.ip(),
        });
    }

    fn event(&self, ev: Pop3Event) {
        self.shared.backend.event(&ev);
    }
}
