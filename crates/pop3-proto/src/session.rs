//! [`Session`]: the per-connection POP3 server state machine (RFC 1939 §3: AUTHORIZATION,
//! TRANSACTION, UPDATE).
//!
//! The machine owns the input buffer and all protocol state; the driver moves bytes and answers
//! the questions the machine asks through [`Action`]s. Command handling per state lives in
//! `handlers.rs`; this file holds the types, the line loop and the answers.

use std::collections::VecDeque;

use calm_sasl::{Authenticator, Credentials, Mechanism};

use crate::body::BodyEncoder;
use crate::command::Command;
use crate::line::{COMMAND_LINE_LIMIT, LineError, LineReader};
use crate::reply::{self, RespCode};

mod handlers;

/// Which listener a session runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Port 110: plaintext, STLS offered (RFC 2595 §4).
    Pop3,
    /// Port 995: TLS from the first byte (RFC 8314 §3.3).
    Pop3s,
}

impl Role {
    /// The role's name as used in configuration and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pop3 => "pop3",
            Role::Pop3s => "pop3s",
        }
    }
}

/// Identity and limits for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Our name, in the greeting.
    pub hostname: String,
    /// The listener's role.
    pub role: Role,
    /// Allow USER/PASS and AUTH before TLS. Off by default: RFC 2595 §2.2 and RFC 8314 ask
    /// that cleartext passwords not cross the network unencrypted.
    pub allow_plaintext_auth: bool,
    /// Failed logins before the connection is closed.
    pub max_auth_failures: u32,
    /// Protocol errors (unknown commands, bad syntax, wrong state) before it is closed.
    pub max_errors: u32,
}

impl SessionConfig {
    /// Defaults: plaintext authentication refused, 3 auth failures, 10 errors.
    pub fn new(hostname: impl Into<String>, role: Role) -> SessionConfig {
        SessionConfig {
            hostname: hostname.into(),
            role,
            allow_plaintext_auth: false,
            max_auth_failures: 3,
            max_errors: 10,
        }
    }
}

/// One message of the maildrop as the driver lists it at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The driver's identifier (the store's UID); echoed in [`Action`]s.
    pub id: u32,
    /// Size with CRLF line ends, as RETR will send it before byte-stuffing (RFC 1939 §5).
    pub octets: u64,
    /// The unique-id (see [`crate::uidl_for`]).
    pub uidl: String,
}

/// How credentials arrived (for the event log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// USER and PASS (RFC 1939 §7).
    UserPass,
    /// AUTH with a SASL mechanism (RFC 5034).
    Sasl(Mechanism),
}

impl AuthMethod {
    /// `USER`, `PLAIN` or `LOGIN`.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::UserPass => "USER",
            AuthMethod::Sasl(m) => m.name(),
        }
    }
}

/// Why the session asks to close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloseReason {
    /// The client said QUIT.
    Quit,
    /// No command within the idle timeout (RFC 1939 §3 autologout).
    Timeout,
    /// Too many protocol errors.
    TooManyErrors,
    /// Too many failed logins.
    TooManyAuthFailures,
}

impl CloseReason {
    /// The reason in snake_case, for events.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Quit => "quit",
            CloseReason::Timeout => "timeout",
            CloseReason::TooManyErrors => "too_many_errors",
            CloseReason::TooManyAuthFailures => "too_many_auth_failures",
        }
    }
}

/// What the driver must do next.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send these bytes (complete response lines). Buffer them; flush before reading.
    Send(Vec<u8>),
    /// Flush, do the TLS handshake, then call [`Session::tls_established`]. Buffered input has
    /// been discarded; plaintext read before the handshake must not be fed to the session.
    StartTls,
    /// Verify credentials; answer [`Answer::Auth`]. Log the method, never the password.
    Authenticate {
        /// USER/PASS or the SASL mechanism.
        method: AuthMethod,
        /// What the client sent.
        credentials: Credentials,
    },
    /// Lock and list this user's maildrop; answer [`Answer::Maildrop`]. Hold the lock until
    /// the connection ends.
    OpenMaildrop {
        /// The canonical user name from [`Answer::Auth`].
        user: String,
    },
    /// Check that the message can be read; answer [`Answer::Retrieve`].
    Retrieve {
        /// [`Listing::id`] of the message.
        id: u32,
    },
    /// Send `status`, then the message through `encoder` ([`BodyEncoder::push`] each chunk,
    /// stop early when it [`BodyEncoder::is_done`], then [`BodyEncoder::finish`]). If the file
    /// fails midway, close the connection: the response cannot be completed honestly.
    SendMessage {
        /// The `+OK` line.
        status: Vec<u8>,
        /// [`Listing::id`] of the message.
        id: u32,
        /// For TOP, the number of body lines; `None` for RETR.
        top: Option<u32>,
        /// RETR or TOP framing.
        encoder: BodyEncoder,
    },
    /// The UPDATE state (RFC 1939 §6): remove `delete`, mark `seen` as read; answer
    /// [`Answer::Update`].
    Update {
        /// Messages marked with DELE.
        delete: Vec<u32>,
        /// Messages retrieved with RETR and not deleted.
        seen: Vec<u32>,
    },
    /// Flush and close the connection.
    Close(CloseReason),
}

/// Why a maildrop could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaildropError {
    /// Another session holds the lock: `-ERR [IN-USE]` (RFC 2449 §8.1.1).
    InUse,
    /// The store failed: `-ERR [SYS/TEMP]` (RFC 3206 §4).
    Unavailable,
}

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetrieveError {
    /// Expunged by another session (e.g. over IMAP) since the login.
    Gone,
    /// The store failed.
    Unavailable,
}

/// The driver's answer to an [`Action`] question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// To [`Action::Authenticate`]: the canonical user name, or `None` if refused.
    Auth(Option<String>),
    /// To [`Action::OpenMaildrop`]: the messages in order (message 1 first), or why not.
    Maildrop(Result<Vec<Listing>, MaildropError>),
    /// To [`Action::Retrieve`].
    Retrieve(Result<(), RetrieveError>),
    /// To [`Action::Update`]: `true` if every message marked for deletion was removed.
    Update(bool),
}

/// Misuse of the session API by the driver (never caused by client input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// An [`Answer`] that does not match the pending question, or with none pending.
    #[error("answer does not match the pending question")]
    UnexpectedAnswer,
}

/// One message in the TRANSACTION state.
#[derive(Debug, Clone)]
struct Entry {
    listing: Listing,
    deleted: bool,
    retrieved: bool,
}

#[derive(Debug, Clone)]
enum Pending {
    Auth,
    Maildrop,
    Retrieve { index: usize, top: Option<u32> },
    Update,
}

#[derive(Debug)]
enum State {
    /// Connected, greeting not sent.
    Start,
    /// RFC 1939 §4; `user` is the name given with USER, waiting for PASS.
    Authorization { user: Option<String> },
    /// In an AUTH exchange (RFC 5034 §4).
    Sasl(Authenticator, Mechanism),
    /// Waiting for the driver's [`Answer`].
    Awaiting(Pending),
    /// RFC 1939 §5.
    Transaction,
    /// STLS accepted; waiting for the handshake.
    Tls,
    /// Nothing more is read.
    Closed,
}

/// The POP3 server side of one connection.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    reader: LineReader,
    actions: VecDeque<Action>,
    tls: bool,
    user: Option<String>,
    messages: Vec<Entry>,
    errors: u32,
    auth_failures: u32,
}

impl Session {
    /// A session for a new connection; call [`Session::greet`] first.
    pub fn new(config: SessionConfig) -> Session {
        Session {
            tls: config.role == Role::Pop3s,
            config,
            state: State::Start,
            reader: LineReader::default(),
            actions: VecDeque::new(),
            user: None,
            messages: Vec::new(),
            errors: 0,
            auth_failures: 0,
        }
    }

    /// Queues the greeting (RFC 1939 §4) and starts the AUTHORIZATION state.
    pub fn greet(&mut self) {
        if matches!(self.state, State::Start) {
            let text = format!("{} POP3 ready.", self.config.hostname);
            self.send(reply::ok(&text));
            self.state = State::Authorization { user: None };
        }
    }

    /// Feeds bytes received from the client.
    pub fn receive(&mut self, bytes: &[u8]) {
        if !matches!(self.state, State::Closed | State::Tls) {
            self.reader.push(bytes);
        }
    }

    /// The next action, or `None` if the session needs input (or an answer).
    pub fn poll(&mut self) -> Option<Action> {
        loop {
            if let Some(action) = self.actions.pop_front() {
                return Some(action);
            }
            if !matches!(
                self.state,
                State::Authorization { .. } | State::Transaction | State::Sasl(..)
            ) {
                return None;
            }
            let line = self.reader.next_line()?;
            self.handle_line(line);
        }
    }

    /// The TLS handshake after STLS succeeded.
    pub fn tls_established(&mut self) {
        if matches!(self.state, State::Tls) {
            self.tls = true;
            self.state = State::Authorization { user: None };
        }
    }

    /// The idle timer expired (RFC 1939 §3): close without entering UPDATE, so nothing marked
    /// for deletion is removed.
    pub fn timeout(&mut self) {
        if !matches!(self.state, State::Closed) {
            self.send(reply::err(None, "Autologout; idle for too long"));
            self.close(CloseReason::Timeout);
        }
    }

    /// The authenticated user, once the maildrop is open.
    pub fn user(&self) -> Option<&str> {
        match self.state {
            State::Transaction | State::Awaiting(Pending::Retrieve { .. } | Pending::Update) => {
                self.user.as_deref()
            }
            _ => None,
        }
    }

    /// True once TLS is active.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// True once the session has asked to close.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    fn send(&mut self, bytes: Vec<u8>) {
        self.actions.push_back(Action::Send(bytes));
    }

    fn close(&mut self, reason: CloseReason) {
        self.reader.clear();
        self.state = State::Closed;
        self.actions.push_back(Action::Close(reason));
    }

    fn handle_line(&mut self, line: Result<Vec<u8>, LineError>) {
        if let State::Sasl(..) = self.state {
            return self.sasl_line(line);
        }
        let line = match line {
            Ok(line) => line,
            Err(LineError::TooLong) => return self.protocol_error("Command line too long"),
        };
        // RFC 2449 §4: 255 octets with CRLF; AUTH lines may carry a long initial response.
        let is_auth = line.len() >= 4
            && line
                .get(..4)
                .is_some_and(|k| k.eq_ignore_ascii_case(b"AUTH"));
        if line.len() + 2 > COMMAND_LINE_LIMIT && !is_auth {
            return self.protocol_error("Command line too long");
        }
        match Command::parse(&line) {
            Ok(command) => self.dispatch(command),
            Err(e) => self.protocol_error(&e.to_string()),
        }
    }

    /// A `-ERR` for a protocol error; too many of them close the connection.
    fn protocol_error(&mut self, text: &str) {
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.send(reply::err(
                None,
                &format!("{text}; too many errors, closing"),
            ));
            self.close(CloseReason::TooManyErrors);
        } else {
            self.send(reply::err(None, text));
        }
    }

    /// Feeds the driver's answer to the pending question.
    pub fn answer(&mut self, answer: Answer) -> Result<(), SessionError> {
        let State::Awaiting(pending) = &self.state else {
            return Err(SessionError::UnexpectedAnswer);
        };
        match (pending.clone(), answer) {
            (Pending::Auth, Answer::Auth(user)) => self.auth_answer(user),
            (Pending::Maildrop, Answer::Maildrop(result)) => self.maildrop_answer(result),
            (Pending::Retrieve { index, top }, Answer::Retrieve(result)) => {
                self.retrieve_answer(index, top, result)
            }
            (Pending::Update, Answer::Update(all_removed)) => {
                let deleted = self.messages.iter().filter(|e| e.deleted).count();
                self.send(match all_removed {
                    true => reply::ok(&format!("Logging out, {deleted} messages deleted.")),
                    false => reply::err(
                        Some(RespCode::SysTemp),
                        "Some deleted messages were not removed",
                    ),
                });
                self.close(CloseReason::Quit);
            }
            _ => return Err(SessionError::UnexpectedAnswer),
        }
        Ok(())
    }

    fn auth_answer(&mut self, user: Option<String>) {
        match user {
            Some(user) => {
                self.user = Some(user.clone());
                self.actions.push_back(Action::OpenMaildrop { user });
                self.state = State::Awaiting(Pending::Maildrop);
            }
            None => self.auth_failed("Authentication failed."),
        }
    }

    fn auth_failed(&mut self, text: &str) {
        self.auth_failures += 1;
        self.state = State::Authorization { user: None };
        self.send(reply::err(Some(RespCode::Auth), text));
        if self.auth_failures >= self.config.max_auth_failures {
            self.send(reply::err(
                None,
                "Too many authentication failures, closing",
            ));
            self.close(CloseReason::TooManyAuthFailures);
        }
    }

    fn maildrop_answer(&mut self, result: Result<Vec<Listing>, MaildropError>) {
        match result {
            Ok(listings) => {
                let total: u64 = listings.iter().map(|l| l.octets).sum();
                let text = format!("Logged in, {} messages ({total} octets).", listings.len());
                self.messages = listings
                    .into_iter()
                    .map(|listing| Entry {
                        listing,
                        deleted: false,
                        retrieved: false,
                    })
                    .collect();
                self.send(reply::ok(&text));
                self.state = State::Transaction;
            }
            Err(e) => {
                self.user = None;
                self.state = State::Authorization { user: None };
                self.send(match e {
                    MaildropError::InUse => reply::err(
                        Some(RespCode::InUse),
                        "Mailbox is locked by another POP3 session",
                    ),
                    MaildropError::Unavailable => {
                        reply::err(Some(RespCode::SysTemp), "Unable to open the mailbox")
                    }
                });
            }
        }
    }

    fn retrieve_answer(
        &mut self,
        index: usize,
        top: Option<u32>,
        result: Result<(), RetrieveError>,
    ) {
        self.state = State::Transaction;
        let Some(entry) = self.messages.get_mut(index) else {
            return self.send(reply::err(None, "No such message"));
        };
        match result {
            Ok(()) => {
                let (status, encoder) = match top {
                    None => {
                        entry.retrieved = true;
                        let octets = entry.listing.octets;
                        (reply::ok(&format!("{octets} octets")), BodyEncoder::full())
                    }
                    Some(lines) => (reply::ok("Top of message follows"), BodyEncoder::top(lines)),
                };
                let id = entry.listing.id;
                self.actions.push_back(Action::SendMessage {
                    status,
                    id,
                    top,
                    encoder,
                });
            }
            Err(RetrieveError::Gone) => {
                self.send(reply::err(None, "Message was removed by another session"))
            }
            Err(RetrieveError::Unavailable) => self.send(reply::err(
                Some(RespCode::SysTemp),
                "Unable to read the message",
            )),
        }
    }
}

#[cfg(test)]
mod tests;
