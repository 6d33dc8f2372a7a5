//! calm's answers to the SMTP server's questions. Every decision at connect, HELO, MAIL, RCPT
//! and DATA is made by the staged policy ([`crate::gate::Gate`]); this file gathers the facts
//! the policy needs (the directory's view of a recipient, sender ownership) and hands accepted
//! mail to the spool.

use std::sync::Arc;

use calm_accounts::Resolution;
use calm_config::Config;
use calm_eventlog::EventLog;
use calm_mail_types::{Address, ReversePath};
use calm_policy::RcptStatus;
use calm_queue::{Envelope, Spool, SpoolError};
use calm_smtp_proto::Reply;
use calm_smtp_server::{
    Backend, EnqueueError, IncomingMessage, RcptVerdict, SessionInfo, SmtpEvent,
};

use crate::accounts::LiveDirectory;
use crate::gate::Gate;
use crate::outbound::{Cutover, RouteTable};

/// The backend of every listener.
pub struct CalmBackend {
    directory: Arc<LiveDirectory>,
    gate: Arc<Gate>,
    routes: Arc<RouteTable>,
    spool: Spool,
    events: EventLog,
    sender_must_own: bool,
}

impl CalmBackend {
    pub fn new(
        config: &Config,
        directory: Arc<LiveDirectory>,
        gate: Arc<Gate>,
        routes: Arc<RouteTable>,
        spool: Spool,
        events: EventLog,
    ) -> CalmBackend {
        CalmBackend {
            directory,
            gate,
            routes,
            spool,
            events,
            sender_must_own: config.accounts.sender_must_own_address,
        }
    }
}

/// The address as the directory knows it: raw local part, lowercase domain.
fn directory_key(a: &Address) -> String {
    format!("{}@{}", a.local(), a.domain())
}

/// Where the first header field (with its folded continuation lines) ends.
fn first_header_end(data: &[u8]) -> usize {
    let mut at = 0;
    while let Some(i) = data[at..].windows(2).position(|w| w == b"\r\n") {
        at += i + 2;
        if !matches!(data.get(at), Some(b' ' | b'\t')) {
            return at;
        }
    }
    0
}

impl Backend for CalmBackend {
    async fn check_connect(&self, s: &SessionInfo) -> Result<(), Reply> {
        self.gate.connect(s).await
    }

    fn check_helo(&self, s: &SessionInfo, name: &str) -> Result<(), Reply> {
        self.gate.helo(s, name)
    }

    async fn check_sender(&self, s: &SessionInfo, from: &ReversePath) -> Result<(), Reply> {
        let sender = from.address().map(directory_key).unwrap_or_default();
        let owned = match (&s.auth_user, from.address()) {
            (Some(user), Some(_)) if self.sender_must_own => {
                Some(self.directory.current().owns(user, &sender))
            }
            _ => None,
        };
        self.gate.mail(s, &sender, owned).await
    }

    fn check_rcpt(&self, s: &SessionInfo, rcpt: &Address) -> RcptVerdict {
        let key = directory_key(rcpt);
        let directory = self.directory.current();
        // An address literal is never one of our domains (RFC 5321 §4.1.3).
        let local = !rcpt.is_ip_literal() && directory.is_local_domain(rcpt.domain());
        let resolution = match self.routes.cutover(rcpt.domain(), local) {
            Cutover::Refuse(reply) => return RcptVerdict::Reject(reply),
            // Forwarded whole to the old host, which knows its users.
            Cutover::Forward => Resolution::Deliver(Vec::new()),
            Cutover::Normal if rcpt.is_ip_literal() => Resolution::NotLocal,
            Cutover::Normal => directory.resolve(&key),
        };
        let failure;
        let status = match &resolution {
            Resolution::Deliver(_) => RcptStatus::Known,
            Resolution::Unknown => RcptStatus::Unknown,
            Resolution::NotLocal => RcptStatus::Remote,
            Resolution::Failed(e) => {
                failure = e.to_string();
                RcptStatus::Failed(&failure)
            }
        };
        match self.gate.rcpt(s, &key, status, self.gate.tables()) {
            Ok(()) => RcptVerdict::Accept,
            Err(reply) => RcptVerdict::Reject(reply),
        }
    }

    fn check_data(&self, s: &SessionInfo, msg: &mut IncomingMessage) -> Result<(), Reply> {
        let headers = self.gate.data(s, &msg.data)?;
        // Our Received: line stays the top trace field (RFC 5321 §4.4); the policy's header
        // lines go right below it.
        let at = first_header_end(&msg.data);
        msg.data.splice(at..at, headers.into_bytes());
        Ok(())
    }

    fn disconnect(&self, s: &SessionInfo) {
        self.gate.disconnect(s);
    }

    async fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        let directory = self.directory.current();
        let (user, password) = (user.to_string(), password.to_string());
        // Password hashes are slow on purpose: keep them off the async workers.
        tokio::task::spawn_blocking(move || directory.authenticate(&user, &password))
            .await
            .ok()
            .flatten()
    }

    async fn enqueue(&self, msg: IncomingMessage) -> Result<(), EnqueueError> {
        let from = msg
            .mail_from
            .address()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let rcpts = msg.rcpt_to.iter().map(directory_key).collect();
        let envelope = Envelope::new(msg.id.as_str().to_string(), from, rcpts);
        self.spool
            .enqueue(envelope, msg.data)
            .await
            .map_err(|e| match e {
                SpoolError::NoSpace(_) => EnqueueError::NoSpace(e.to_string()),
                SpoolError::Io(_) | SpoolError::Closed => EnqueueError::Temporary(e.to_string()),
            })
    }

    fn event(&self, ev: &SmtpEvent) {
        if let SmtpEvent::AuthFailure { client_ip, .. } = ev {
            self.gate.auth_failed(*client_ip);
        }
        self.events.log(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::first_header_end;

    #[test]
    fn first_header_end_includes_folded_lines() {
        let data = b"Received: from x\r\n\tby y\r\nSubject: s\r\n\r\nbody";
        assert_eq!(
            &data[..first_header_end(data)],
            b"Received: from x\r\n\tby y\r\n"
        );
        assert_eq!(first_header_end(b"no line end"), 0);
    }
}
