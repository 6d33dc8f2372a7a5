//! One client connection: drives a [`Session`] over TCP, then TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use calm_mail_types::{Address, QueueId};
use calm_smtp_proto::{
    Action, Answer, BodyType, CloseReason, Envelope, Reply, Role, Session, SessionConfig,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::backend::{Backend, DataOutcome, EnqueueError, IncomingMessage, SessionInfo};
use crate::event::SmtpEvent;
use crate::received::Trace;
use crate::server::Shared;

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
    info: SessionInfo,
}

fn reason_text(reason: CloseReason) -> String {
    match reason {
        CloseReason::Quit => "quit",
        CloseReason::Timeout => "timeout",
        CloseReason::TooManyErrors => "too_many_errors",
        CloseReason::TooManyAuthFailures => "too_many_auth_failures",
        CloseReason::BareLineEnding => "bare_line_ending",
        CloseReason::EarlyTalker => "early_talker",
        CloseReason::Refused => "refused",
        _ => "closed",
    }
    .to_owned()
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
        let local = tcp.local_addr().unwrap_or(client);
        // Replies are written in batches already; do not let Nagle hold the last one back.
        let _ = tcp.set_nodelay(true);
        let s = &shared.settings;
        let mut config = SessionConfig::new(s.hostname.clone(), role);
        config.max_message_size = s.max_message_size;
        config.max_recipients = s.max_recipients;
        config.max_errors = s.max_errors;
        config.max_auth_failures = s.max_auth_failures;
        let id = shared
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let info = SessionInfo {
            id,
            listener: listener.to_owned(),
            role,
            client,
            local,
            helo: None,
            tls: role == Role::Submissions,
            auth_user: None,
        };
        let mut conn = Connection {
            session: Session::new(config),
            shared,
            info,
        };
        conn.event(SmtpEvent::Connect {
            listener: listener.to_owned(),
            role,
            client_ip: client.ip(),
            tls: role == Role::Submissions,
        });
        let reason = conn.run(tcp).await;
        conn.shared.backend.disconnect(&conn.info);
        conn.event(SmtpEvent::Disconnect {
            client_ip: client.ip(),
            reason,
        });
    }

    async fn run(&mut self, tcp: TcpStream) -> String {
        let mut tcp = tcp;
        if self.info.role == Role::Submissions {
            return match self.handshake(tcp).await {
                Ok(mut tls) => match self.start_and_converse(&mut tls).await {
                    Exit::Closed(reason) => reason,
                    Exit::StartTls => "starttls under implicit tls".to_owned(),
                },
                Err(reason) => reason,
            };
        }
        match self.start_and_converse(&mut tcp).await {
            Exit::Closed(reason) => return reason,
            Exit::StartTls => {}
        }
        let mut tls = match self.handshake(tcp).await {
            Ok(tls) => tls,
            Err(reason) => return reason,
        };
        self.session.tls_established();
        match self.converse(&mut tls).await {
            Exit::Closed(reason) => reason,
            // The session never asks twice; treat it as the end.
            Exit::StartTls => "starttls repeated".to_owned(),
        }
    }

    async fn handshake(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::server::TlsStream<TcpStream>, String> {
        let limit = self.shared.settings.command_timeout;
        match timeout(limit, self.shared.acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => Ok(tls),
            Ok(Err(e)) => Err(format!("tls handshake failed: {e}")),
            Err(_) => Err("tls handshake timeout".to_owned()),
        }
    }

    /// Early-talker check, greeting, then the conversation.
    async fn start_and_converse<S>(&mut self, stream: &mut S) -> Exit
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let delay = self.shared.settings.mx_greeting_delay;
        if self.info.role == Role::Mx && !delay.is_zero() {
            let mut buf = [0u8; 512];
            match timeout(delay, stream.read(&mut buf)).await {
                Ok(Ok(0)) => return Exit::Closed("client closed connection".to_owned()),
                Ok(Ok(n)) => self.session.receive(buf.get(..n).unwrap_or_default()),
                Ok(Err(e)) => return Exit::Closed(format!("read error: {e}")),
                Err(_) => {}
            }
        }
        if let Err(reply) = self.shared.backend.check_connect(&self.info).await {
            return self.refuse(stream, reply).await;
        }
        self.session.greet();
        self.converse(stream).await
    }

    /// Sends `reply` instead of the greeting and closes.
    async fn refuse<S>(&mut self, stream: &mut S, reply: Reply) -> Exit
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.event(SmtpEvent::Reject {
            stage: "connect".to_owned(),
            code: reply.code,
            enhanced: reply.enhanced.map(|e| e.to_string()),
            text: reply.text(),
            client_ip: self.info.client.ip(),
        });
        let mut out = reply.encode();
        let _ = self.flush(stream, &mut out).await;
        let _ = timeout(Duration::from_secs(1), stream.shutdown()).await;
        Exit::Closed("refused at connect".to_owned())
    }

    /// Runs the session's actions until it closes or asks for TLS.
    async fn converse<S>(&mut self, stream: &mut S) -> Exit
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let Some(action) = self.session.poll() else {
                // RFC 2920 §3.1: flush every pending reply before blocking on a read.
                if let Err(reason) = self.flush(stream, &mut out).await {
                    return Exit::Closed(reason);
                }
                if let Some(exit) = self.read(stream, &mut buf).await {
                    return exit;
                }
                continue;
            };
            match action {
                Action::Reply(reply) => {
                    self.note_reply(&reply);
                    out.extend_from_slice(&reply.encode());
                }
                Action::StartTls => {
                    return match self.flush(stream, &mut out).await {
                        Ok(()) => Exit::StartTls,
                        Err(reason) => Exit::Closed(reason),
                    };
                }
                Action::Close(reason) => {
                    let _ = self.flush(stream, &mut out).await;
                    let _ = timeout(Duration::from_secs(1), stream.shutdown()).await;
                    return Exit::Closed(reason_text(reason));
                }
                other => self.ask_backend(other).await,
            }
        }
    }

    /// Reads once; `Some` if the connection is over.
    async fn read<S: AsyncRead + Unpin>(&mut self, stream: &mut S, buf: &mut [u8]) -> Option<Exit> {
        let settings = &self.shared.settings;
        let limit = if self.session.in_data() {
            settings.data_timeout
        } else {
            settings.command_timeout
        };
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
        // A client that stops reading must not hold the task forever.
        let limit = self.shared.settings.command_timeout;
        let write = async {
            stream.write_all(out).await?;
            stream.flush().await
        };
        let result = match timeout(limit, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write error: {e}")),
            Err(_) => Err("write timeout".to_owned()),
        };
        out.clear();
        result
    }

    fn sync_info(&mut self) {
        self.info.helo = self.session.helo().map(str::to_owned);
        self.info.tls = self.session.is_tls();
        self.info.auth_user = self.session.auth_user().map(str::to_owned);
    }

    async fn ask_backend(&mut self, action: Action) {
        self.sync_info();
        let backend = self.shared.backend.clone();
        let answer = match action {
            Action::CheckHello(name) => Answer::Hello(backend.check_helo(&self.info, &name).await),
            Action::CheckSender(from) => {
                Answer::Sender(backend.check_sender(&self.info, &from).await)
            }
            Action::CheckRecipient(rcpt) => {
                Answer::Recipient(backend.check_rcpt(&self.info, &rcpt))
            }
            Action::Authenticate {
                mechanism,
                credentials,
            } => {
                let user = backend
                    .authenticate(&credentials.username, &credentials.password)
                    .await;
                let client_ip = self.info.client.ip();
                self.event(match &user {
                    Some(u) => SmtpEvent::AuthSuccess {
                        user: u.clone(),
                        client_ip,
                    },
                    None => SmtpEvent::AuthFailure {
                        user: credentials.username.clone(),
                        client_ip,
                        mechanism: mechanism.name().to_owned(),
                    },
                });
                Answer::Auth(user)
            }
            Action::Deliver { envelope, body } => {
                Answer::Delivery(self.deliver(envelope, body).await)
            }
            Action::Reply(_) | Action::StartTls | Action::Close(_) => return,
        };
        if self.session.answer(answer).is_err() {
            tracing::error!("smtp session refused an answer; this is a bug in the driver");
        }
    }

    /// Adds the `Received:` header and hands the message to the backend.
    async fn deliver(&mut self, envelope: Envelope, body: Vec<u8>) -> Reply {
        let id = QueueId::generate();
        let smtputf8 = envelope.params.smtputf8;
        let trace = Trace {
            helo: self.session.helo().unwrap_or("unknown"),
            client_ip: self.info.client.ip(),
            hostname: &self.shared.settings.hostname,
            protocol: self.session.protocol(smtputf8),
            id: id.as_str(),
            single_rcpt: match envelope.rcpt_to.as_slice() {
                [only] => Some(only.to_string()),
                _ => None,
            },
            date: time::OffsetDateTime::now_utc(),
        };
        let mut data = trace.header().into_bytes();
        data.extend_from_slice(&body);
        drop(body);
        let mut msg = IncomingMessage {
            id: id.clone(),
            session: self.info.clone(),
            mail_from: envelope.mail_from,
            rcpt_to: envelope.rcpt_to,
            data,
            smtputf8,
            body_8bit: envelope.params.body == Some(BodyType::EightBitMime),
            folder: None,
        };
        let outcome = match self.shared.backend.check_data(&self.info, &mut msg).await {
            Ok(outcome) => outcome,
            Err(reply) => return reply,
        };
        let accepted = self.accepted_event(&msg);
        if outcome == DataOutcome::Kept {
            self.event(accepted);
            return Reply::queued(id.as_str());
        }
        match self.shared.backend.enqueue(msg).await {
            Ok(()) => {
                self.event(accepted);
                Reply::queued(id.as_str())
            }
            Err(EnqueueError::Temporary(detail)) => {
                tracing::warn!(queue_id = %id, error = %detail, "enqueue failed");
                Reply::local_error("Error: queue file write error")
            }
            Err(EnqueueError::NoSpace(detail)) => {
                tracing::warn!(queue_id = %id, error = %detail, "enqueue failed: no space");
                Reply::no_space("Error: insufficient system storage")
            }
        }
    }

    fn accepted_event(&self, msg: &IncomingMessage) -> SmtpEvent {
        SmtpEvent::Accepted {
            queue_id: msg.id.as_str().to_owned(),
            size: msg.data.len() as u64,
            from: msg.mail_from.to_string(),
            rcpt: msg.rcpt_to.iter().map(Address::to_string).collect(),
            client_ip: self.info.client.ip(),
            auth_user: self.info.auth_user.clone(),
            tls: self.info.tls,
        }
    }

    /// Every 4xx/5xx becomes a `reject` event naming the command it answered.
    fn note_reply(&self, reply: &Reply) {
        if reply.code < 400 {
            return;
        }
        self.event(SmtpEvent::Reject {
            stage: self.session.last_command().to_owned(),
            code: reply.code,
            enhanced: reply.enhanced.map(|e| e.to_string()),
            text: reply.text(),
            client_ip: self.info.client.ip(),
        });
    }

    fn event(&self, ev: SmtpEvent) {
        self.shared.backend.event(&ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calm_smtp_proto::RcptVerdict;

    #[test]
    fn close_reasons_are_snake_case() {
        assert_eq!(reason_text(CloseReason::TooManyErrors), "too_many_errors");
        assert_eq!(reason_text(CloseReason::Quit), "quit");
    }

    #[test]
    fn rcpt_verdict_is_reexported() {
        // The binary matches on these names; keep them stable.
        let v = RcptVerdict::Reject(Reply::relay_denied("x"));
        assert!(matches!(v, crate::RcptVerdict::Reject(r) if r.code == 554));
    }
}
