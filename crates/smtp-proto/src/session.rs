//! [`Session`]: the per-connection SMTP server state machine.
//!
//! The machine owns the input buffer and all protocol state; the driver only moves bytes and
//! answers questions. One `State` enum holds the mode; transitions happen in `handlers.rs`
//! (commands, SASL, answers) and in this file (greeting, data, TLS, timeout).

use std::collections::VecDeque;

use calm_mail_types::{Address, ReversePath};
use calm_sasl::{Authenticator, Credentials, Mechanism};

use crate::command::MailParams;
use crate::data::{DataDecoder, DataStatus};
use crate::line::{LONG_LINE_LIMIT, LineReader};
use crate::reply::{EnhancedCode, Reply};

mod handlers;

/// Which listener a session runs on. It decides the TLS and AUTH rules (product spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Port 25: never offers AUTH, offers STARTTLS.
    Mx,
    /// Port 587: STARTTLS, then AUTH, then mail.
    Submission,
    /// Port 465: TLS from the first byte, AUTH required.
    Submissions,
}

impl Role {
    /// The role's name as used in configuration and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mx => "mx",
            Role::Submission => "submission",
            Role::Submissions => "submissions",
        }
    }

    fn requires_auth(self) -> bool {
        self != Role::Mx
    }
}

/// Limits and identity for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Our name, in the greeting, EHLO reply and 421 replies.
    pub hostname: String,
    /// The listener's role.
    pub role: Role,
    /// Largest message accepted, in octets (advertised as `SIZE`, RFC 1870).
    pub max_message_size: u64,
    /// RFC 5321 §4.5.3.1.8 asks for at least 100.
    pub max_recipients: usize,
    /// Negative replies allowed before the session is closed with 421.
    pub max_errors: u32,
    /// Failed AUTH attempts allowed before the session is closed with 421.
    pub max_auth_failures: u32,
    /// Whether STARTTLS can be offered (a TLS configuration exists).
    pub starttls: bool,
}

impl SessionConfig {
    /// Defaults: 25 MiB messages, 100 recipients, 20 errors, 3 auth failures, STARTTLS offered.
    pub fn new(hostname: impl Into<String>, role: Role) -> SessionConfig {
        SessionConfig {
            hostname: hostname.into(),
            role,
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 20,
            max_auth_failures: 3,
            starttls: true,
        }
    }
}

/// The envelope of a message received in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `MAIL FROM`.
    pub mail_from: ReversePath,
    /// Accepted recipients, in order.
    pub rcpt_to: Vec<Address>,
    /// `MAIL FROM` parameters.
    pub params: MailParams,
}

/// Why the session asks to close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloseReason {
    /// The client said QUIT.
    Quit,
    /// No command within the timeout.
    Timeout,
    /// Too many negative replies.
    TooManyErrors,
    /// Too many failed AUTH attempts.
    TooManyAuthFailures,
    /// A bare CR or LF in a command or in message data.
    BareLineEnding,
    /// The client sent data before the greeting.
    EarlyTalker,
    /// The backend answered 421 (RFC 5321 §3.8: the server closes after it).
    Refused,
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this reply. Buffer it; flush before waiting for input (RFC 2920 §3.1).
    Reply(Reply),
    /// Flush, then do the TLS handshake and call [`Session::tls_established`]. Buffered input has
    /// already been discarded, and further plaintext must not be read.
    StartTls,
    /// Ask the backend whether this HELO/EHLO name is acceptable; answer with [`Answer::Hello`].
    CheckHello(String),
    /// Ask the backend whether this sender may be used; answer with [`Answer::Sender`].
    CheckSender(ReversePath),
    /// Ask the backend about this recipient; answer with [`Answer::Recipient`].
    CheckRecipient(Address),
    /// Verify these credentials; answer with [`Answer::Auth`].
    Authenticate {
        /// The mechanism used (for the event log).
        mechanism: Mechanism,
        /// What the client sent.
        credentials: Credentials,
    },
    /// Store this message; answer with [`Answer::Delivery`] once it is durable (or failed).
    Deliver {
        /// Sender, recipients and parameters.
        envelope: Envelope,
        /// The message, dot-unstuffed, CRLF line ends.
        body: Vec<u8>,
    },
    /// Flush and close the connection.
    Close(CloseReason),
}

/// Recipient decision from the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptVerdict {
    /// Add the recipient (`250 2.1.5 Ok`).
    Accept,
    /// Refuse it with this reply.
    Reject(Reply),
}

/// The driver's answer to a question the session asked through an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// To [`Action::CheckHello`]: `Ok` accepts, `Err` is the refusal.
    Hello(Result<(), Reply>),
    /// To [`Action::CheckSender`]: `Ok` accepts, `Err` is the refusal.
    Sender(Result<(), Reply>),
    /// To [`Action::CheckRecipient`].
    Recipient(RcptVerdict),
    /// To [`Action::Authenticate`]: the canonical user name, or `None` if the credentials failed.
    Auth(Option<String>),
    /// To [`Action::Deliver`]: the reply to send (`250 ... queued as`, or `451`/`452`).
    Delivery(Reply),
}

/// Misuse of the session API by the driver (never caused by client input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// An [`Answer`] that does not match the pending question, or with none pending.
    #[error("answer does not match the pending question")]
    UnexpectedAnswer,
}

/// A question the session is waiting on.
#[derive(Debug, Clone)]
enum Pending {
    Hello(String, bool),
    Sender(ReversePath, MailParams),
    Recipient(Address),
    Auth,
    Delivery,
}

/// The mode the session is in.
#[derive(Debug)]
enum State {
    /// Connected, greeting not sent yet.
    Start,
    /// Reading command lines.
    Commands,
    /// In an AUTH exchange, reading SASL response lines.
    Sasl(Authenticator, Mechanism),
    /// Reading message data after `354`.
    Data(DataPhase),
    /// Waiting for the driver's [`Answer`].
    Awaiting(Pending),
    /// STARTTLS accepted; waiting for the handshake.
    Tls,
    /// Finished: nothing more is read.
    Closed,
}

#[derive(Debug)]
struct DataPhase {
    decoder: DataDecoder,
    body: Vec<u8>,
    oversize: bool,
}

/// What the client said in HELO/EHLO.
#[derive(Debug, Clone)]
struct Hello {
    name: String,
    esmtp: bool,
}

/// An open mail transaction (after a successful MAIL).
#[derive(Debug, Clone)]
struct Transaction {
    from: ReversePath,
    params: MailParams,
    rcpts: Vec<Address>,
}

/// One SMTP server session, sans I/O.
///
/// Drive it like this: call [`Session::greet`]; then loop on [`Session::poll`], carrying out each
/// [`Action`] (answering questions with [`Session::answer`]); when `poll` returns `None`, flush
/// output, read from the socket and pass the bytes to [`Session::receive`]. Call
/// [`Session::timeout`] when the client is silent for too long.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    input: LineReader,
    actions: VecDeque<Action>,
    tls: bool,
    hello: Option<Hello>,
    auth_user: Option<String>,
    tx: Option<Transaction>,
    errors: u32,
    auth_failures: u32,
    last_command: &'static str,
}

const fn ec(class: u8, subject: u16, detail: u16) -> Option<EnhancedCode> {
    Some(EnhancedCode::new(class, subject, detail))
}

impl Session {
    /// A new session; for [`Role::Submissions`] TLS is taken as already established.
    pub fn new(config: SessionConfig) -> Session {
        Session {
            tls: config.role == Role::Submissions,
            config,
            state: State::Start,
            input: LineReader::new(LONG_LINE_LIMIT),
            actions: VecDeque::new(),
            hello: None,
            auth_user: None,
            tx: None,
            errors: 0,
            auth_failures: 0,
            last_command: "CONNECT",
        }
    }

    /// Sends the greeting, or refuses a client that spoke before it (early talker): any bytes
    /// received before this call mean the client is not waiting for us (RFC 5321 §4.3.1).
    pub fn greet(&mut self) {
        if !matches!(self.state, State::Start) {
            return;
        }
        if self.input.has_buffered() {
            let text = format!(
                "{} Error: client sent data before greeting",
                self.config.hostname
            );
            self.close_with(Reply::new(554, ec(5, 5, 0), text), CloseReason::EarlyTalker);
            return;
        }
        self.push(Reply::greeting(&self.config.hostname));
        self.state = State::Commands;
    }

    /// Bytes received from the client. Ignored once closed or while TLS is being started.
    pub fn receive(&mut self, bytes: &[u8]) {
        if !matches!(self.state, State::Closed | State::Tls) {
            self.input.push(bytes);
        }
    }

    /// The next action, or `None` when the session needs more input (or is waiting for an
    /// [`Answer`], or is closed).
    pub fn poll(&mut self) -> Option<Action> {
        loop {
            if let Some(action) = self.actions.pop_front() {
                return Some(action);
            }
            if !self.step() {
                return None;
            }
        }
    }

    /// Processes one unit of input; false if there was nothing to do.
    fn step(&mut self) -> bool {
        match &self.state {
            State::Commands | State::Sasl(..) => match self.input.next_line() {
                None => false,
                Some(line) => {
                    self.on_line(line);
                    true
                }
            },
            State::Data(_) => {
                let input = self.input.take_buffered();
                if input.is_empty() {
                    return false;
                }
                self.on_data(&input);
                true
            }
            State::Start | State::Awaiting(_) | State::Tls | State::Closed => false,
        }
    }

    /// The client was silent for too long (RFC 5321 §4.5.3.2): 421 and close.
    pub fn timeout(&mut self) {
        if matches!(self.state, State::Closed) {
            return;
        }
        self.last_command = "TIMEOUT";
        self.close_with(Reply::timeout(&self.config.hostname), CloseReason::Timeout);
    }

    /// The TLS handshake after STARTTLS succeeded. RFC 3207 §4.2: the session returns to the
    /// state right after the greeting; HELO/EHLO, AUTH and any transaction are forgotten.
    pub fn tls_established(&mut self) {
        if !matches!(self.state, State::Tls) {
            return;
        }
        self.tls = true;
        self.hello = None;
        self.auth_user = None;
        self.tx = None;
        self.input.clear();
        self.state = State::Commands;
    }

    /// Feeds the driver's answer to the pending question.
    pub fn answer(&mut self, answer: Answer) -> Result<(), SessionError> {
        let State::Awaiting(pending) = &self.state else {
            return Err(SessionError::UnexpectedAnswer);
        };
        let pending = pending.clone();
        match (pending, answer) {
            (Pending::Hello(name, esmtp), Answer::Hello(verdict)) => {
                self.on_hello_checked(name, esmtp, verdict)
            }
            (Pending::Sender(from, params), Answer::Sender(verdict)) => {
                self.on_sender_checked(from, params, verdict)
            }
            (Pending::Recipient(rcpt), Answer::Recipient(verdict)) => {
                self.on_recipient_checked(rcpt, verdict)
            }
            (Pending::Auth, Answer::Auth(user)) => self.on_auth_checked(user),
            (Pending::Delivery, Answer::Delivery(reply)) => {
                self.state = State::Commands;
                self.tx = None;
                self.push(reply);
            }
            _ => return Err(SessionError::UnexpectedAnswer),
        }
        Ok(())
    }

    fn on_data(&mut self, input: &[u8]) {
        let State::Data(phase) = &mut self.state else {
            return;
        };
        let out = (!phase.oversize).then_some(&mut phase.body);
        let status = phase.decoder.decode(input, out);
        if phase.decoder.size() > self.config.max_message_size && !phase.oversize {
            // RFC 5321 §4.5.3.1.10: keep reading to the end, then answer 552.
            phase.oversize = true;
            phase.body = Vec::new();
        }
        match status {
            Err(_) => {
                let text = format!(
                    "{} Error: bare CR or LF in message data",
                    self.config.hostname
                );
                self.tx = None;
                self.close_with(
                    Reply::new(521, ec(5, 5, 2), text),
                    CloseReason::BareLineEnding,
                );
            }
            Ok(DataStatus::NeedMore) => {}
            Ok(DataStatus::Done { consumed }) => {
                self.input.push(input.get(consumed..).unwrap_or_default());
                self.end_of_data();
            }
        }
    }

    fn end_of_data(&mut self) {
        let State::Data(phase) = std::mem::replace(&mut self.state, State::Commands) else {
            return;
        };
        let tx = self.tx.take();
        if phase.oversize {
            self.reject(Reply::new(
                552,
                ec(5, 3, 4),
                "Message size exceeds fixed limit",
            ));
        } else if phase.decoder.saw_long_line() {
            // RFC 5321 §4.5.3.1.6; refusing at the end keeps us in step with the client.
            let text = "Message has lines longer than 1000 octets (RFC 5321 4.5.3.1.6)";
            self.reject(Reply::new(550, ec(5, 6, 0), text));
        } else if let Some(tx) = tx {
            let envelope = Envelope {
                mail_from: tx.from,
                rcpt_to: tx.rcpts,
                params: tx.params,
            };
            self.actions.push_back(Action::Deliver {
                envelope,
                body: phase.body,
            });
            self.state = State::Awaiting(Pending::Delivery);
        }
    }

    fn push(&mut self, reply: Reply) {
        self.actions.push_back(Action::Reply(reply));
    }

    /// Sends a negative reply and counts it; too many and the session ends with 421.
    fn reject(&mut self, reply: Reply) {
        if reply.code == 421 {
            // RFC 5321 §3.8: 421 means the server is closing the transmission channel.
            self.close_with(reply, CloseReason::Refused);
            return;
        }
        self.push(reply);
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.max_errors && !matches!(self.state, State::Closed) {
            let text = format!("{} Error: too many errors", self.config.hostname);
            self.close_with(
                Reply::new(421, ec(4, 7, 0), text),
                CloseReason::TooManyErrors,
            );
        }
    }

    fn close_with(&mut self, reply: Reply, reason: CloseReason) {
        self.push(reply);
        self.actions.push_back(Action::Close(reason));
        self.state = State::Closed;
        self.input.clear();
    }

    /// The name given in HELO/EHLO, if any.
    pub fn helo(&self) -> Option<&str> {
        self.hello.as_ref().map(|h| h.name.as_str())
    }

    /// True once TLS is active (implicit or after STARTTLS).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The authenticated user, if any.
    pub fn auth_user(&self) -> Option<&str> {
        self.auth_user.as_deref()
    }

    /// True while reading message data (the driver uses the longer data timeout).
    pub fn in_data(&self) -> bool {
        matches!(self.state, State::Data(_))
    }

    /// True once the session has asked to close.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The verb of the last command handled (`"MAIL"`, `"DATA"`, …), for reject events.
    pub fn last_command(&self) -> &'static str {
        self.last_command
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The `with` protocol name for a `Received:` header (RFC 3848; RFC 6531 §4.3 for UTF8SMTP).
    pub fn protocol(&self, smtputf8: bool) -> &'static str {
        let esmtp = self.hello.as_ref().is_none_or(|h| h.esmtp);
        match (smtputf8, esmtp, self.tls, self.auth_user.is_some()) {
            (true, _, false, false) => "UTF8SMTP",
            (true, _, false, true) => "UTF8SMTPA",
            (true, _, true, false) => "UTF8SMTPS",
            (true, _, true, true) => "UTF8SMTPSA",
            (false, false, _, _) => "SMTP",
            (false, true, false, false) => "ESMTP",
            (false, true, false, true) => "ESMTPA",
            (false, true, true, false) => "ESMTPS",
            (false, true, true, true) => "ESMTPSA",
        }
    }
}

#[cfg(test)]
mod tests;
