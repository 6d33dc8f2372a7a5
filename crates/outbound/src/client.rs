//! One SMTP client connection (RFC 5321 §3, §4.5.3.2 timeouts), driven over tokio.
//!
//! The reply grammar lives in `calm_smtp_proto::client`; this file only moves bytes, applies
//! the per-stage timeouts and sequences commands (with RFC 2920 pipelining when offered).

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use calm_smtp_proto::client::{Capabilities, ReplyError, ReplyParser};
use calm_smtp_proto::{EnhancedCode, Reply, dot_stuff};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::credentials::Credential;

/// Per-stage time limits. Defaults are RFC 5321 §4.5.3.2's minimums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect (not in the RFC; Postfix uses 30 s).
    pub connect: Duration,
    /// §4.5.3.2.1 initial 220: 5 minutes. Also used for EHLO/HELO and STARTTLS.
    pub greeting: Duration,
    /// §4.5.3.2.2 MAIL: 5 minutes.
    pub mail: Duration,
    /// §4.5.3.2.3 RCPT: 5 minutes.
    pub rcpt: Duration,
    /// §4.5.3.2.4 DATA initiation: 2 minutes.
    pub data_init: Duration,
    /// §4.5.3.2.5 data block: 3 minutes per write.
    pub data_block: Duration,
    /// §4.5.3.2.6 DATA termination: 10 minutes.
    pub data_end: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(m * 60);
        Timeouts {
            connect: Duration::from_secs(30),
            greeting: min(5),
            mail: min(5),
            rcpt: min(5),
            data_init: min(2),
            data_block: min(3),
            data_end: min(10),
        }
    }
}

/// Why a connection stopped being usable.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    #[error("connection failed: {0}")]
    Connect(std::io::Error),
    #[error("{0}")]
    Io(std::io::Error),
    #[error("timeout waiting for {0}")]
    Timeout(&'static str),
    #[error("connection closed by the server")]
    Closed,
    #[error("bad reply: {0}")]
    Protocol(#[from] ReplyError),
    #[error("TLS: {0}")]
    Tls(String),
}

impl ConnError {
    /// RFC 3463 status for a recipient whose delivery this interrupted.
    pub(crate) fn status(&self) -> &'static str {
        match self {
            // 4.4.1 "no answer from host".
            ConnError::Connect(_) => "4.4.1",
            // 4.4.2 "bad connection".
            ConnError::Io(_) | ConnError::Timeout(_) | ConnError::Closed => "4.4.2",
            // 4.5.0 "other or undefined protocol status".
            ConnError::Protocol(_) => "4.5.0",
            // 4.7.0 "other or undefined security status".
            ConnError::Tls(_) => "4.7.0",
        }
    }
}

/// A SASL mechanism calm speaks towards relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    /// RFC 4616, with the response in the AUTH line (RFC 4954 §4 initial response).
    Plain,
    /// The obsolete LOGIN exchange (draft-murchison-sasl-login), for relays offering only it.
    Login,
}

impl Mechanism {
    /// PLAIN when offered, else LOGIN when offered (`offered` is the EHLO AUTH list,
    /// upper-cased by the parser).
    pub(crate) fn choose(offered: &[String]) -> Option<Mechanism> {
        let has = |m: &str| offered.iter().any(|o| o == m);
        if has("PLAIN") {
            Some(Mechanism::Plain)
        } else if has("LOGIN") {
            Some(Mechanism::Login)
        } else {
            None
        }
    }

    /// The name in the AUTH command (and in logs).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The replies of one mail transaction.
#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    pub mail: Reply,
    /// One per recipient, in order; empty when MAIL failed without pipelining.
    pub rcpts: Vec<Reply>,
    /// The answer after the data (or to DATA itself when that failed).
    pub data: Option<Reply>,
}

/// An open SMTP session with one server.
pub(crate) struct SmtpConn {
    stream: Stream,
    parser: ReplyParser,
    pub caps: Capabilities,
    pub host: String,
    t: Timeouts,
    broken: bool,
}

impl SmtpConn {
    /// Connects and reads the greeting.
    pub(crate) async fn connect(
        addr: SocketAddr,
        host: &str,
        t: &Timeouts,
    ) -> Result<(SmtpConn, Reply), ConnError> {
        let tcp = tokio::time::timeout(t.connect, TcpStream::connect(addr))
            .await
            .map_err(|_| ConnError::Timeout("connect"))?
            .map_err(ConnError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let mut conn = SmtpConn {
            stream: Stream::Plain(tcp),
            parser: ReplyParser::new(),
            caps: Capabilities::default(),
            host: host.to_owned(),
            t: t.clone(),
            broken: false,
        };
        let greeting = conn.read_reply(t.greeting, "greeting").await?;
        Ok((conn, greeting))
    }

    async fn read_reply(
        &mut self,
        limit: Duration,
        stage: &'static str,
    ) -> Result<Reply, ConnError> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(reply) = self.parser.next_reply()? {
                return Ok(reply);
            }
            let read = async {
                match &mut self.stream {
                    Stream::Plain(s) => s.read(&mut buf).await,
                    Stream::Tls(s) => s.read(&mut buf).await,
                }
            };
            let n = tokio::time::timeout(limit, read)
                .await
                .map_err(|_| ConnError::Timeout(stage))?
                .map_err(ConnError::Io)?;
            if n == 0 {
                return Err(ConnError::Closed);
            }
            self.parser.feed(buf.get(..n).unwrap_or(&[]));
        }
    }

    async fn write(
        &mut self,
        bytes: &[u8],
        limit: Duration,
        stage: &'static str,
    ) -> Result<(), ConnError> {
        let write = async {
            match &mut self.stream {
                Stream::Plain(s) => s.write_all(bytes).await,
                Stream::Tls(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
            }
        };
        tokio::time::timeout(limit, write)
            .await
            .map_err(|_| ConnError::Timeout(stage))?
            .map_err(ConnError::Io)
    }

    async fn command(
        &mut self,
        line: &str,
        limit: Duration,
        stage: &'static str,
    ) -> Result<Reply, ConnError> {
        self.write(format!("{line}\r\n").as_bytes(), limit, stage)
            .await?;
        self.read_reply(limit, stage).await
    }

    /// EHLO, falling back to HELO when EHLO is refused (RFC 5321 §3.2). Returns the final
    /// answer; a non-2xx answer means this host cannot be used.
    pub(crate) async fn hello(&mut self, name: &str) -> Result<Reply, ConnError> {
        let t = self.t.greeting;
        let ehlo = self.command(&format!("EHLO {name}"), t, "EHLO").await?;
        if ehlo.is_positive() {
            self.caps = Capabilities::from_ehlo(&ehlo);
            return Ok(ehlo);
        }
        self.caps = Capabilities::default();
        if ehlo.is_permanent() {
            return self.command(&format!("HELO {name}"), t, "HELO").await;
        }
        Ok(ehlo)
    }

    /// STARTTLS and the handshake (RFC 3207). Returns the refusal when the server says no.
    /// The caller must EHLO again: everything learnt before TLS is forgotten (RFC 3207 §4.2).
    pub(crate) async fn starttls(
        mut self,
        connector: TlsConnector,
        name: rustls::pki_types::ServerName<'static>,
    ) -> Result<Result<SmtpConn, (SmtpConn, Reply)>, ConnError> {
        let reply = self
            .command("STARTTLS", self.t.greeting, "STARTTLS")
            .await?;
        if reply.code != 220 {
            return Ok(Err((self, reply)));
        }
        // Bytes after the 220 and before the handshake would be a plaintext injection
        // (the client side of CVE-2011-0411): refuse to continue.
        if self.parser.has_partial() {
            return Err(ConnError::Tls("data after the STARTTLS reply".into()));
        }
        let Stream::Plain(tcp) = self.stream else {
            return Err(ConnError::Tls("STARTTLS inside TLS".into()));
        };
        let tls = tokio::time::timeout(self.t.greeting, connector.connect(name, tcp))
            .await
            .map_err(|_| ConnError::Timeout("TLS handshake"))?
            .map_err(|e| ConnError::Tls(e.to_string()))?;
        Ok(Ok(SmtpConn {
            stream: Stream::Tls(Box::new(tls)),
            parser: ReplyParser::new(),
            caps: Capabilities::default(),
            host: self.host,
            t: self.t,
            broken: false,
        }))
    }

    /// True once STARTTLS succeeded.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// AUTH (RFC 4954) with `mechanism`; returns the server's final answer (235 on success).
    /// The caller must have checked [`SmtpConn::is_tls`]: this sends the password as given.
    /// Nothing here logs or returns the command lines, which hold the password.
    pub(crate) async fn authenticate(
        &mut self,
        mechanism: Mechanism,
        credential: &Credential,
    ) -> Result<Reply, ConnError> {
        let t = self.t.greeting;
        match mechanism {
            Mechanism::Plain => {
                // RFC 4616 §2: authzid (empty) NUL authcid NUL passwd.
                let response = format!("\0{}\0{}", credential.username(), credential.password());
                let line = format!("AUTH PLAIN {}", BASE64.encode(response));
                let reply = self.command(&line, t, "AUTH").await?;
                if reply.code == 334 {
                    // RFC 4954 §4: a challenge after a complete PLAIN response is not
                    // expected; cancel with `*` and report the 334 as the failure.
                    let _ = self.command("*", t, "AUTH").await?;
                }
                Ok(reply)
            }
            Mechanism::Login => {
                let reply = self.command("AUTH LOGIN", t, "AUTH").await?;
                if reply.code != 334 {
                    return Ok(reply);
                }
                let user = BASE64.encode(credential.username());
                let reply = self.command(&user, t, "AUTH").await?;
                if reply.code != 334 {
                    // The password is only sent when the server asks for it.
                    return Ok(reply);
                }
                let pass = BASE64.encode(credential.password());
                self.command(&pass, t, "AUTH").await
            }
        }
    }

    /// False once the session is in an unknown state (a failed RSET): it must not be reused.
    pub(crate) fn is_usable(&self) -> bool {
        !self.broken
    }

    /// One mail transaction: MAIL, RCPT for each recipient, DATA and the dot-stuffed body.
    pub(crate) async fn transaction(
        &mut self,
        from: &str,
        rcpts: &[String],
        body: &[u8],
    ) -> Result<Transaction, ConnError> {
        let mail_line = format!("MAIL FROM:<{from}>{}", self.mail_params(from, rcpts, body));
        let (mail, replies, data) = if self.caps.pipelining {
            self.pipelined_envelope(&mail_line, rcpts).await?
        } else {
            self.sequential_envelope(&mail_line, rcpts).await?
        };
        let accepted = replies.iter().any(Reply::is_positive);
        let (data, completed) = match data {
            Some(d) if d.code == 354 => {
                let body = if accepted { body } else { b"" };
                (Some(self.send_body(body, accepted).await?), true)
            }
            // A positive answer to DATA other than 354 would make an unsent body look
            // delivered; it is a protocol error (RFC 5321 §4.3.2: DATA → 354).
            Some(d) if d.is_positive() => {
                let text = format!("unexpected reply to DATA: {}", d.text());
                (
                    Some(Reply::new(451, Some(EnhancedCode::new(4, 5, 0)), text)),
                    false,
                )
            }
            other => (other, false),
        };
        if mail.is_positive() && !completed {
            // The transaction is still open on the server; clear it for the next message.
            // Its replies are already known, so a failure here only retires the connection.
            match self.command("RSET", self.t.mail, "RSET").await {
                Ok(r) if r.is_positive() => {}
                _ => self.broken = true,
            }
        }
        Ok(Transaction {
            mail,
            rcpts: replies,
            data,
        })
    }

    /// RFC 2920: the envelope in one write, then the replies in order.
    async fn pipelined_envelope(
        &mut self,
        mail_line: &str,
        rcpts: &[String],
    ) -> Result<(Reply, Vec<Reply>, Option<Reply>), ConnError> {
        let mut batch = format!("{mail_line}\r\n");
        for rcpt in rcpts {
            batch.push_str(&format!("RCPT TO:<{rcpt}>\r\n"));
        }
        batch.push_str("DATA\r\n");
        self.write(batch.as_bytes(), self.t.mail, "MAIL").await?;
        let mail = self.read_reply(self.t.mail, "MAIL").await?;
        let mut replies = Vec::with_capacity(rcpts.len());
        for _ in rcpts {
            replies.push(self.read_reply(self.t.rcpt, "RCPT").await?);
        }
        let data = self.read_reply(self.t.data_init, "DATA").await?;
        Ok((mail, replies, Some(data)))
    }

    async fn sequential_envelope(
        &mut self,
        mail_line: &str,
        rcpts: &[String],
    ) -> Result<(Reply, Vec<Reply>, Option<Reply>), ConnError> {
        let mail = self.command(mail_line, self.t.mail, "MAIL").await?;
        if !mail.is_positive() {
            return Ok((mail, Vec::new(), None));
        }
        let mut replies = Vec::with_capacity(rcpts.len());
        for rcpt in rcpts {
            replies.push(
                self.command(&format!("RCPT TO:<{rcpt}>"), self.t.rcpt, "RCPT")
                    .await?,
            );
        }
        if !replies.iter().any(Reply::is_positive) {
            return Ok((mail, replies, None));
        }
        let data = self.command("DATA", self.t.data_init, "DATA").await?;
        Ok((mail, replies, Some(data)))
    }

    /// After 354: the body in blocks, each with its own timeout, then the final reply.
    async fn send_body(&mut self, body: &[u8], wanted: bool) -> Result<Reply, ConnError> {
        let stuffed = dot_stuff(body);
        for block in stuffed.chunks(64 * 1024) {
            self.write(block, self.t.data_block, "data block").await?;
        }
        let reply = self.read_reply(self.t.data_end, "end of data").await?;
        // A 354 with no accepted recipient is answered with an empty message that the server
        // must refuse; its answer does not matter.
        Ok(if wanted {
            reply
        } else {
            Reply::new(503, None, "no valid recipients")
        })
    }

    /// RFC 1870 SIZE, RFC 6152 BODY=8BITMIME and RFC 6531 SMTPUTF8 when offered and needed.
    fn mail_params(&self, from: &str, rcpts: &[String], body: &[u8]) -> String {
        let mut params = String::new();
        if self.caps.size.is_some() {
            params.push_str(&format!(" SIZE={}", body.len()));
        }
        if self.caps.eight_bit_mime && !body.is_ascii() {
            params.push_str(" BODY=8BITMIME");
        }
        let utf8 = !from.is_ascii() || rcpts.iter().any(|r| !r.is_ascii());
        if self.caps.smtputf8 && utf8 {
            params.push_str(" SMTPUTF8");
        }
        params
    }

    /// QUIT, best effort (RFC 5321 §4.1.1.10); the connection is dropped either way.
    pub(crate) async fn quit(mut self) {
        let limit = Duration::from_secs(5);
        let _ = self.command("QUIT", limit, "QUIT").await;
    }
}

#[cfg(test)]
mod tests;
