//! calm's answers to the SMTP server's questions: who may relay, which recipients exist, who
//! may send as whom, and where accepted mail goes (the spool).
//!
//! These are the built-in decisions of the core; the staged policy engine will make them named,
//! editable rules.

use std::net::IpAddr;
use std::sync::Arc;

use calm_accounts::Resolution;
use calm_config::Config;
use calm_eventlog::EventLog;
use calm_mail_types::{Address, ReversePath};
use calm_queue::{Envelope, Spool, SpoolError};
use calm_smtp_proto::{EnhancedCode, Reply};
use calm_smtp_server::{
    Backend, EnqueueError, IncomingMessage, RcptVerdict, Role, SessionInfo, SmtpEvent,
};
use ipnet::IpNet;

use crate::accounts::LiveDirectory;

/// The backend of every listener.
pub struct CalmBackend {
    directory: Arc<LiveDirectory>,
    spool: Spool,
    events: EventLog,
    lan: Vec<IpNet>,
    sender_must_own: bool,
}

impl CalmBackend {
    pub fn new(
        config: &Config,
        directory: Arc<LiveDirectory>,
        spool: Spool,
        events: EventLog,
    ) -> CalmBackend {
        CalmBackend {
            directory,
            spool,
            events,
            lan: config.server.lan_networks.clone(),
            sender_must_own: config.accounts.sender_must_own_address,
        }
    }

    fn in_lan(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.lan.iter().any(|net| net.contains(&ip))
    }

    /// May this session send to a domain that is not ours?
    fn may_relay(&self, s: &SessionInfo) -> bool {
        s.auth_user.is_some() || (matches!(s.role, Role::Mx) && self.in_lan(s.client.ip()))
    }
}

/// The address as the directory knows it: raw local part, lowercase domain.
fn directory_key(a: &Address) -> String {
    format!("{}@{}", a.local(), a.domain())
}

impl Backend for CalmBackend {
    fn check_sender(&self, s: &SessionInfo, from: &ReversePath) -> Result<(), Reply> {
        let (Some(user), Some(address)) = (&s.auth_user, from.address()) else {
            return Ok(());
        };
        if !self.sender_must_own || self.directory.current().owns(user, &directory_key(address)) {
            return Ok(());
        }
        Err(Reply::sender_not_owned(&format!(
            "<{address}>: Sender address rejected: not owned by user {user}"
        )))
    }

    fn check_rcpt(&self, s: &SessionInfo, rcpt: &Address) -> RcptVerdict {
        let key = directory_key(rcpt);
        let resolution = if rcpt.is_ip_literal() {
            Resolution::NotLocal
        } else {
            self.directory.current().resolve(&key)
        };
        match resolution {
            Resolution::Deliver(_) => RcptVerdict::Accept,
            Resolution::Unknown => RcptVerdict::Reject(Reply::no_such_user(&format!(
                "<{rcpt}>: Recipient address rejected: User unknown in local recipient table"
            ))),
            // A loop or dead end in aliases is the operator's to fix: the sender retries meanwhile.
            Resolution::Failed(e) => RcptVerdict::Reject(Reply::new(
                451,
                EnhancedCode::parse("4.3.0"),
                format!("<{rcpt}>: Temporary lookup failure: {e}"),
            )),
            Resolution::NotLocal if self.may_relay(s) => RcptVerdict::Accept,
            Resolution::NotLocal => RcptVerdict::Reject(Reply::relay_denied(&format!(
                "<{rcpt}>: Relay access denied"
            ))),
        }
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
        self.events.log(ev);
    }
}
