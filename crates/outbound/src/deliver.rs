//! Delivering a batch of messages to one destination: MX hosts in order, the next host on a
//! connection failure or a refused greeting (RFC 5321 §5.1), one connection reused for
//! several messages, STARTTLS per the route's policy, then AUTH when the route has a
//! credential (RFC 4954; only ever inside TLS).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use calm_dns::{DnsError, MxHost, Resolver};
use calm_smtp_proto::Reply;
use tokio_rustls::TlsConnector;

use crate::client::{ConnError, Mechanism, SmtpConn, Timeouts};
use crate::credentials::Credential;
use crate::event::{EventSink, OutboundEvent};
use crate::route::{NextHop, TlsPolicy};
use crate::tls::{TlsConfigs, server_name};

/// Where a batch goes: the recipient domain, the route's nexthop if it has one, and the
/// credential its `auth=` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    pub domain: String,
    pub nexthop: Option<NextHop>,
    pub credential: Option<Credential>,
}

impl Destination {
    /// The key that groups deliveries (and limits concurrency): the nexthop, else the domain;
    /// with the credential's name, so routes to one relay under two accounts stay apart.
    pub(crate) fn key(&self) -> String {
        let host = self.host_key();
        match self.nexthop.as_ref().and_then(|h| h.auth.as_deref()) {
            Some(name) => format!("{host} auth={name}"),
            None => host,
        }
    }

    fn host_key(&self) -> String {
        match &self.nexthop {
            Some(h) if !h.host.is_empty() => match (h.mx_lookup, h.port) {
                (false, Some(p)) => format!("[{}]:{p}", h.host),
                (false, None) => format!("[{}]", h.host),
                (true, Some(p)) => format!("{}:{p}", h.host),
                (true, None) => h.host.clone(),
            },
            _ => self.domain.clone(),
        }
    }
}

/// One message's share of a batch.
#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub id: String,
    pub mail_from: String,
    pub rcpts: Vec<String>,
    pub body: Vec<u8>,
}

/// How a recipient's attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Delivered,
    Transient,
    Permanent,
}

/// A recipient's result, from a remote reply or a local condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub verdict: Verdict,
    /// The remote reply code, when a server answered.
    pub code: Option<u16>,
    /// RFC 3463 status.
    pub status: String,
    /// The reply (`550 5.1.1 text`) or a local reason.
    pub text: String,
    pub host: Option<String>,
}

impl Answer {
    pub(crate) fn local(verdict: Verdict, status: &str, text: impl Into<String>) -> Answer {
        Answer {
            verdict,
            code: None,
            status: status.to_owned(),
            text: text.into(),
            host: None,
        }
    }

    /// A remote reply; its class decides the verdict (RFC 5321 §4.2.1).
    pub(crate) fn from_reply(reply: &Reply, host: &str) -> Answer {
        let verdict = match reply.code {
            200..=399 => Verdict::Delivered,
            400..=499 => Verdict::Transient,
            _ => Verdict::Permanent,
        };
        let status = reply
            .enhanced
            .map(|e| e.to_string())
            .unwrap_or_else(|| format!("{}.0.0", reply.code / 100));
        let enhanced = reply.enhanced.map(|e| format!("{e} ")).unwrap_or_default();
        Answer {
            verdict,
            code: Some(reply.code),
            status,
            text: format!("{} {enhanced}{}", reply.code, reply.text()),
            host: Some(host.to_owned()),
        }
    }

    /// Never permanent: used where a server refused the whole session, not a recipient.
    fn host_refusal(reply: &Reply, host: &str) -> Answer {
        let mut answer = Answer::from_reply(reply, host);
        answer.verdict = Verdict::Transient;
        if answer.status.starts_with('5') {
            answer.status.replace_range(..1, "4");
        }
        answer
    }

    fn from_conn_error(e: &ConnError, host: &str) -> Answer {
        let mut answer = Answer::local(Verdict::Transient, e.status(), format!("{host}: {e}"));
        answer.host = Some(host.to_owned());
        answer
    }

    fn from_dns(e: &DnsError) -> Answer {
        let (verdict, status) = match e {
            // RFC 7505 §4.2: 5.1.10 "recipient address has null MX".
            DnsError::NullMx { .. } => (Verdict::Permanent, "5.1.10"),
            // RFC 3463: 5.1.2 "bad destination system address".
            DnsError::NoSuchDomain { .. } | DnsError::BadName { .. } => {
                (Verdict::Permanent, "5.1.2")
            }
            // 5.4.4 "unable to route".
            DnsError::NoAddress { .. } => (Verdict::Permanent, "5.4.4"),
            // 4.4.3 "directory server failure".
            _ => (Verdict::Transient, "4.4.3"),
        };
        Answer::local(verdict, status, e.to_string())
    }
}

/// A recipient and its answer.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub id: String,
    pub rcpt: String,
    pub answer: Answer,
}

/// What one connection achieved.
enum HostResult {
    /// Every message of the batch has an answer.
    Done,
    /// The per-connection message limit was reached; connect again.
    More,
    /// This host cannot take mail now; try the next one.
    Failed(Answer),
    /// Opportunistic TLS failed in the handshake; try this host again in plaintext.
    TlsFailed(Answer),
}

/// Shared delivery settings.
#[derive(Clone)]
pub(crate) struct Deliverer {
    pub resolver: Resolver,
    pub tls: TlsConfigs,
    pub timeouts: Timeouts,
    pub hostname: String,
    pub port: u16,
    pub messages_per_connection: usize,
    pub events: EventSink,
}

impl Deliverer {
    /// Delivers `work` to `dest`; every recipient of every message gets exactly one outcome.
    pub(crate) async fn deliver(&self, dest: &Destination, work: Vec<Work>) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        let mut queue: VecDeque<Work> = work.into();
        let hosts = match self.hosts(dest).await {
            Ok(hosts) => hosts,
            Err(answer) => {
                answer_all(&mut queue, &answer, &mut outcomes);
                return outcomes;
            }
        };
        let mut last = Answer::local(Verdict::Transient, "4.4.1", "no mail exchanger answered");
        let mut only_missing_addresses = true;
        for mx in &hosts {
            let ips = match self.resolver.ip_addresses(&mx.exchange).await {
                Ok(ips) => ips,
                Err(e) => {
                    only_missing_addresses &= e.is_permanent();
                    last = Answer::from_dns(&e);
                    continue;
                }
            };
            only_missing_addresses = false;
            for ip in ips {
                match self.try_host(dest, mx, ip, &mut queue, &mut outcomes).await {
                    Some(answer) => last = answer,
                    None => return outcomes,
                }
            }
        }
        if !only_missing_addresses && last.verdict == Verdict::Permanent {
            last.verdict = Verdict::Transient;
        }
        answer_all(&mut queue, &last, &mut outcomes);
        outcomes
    }

    /// Uses one address until the batch is done (`None`) or the host fails (`Some(why)`).
    async fn try_host(
        &self,
        dest: &Destination,
        mx: &MxHost,
        ip: IpAddr,
        queue: &mut VecDeque<Work>,
        outcomes: &mut Vec<Outcome>,
    ) -> Option<Answer> {
        let mut allow_tls = true;
        loop {
            if queue.is_empty() {
                return None;
            }
            match self.session(dest, mx, ip, allow_tls, queue, outcomes).await {
                HostResult::Done => return None,
                HostResult::More => {}
                HostResult::TlsFailed(answer) if allow_tls => {
                    tracing::info!(host = %mx.exchange, "TLS failed, retrying in plaintext: {}", answer.text);
                    allow_tls = false;
                }
                HostResult::TlsFailed(answer) | HostResult::Failed(answer) => return Some(answer),
            }
        }
    }

    /// The hosts to try, best first. `Err` answers every recipient at once.
    async fn hosts(&self, dest: &Destination) -> Result<Vec<MxHost>, Answer> {
        let direct = dest.nexthop.as_ref().filter(|h| !h.host.is_empty());
        let lookup = match direct {
            Some(h) if !h.mx_lookup => {
                return Ok(vec![MxHost {
                    preference: 0,
                    exchange: h.host.clone(),
                    implicit: false,
                }]);
            }
            Some(h) => h.host.as_str(),
            None => dest.domain.as_str(),
        };
        self.resolver
            .mail_exchangers(lookup)
            .await
            .map_err(|e| Answer::from_dns(&e))
    }

    fn port(&self, dest: &Destination) -> u16 {
        dest.nexthop
            .as_ref()
            .and_then(|h| h.port)
            .unwrap_or(self.port)
    }

    /// The route's policy; a credential raises `none`/`may` to `encrypt`, so a password
    /// never travels in clear (the routes parser already refuses `auth=` with `tls=none`).
    fn tls_policy(dest: &Destination) -> TlsPolicy {
        let policy = dest.nexthop.as_ref().map_or(TlsPolicy::May, |h| h.tls);
        match policy {
            TlsPolicy::None | TlsPolicy::May if dest.credential.is_some() => TlsPolicy::Encrypt,
            other => other,
        }
    }

    /// Connect, greet, EHLO, STARTTLS, then messages until done or the connection limit.
    async fn session(
        &self,
        dest: &Destination,
        mx: &MxHost,
        ip: IpAddr,
        allow_tls: bool,
        queue: &mut VecDeque<Work>,
        outcomes: &mut Vec<Outcome>,
    ) -> HostResult {
        let host = mx.exchange.as_str();
        (self.events)(OutboundEvent::DeliveryAttempt {
            destination: dest.key(),
            host: host.to_owned(),
            ip: ip.to_string(),
            messages: queue.len(),
        });
        let addr = SocketAddr::new(ip, self.port(dest));
        let opened = match self
            .open(addr, host, Self::tls_policy(dest), allow_tls)
            .await
        {
            Ok(conn) => self.login(conn, host, dest.credential.as_ref()).await,
            Err(result) => Err(result),
        };
        let conn = match opened {
            Ok(conn) => conn,
            Err(result) => return result,
        };
        self.send_messages(conn, queue, outcomes).await
    }

    /// A greeted, EHLO'd connection with TLS as the policy wants, or why not.
    async fn open(
        &self,
        addr: SocketAddr,
        host: &str,
        policy: TlsPolicy,
        allow_tls: bool,
    ) -> Result<SmtpConn, HostResult> {
        let fail = |e: ConnError| HostResult::Failed(Answer::from_conn_error(&e, host));
        let (mut conn, greeting) = SmtpConn::connect(addr, host, &self.timeouts)
            .await
            .map_err(fail)?;
        // RFC 5321 §3.1: a server that does not greet with 220 is not taking mail now.
        if greeting.code != 220 {
            conn.quit().await;
            return Err(HostResult::Failed(Answer::host_refusal(&greeting, host)));
        }
        self.greet(&mut conn, host).await?;
        let wants_tls = policy != TlsPolicy::None && allow_tls;
        let must_tls = matches!(policy, TlsPolicy::Encrypt | TlsPolicy::Verify);
        if !wants_tls || !conn.caps.starttls {
            if must_tls {
                conn.quit().await;
                let why = format!("{host}: STARTTLS is required by the route but not offered");
                return Err(HostResult::Failed(Answer::local(
                    Verdict::Transient,
                    "4.7.0",
                    why,
                )));
            }
            return Ok(conn);
        }
        let conn = self.starttls(conn, host, policy).await?;
        Ok(conn)
    }

    async fn greet(&self, conn: &mut SmtpConn, host: &str) -> Result<(), HostResult> {
        match conn.hello(&self.hostname).await {
            Ok(r) if r.is_positive() => Ok(()),
            Ok(r) => Err(HostResult::Failed(Answer::host_refusal(&r, host))),
            Err(e) => Err(HostResult::Failed(Answer::from_conn_error(&e, host))),
        }
    }

    async fn starttls(
        &self,
        conn: SmtpConn,
        host: &str,
        policy: TlsPolicy,
    ) -> Result<SmtpConn, HostResult> {
        let config = match policy {
            TlsPolicy::Verify => self.tls.verified.clone(),
            _ => Some(self.tls.opportunistic.clone()),
        };
        let (Some(config), Some(name)) = (config, server_name(host)) else {
            let why = format!("{host}: no trusted roots configured for a verified route");
            return Err(HostResult::Failed(Answer::local(
                Verdict::Transient,
                "4.7.0",
                why,
            )));
        };
        let mut conn = match conn.starttls(TlsConnector::from(config), name).await {
            Ok(Ok(conn)) => conn,
            Ok(Err((conn, refusal))) if policy == TlsPolicy::May => {
                tracing::info!(host, "STARTTLS refused, continuing in plaintext: {refusal}");
                return Ok(conn);
            }
            Ok(Err((conn, refusal))) => {
                conn.quit().await;
                return Err(HostResult::Failed(Answer::host_refusal(&refusal, host)));
            }
            Err(e @ ConnError::Tls(_)) if policy == TlsPolicy::May => {
                return Err(HostResult::TlsFailed(Answer::from_conn_error(&e, host)));
            }
            Err(e) => return Err(HostResult::Failed(Answer::from_conn_error(&e, host))),
        };
        // RFC 3207 §4.2: forget what was learnt before TLS and ask again.
        self.greet(&mut conn, host).await?;
        Ok(conn)
    }

    /// RFC 4954 AUTH when the route has a credential: PLAIN preferred, LOGIN if it is all
    /// the relay offers. A refusal defers the route's mail (4xx): a wrong password is the
    /// operator's to fix, not a reason to bounce the sender's message.
    async fn login(
        &self,
        mut conn: SmtpConn,
        host: &str,
        credential: Option<&Credential>,
    ) -> Result<SmtpConn, HostResult> {
        let Some(credential) = credential else {
            return Ok(conn);
        };
        let refuse =
            |why: String| HostResult::Failed(Answer::local(Verdict::Transient, "4.7.0", why));
        // Defence in depth: `tls_policy` already made TLS mandatory for this route.
        if !conn.is_tls() {
            conn.quit().await;
            return Err(refuse(format!(
                "{host}: not sending a password outside TLS"
            )));
        }
        let Some(mechanism) = Mechanism::choose(&conn.caps.auth) else {
            let offered = conn.caps.auth.join(" ");
            conn.quit().await;
            return Err(refuse(format!(
                "{host}: the relay offers no AUTH mechanism calm speaks (PLAIN, LOGIN): {offered:?}"
            )));
        };
        match conn.authenticate(mechanism, credential).await {
            Ok(r) if r.code == 235 => {
                tracing::debug!(
                    host,
                    mechanism = mechanism.name(),
                    user = credential.username(),
                    "authenticated"
                );
                Ok(conn)
            }
            Ok(r) => {
                conn.quit().await;
                let mut answer = Answer::host_refusal(&r, host);
                answer.text = format!(
                    "AUTH {} as {} refused: {}",
                    mechanism.name(),
                    credential.username(),
                    answer.text
                );
                Err(HostResult::Failed(answer))
            }
            Err(e) => Err(HostResult::Failed(Answer::from_conn_error(&e, host))),
        }
    }

    /// Sends queued messages over `conn` until the queue is empty, the per-connection limit
    /// is reached, or the connection fails.
    async fn send_messages(
        &self,
        mut conn: SmtpConn,
        queue: &mut VecDeque<Work>,
        outcomes: &mut Vec<Outcome>,
    ) -> HostResult {
        let host = conn.host.clone();
        for _ in 0..self.messages_per_connection.max(1) {
            let Some(work) = queue.pop_front() else {
                conn.quit().await;
                return HostResult::Done;
            };
            let Some(work) = checked_paths(work, outcomes) else {
                continue;
            };
            if let Some(limit) = conn
                .caps
                .size
                .filter(|&n| n > 0 && work.body.len() as u64 > n)
            {
                // RFC 1870 §6: the server said in advance it will not take a message this big.
                let text = format!(
                    "{host}: message size {} exceeds the server's limit {limit}",
                    work.body.len()
                );
                answer_one(
                    &work,
                    &Answer::local(Verdict::Permanent, "5.3.4", text),
                    outcomes,
                );
                continue;
            }
            match conn
                .transaction(&work.mail_from, &work.rcpts, &work.body)
                .await
            {
                Ok(t) => {
                    let closing = t
                        .rcpts
                        .iter()
                        .chain(&t.data)
                        .chain([&t.mail])
                        .any(|r| r.code == 421);
                    record(&work, &t, &host, outcomes);
                    // RFC 5321 §3.8: 421 means the server is closing the connection.
                    if closing || !conn.is_usable() {
                        let why =
                            Answer::local(Verdict::Transient, "4.4.2", format!("{host}: closing"));
                        return HostResult::Failed(why);
                    }
                }
                Err(e) => {
                    let answer = Answer::from_conn_error(&e, &host);
                    answer_one(&work, &answer, outcomes);
                    return HostResult::Failed(answer);
                }
            }
        }
        conn.quit().await;
        if queue.is_empty() {
            HostResult::Done
        } else {
            HostResult::More
        }
    }
}

/// Drops recipients (or the whole message) whose addresses could not be written as an SMTP
/// path without changing the command: a CR, LF or angle bracket would let queue contents add
/// a command of their own. The spool only holds parsed addresses, so this is defence in depth.
fn checked_paths(mut work: Work, outcomes: &mut Vec<Outcome>) -> Option<Work> {
    let bad = |s: &str| s.chars().any(|c| c.is_control() || c == '<' || c == '>');
    if bad(&work.mail_from) {
        // RFC 3463: 5.1.7 "bad sender's mailbox address syntax".
        let answer = Answer::local(Verdict::Permanent, "5.1.7", "unusable sender address");
        answer_one(&work, &answer, outcomes);
        return None;
    }
    let (good, rejected): (Vec<String>, Vec<String>) =
        work.rcpts.into_iter().partition(|r| !bad(r));
    for rcpt in rejected {
        // 5.1.3 "bad destination mailbox address syntax".
        let answer = Answer::local(Verdict::Permanent, "5.1.3", "unusable recipient address");
        outcomes.push(Outcome {
            id: work.id.clone(),
            rcpt,
            answer,
        });
    }
    work.rcpts = good;
    (!work.rcpts.is_empty()).then_some(work)
}

/// Per-recipient answers of one transaction.
fn record(work: &Work, t: &crate::client::Transaction, host: &str, outcomes: &mut Vec<Outcome>) {
    for (i, rcpt) in work.rcpts.iter().enumerate() {
        let answer = if !t.mail.is_positive() {
            Answer::from_reply(&t.mail, host)
        } else {
            match (t.rcpts.get(i), &t.data) {
                (Some(r), _) if !r.is_positive() => Answer::from_reply(r, host),
                (Some(_), Some(data)) => Answer::from_reply(data, host),
                _ => Answer::local(
                    Verdict::Transient,
                    "4.5.0",
                    format!("{host}: incomplete transaction"),
                ),
            }
        };
        outcomes.push(Outcome {
            id: work.id.clone(),
            rcpt: rcpt.clone(),
            answer,
        });
    }
}

fn answer_one(work: &Work, answer: &Answer, outcomes: &mut Vec<Outcome>) {
    for rcpt in &work.rcpts {
        outcomes.push(Outcome {
            id: work.id.clone(),
            rcpt: rcpt.clone(),
            answer: answer.clone(),
        });
    }
}

fn answer_all(queue: &mut VecDeque<Work>, answer: &Answer, outcomes: &mut Vec<Outcome>) {
    for work in queue.drain(..) {
        answer_one(&work, answer, outcomes);
    }
}
