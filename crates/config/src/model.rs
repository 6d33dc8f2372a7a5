//! The configuration types. Their doc comments are the manual: `docs/config.md` and the
//! example file are generated from them (see [`crate::markdown_reference`]), so a comment
//! here is written for an operator, not for a Rust programmer.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::origin::Origin;

/// calm reads its whole configuration from one TOML file, given as `calm serve --config FILE`.
/// Every key has a default, so an empty file, or no file at all, is a working development
/// configuration: loopback listeners on high ports, a local domain, data under `./calm-data`
/// and a self-signed certificate. Unknown keys are errors, so a typo never passes silently.
///
/// Relative paths are relative to the directory of the configuration file (for the built-in
/// configuration, to the current directory). `calm check` reports mistakes with file and line;
/// `calm config example` prints the complete commented file shown at the end of this page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Identity of this server, where it keeps its data and which mail is its own.
    pub server: Server,
    /// The sockets calm accepts SMTP connections on, one `[[listener]]` table each.
    /// Writing any `[[listener]]` table replaces the whole built-in list.
    #[serde(rename = "listener")]
    pub listeners: Vec<Listener>,
    /// The certificate offered by STARTTLS and implicit-TLS listeners.
    pub tls: Tls,
    /// Where users, aliases and virtual addresses come from, and how addresses are matched.
    pub accounts: Accounts,
    /// Protocol limits that protect the server from clients, and clients from each other.
    pub limits: Limits,
    /// The staged policy: which rules decide at connect, HELO, MAIL, RCPT and DATA.
    pub policy: Policy,
    /// Delivery to other servers: DNS, routes for cut-over, retries and bounces.
    pub outbound: Outbound,
    /// DKIM signing of mail sent by authenticated users.
    pub dkim: Dkim,
    /// Tuning of the durable spool that holds accepted mail until it is delivered.
    pub spool: Spool,
    /// Content filtering at the DATA stage: spam rules, Bayes, malware, sender authentication.
    pub content: ContentFilter,
    /// The admin HTTP listener: Prometheus `/metrics` and `/healthz`.
    pub admin: Admin,
    /// Logging: the structured event log and the diagnostic log.
    pub log: Log,
    /// Where this configuration came from; used only for diagnostics (file and line).
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) origin: Origin,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: Server::default(),
            listeners: Role::ALL
                .iter()
                .map(|&role| Listener::dev_default(role))
                .collect(),
            tls: Tls::default(),
            accounts: Accounts::default(),
            limits: Limits::default(),
            policy: Policy::default(),
            outbound: Outbound::default(),
            dkim: Dkim::default(),
            content: ContentFilter::default(),
            admin: Admin::default(),
            spool: Spool::default(),
            log: Log::default(),
            origin: Origin::default(),
        }
    }
}

/// Identity of this server, where it keeps its data and which mail is its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// The fully qualified domain name of this host. It is announced in the SMTP greeting and
    /// EHLO reply (RFC 5321 §4.1.1.1) and written into Received headers; it should match the
    /// reverse DNS of the public address so that other servers trust it.
    pub hostname: String,
    /// Directory holding the spool, the mailboxes, the generated TLS certificate and, unless
    /// configured elsewhere, the users file and the event log. Created on start-up if missing.
    #[schemars(extend("format" = "path"))]
    pub data_dir: PathBuf,
    /// Domains whose mail is delivered into local mailboxes. Mail for any other domain is relayed
    /// only for authenticated users and clients in `lan_networks`.
    pub local_domains: Vec<String>,
    /// Networks (CIDR notation) whose clients may relay through an `mx` listener without
    /// authenticating. Keep this to networks you control: `0.0.0.0/0` makes an open relay.
    #[schemars(with = "Vec<Cidr>")]
    pub lan_networks: Vec<IpNet>,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            hostname: "localhost".to_owned(),
            data_dir: PathBuf::from("calm-data"),
            local_domains: vec!["localhost".to_owned(), "example.test".to_owned()],
            // 127.0.0.0/8 is the whole loopback range (RFC 1122 §3.2.1.3), not just .1.
            lan_networks: vec![
                IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8)),
                IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128)),
            ],
        }
    }
}

/// Schema stand-in for [`IpNet`], which does not implement `JsonSchema`: a string in CIDR
/// notation, so the generated manual can say so.
struct Cidr;

impl JsonSchema for Cidr {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({ "type": "string", "format": "cidr" })
    }
}

/// Each listener needs all three keys: `name`, `role` and `address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// A short unique name for this listener, used in logs and metrics.
    pub name: String,
    /// What the listener is for. The usual ports are 25 for `mx`, 587 for `submission`, 465
    /// for `submissions`, 110 for `pop3`, 995 for `pop3s`, 143 for `imap` and 993 for `imaps`.
    pub role: Role,
    /// IP address and port to listen on, for example `"0.0.0.0:25"` or `"[::]:587"`.
    #[schemars(extend("format" = "socket-address"))]
    pub address: SocketAddr,
}

impl Listener {
    /// The listener the built-in configuration has for `role`: loopback on a high port, so that
    /// a development server needs no privileges and is reachable only from this host.
    pub fn dev_default(role: Role) -> Self {
        let port = match role {
            Role::Mx => 2525,
            Role::Submission => 2587,
            Role::Submissions => 2465,
            Role::Pop3 => 1110,
            Role::Pop3s => 1995,
            Role::Imap => 1143,
            Role::Imaps => 1993,
        };
        Self {
            name: role.as_str().to_owned(),
            role,
            address: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)),
        }
    }
}

/// What a listener is for: which protocol it speaks, which extensions are offered and who may
/// relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Incoming mail from other servers (RFC 5321). No AUTH is offered; relaying only for
    /// `lan_networks`, and only local domains are accepted as recipients from anyone else.
    Mx,
    /// Message submission (RFC 6409): STARTTLS (RFC 3207) is required before AUTH.
    Submission,
    /// Message submission over implicit TLS (RFC 8314 §3.3).
    Submissions,
    /// Mailbox retrieval with POP3 (RFC 1939); STLS (RFC 2595) is required before login.
    Pop3,
    /// POP3 over implicit TLS (RFC 8314 §3.3).
    Pop3s,
    /// Mailbox access with IMAP4rev1/IMAP4rev2 (RFC 3501, RFC 9051); STARTTLS before login.
    Imap,
    /// IMAP over implicit TLS (RFC 8314 §3.3).
    Imaps,
}

impl Role {
    /// Every role, in the order the built-in listeners are listed.
    pub const ALL: [Role; 7] = [
        Role::Mx,
        Role::Submission,
        Role::Submissions,
        Role::Pop3,
        Role::Pop3s,
        Role::Imap,
        Role::Imaps,
    ];

    /// Whether the listener speaks SMTP (and so is subject to the staged policy).
    pub fn is_smtp(self) -> bool {
        matches!(self, Role::Mx | Role::Submission | Role::Submissions)
    }

    /// The name used in the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mx => "mx",
            Role::Submission => "submission",
            Role::Submissions => "submissions",
            Role::Pop3 => "pop3",
            Role::Pop3s => "pop3s",
            Role::Imap => "imap",
            Role::Imaps => "imaps",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The certificate offered by STARTTLS and implicit-TLS listeners. When neither `cert` nor `key`
/// is set, a self-signed certificate for `server.hostname` is generated in `<data_dir>/tls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Tls {
    /// PEM file with the certificate chain, leaf certificate first. Set together with `key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"/etc/calm/tls/fullchain.pem", extend("format" = "path"))]
    pub cert: Option<PathBuf>,
    /// PEM file with the private key of the certificate. Set together with `cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"/etc/calm/tls/privkey.pem", extend("format" = "path"))]
    pub key: Option<PathBuf>,
}

/// Where users, aliases and virtual addresses come from, and how addresses are matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Accounts {
    /// The users file: one user per line with a password hash. When unset, `<data_dir>/users`,
    /// which calm creates empty if it is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"users", extend("format" = "path"))]
    pub users_file: Option<PathBuf>,
    /// A Postfix-style aliases file (`name: target, target`). Unset means no aliases.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"aliases", extend("format" = "path"))]
    pub aliases_file: Option<PathBuf>,
    /// A Postfix-style virtual file (`address target`). Unset means no virtual addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"virtual", extend("format" = "path"))]
    pub virtual_file: Option<PathBuf>,
    /// The character that separates a user from a free-form tag, so that `alice+news@` reaches
    /// `alice@` (sub-addressing, RFC 5233). An empty string turns sub-addressing off.
    #[serde(with = "separator")]
    #[schemars(with = "String", length(max = 1))]
    pub subaddress_separator: Option<char>,
    /// Where mail goes for an unknown user of a local domain: domain to address. A domain
    /// without an entry rejects unknown users (550 5.1.1), which is the safe default.
    #[schemars(example = catch_all_example())]
    pub catch_all: BTreeMap<String, String>,
    /// Whether an authenticated user may only use their own addresses (and the aliases that
    /// lead to them) as envelope sender. Turning this off lets any user forge any sender.
    pub sender_must_own_address: bool,
    /// Per-user mailbox quota in bytes (all folders together); 0 means no limit. A recipient
    /// whose mailbox is full is answered `452 4.2.2` at RCPT, so the sender keeps the message
    /// and retries; mail already accepted is always delivered. A user's own limit in the users
    /// file overrides this one, in Dovecot's syntax as an extra field:
    /// `userdb_quota_rule=*:storage=512M` (units `B`, `K`, `M`, `G`, `T`, 1024-based; a bare
    /// number is kilobytes, as in Dovecot; `bytes=N` counts bytes), and `*:storage=0` means no
    /// limit for that user. IMAP clients see usage and limit through the QUOTA extension.
    pub quota_bytes: u64,
    /// Allow IMAP LOGIN and POP3 USER/PASS without TLS on listeners bound to a loopback address
    /// (for local webmail or tools). Everywhere else passwords are only accepted under TLS.
    pub plaintext_auth_on_loopback: bool,
}

fn catch_all_example() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "example.test".to_owned(),
        "postmaster@example.test".to_owned(),
    )])
}

impl Default for Accounts {
    fn default() -> Self {
        Self {
            users_file: None,
            aliases_file: None,
            virtual_file: None,
            subaddress_separator: Some('+'),
            catch_all: BTreeMap::new(),
            sender_must_own_address: true,
            quota_bytes: 0,
            plaintext_auth_on_loopback: false,
        }
    }
}

/// `Option<char>` as a string of zero or one character, because TOML has no null: `""` is
/// "no separator".
mod separator {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(value: &Option<char>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 4];
        s.serialize_str(value.map_or("", |c| c.encode_utf8(&mut buf)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<char>, D::Error> {
        let text = String::deserialize(d)?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (None, _) => Ok(None),
            (Some(c), None) => Ok(Some(c)),
            (Some(_), Some(_)) => Err(D::Error::custom(format!(
                "expected a single character or \"\", found {text:?}"
            ))),
        }
    }
}

/// Protocol limits that protect the server from clients, and clients from each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest message accepted, in bytes, announced with the SIZE extension (RFC 1870).
    pub max_message_size: u64,
    /// Most recipients accepted for one message. RFC 5321 §4.5.3.1.8 asks for at least 100.
    pub max_recipients: usize,
    /// Seconds to wait for the next command before closing the connection. RFC 5321 §4.5.3.2.7
    /// asks for at least 5 minutes.
    pub command_timeout_secs: u64,
    /// Seconds to wait for more message data during DATA before giving up on the message.
    pub data_timeout_secs: u64,
    /// Protocol errors (bad commands, bad sequence) tolerated on one connection before it is
    /// closed with 421.
    pub max_errors: u32,
    /// Failed AUTH attempts allowed on one connection before it is closed with 421.
    pub max_auth_failures: u32,
    /// Milliseconds an `mx` listener waits before sending its greeting; clients that talk before
    /// the greeting (a common spam-bot trait, RFC 5321 §4.3.1) are rejected. 0 turns this off.
    pub mx_greeting_delay_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            command_timeout_secs: 300,
            data_timeout_secs: 600,
            max_errors: 10,
            max_auth_failures: 3,
            mx_greeting_delay_ms: 300,
        }
    }
}

/// The staged policy: plain files of named rules, and the cases that must keep passing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// The policy file (rules per stage; see docs/policy.md). When unset, calm's built-in
    /// default policy is used: the same text as `policy/default.toml` in calm's source, which
    /// `calm policy show` prints.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"policy.toml", extend("format" = "path"))]
    pub file: Option<PathBuf>,
    /// A case file of known-good and known-bad sessions (`calm simulate --cases`). When set,
    /// `calm check` runs it too, and any case that fails is an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"policy-cases.toml", extend("format" = "path"))]
    pub cases: Option<PathBuf>,
    /// A candidate policy evaluated on live traffic beside the active one, acting on nothing:
    /// every verdict it would give differently is logged as a `shadow_diff` event, and
    /// `calm shadow report` summarises them. Unset means no shadow.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"policy-candidate.toml", extend("format" = "path"))]
    pub shadow: Option<PathBuf>,
    /// Look up the client's reverse DNS (PTR, forward-confirmed) at connect and whether the
    /// sender's domain resolves at MAIL, for the policy's DNS checks. Off, those checks are
    /// undecided and never fire. Uses `outbound.resolver`.
    pub dns_lookups: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            file: None,
            cases: None,
            shadow: None,
            dns_lookups: true,
        }
    }
}

/// Delivery to other servers: how MX hosts are found, per-domain routes (the mechanism for
/// a domain-by-domain cut-over from an old server), retries and bounces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Outbound {
    /// The DNS server to ask (`"IP:port"`). When unset, the system's `/etc/resolv.conf`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"127.0.0.1:53", extend("format" = "socket-address"))]
    pub resolver: Option<SocketAddr>,
    /// How long to wait for one DNS answer, in seconds, before asking again or giving up
    /// (a DNS failure defers the message; it never bounces it).
    pub dns_timeout_secs: u64,
    /// Port of remote SMTP servers when a route does not name one (RFC 5321: 25).
    pub port: u16,
    /// A transport map in Postfix `transport(5)` format: `domain  relay:[host]:port`,
    /// `domain  smtp:`, `domain  error:text`, and calm's `domain  disabled` (answered 450 at
    /// RCPT so senders retry). A local domain routed `relay:` is forwarded whole to that host,
    /// which is how one domain at a time moves between an old server and calm.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"routes", extend("format" = "path"))]
    pub routes_file: Option<PathBuf>,
    /// Send all remote mail through this host instead of the recipients' MX hosts
    /// (`"[host]:port"`, like Postfix `relayhost`). Routes still take precedence.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"[smarthost.example.net]:25")]
    pub relay_host: Option<String>,
    /// Credentials for relays that need SMTP AUTH: lines `NAME username password`, named by a
    /// route's `auth=NAME` option (e.g. `example.org relay:[smtp.isp.example]:587 auth=isp`).
    /// Keep the file mode 0600. AUTH is only ever sent after STARTTLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"relay-credentials", extend("format" = "path"))]
    pub relay_credentials: Option<PathBuf>,
    /// Seconds before the first retry of a deferred recipient; the delay doubles after each try.
    pub retry_initial_secs: u64,
    /// The longest wait between two tries, in seconds.
    pub retry_max_interval_secs: u64,
    /// How long, in seconds, a message may wait before a temporary failure becomes a bounce.
    pub max_lifetime_secs: u64,
    /// Send the sender a "delayed" notice once a message has waited this many seconds;
    /// 0 never does.
    pub warn_after_secs: u64,
    /// The most simultaneous connections to one destination.
    pub destination_concurrency: usize,
    /// The most messages sent over one connection before reconnecting.
    pub messages_per_connection: usize,
}

impl Default for Outbound {
    fn default() -> Self {
        Self {
            resolver: None,
            dns_timeout_secs: 5,
            port: 25,
            routes_file: None,
            relay_host: None,
            relay_credentials: None,
            retry_initial_secs: 300,
            retry_max_interval_secs: 4 * 3600,
            max_lifetime_secs: 5 * 86_400,
            warn_after_secs: 4 * 3600,
            destination_concurrency: 10,
            messages_per_connection: 100,
        }
    }
}

/// DKIM signing (RFC 6376) of mail submitted by authenticated users, with one key per sender
/// domain: `<keys_dir>/<domain>.<selector>.key` (PKCS#8 PEM; `calm dkim keygen DOMAIN` makes
/// one and prints the DNS record to publish). A domain without a key is sent unsigned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Dkim {
    /// The key directory. When unset, `<data_dir>/dkim`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"dkim", extend("format" = "path"))]
    pub keys_dir: Option<PathBuf>,
}

/// Content filtering at the DATA stage. It only produces facts (a spam score with every rule
/// that fired, GTUBE, the malware scan, SPF/DKIM/DMARC results); what happens to a message is
/// decided by the policy's `data` rules (tag, quarantine, or reject only for GTUBE and malware
/// in the built-in policy). Quarantined messages are kept in `<data_dir>/quarantine`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ContentFilter {
    /// Score the content at all.
    pub enabled: bool,
    /// The content rule file (header, body, URL and attachment-name rules with points). When
    /// unset, the built-in rules (`policy/content.toml` in calm's source).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"content.toml", extend("format" = "path"))]
    pub rules_file: Option<PathBuf>,
    /// The Bayesian classifier's token file, trained with `calm spam train`. When unset,
    /// `<data_dir>/bayes.tokens`; until it has enough training it adds nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"bayes.tokens", extend("format" = "path"))]
    pub bayes_file: Option<PathBuf>,
    /// The clamd to scan with: `"tcp:127.0.0.1:3310"` or `"unix:/run/clamav/clamd.ctl"`. Unset
    /// means no malware scanning. When clamd does not answer, the policy's
    /// `scanner_unavailable` rule decides (the built-in one tags: fail-open).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"tcp:127.0.0.1:3310")]
    pub clamd: Option<String>,
    /// Seconds to wait for clamd.
    pub clamd_timeout_secs: u64,
    /// Keep a Bayesian classifier per user as well, under `<data_dir>/bayes/`, trained by
    /// that user's reports (moves into and out of Junk, forwards to the report addresses). A
    /// message with a single recipient is scored by that user's classifier once it has enough
    /// training, else by the installation's (which every report trains too).
    pub per_user_bayes: bool,
    /// SpamAssassin's spamd, as an extra score source: `"tcp:127.0.0.1:783"` or
    /// `"unix:/run/spamd.sock"`. Unset means none. Its score is added to the content score as
    /// one line (`SPAMD`, naming the SpamAssassin rules that hit); messages over 512 KiB are
    /// not sent. When spamd does not answer, the policy's `spamd_unavailable` rule decides
    /// (the built-in one tags: fail-open).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"tcp:127.0.0.1:783")]
    pub spamd: Option<String>,
    /// Seconds to wait for spamd.
    pub spamd_timeout_secs: u64,
    /// Verify SPF, DKIM and DMARC (through `outbound.resolver`) and add an
    /// `Authentication-Results` header.
    pub authenticate: bool,
    /// The score at which `X-Spam-Status` says "Yes" (the policy decides what happens).
    pub tag_threshold: f64,
    /// An address (in a local domain) where users report a false positive: mail that was
    /// marked or quarantined as spam but is not. An authenticated user forwards the message to
    /// it, as an attachment or with its full headers; calm trains the classifier with it as
    /// ham and records a `false_positive` event naming the rule most to blame. The report is
    /// consumed, not delivered; anyone else is refused at RCPT. Unset: no such address.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"not-spam@example.org")]
    pub not_spam_address: Option<String>,
    /// The same for missed spam: a message forwarded here trains the classifier as spam and
    /// is recorded as a `false_negative` event.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"spam@example.org")]
    pub spam_address: Option<String>,
}

impl Default for ContentFilter {
    fn default() -> Self {
        Self {
            enabled: true,
            rules_file: None,
            bayes_file: None,
            clamd: None,
            clamd_timeout_secs: 30,
            per_user_bayes: false,
            spamd: None,
            spamd_timeout_secs: 30,
            authenticate: true,
            tag_threshold: 5.0,
            not_spam_address: None,
            spam_address: None,
        }
    }
}

/// The admin HTTP listener: Prometheus metrics (`/metrics`, derived from the event log, plus
/// queue age percentiles from a scan of the queue) and a health check (`/healthz`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Admin {
    /// Serve it at all.
    pub enabled: bool,
    /// Where to listen. Keep it on loopback or a management network: it needs no password.
    #[schemars(extend("format" = "socket-address"))]
    pub address: SocketAddr,
}

impl Default for Admin {
    fn default() -> Self {
        Self {
            enabled: true,
            address: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8025)),
        }
    }
}

/// Tuning of the durable spool that holds accepted mail until it is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Spool {
    /// Most messages made durable by one shared fsync. Larger batches raise throughput under
    /// load; a message is never acknowledged before its batch is on disk.
    pub group_commit_max_batch: usize,
}

impl Default for Spool {
    fn default() -> Self {
        Self {
            group_commit_max_batch: 256,
        }
    }
}

/// Logging: the structured event log and the diagnostic log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// The event log: one JSON object per line for every connection, verdict, delivery attempt,
    /// bounce and auth failure. When unset, `<data_dir>/events.jsonl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"/var/log/calm/events.jsonl", extend("format" = "path"))]
    pub event_log: Option<PathBuf>,
    /// Verbosity of the diagnostic log on standard error: `error`, `warn`, `info`, `debug` or
    /// `trace`, or a filter such as `info,calm_smtp_server=debug`.
    pub level: String,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            event_log: None,
            level: "info".to_owned(),
        }
    }
}
