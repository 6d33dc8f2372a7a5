//! The live side of the staged policy: builds [`Facts`] from an SMTP session, keeps each
//! connection's policy [`Session`] and the shared rate [`Limiter`], runs the stage, and turns
//! the [`Decision`] into an SMTP answer plus an event-log line naming the rule.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use calm_config::Config;
use calm_eventlog::EventLog;
use calm_policy::{
    ContentFacts, Context, Decision, DnsblAnswer, Facts, Limiter, Policy, Rcpt, RcptStatus, Rdns,
    Sender, Session, Stage, Tables, Timestamp, Verdict,
};
use calm_smtp_proto::Reply;
use calm_smtp_server::{Role, SessionInfo};
use serde::Serialize;

/// The built-in default policy and the maps it names, as shipped in `policy/`.
pub const DEFAULT_POLICY: &str = include_str!("../../../policy/default.toml");
const DEFAULT_MAPS: &[(&str, &str)] = &[
    (
        "access/client",
        include_str!("../../../policy/access/client"),
    ),
    ("access/helo", include_str!("../../../policy/access/helo")),
    (
        "access/sender",
        include_str!("../../../policy/access/sender"),
    ),
    (
        "access/sender-domain",
        include_str!("../../../policy/access/sender-domain"),
    ),
    (
        "access/recipient",
        include_str!("../../../policy/access/recipient"),
    ),
    (
        "access/internal-only",
        include_str!("../../../policy/access/internal-only"),
    ),
];
/// The name the built-in policy goes by in traces.
pub const DEFAULT_POLICY_NAME: &str = "built-in:default.toml";

/// Loads the configured policy file, or the built-in default.
pub fn load(config: &Config) -> Result<Policy> {
    let ctx = Context::from_config(config);
    match &config.policy.file {
        Some(path) => Ok(Policy::load(path, &ctx)?),
        None => {
            let mut read = |p: &Path| -> std::io::Result<Vec<u8>> {
                let key = p.to_string_lossy();
                DEFAULT_MAPS
                    .iter()
                    .find(|(name, _)| key.ends_with(name))
                    .map(|(_, text)| text.as_bytes().to_vec())
                    .ok_or_else(|| {
                        std::io::Error::new(std::io::ErrorKind::NotFound, "not a built-in map")
                    })
            };
            Policy::from_text(
                Path::new(DEFAULT_POLICY_NAME),
                DEFAULT_POLICY,
                &ctx,
                &mut read,
            )
            .context("the built-in default policy does not load (a bug)")
        }
    }
}

/// Loads the shadow policy named by `policy.shadow`, if any.
pub fn load_shadow(config: &Config) -> Result<Option<Policy>> {
    let Some(path) = &config.policy.shadow else {
        return Ok(None);
    };
    Ok(Some(Policy::load(path, &Context::from_config(config))?))
}

/// What the data stage decided for an accepted message.
#[derive(Default)]
pub struct DataResult {
    /// Header lines to add, CRLF-terminated.
    pub headers: String,
    /// `rule (file:line)` when a rule asked for quarantine.
    pub quarantine: Option<String>,
    /// The mailbox a `tag` rule filed the message in (local copies go there, not INBOX).
    pub folder: Option<String>,
}

/// Per-connection policy state. A connection keeps the policies it started with, so a reload
/// never changes the rules in the middle of a session.
struct Conn {
    policy: Arc<Policy>,
    session: Session,
    shadow: Option<(Arc<Policy>, Session)>,
    sender: Option<String>,
    /// Reverse DNS of the client, looked up once at connect (`None`: not looked up).
    rdns: Option<OwnedRdns>,
    /// Whether the sender's domain resolves (`None`: not looked up).
    sender_resolves: Option<bool>,
    /// DNS list answers gathered so far (client at connect, HELO, sender domain at MAIL).
    dnsbl: Vec<DnsblAnswer>,
}

/// [`Rdns`] with owned names, kept for the whole connection.
enum OwnedRdns {
    Missing,
    Unconfirmed(String),
    Confirmed(String),
}

impl OwnedRdns {
    fn as_rdns(&self) -> Rdns<'_> {
        match self {
            OwnedRdns::Missing => Rdns::Missing,
            OwnedRdns::Unconfirmed(n) => Rdns::Unconfirmed(n),
            OwnedRdns::Confirmed(n) => Rdns::Confirmed(n),
        }
    }
}

/// What the event log records when the shadow policy would have decided differently.
#[derive(Serialize)]
struct ShadowDiff<'a> {
    event: &'static str,
    stage: &'a str,
    client_ip: IpAddr,
    active: &'a str,
    shadow: &'a str,
    active_rule: Option<&'a str>,
    shadow_rule: Option<&'a str>,
    active_explain: String,
    shadow_explain: String,
}

/// What the event log records for each deciding rule.
#[derive(Serialize)]
struct VerdictEvent<'a> {
    event: &'static str,
    stage: &'a str,
    verdict: &'a str,
    rule: Option<&'a str>,
    file: Option<String>,
    line: Option<usize>,
    client_ip: IpAddr,
    explain: String,
}

/// The policy as the SMTP server meets it.
pub struct Gate {
    policies: std::sync::RwLock<(Arc<Policy>, Option<Arc<Policy>>)>,
    limiter: Mutex<Limiter>,
    conns: Mutex<HashMap<u64, Conn>>,
    events: EventLog,
    /// calm's resolver for the DNS facts (PTR, FCrDNS, sender domain); `None` leaves them
    /// undecided, so rules that need them never fire.
    resolver: Option<Arc<calm_dns::Resolver>>,
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

fn role(role: Role) -> calm_policy::Role {
    match role {
        Role::Mx => calm_policy::Role::Mx,
        Role::Submission => calm_policy::Role::Submission,
        Role::Submissions => calm_policy::Role::Submissions,
    }
}

/// The facts every stage shares: client, listener, TLS, HELO, user.
fn base_facts(s: &SessionInfo) -> Facts<'_> {
    let mut facts = Facts::new(s.client.ip(), role(s.role));
    facts.tls = s.tls;
    facts.helo = s.helo.as_deref();
    facts.auth_user = s.auth_user.as_deref();
    facts
}

fn sender_of(address: &str) -> Sender<'_> {
    if address.is_empty() {
        Sender::Null
    } else {
        Sender::Address(address)
    }
}

fn limiter_for(policy: &Policy, shadow: Option<&Policy>) -> Limiter {
    let settings = policy.limiter_settings();
    Limiter::new(shadow.map_or(settings, |s| settings.merge(s.limiter_settings())))
}

impl Gate {
    /// A gate with the active policy and, optionally, a shadow candidate evaluated beside it.
    pub fn new(
        policy: Policy,
        shadow: Option<Policy>,
        events: EventLog,
        resolver: Option<Arc<calm_dns::Resolver>>,
    ) -> Gate {
        let limiter = Mutex::new(limiter_for(&policy, shadow.as_ref()));
        let policies = std::sync::RwLock::new((Arc::new(policy), shadow.map(Arc::new)));
        let conns = Mutex::default();
        Gate {
            policies,
            limiter,
            conns,
            events,
            resolver,
        }
    }

    /// Swaps in new policies for connections that start from now on. The rate counters are
    /// kept unless the new policies need a differently shaped limiter.
    pub fn replace(&self, policy: Policy, shadow: Option<Policy>) {
        let fresh = limiter_for(&policy, shadow.as_ref());
        {
            let mut limiter = self.limiter();
            if limiter.settings() != fresh.settings() {
                *limiter = fresh;
            }
        }
        let mut policies = self.policies.write().unwrap_or_else(|e| e.into_inner());
        *policies = (Arc::new(policy), shadow.map(Arc::new));
    }

    /// The active policy.
    pub fn active(&self) -> Arc<Policy> {
        self.policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `stage` for connection `s` (and its shadow) and records the decisions.
    fn run(&self, stage: Stage, s: &SessionInfo, facts: &Facts<'_>) -> Result<(), Reply> {
        let (decision, shadow) = {
            let mut conns = self.conns();
            let conn = conns.entry(s.id).or_insert_with(|| self.new_conn());
            let limiter = self.limiter();
            let t = now();
            // The DNS facts were gathered once per connection (and transaction).
            let mut facts = facts.clone();
            facts.rdns = conn.rdns.as_ref().map(OwnedRdns::as_rdns);
            facts.dnsbl = Some(&conn.dnsbl);
            if facts.sender.is_some() {
                facts.sender_domain_resolves = conn.sender_resolves;
            }
            let facts = &facts;
            let decision = conn
                .policy
                .evaluate(stage, facts, &mut conn.session, &limiter, t);
            let shadow = conn
                .shadow
                .as_mut()
                .map(|(p, session)| p.evaluate(stage, facts, session, &limiter, t));
            (decision, shadow)
        };
        self.record(&decision, s.client.ip());
        if let Some(shadow) = shadow.filter(|d| !d.verdict.same_as(&decision.verdict)) {
            self.record_shadow_diff(&decision, &shadow, s.client.ip());
        }
        match decision.verdict {
            Verdict::Reject(reply) | Verdict::Defer(reply) => Err(reply),
            Verdict::Pass | Verdict::Accept | Verdict::Quarantine => Ok(()),
        }
    }

    fn new_conn(&self) -> Conn {
        let policies = self.policies.read().unwrap_or_else(|e| e.into_inner());
        Conn {
            policy: policies.0.clone(),
            session: Session::new(),
            shadow: policies.1.clone().map(|p| (p, Session::new())),
            sender: None,
            rdns: None,
            sender_resolves: None,
            dnsbl: Vec::new(),
        }
    }

    fn record_shadow_diff(&self, active: &Decision, shadow: &Decision, client_ip: IpAddr) {
        self.events.log(&ShadowDiff {
            event: "shadow_diff",
            stage: active.stage.as_str(),
            client_ip,
            active: active.verdict.word(),
            shadow: shadow.verdict.word(),
            active_rule: active.rule.as_ref().map(|r| r.name()),
            shadow_rule: shadow.rule.as_ref().map(|r| r.name()),
            active_explain: active.explain(),
            shadow_explain: shadow.explain(),
        });
    }

    fn record(&self, decision: &Decision, client_ip: IpAddr) {
        // Tags decide nothing alone but are part of the verdict: each is a line too, so the
        // weekly review knows which rules fire.
        for tag in &decision.tags {
            self.events.log(&VerdictEvent {
                event: "verdict",
                stage: decision.stage.as_str(),
                verdict: "tag",
                rule: Some(tag.rule.name()),
                file: Some(tag.rule.file().to_string()),
                line: Some(tag.rule.line()),
                client_ip,
                explain: format!("tag {:+.1}", tag.score),
            });
        }
        let Some(rule) = &decision.rule else { return };
        let verdict = match decision.verdict {
            Verdict::Pass => "pass",
            Verdict::Accept => "accept",
            Verdict::Reject(_) => "reject",
            Verdict::Defer(_) => "defer",
            Verdict::Quarantine => "quarantine",
        };
        self.events.log(&VerdictEvent {
            event: "verdict",
            stage: decision.stage.as_str(),
            verdict,
            rule: Some(rule.name()),
            file: Some(rule.file().to_string()),
            line: Some(rule.line()),
            client_ip,
            explain: decision.explain(),
        });
    }

    pub async fn connect(&self, s: &SessionInfo) -> Result<(), Reply> {
        self.limiter().connection_opened(s.client.ip(), now());
        let mut conn = self.new_conn();
        conn.rdns = self.lookup_rdns(s.client.ip()).await;
        let facts = base_facts(s);
        conn.dnsbl = self.lookup_lists(&conn.policy, &facts, &[]).await;
        self.conns().insert(s.id, conn);
        self.run(Stage::Connect, s, &facts)
    }

    /// Looks up the connection's policy's DNS lists whose subject is known by now and that
    /// have no answer yet, and keeps the answers for the rest of the session.
    async fn add_list_answers(&self, s: &SessionInfo, facts: &Facts<'_>) {
        let (policy, known) = {
            let conns = self.conns();
            let Some(conn) = conns.get(&s.id) else { return };
            (
                conn.policy.clone(),
                conn.dnsbl
                    .iter()
                    .map(|a| a.name.clone())
                    .collect::<Vec<_>>(),
            )
        };
        let new = self.lookup_lists(&policy, facts, &known).await;
        if let Some(conn) = self.conns().get_mut(&s.id) {
            conn.dnsbl.extend(new);
        }
    }

    /// DNSBL/DNSWL look-ups (RFC 5782). A failed look-up is recorded as failed (the list's
    /// `on_failure` decides what that means) and logged.
    async fn lookup_lists(
        &self,
        policy: &Policy,
        facts: &Facts<'_>,
        known: &[String],
    ) -> Vec<DnsblAnswer> {
        let Some(resolver) = &self.resolver else {
            return Vec::new();
        };
        let mut answers = Vec::new();
        for query in policy.dnsbl_queries() {
            if known.contains(&query.name) {
                continue;
            }
            let Some(subject) = query.subject(facts) else {
                continue;
            };
            let subject = match subject {
                calm_policy::DnsblSubject::Ip(ip) => calm_dns::DnsblSubject::Ip(ip),
                calm_policy::DnsblSubject::Domain(d) => calm_dns::DnsblSubject::Domain(d),
            };
            answers.push(match resolver.dnsbl(&query.zone, subject).await {
                Ok(codes) => DnsblAnswer::new(query.name, codes),
                Err(e) => {
                    self.events.log(&serde_json::json!({
                        "event": "dnsbl_lookup_failed", "list": query.name, "zone": query.zone, "error": e.to_string(),
                    }));
                    DnsblAnswer::failed(query.name)
                }
            });
        }
        answers
    }

    /// PTR names of the client, then forward-confirmed (FCrDNS, RFC 8601 `iprev`). A DNS
    /// failure leaves the fact undecided rather than calling the client unknown.
    async fn lookup_rdns(&self, ip: IpAddr) -> Option<OwnedRdns> {
        let resolver = self.resolver.as_ref()?;
        let names = resolver.reverse_names(ip).await.ok()?;
        let mut forward = HashMap::new();
        for name in &names {
            forward.insert(
                name.clone(),
                resolver.ip_addresses(name).await.unwrap_or_default(),
            );
        }
        Some(
            match Rdns::confirm(ip, &names, |n| forward.get(n).cloned().unwrap_or_default()) {
                Rdns::Missing => OwnedRdns::Missing,
                Rdns::Unconfirmed(n) => OwnedRdns::Unconfirmed(n.to_string()),
                Rdns::Confirmed(n) => OwnedRdns::Confirmed(n.to_string()),
            },
        )
    }

    pub async fn helo(&self, s: &SessionInfo, name: &str) -> Result<(), Reply> {
        let mut facts = base_facts(s);
        facts.helo = Some(name);
        self.add_list_answers(s, &facts).await;
        self.run(Stage::Helo, s, &facts)
    }

    /// `sender` is the address (empty for `<>`); `owned` is the directory's answer for an
    /// authenticated user when the configuration asks for ownership.
    pub async fn mail(
        &self,
        s: &SessionInfo,
        sender: &str,
        owned: Option<bool>,
    ) -> Result<(), Reply> {
        let domain = sender.rsplit_once('@').map(|(_, d)| d);
        let resolves = match (&self.resolver, domain) {
            (Some(r), Some(d)) => r.domain_resolves(d).await.ok(),
            _ => None,
        };
        self.limiter().message(
            s.client.ip(),
            sender_of(sender),
            s.auth_user.as_deref(),
            now(),
        );
        if let Some(conn) = self.conns().get_mut(&s.id) {
            conn.session.reset_transaction();
            if let Some((_, shadow)) = &mut conn.shadow {
                shadow.reset_transaction();
            }
            conn.sender = Some(sender.to_string());
            conn.sender_resolves = resolves;
        }
        let mut facts = base_facts(s);
        facts.sender = Some(sender_of(sender));
        facts.sender_owned = owned;
        self.add_list_answers(s, &facts).await;
        self.run(Stage::Mail, s, &facts)
    }

    pub fn rcpt(
        &self,
        s: &SessionInfo,
        rcpt: &str,
        status: RcptStatus<'_>,
        tables: Tables,
    ) -> Result<(), Reply> {
        let sender = self
            .conns()
            .get(&s.id)
            .and_then(|c| c.sender.clone())
            .unwrap_or_default();
        self.limiter().recipient(
            s.client.ip(),
            sender_of(&sender),
            s.auth_user.as_deref(),
            now(),
        );
        let mut facts = base_facts(s);
        facts.sender = Some(sender_of(&sender));
        facts.rcpt = Some(Rcpt {
            address: rcpt,
            status,
            tables,
        });
        self.run(Stage::Rcpt, s, &facts)
    }

    /// Runs the data stage with the content pipeline's facts (if any). On acceptance: the
    /// header lines to add (the tags' headers and the `X-Calm-Policy` summary), and the rule
    /// that asked for quarantine, if one did.
    pub fn data(
        &self,
        s: &SessionInfo,
        message: &[u8],
        content: Option<&ContentFacts>,
    ) -> Result<DataResult, Reply> {
        let sender = self
            .conns()
            .get(&s.id)
            .and_then(|c| c.sender.clone())
            .unwrap_or_default();
        let mut facts = base_facts(s);
        facts.sender = Some(sender_of(&sender));
        facts.size = Some(message.len() as u64);
        facts.message = Some(message);
        if let Some(content) = content {
            content.apply(&mut facts);
        }
        self.run(Stage::Data, s, &facts)?;
        let conns = self.conns();
        let Some(conn) = conns.get(&s.id) else {
            return Ok(DataResult::default());
        };
        let mut headers = String::new();
        for header in conn.session.headers() {
            headers.push_str(header);
            headers.push_str("\r\n");
        }
        headers.push_str(&conn.session.summary_header());
        headers.push_str("\r\n");
        let quarantine = conn
            .session
            .quarantined_by()
            .map(|r| format!("{} ({}:{})", r.name(), r.file(), r.line()));
        Ok(DataResult {
            headers,
            quarantine,
            folder: conn.session.folder().map(str::to_owned),
        })
    }

    pub fn auth_failed(&self, client: IpAddr) {
        self.limiter().auth_failure(client, now());
    }

    pub fn disconnect(&self, s: &SessionInfo) {
        self.limiter().connection_closed(s.client.ip());
        self.conns().remove(&s.id);
    }

    /// The recipient tables the running directory has loaded: all the configured ones (a
    /// directory that fails to load keeps the previous one whole, never a part of it).
    pub fn tables(&self) -> Tables {
        self.active().context().tables
    }
}
