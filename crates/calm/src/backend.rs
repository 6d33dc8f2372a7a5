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
use calm_smtp_proto::{EnhancedCode, Reply};
use calm_smtp_server::{
    Backend, DataOutcome, EnqueueError, IncomingMessage, RcptVerdict, SessionInfo, SmtpEvent,
};

use crate::accounts::LiveDirectory;
use crate::content::{ContentPipeline, MessageEnvelope};
use crate::gate::Gate;
use crate::outbound::{Cutover, RouteTable};
use crate::reports::{ReportRcpt, SpamReports};

/// The backend of every listener.
pub struct CalmBackend {
    directory: Arc<LiveDirectory>,
    gate: Arc<Gate>,
    routes: Arc<RouteTable>,
    content: Option<Arc<ContentPipeline>>,
    quarantine: Arc<calm_quarantine::Store>,
    dkim: calm_dkim::Keys,
    spool: Spool,
    events: EventLog,
    sender_must_own: bool,
    /// The default per-user quota in bytes (0: none) and where mailboxes live, for the
    /// RCPT-time check.
    quota_bytes: u64,
    mail_base: std::path::PathBuf,
    reports: SpamReports,
}

impl CalmBackend {
    pub fn new(
        config: &Config,
        directory: Arc<LiveDirectory>,
        gate: Arc<Gate>,
        routes: Arc<RouteTable>,
        data: DataStage,
        spool: Spool,
        events: EventLog,
    ) -> CalmBackend {
        let reports = SpamReports::new(config, data.content.clone(), events.clone());
        CalmBackend {
            reports,
            directory,
            gate,
            routes,
            content: data.content,
            quarantine: data.quarantine,
            dkim: data.dkim,
            spool,
            events,
            sender_must_own: config.accounts.sender_must_own_address,
            quota_bytes: config.accounts.quota_bytes,
            mail_base: config.server.data_dir.join("mail"),
        }
    }
}

/// What the DATA stage needs besides the policy: the content pipeline, the quarantine, and
/// the DKIM keys for mail from authenticated users.
pub struct DataStage {
    pub content: Option<Arc<ContentPipeline>>,
    pub quarantine: Arc<calm_quarantine::Store>,
    pub dkim: calm_dkim::Keys,
}

/// The address as the directory knows it: raw local part, lowercase domain.
fn directory_key(a: &Address) -> String {
    format!("{}@{}", a.local(), a.domain())
}

impl CalmBackend {
    /// `452 4.2.2` when a local mailbox this recipient delivers to is at or over its quota
    /// (RFC 3463: mailbox full, a temporary condition: the sender keeps the message). Each
    /// user's own limit (`userdb_quota_rule` in the users file) overrides the global one.
    fn over_quota(
        &self,
        directory: &calm_accounts::Directory,
        resolution: &Resolution,
        rcpt: &Address,
    ) -> Option<Reply> {
        let Resolution::Deliver(targets) = resolution else {
            return None;
        };
        let full = targets.iter().any(|t| match t {
            calm_accounts::Target::Mailbox(user) => {
                let users = directory.users();
                users
                    .storage_limit(user, self.quota_bytes)
                    .is_some_and(|limit| {
                        let dir = calm_maildir::mailbox_dir(&self.mail_base, user);
                        calm_maildir::mailbox_size(&dir) >= limit
                    })
            }
            calm_accounts::Target::Forward(_) => false,
        });
        full.then(|| {
            Reply::new(
                452,
                EnhancedCode::parse("4.2.2"),
                format!("<{rcpt}>: Mailbox full, try again later"),
            )
        })
    }

    /// DKIM-signs mail from an authenticated user when the sender's domain has a key. A
    /// signing failure is logged and the message goes out unsigned (never lost over it).
    fn sign(&self, msg: &mut IncomingMessage) {
        let Some(domain) = msg.mail_from.address().map(|a| a.domain().to_string()) else {
            return;
        };
        let Some(signer) = self.dkim.signer_for(&domain) else {
            return;
        };
        match signer.sign(&msg.data) {
            Ok(header) => {
                let mut data = header.into_bytes();
                data.append(&mut msg.data);
                msg.data = data;
            }
            Err(e) => self.events.log(&serde_json::json!({
                "event": "dkim_sign_failed", "queue_id": msg.id.as_str(), "domain": domain, "error": e.to_string(),
            })),
        }
    }

    /// Keeps the message in the quarantine store (durably) instead of delivering it.
    fn quarantine(
        &self,
        s: &SessionInfo,
        msg: &IncomingMessage,
        rule: &str,
        analysis: Option<&crate::content::Analysis>,
    ) -> Result<DataOutcome, Reply> {
        let sender = msg
            .mail_from
            .address()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let mut envelope =
            calm_quarantine::Envelope::new(&sender, msg.rcpt_to.iter().map(directory_key));
        envelope.client = Some(s.client.ip().to_string());
        envelope.helo = s.helo.clone();
        let mut verdict =
            calm_quarantine::Verdict::new(rule, &format!("data: rule {rule} asked for quarantine"));
        if let Some(a) = analysis {
            verdict.score = Some(a.report.total());
            verdict.hits = a
                .report
                .hits
                .iter()
                .map(|h| calm_quarantine::Hit {
                    name: h.name.clone(),
                    points: h.points,
                })
                .collect();
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match self.quarantine.put(&envelope, &verdict, &msg.data, now) {
            Ok(id) => {
                self.events.log(&serde_json::json!({
                    "event": "quarantined", "queue_id": msg.id.as_str(), "quarantine_id": id.to_string(),
                    "rule": rule, "score": verdict.score, "client_ip": s.client.ip(),
                }));
                Ok(DataOutcome::Kept)
            }
            // A local fault: the sender keeps the message and tries again (never 5xx).
            Err(e) => Err(Reply::local_error(&format!(
                "Error: quarantine write failed: {e}"
            ))),
        }
    }
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

    async fn check_helo(&self, s: &SessionInfo, name: &str) -> Result<(), Reply> {
        self.gate.helo(s, name).await
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
            Cutover::Normal if local => match self.reports.check_rcpt(s, &key) {
                ReportRcpt::No => directory.resolve(&key),
                // Consumed at DATA: no mailbox, no quota.
                ReportRcpt::Accept => Resolution::Deliver(Vec::new()),
                ReportRcpt::Refuse(reply) => return RcptVerdict::Reject(reply),
            },
            Cutover::Normal => directory.resolve(&key),
        };
        if let Some(reply) = self.over_quota(&directory, &resolution, rcpt) {
            return RcptVerdict::Reject(reply);
        }
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

    async fn check_data(
        &self,
        s: &SessionInfo,
        msg: &mut IncomingMessage,
    ) -> Result<DataOutcome, Reply> {
        let keys: Vec<String> = msg.rcpt_to.iter().map(directory_key).collect();
        if self.reports.take(s, msg, &keys).await {
            return Ok(DataOutcome::Kept);
        }
        let sender = msg
            .mail_from
            .address()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let recipient = match &keys[..] {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let envelope = MessageEnvelope {
            client: s.client.ip(),
            helo: s.helo.as_deref().unwrap_or(""),
            mail_from: &sender,
            recipient,
            authenticated: s.auth_user.is_some(),
        };
        let analysis = match &self.content {
            Some(c) => Some(c.analyse(&envelope, &msg.data).await),
            None => None,
        };
        let result = self
            .gate
            .data(s, &msg.data, analysis.as_ref().map(|a| &a.facts))?;
        // Our Received: line stays the top trace field (RFC 5321 §4.4); the content and
        // policy header lines go right below it.
        let mut headers = analysis
            .as_ref()
            .map(|a| a.headers.clone())
            .unwrap_or_default();
        headers.push_str(&result.headers);
        let at = first_header_end(&msg.data);
        msg.data.splice(at..at, headers.into_bytes());
        if s.auth_user.is_some() {
            self.sign(msg);
        }
        msg.folder = result.folder;
        match result.quarantine {
            Some(rule) => self.quarantine(s, msg, &rule, analysis.as_ref()),
            None => Ok(DataOutcome::Enqueue),
        }
    }

    fn disconnect(&self, s: &SessionInfo) {
        self.gate.disconnect(s);
    }

    async fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        self.directory.verify_password(user, password).await
    }

    async fn enqueue(&self, msg: IncomingMessage) -> Result<(), EnqueueError> {
        let from = msg
            .mail_from
            .address()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let rcpts = msg
            .rcpt_to
            .iter()
            .map(directory_key)
            .filter(|k| !self.reports.is_report_address(k))
            .collect();
        let mut envelope = Envelope::new(msg.id.as_str().to_string(), from, rcpts);
        envelope.folder = msg.folder;
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
