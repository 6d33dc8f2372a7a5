//! One client connection: framing, TLS, the not-authenticated state, IDLE, and handing
//! authenticated commands to a [`Session`] on a blocking thread (the store does blocking I/O).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use calm_imap_proto::{Command, CommandBody, Frame, Framer, parse_command_with};
use calm_sasl::{Authenticator, Credentials, Mechanism, Step};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::backend::Backend;
use crate::event::ImapEvent;
use crate::server::{Role, Shared};
use crate::session::{Activity, Outcome, Session, UserQuota};

/// How a conversation on one stream ended.
enum Exit {
    /// STARTTLS was accepted: hand the plain stream to the TLS acceptor.
    StartTls,
    /// The connection is over, for this reason.
    Closed(String),
}

/// What handling one frame asks of the loop.
enum Flow {
    Continue,
    StartTls,
    Close(String),
    /// A session command is running on a blocking thread and sending its output in chunks
    /// (a large FETCH), to be written as it comes.
    Stream(Running),
}

/// A session command in progress.
struct Running {
    chunks: mpsc::Receiver<Vec<u8>>,
    task: tokio::task::JoinHandle<(Session, Vec<u8>, Outcome)>,
}

pub(crate) struct Connection<B> {
    shared: Arc<Shared<B>>,
    client: SocketAddr,
    role: Role,
    tls: bool,
    framer: Framer,
    /// Set once authenticated.
    session: Option<Session>,
    user: Option<String>,
    /// An AUTHENTICATE waiting for the client's response line.
    pending_auth: Option<(String, Authenticator, Mechanism)>,
    /// The tag of a running IDLE.
    idling: Option<String>,
    errors: u32,
    auth_failures: u32,
    /// A literal was just invited with `+`: acknowledge its bytes at once (see [`Socket`]).
    literal_invited: bool,
}

/// A stream over a TCP socket, for socket options.
///
/// A client that writes a literal and then its closing CRLF separately (Python's imaplib) has
/// the CRLF held back by Nagle's algorithm until the literal is acknowledged, and Linux delays
/// that ACK (up to 40 ms) hoping to send it with a reply, which cannot come before the CRLF:
/// every APPEND took 40 ms more. So after inviting a literal the server asks for quick ACKs.
pub(crate) trait Socket: AsyncRead + AsyncWrite + Unpin {
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream;

    /// Acknowledge incoming data at once for a while (`TCP_QUICKACK`); best effort.
    fn quick_ack(&self) {
        let _ = rustix::net::sockopt::set_tcp_quickack(self.tcp(), true);
    }
}

impl Socket for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Socket for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

impl<B: Backend> Connection<B> {
    /// Serves one connection to the end; every outcome becomes a `disconnect` event.
    pub(crate) async fn serve(
        shared: Arc<Shared<B>>,
        listener: &str,
        role: Role,
        tcp: TcpStream,
        client: SocketAddr,
    ) {
        let _ = tcp.set_nodelay(true);
        let mut conn = Connection {
            framer: Framer::new(shared.settings.limits),
            shared,
            client,
            role,
            tls: role == Role::Imaps,
            session: None,
            user: None,
            pending_auth: None,
            idling: None,
            errors: 0,
            auth_failures: 0,
            literal_invited: false,
        };
        conn.event(ImapEvent::Connect {
            listener: listener.to_owned(),
            role,
            client_ip: client.ip(),
            tls: conn.tls,
        });
        let reason = conn.run(tcp).await;
        conn.event(ImapEvent::Disconnect {
            user: conn.user.clone(),
            client_ip: client.ip(),
            reason,
        });
    }

    async fn run(&mut self, tcp: TcpStream) -> String {
        if self.role == Role::Imaps {
            let mut tls = match self.handshake(tcp).await {
                Ok(tls) => tls,
                Err(reason) => return reason,
            };
            return match self.converse(&mut tls, self.greeting()).await {
                Exit::Closed(reason) => reason,
                Exit::StartTls => "starttls under implicit tls".to_owned(),
            };
        }
        let mut tcp = tcp;
        if let Exit::Closed(reason) = self.converse(&mut tcp, self.greeting()).await {
            return reason;
        }
        let mut tls = match self.handshake(tcp).await {
            Ok(tls) => tls,
            Err(reason) => return reason,
        };
        self.tls = true;
        match self.converse(&mut tls, Vec::new()).await {
            Exit::Closed(reason) => reason,
            Exit::StartTls => "starttls repeated".to_owned(),
        }
    }

    fn greeting(&self) -> Vec<u8> {
        format!(
            "* OK [CAPABILITY {}] {} IMAP ready\r\n",
            self.capabilities(),
            self.shared.settings.hostname
        )
        .into_bytes()
    }

    /// RFC 3501 §7.2.1; before login only what a client needs to log in.
    fn capabilities(&self) -> String {
        let mut caps = String::from("IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE");
        if self.session.is_some() {
            caps.push_str(
                " NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN LIST-EXTENDED LIST-STATUS \
                 SPECIAL-USE STATUS=SIZE ESEARCH SEARCHRES BINARY CONDSTORE",
            );
            // RFC 9208: offered to a user who has a limit to report.
            let limit = self.session.as_ref().and_then(Session::storage_limit);
            if limit.is_some() {
                caps.push_str(" QUOTA QUOTA=RES-STORAGE");
            }
            return caps;
        }
        if !self.tls {
            caps.push_str(" STARTTLS");
        }
        if self.auth_allowed() {
            caps.push_str(" AUTH=PLAIN");
        } else {
            caps.push_str(" LOGINDISABLED");
        }
        caps
    }

    fn auth_allowed(&self) -> bool {
        self.tls || self.shared.settings.allow_plaintext_auth
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

    /// Reads, frames and answers until the connection ends or STARTTLS is accepted.
    async fn converse<S: Socket>(&mut self, stream: &mut S, mut out: Vec<u8>) -> Exit {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(frame) = self.framer.next_frame() {
                let flow = self.on_frame(frame, &mut out).await;
                let flow = match flow {
                    Flow::Stream(running) => self.stream_out(stream, &mut out, running).await,
                    flow => flow,
                };
                match flow {
                    Flow::Continue | Flow::Stream(_) => {}
                    Flow::StartTls => {
                        // RFC 3501 §6.2.1: anything the client sent after STARTTLS in plaintext
                        // must not be read as commands under TLS.
                        self.framer.clear();
                        return match self.flush(stream, &mut out).await {
                            Ok(()) => Exit::StartTls,
                            Err(reason) => Exit::Closed(reason),
                        };
                    }
                    Flow::Close(reason) => {
                        let _ = self.flush(stream, &mut out).await;
                        let _ = timeout(Duration::from_secs(1), stream.shutdown()).await;
                        return Exit::Closed(reason);
                    }
                }
                // Many pipelined commands must not pile up output in memory.
                if out.len() >= 64 * 1024
                    && let Err(reason) = self.flush(stream, &mut out).await
                {
                    return Exit::Closed(reason);
                }
                if self.errors >= self.shared.settings.max_errors {
                    out.extend_from_slice(b"* BYE Too many errors\r\n");
                    let _ = self.flush(stream, &mut out).await;
                    return Exit::Closed("too many errors".to_owned());
                }
            }
            if let Err(reason) = self.flush(stream, &mut out).await {
                return Exit::Closed(reason);
            }
            if std::mem::take(&mut self.literal_invited) {
                stream.quick_ack();
            }
            match self.read(stream, &mut buf, &mut out).await {
                Ok(()) => {}
                Err(reason) => {
                    let _ = self.flush(stream, &mut out).await;
                    return Exit::Closed(reason);
                }
            }
        }
    }

    /// Waits for input; while idling, polls the mailbox for changes meanwhile.
    async fn read<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        buf: &mut [u8],
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let timeouts = self.shared.settings.timeouts;
        let limit = if self.session.is_some() {
            timeouts.idle
        } else {
            timeouts.login
        };
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let wait = if self.idling.is_some() {
                timeouts.idle_poll
            } else {
                limit
            };
            let read = timeout(wait, stream.read(buf)).await;
            match read {
                Ok(Ok(0)) => return Err("client closed connection".to_owned()),
                Ok(Ok(n)) => {
                    self.framer.push(buf.get(..n).unwrap_or_default());
                    return Ok(());
                }
                Ok(Err(e)) => return Err(format!("read error: {e}")),
                Err(_) if self.idling.is_some() && tokio::time::Instant::now() < deadline => {
                    let outcome = self.in_session(|s, out| s.poll_if_changed(out)).await;
                    if let Some(bytes) = outcome.as_ref().map(|(b, _)| b) {
                        out.extend_from_slice(bytes);
                    }
                    if let Some((_, Outcome::Close(reason))) = outcome {
                        return Err(reason);
                    }
                    if !out.is_empty() {
                        return Ok(());
                    }
                }
                Err(_) => {
                    out.extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
                    return Err("timeout".to_owned());
                }
            }
        }
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
        // A big response (FETCH chunks) must not leave an idle connection holding its buffer.
        if out.capacity() > 64 * 1024 {
            out.shrink_to(16 * 1024);
        }
        result
    }

    async fn on_frame(&mut self, frame: Frame, out: &mut Vec<u8>) -> Flow {
        match frame {
            Frame::Continue => {
                out.extend_from_slice(b"+ Ready for literal data\r\n");
                self.literal_invited = true;
            }
            Frame::LineTooLong => {
                self.errors += 1;
                out.extend_from_slice(b"* BAD Line too long\r\n");
            }
            Frame::LiteralTooBig { tag } => {
                self.errors += 1;
                out.extend_from_slice(format!("{tag} NO [TOOBIG] Literal too big\r\n").as_bytes());
            }
            Frame::Fatal { tag } => {
                out.extend_from_slice(format!("{tag} BAD [TOOBIG] Literal too big\r\n").as_bytes());
                out.extend_from_slice(b"* BYE Literal too big\r\n");
                return Flow::Close("literal too big".to_owned());
            }
            Frame::Command(bytes) => return self.on_line(bytes, out).await,
        }
        Flow::Continue
    }

    async fn on_line(&mut self, bytes: Vec<u8>, out: &mut Vec<u8>) -> Flow {
        if let Some((tag, auth, mech)) = self.pending_auth.take() {
            return self.auth_step(tag, (auth, mech), &bytes, out).await;
        }
        if let Some(tag) = self.idling.take() {
            // RFC 2177 §3: the client ends IDLE with "DONE".
            if bytes.trim_ascii().eq_ignore_ascii_case(b"DONE") {
                out.extend_from_slice(format!("{tag} OK IDLE terminated\r\n").as_bytes());
            } else {
                self.errors += 1;
                out.extend_from_slice(format!("{tag} BAD Expected DONE\r\n").as_bytes());
            }
            return Flow::Continue;
        }
        let utf8_names = self.session.as_ref().is_some_and(|s| s.rev2);
        match parse_command_with(&bytes, utf8_names) {
            Ok(command) => self.on_command(command, out).await,
            Err(e) => {
                let tag = e.tag.as_deref().unwrap_or("*");
                if e.bad_charset {
                    out.extend_from_slice(
                        format!("{tag} NO [BADCHARSET (UTF-8 US-ASCII)] {e}\r\n").as_bytes(),
                    );
                } else {
                    self.errors += 1;
                    out.extend_from_slice(format!("{tag} BAD {e}\r\n").as_bytes());
                }
                Flow::Continue
            }
        }
    }

    async fn on_command(&mut self, command: Command, out: &mut Vec<u8>) -> Flow {
        let tag = command.tag.clone();
        let reply = |out: &mut Vec<u8>, text: &str| {
            out.extend_from_slice(format!("{tag} {text}\r\n").as_bytes());
        };
        match command.body {
            CommandBody::Capability => {
                out.extend_from_slice(
                    format!("* CAPABILITY {}\r\n", self.capabilities()).as_bytes(),
                );
                reply(out, "OK CAPABILITY completed");
            }
            CommandBody::Logout => {
                out.extend_from_slice(b"* BYE Logging out\r\n");
                reply(out, "OK LOGOUT completed");
                return Flow::Close("logout".to_owned());
            }
            CommandBody::StartTls if self.tls => reply(out, "BAD TLS is already active"),
            CommandBody::StartTls if self.session.is_some() => {
                reply(out, "BAD STARTTLS is only allowed before login")
            }
            CommandBody::StartTls => {
                reply(out, "OK Begin TLS negotiation now");
                return Flow::StartTls;
            }
            CommandBody::Id => {
                out.extend_from_slice(b"* ID (\"name\" \"calm\")\r\n");
                reply(out, "OK ID completed");
            }
            CommandBody::Noop if self.session.is_none() => reply(out, "OK NOOP completed"),
            CommandBody::Login { .. } | CommandBody::Authenticate { .. }
                if self.session.is_some() =>
            {
                reply(out, "BAD Already authenticated")
            }
            CommandBody::Login { .. } | CommandBody::Authenticate { .. }
                if !self.auth_allowed() =>
            {
                reply(out, "NO [PRIVACYREQUIRED] Use STARTTLS first")
            }
            CommandBody::Login { user, password } => {
                let creds = Credentials {
                    username: user,
                    password,
                };
                return self.login(&tag, creds, "LOGIN", out).await;
            }
            CommandBody::Authenticate { mechanism, initial } => {
                return self.authenticate(tag, &mechanism, initial, out).await;
            }
            _ if self.session.is_none() => {
                self.errors += 1;
                reply(out, "BAD Log in first");
            }
            CommandBody::Idle => {
                self.idling = Some(tag);
                out.extend_from_slice(b"+ idling\r\n");
            }
            _ => return self.session_command(command).await,
        }
        Flow::Continue
    }

    /// Starts a session command on a blocking thread; its output is streamed by
    /// [`Connection::stream_out`].
    async fn session_command(&mut self, command: Command) -> Flow {
        let Some(mut session) = self.session.take() else {
            return Flow::Close("internal error: no session".to_owned());
        };
        // Two chunks in flight at most: a FETCH of many large messages is sent as it is
        // read, never held in memory as a whole.
        let (tx, chunks) = mpsc::channel(2);
        let task = tokio::task::spawn_blocking(move || {
            session.sink = Some(tx);
            let mut out = Vec::new();
            let outcome = session.execute(command, &mut out);
            session.sink = None;
            (session, out, outcome)
        });
        Flow::Stream(Running { chunks, task })
    }

    /// Writes a running command's chunks as they come, then its final output.
    async fn stream_out<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        out: &mut Vec<u8>,
        mut running: Running,
    ) -> Flow {
        let mut failed = None;
        while let Some(chunk) = running.chunks.recv().await {
            if failed.is_some() {
                continue;
            }
            // Earlier responses first, then this chunk.
            out.extend_from_slice(&chunk);
            if let Err(reason) = self.flush(stream, out).await {
                // Closing the channel stops the command at its next chunk.
                running.chunks.close();
                failed = Some(reason);
            }
        }
        let joined = running.task.await;
        let Ok((session, bytes, outcome)) = joined else {
            tracing::error!("imap: session task failed");
            return Flow::Close("internal error".to_owned());
        };
        self.session = Some(session);
        self.report_activity();
        if let Some(reason) = failed {
            return Flow::Close(reason);
        }
        out.extend_from_slice(&bytes);
        match outcome {
            Outcome::Continue => Flow::Continue,
            Outcome::Close(reason) => Flow::Close(reason),
        }
    }

    /// Runs `f` on the session on a blocking thread. `None` if there is no session or the
    /// task failed.
    async fn in_session<F>(&mut self, f: F) -> Option<(Vec<u8>, Outcome)>
    where
        F: FnOnce(&mut Session, &mut Vec<u8>) -> Outcome + Send + 'static,
    {
        let mut session = self.session.take()?;
        let joined = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let outcome = f(&mut session, &mut out);
            (session, out, outcome)
        })
        .await;
        match joined {
            Ok((session, out, outcome)) => {
                self.session = Some(session);
                Some((out, outcome))
            }
            Err(e) => {
                tracing::error!(error = %e, "imap: session task failed");
                None
            }
        }
    }

    async fn authenticate(
        &mut self,
        tag: String,
        mechanism: &str,
        initial: Option<String>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(mech) = Mechanism::from_name(mechanism) else {
            out.extend_from_slice(format!("{tag} NO Unsupported mechanism\r\n").as_bytes());
            return Flow::Continue;
        };
        let mut auth = Authenticator::new(mech);
        let step = auth.start(initial.as_deref());
        self.auth_result(tag, (auth, mech), step, out).await
    }

    async fn auth_step(
        &mut self,
        tag: String,
        (mut auth, mech): (Authenticator, Mechanism),
        line: &[u8],
        out: &mut Vec<u8>,
    ) -> Flow {
        let line = String::from_utf8_lossy(line.trim_ascii()).into_owned();
        let step = auth.step(&line);
        self.auth_result(tag, (auth, mech), step, out).await
    }

    async fn auth_result(
        &mut self,
        tag: String,
        (auth, mech): (Authenticator, Mechanism),
        step: Result<Step, calm_sasl::SaslError>,
        out: &mut Vec<u8>,
    ) -> Flow {
        match step {
            Ok(Step::Challenge(challenge)) => {
                out.extend_from_slice(
                    format!("+ {}\r\n", calm_sasl::encode(&challenge)).as_bytes(),
                );
                self.pending_auth = Some((tag, auth, mech));
                Flow::Continue
            }
            Ok(Step::Done(creds)) => self.login(&tag, creds, mech.name(), out).await,
            Err(calm_sasl::SaslError::Cancelled) => {
                out.extend_from_slice(format!("{tag} BAD Authentication cancelled\r\n").as_bytes());
                Flow::Continue
            }
            Err(e) => {
                self.errors += 1;
                out.extend_from_slice(format!("{tag} BAD {e}\r\n").as_bytes());
                Flow::Continue
            }
        }
    }

    async fn login(
        &mut self,
        tag: &str,
        creds: Credentials,
        mechanism: &str,
        out: &mut Vec<u8>,
    ) -> Flow {
        let backend = self.shared.backend.clone();
        let user = backend.authenticate(&creds.username, &creds.password).await;
        let client_ip = self.client.ip();
        let Some(user) = user else {
            self.event(ImapEvent::AuthFailure {
                user: creds.username.clone(),
                client_ip,
                mechanism: mechanism.to_owned(),
            });
            tokio::time::sleep(self.shared.settings.auth_failure_delay).await;
            self.auth_failures += 1;
            out.extend_from_slice(
                format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed\r\n").as_bytes(),
            );
            if self.auth_failures >= self.shared.settings.max_auth_failures {
                out.extend_from_slice(b"* BYE Too many failed logins\r\n");
                return Flow::Close("too many auth failures".to_owned());
            }
            return Flow::Continue;
        };
        let root = backend.mailbox_root(&user);
        let opened = tokio::task::spawn_blocking(move || calm_mailstore::Store::open(&root)).await;
        match opened {
            Ok(Ok(store)) => {
                let mut session = Session::new(store);
                session.quota = Some(Box::new(UserQuota {
                    backend,
                    user: user.clone(),
                }));
                self.session = Some(session);
                self.user = Some(user.clone());
                self.event(ImapEvent::AuthSuccess {
                    user,
                    client_ip,
                    mechanism: mechanism.to_owned(),
                });
                let caps = self.capabilities();
                out.extend_from_slice(
                    format!("{tag} OK [CAPABILITY {caps}] Logged in\r\n").as_bytes(),
                );
                Flow::Continue
            }
            other => {
                tracing::error!(user = %user, result = ?other.map(|r| r.err()), "imap: cannot open the mail store");
                out.extend_from_slice(
                    format!("{tag} NO [UNAVAILABLE] Mailbox unavailable\r\n").as_bytes(),
                );
                Flow::Continue
            }
        }
    }

    /// Turns what the last command changed into events.
    fn report_activity(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let activity = std::mem::take(&mut session.activity);
        let user = self.user.clone().unwrap_or_default();
        let client_ip = self.client.ip();
        for a in activity {
            self.event(match a {
                Activity::Append {
                    mailbox,
                    uid,
                    octets,
                } => ImapEvent::Append {
                    user: user.clone(),
                    client_ip,
                    mailbox,
                    uid,
                    octets,
                },
                Activity::Expunge { mailbox, count } => ImapEvent::Expunge {
                    user: user.clone(),
                    client_ip,
                    mailbox,
                    count,
                },
                Activity::Transfer {
                    from,
                    to,
                    moved,
                    count,
                    messages,
                } => ImapEvent::Transferred {
                    user: user.clone(),
                    client_ip,
                    from,
                    to,
                    moved,
                    count,
                    messages,
                },
            });
        }
    }

    fn event(&self, ev: ImapEvent) {
        self.shared.backend.event(&ev);
    }
}
