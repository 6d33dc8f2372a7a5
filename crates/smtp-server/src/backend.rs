//! The [`Backend`] trait: every question the SMTP server cannot answer by itself.

use std::future::Future;
use std::net::SocketAddr;

use calm_mail_types::{Address, QueueId, ReversePath};
use calm_smtp_proto::{RcptVerdict, Reply, Role};

use crate::event::SmtpEvent;

/// What is known about a connection when the backend is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// This connection's number, unique while the process runs (keys per-connection state).
    pub id: u64,
    /// The listener's configured name.
    pub listener: String,
    /// The listener's role.
    pub role: Role,
    /// The client's address.
    pub client: SocketAddr,
    /// Our address on this connection.
    pub local: SocketAddr,
    /// The HELO/EHLO name, once given.
    pub helo: Option<String>,
    /// TLS is active.
    pub tls: bool,
    /// The authenticated user (canonical name from [`Backend::authenticate`]).
    pub auth_user: Option<String>,
}

/// A message received in full, ready for the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// The id it was received under (in the `Received:` header and the `250` reply).
    pub id: QueueId,
    /// The session it arrived on.
    pub session: SessionInfo,
    /// `MAIL FROM`.
    pub mail_from: ReversePath,
    /// Accepted recipients.
    pub rcpt_to: Vec<Address>,
    /// The message with our `Received:` header prepended; CRLF line ends.
    pub data: Vec<u8>,
    /// `MAIL FROM … SMTPUTF8` was given (RFC 6531).
    pub smtputf8: bool,
    /// `MAIL FROM … BODY=8BITMIME` was given (RFC 6152).
    pub body_8bit: bool,
    /// The mailbox folder local copies go to instead of INBOX: set by the backend's
    /// `check_data` (a policy decision), read by its `enqueue`. `None` from the server.
    pub folder: Option<String>,
}

/// What to do with a message the data stage accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataOutcome {
    /// Hand it to [`Backend::enqueue`].
    Enqueue,
    /// Already stored durably by the backend (e.g. quarantined); only the `250` is left.
    Kept,
}

/// Why the backend could not store a message. Both are temporary (4xx): a local fault must
/// never make the sender give up on a message (product spec §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnqueueError {
    /// Any transient failure: answered `451 4.3.0`.
    Temporary(String),
    /// Out of disk or quota: answered `452 4.3.1`.
    NoSpace(String),
}

/// The server's questions to the rest of calm.
pub trait Backend: Send + Sync + 'static {
    /// A new connection, before the greeting. `Err` is sent instead of the greeting and the
    /// connection is closed (policy `connect` stage).
    /// Async: the policy may look up the client's reverse DNS here.
    fn check_connect(&self, _s: &SessionInfo) -> impl Future<Output = Result<(), Reply>> + Send {
        std::future::ready(Ok(()))
    }

    /// The HELO/EHLO name (policy `helo` stage). `Err` refuses the command.
    /// Async: the policy may look up the HELO name in DNS lists.
    fn check_helo(
        &self,
        _s: &SessionInfo,
        _name: &str,
    ) -> impl Future<Output = Result<(), Reply>> + Send {
        std::future::ready(Ok(()))
    }

    /// The whole message, before it is stored (policy `data` stage; async: content scanners
    /// run here). `Err` is the reply instead of `250`. `Ok(Enqueue)`: store it with
    /// [`Backend::enqueue`] (the backend may have added header lines to `msg.data`).
    /// `Ok(Kept)`: the backend already stored it durably elsewhere (quarantine); `250` follows.
    fn check_data(
        &self,
        _s: &SessionInfo,
        _msg: &mut IncomingMessage,
    ) -> impl Future<Output = Result<DataOutcome, Reply>> + Send {
        std::future::ready(Ok(DataOutcome::Enqueue))
    }

    /// The connection is over (for per-connection state and concurrency counts).
    fn disconnect(&self, _s: &SessionInfo) {}

    /// May this session use this sender? `Err` is the reply to send (e.g. `553 5.7.1`).
    /// Async: the policy may look up whether the sender's domain resolves.
    fn check_sender(
        &self,
        s: &SessionInfo,
        from: &ReversePath,
    ) -> impl Future<Output = Result<(), Reply>> + Send;

    /// Relay permission and recipient validation.
    fn check_rcpt(&self, s: &SessionInfo, rcpt: &Address) -> RcptVerdict;

    /// Verifies a password; returns the canonical user name on success.
    fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> impl Future<Output = Option<String>> + Send;

    /// Stores the message durably; `Ok` only once it survives a crash.
    fn enqueue(
        &self,
        msg: IncomingMessage,
    ) -> impl Future<Output = Result<(), EnqueueError>> + Send;

    /// Records an event (connection, rejection, auth, acceptance, disconnection).
    fn event(&self, ev: &SmtpEvent);
}
