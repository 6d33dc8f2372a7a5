//! The built-in checks a rule's conditions are made of: what each needs, when its data
//! exists, and how it is evaluated against the [`Facts`].
//!
//! Evaluation is three-valued: a check holds, fails, or is *unknown* because a fact it needs
//! is missing (not looked up, or not yet known at this stage). A rule fires only when all its
//! conditions hold, so an unknown fact never rejects mail; the trace records it.

mod parse;

use std::sync::Arc;
use std::time::Duration;

#[cfg(test)]
pub(crate) use parse::CHECK_NAMES;
pub(crate) use parse::{Names, parse_condition};

use crate::access::{AccessMap, Entry};
use crate::context::Context;
use crate::dnsbl::{self, DnsList, DnsblTarget, Listing};
use crate::facts::{Facts, RcptStatus, Rdns, Role, Sender, Tables};
use crate::helo::{self, Helo};
use crate::limiter::{Counter, Key, Limiter, Per};
use crate::lists::NetList;
use crate::stage::{Stage, Timestamp};
use crate::trace::FactUse;
use crate::verdicts::{AuthResult, DmarcPolicy, Scan};

/// One condition of a rule: a check, possibly negated, with its source text.
#[derive(Clone, Debug)]
pub(crate) struct Cond {
    pub(crate) check: Check,
    pub(crate) negate: bool,
    /// As written, for traces and warnings.
    pub(crate) text: Arc<str>,
}

/// `> N` or `>= N`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cmp {
    pub(crate) or_equal: bool,
    pub(crate) limit: f64,
}

impl Cmp {
    pub(crate) fn holds(self, x: f64) -> bool {
        if self.or_equal {
            x >= self.limit
        } else {
            x > self.limit
        }
    }
}

/// A counted quantity: events in a sliding window, or open connections (`window: None`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rate {
    pub(crate) counter: Counter,
    pub(crate) per: Per,
    pub(crate) cmp: Cmp,
    pub(crate) window: Option<Duration>,
}

/// Which key an access map is searched by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Client,
    Helo,
    Sender,
    SenderDomain,
    Rcpt,
}

/// A built-in check. List and map arguments are indices into the policy's tables.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Check {
    ClientIn(usize),
    Listener(Role),
    Tls,
    Authenticated,
    PtrMissing,
    FcrdnsFail,
    HeloInvalid,
    HeloNotFqdn,
    HeloIsOurs,
    HeloLiteralMismatch,
    Rate(Rate),
    SenderNull,
    SenderDomainUnresolvable,
    SenderDomainLocal,
    SenderNotOwned,
    MessageSize(Cmp),
    RcptKnown,
    RcptUnknown(Tables),
    RcptTablesIncomplete(Tables),
    RcptRemote,
    RcptLookupFailed,
    RcptIn(usize),
    Access(Lookup, usize),
    Header {
        name: Box<str>,
        contains: Option<Box<str>>,
    },
    Score(Cmp),
    SpamScore(Cmp),
    Gtube,
    /// Infected; with a text, only when the signature name contains it.
    Malware(Option<Box<str>>),
    ScannerUnavailable,
    SpamdUnavailable,
    /// The method's result is one of these.
    Auth(AuthMethod, Box<[AuthResult]>),
    DmarcPolicy(DmarcPolicy),
    /// `dnsbl NAME` / `dnswl NAME`: the list (an index into the policy's DNS lists, whose
    /// kind the parser checked) lists the session's target.
    DnsList {
        id: usize,
        target: DnsblTarget,
    },
    /// `dnsbl_score > N`: listed block lists' weights minus listed allow lists' weights.
    DnsblScore(Cmp),
}

/// A sender authentication method whose result is a fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    Spf,
    Dkim,
    Dmarc,
    Arc,
}

impl AuthMethod {
    pub(crate) fn name(self) -> &'static str {
        match self {
            AuthMethod::Spf => "spf",
            AuthMethod::Dkim => "dkim",
            AuthMethod::Dmarc => "dmarc",
            AuthMethod::Arc => "arc",
        }
    }

    fn result(self, f: &Facts<'_>) -> Option<AuthResult> {
        match self {
            AuthMethod::Spf => f.spf,
            AuthMethod::Dkim => f.dkim,
            AuthMethod::Dmarc => f.dmarc,
            AuthMethod::Arc => f.arc,
        }
    }
}

/// When a check's data exists: from stage `from` on, or only at `from` when `only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) from: Stage,
    pub(crate) only: bool,
    pub(crate) what: &'static str,
}

impl Needs {
    pub(crate) fn available_at(self, stage: Stage) -> bool {
        if self.only {
            stage == self.from
        } else {
            stage >= self.from
        }
    }
}

const fn needs(from: Stage, only: bool, what: &'static str) -> Needs {
    Needs { from, only, what }
}

/// The policy data a check may refer to.
pub(crate) struct PolicyData<'p> {
    pub(crate) lists: &'p [NetList],
    pub(crate) maps: &'p [AccessMap],
    pub(crate) dns_lists: &'p [DnsList],
    pub(crate) ctx: &'p Context,
}

/// Everything evaluation reads.
pub(crate) struct Env<'e, 'a> {
    pub(crate) facts: &'e Facts<'a>,
    pub(crate) limiter: &'e Limiter,
    pub(crate) now: Timestamp,
    pub(crate) score: f64,
    pub(crate) data: PolicyData<'e>,
}

/// The result of one check.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tri<'e> {
    /// Holds; for access maps, the entry that matched.
    Yes(Option<&'e Entry>),
    No,
    /// A fact it needs is missing.
    Unknown(&'static str),
}

fn tri<'e>(b: bool) -> Tri<'e> {
    if b { Tri::Yes(None) } else { Tri::No }
}

const NO_RDNS: &str = "reverse DNS was not looked up";
const NO_HELO: &str = "no HELO/EHLO yet";
const NO_SENDER: &str = "no MAIL FROM yet";
const NO_RCPT: &str = "no recipient at this point";
const NO_MESSAGE: &str = "the message is not known yet";
const NO_SIZE: &str = "the message size is not known";
const NO_DNS: &str = "the sender domain was not looked up";
const NO_OWNER: &str = "sender ownership was not checked";
const NO_SCORE: &str = "the message was not scored";
const NO_SCAN: &str = "the message was not scanned for malware";
const NO_SPAMD: &str = "spamd was not asked about the message";
const NO_AUTH: &str = "sender authentication was not checked";
const NO_DNSBL: &str = "no DNS list was looked up";
const NO_DMARC_POLICY: &str = "the From domain publishes no DMARC policy (or it was not looked up)";
pub(crate) const TABLES_MISSING: &str =
    "the directory had not loaded every recipient table this check requires";

impl Check {
    /// When this check's data exists.
    pub(crate) fn needs(&self) -> Needs {
        use Stage::*;
        match self {
            Check::ClientIn(_)
            | Check::Listener(_)
            | Check::Tls
            | Check::PtrMissing
            | Check::FcrdnsFail
            | Check::Score(_)
            | Check::DnsblScore(_)
            | Check::DnsList {
                target: DnsblTarget::Client,
                ..
            } => needs(Connect, false, "the connection"),
            Check::DnsList {
                target: DnsblTarget::Helo,
                ..
            } => needs(Helo, false, "the HELO/EHLO name"),
            Check::DnsList {
                target: DnsblTarget::SenderDomain,
                ..
            } => needs(Mail, false, "the sender (MAIL FROM)"),
            Check::Access(Lookup::Client, _) => needs(Connect, false, "the connection"),
            Check::Rate(r) => match r.counter {
                Counter::Connections | Counter::AuthFailures => {
                    needs(Connect, false, "the connection")
                }
                Counter::Messages => needs(Mail, false, "the sender (MAIL FROM)"),
                Counter::Recipients => needs(Rcpt, false, "a recipient (RCPT TO)"),
            },
            Check::HeloInvalid
            | Check::HeloNotFqdn
            | Check::HeloIsOurs
            | Check::HeloLiteralMismatch
            | Check::Access(Lookup::Helo, _) => needs(Helo, false, "the HELO/EHLO name"),
            // RFC 4954 §4: AUTH comes after EHLO and before MAIL.
            Check::Authenticated => needs(Mail, false, "authentication (AUTH comes after EHLO)"),
            Check::SenderNull
            | Check::SenderDomainUnresolvable
            | Check::SenderDomainLocal
            | Check::SenderNotOwned
            | Check::MessageSize(_)
            | Check::Access(Lookup::Sender | Lookup::SenderDomain, _) => {
                needs(Mail, false, "the sender (MAIL FROM)")
            }
            Check::RcptKnown
            | Check::RcptUnknown(_)
            | Check::RcptTablesIncomplete(_)
            | Check::RcptRemote
            | Check::RcptLookupFailed
            | Check::RcptIn(_)
            | Check::Access(Lookup::Rcpt, _) => needs(Rcpt, true, "the recipient (RCPT TO)"),
            Check::Header { .. }
            | Check::SpamScore(_)
            | Check::Gtube
            | Check::Malware(_)
            | Check::ScannerUnavailable
            | Check::SpamdUnavailable
            | Check::DmarcPolicy(_)
            | Check::Auth(AuthMethod::Dkim | AuthMethod::Dmarc | AuthMethod::Arc, _) => {
                needs(Data, true, "the message content (DATA)")
            }
            // RFC 7208 §2.4: the MAIL FROM identity is checked once MAIL FROM is given.
            Check::Auth(AuthMethod::Spf, _) => needs(Mail, false, "the sender (MAIL FROM)"),
        }
    }

    /// Whether the check is one of recipient validation (users, aliases, virtual).
    pub(crate) fn validation_tables(&self) -> Option<Tables> {
        match self {
            Check::RcptUnknown(t) | Check::RcptTablesIncomplete(t) => Some(*t),
            _ => None,
        }
    }

    /// Evaluates the check.
    pub(crate) fn eval<'e>(&self, env: &Env<'e, '_>) -> Tri<'e> {
        let f = env.facts;
        match self {
            Check::ClientIn(id) => tri(env
                .data
                .lists
                .get(*id)
                .is_some_and(|l| l.contains(f.client))),
            Check::Listener(role) => tri(f.listener == *role),
            Check::Tls => tri(f.tls),
            Check::Authenticated => tri(f.auth_user.is_some()),
            Check::PtrMissing => match f.rdns {
                None => Tri::Unknown(NO_RDNS),
                Some(r) => tri(r == Rdns::Missing),
            },
            Check::FcrdnsFail => match f.rdns {
                None => Tri::Unknown(NO_RDNS),
                Some(r) => tri(!matches!(r, Rdns::Confirmed(_))),
            },
            Check::HeloInvalid
            | Check::HeloNotFqdn
            | Check::HeloIsOurs
            | Check::HeloLiteralMismatch => self.eval_helo(env),
            Check::Rate(rate) => eval_rate(rate, env),
            Check::SenderNull
            | Check::SenderDomainUnresolvable
            | Check::SenderDomainLocal
            | Check::SenderNotOwned => self.eval_sender(env),
            Check::MessageSize(cmp) => match f.message_size() {
                None => Tri::Unknown(NO_SIZE),
                Some(n) => tri(cmp.holds(n as f64)),
            },
            Check::RcptKnown
            | Check::RcptUnknown(_)
            | Check::RcptTablesIncomplete(_)
            | Check::RcptRemote
            | Check::RcptLookupFailed => self.eval_rcpt(env),
            Check::RcptIn(id) => match f.rcpt {
                None => Tri::Unknown(NO_RCPT),
                Some(r) => tri(env
                    .data
                    .maps
                    .get(*id)
                    .and_then(|m| m.lookup_address(r.address))
                    .is_some_and(|e| !e.is_dunno())),
            },
            Check::Access(lookup, id) => eval_access(*lookup, *id, env),
            Check::Header { name, contains } => match f.message {
                None => Tri::Unknown(NO_MESSAGE),
                Some(m) => tri(header_matches(m, name, contains.as_deref())),
            },
            Check::Score(cmp) => tri(cmp.holds(env.score)),
            Check::DnsList { id, .. } => match env.data.dns_lists.get(*id).map(|l| l.listing(f)) {
                None | Some(Listing::NotListed) => Tri::No,
                Some(Listing::Listed) => Tri::Yes(None),
                Some(Listing::Undecided(why)) => Tri::Unknown(why),
            },
            Check::DnsblScore(cmp) => dnsbl::score(env.data.dns_lists, f)
                .map_or(Tri::Unknown(NO_DNSBL), |s| tri(cmp.holds(s))),
            Check::SpamScore(_)
            | Check::Gtube
            | Check::Malware(_)
            | Check::ScannerUnavailable
            | Check::SpamdUnavailable
            | Check::Auth(..)
            | Check::DmarcPolicy(_) => self.eval_content(f),
        }
    }

    fn eval_content<'e>(&self, f: &Facts<'_>) -> Tri<'e> {
        match self {
            Check::SpamScore(cmp) => f
                .spam_score
                .map_or(Tri::Unknown(NO_SCORE), |s| tri(cmp.holds(s))),
            Check::Gtube => f.gtube.map_or(Tri::Unknown(NO_SCORE), tri),
            Check::Malware(name) => match f.scan {
                None => Tri::Unknown(NO_SCAN),
                Some(Scan::Infected(sig)) => tri(name
                    .as_deref()
                    .is_none_or(|n| contains_ignore_case(sig.as_bytes(), n.as_bytes()))),
                Some(_) => Tri::No,
            },
            Check::ScannerUnavailable => match f.scan {
                None => Tri::Unknown(NO_SCAN),
                Some(s) => tri(matches!(s, Scan::Unavailable(_))),
            },
            Check::SpamdUnavailable => f.spamd_unavailable.map_or(Tri::Unknown(NO_SPAMD), tri),
            Check::Auth(method, results) => match method.result(f) {
                None => Tri::Unknown(NO_AUTH),
                Some(r) => tri(results.contains(&r)),
            },
            Check::DmarcPolicy(p) => f
                .dmarc_policy
                .map_or(Tri::Unknown(NO_DMARC_POLICY), |have| tri(have == *p)),
            _ => Tri::No,
        }
    }

    fn eval_helo<'e>(&self, env: &Env<'e, '_>) -> Tri<'e> {
        let Some(h) = env.facts.helo else {
            return Tri::Unknown(NO_HELO);
        };
        tri(match self {
            Check::HeloInvalid => helo::classify(h) == Helo::Invalid,
            Check::HeloNotFqdn => {
                matches!(
                    helo::classify(h),
                    Helo::Invalid | Helo::Domain { fqdn: false }
                )
            }
            Check::HeloIsOurs => {
                helo::is_ours(h, &env.data.ctx.hostname, &env.data.ctx.local_domains)
            }
            _ => helo::literal_mismatch(h, env.facts.client),
        })
    }

    fn eval_sender<'e>(&self, env: &Env<'e, '_>) -> Tri<'e> {
        let f = env.facts;
        let Some(sender) = f.sender else {
            return Tri::Unknown(NO_SENDER);
        };
        let domain = f.sender_domain();
        match self {
            Check::SenderNull => tri(sender == Sender::Null),
            Check::SenderDomainLocal => {
                tri(domain.is_some_and(|d| env.data.ctx.is_local_domain(d)))
            }
            Check::SenderDomainUnresolvable => match (domain, f.sender_domain_resolves) {
                (None, _) => Tri::No,
                (Some(_), None) => Tri::Unknown(NO_DNS),
                (Some(_), Some(resolves)) => tri(!resolves),
            },
            _ => match (f.auth_user, sender, f.sender_owned) {
                (None, _, _) | (_, Sender::Null, _) => Tri::No,
                (Some(_), _, None) => Tri::Unknown(NO_OWNER),
                (Some(_), _, Some(owned)) => tri(!owned),
            },
        }
    }

    fn eval_rcpt<'e>(&self, env: &Env<'e, '_>) -> Tri<'e> {
        let Some(r) = env.facts.rcpt else {
            return Tri::Unknown(NO_RCPT);
        };
        let complete = |required: &Tables| r.tables.contains(*required);
        match (self, r.status) {
            (Check::RcptKnown, s) => tri(s == RcptStatus::Known),
            (Check::RcptRemote, s) => tri(s == RcptStatus::Remote),
            (Check::RcptLookupFailed, s) => tri(matches!(s, RcptStatus::Failed(_))),
            // The seed incident: "unknown" is only conclusive when every table that could
            // know the address was loaded; otherwise the check is unknown and never rejects.
            (Check::RcptUnknown(t), RcptStatus::Unknown) if complete(t) => Tri::Yes(None),
            (Check::RcptUnknown(_), RcptStatus::Unknown) => Tri::Unknown(TABLES_MISSING),
            (Check::RcptTablesIncomplete(t), RcptStatus::Unknown) => tri(!complete(t)),
            _ => Tri::No,
        }
    }

    /// The facts this check read, for the trace of a rule that fired.
    pub(crate) fn facts_used(
        &self,
        env: &Env<'_, '_>,
        hit: Option<&Entry>,
        out: &mut Vec<FactUse>,
    ) {
        let f = env.facts;
        if let Check::DnsList { id, .. } = self {
            dns_list_used(env.data.dns_lists.get(*id), f, out);
        }
        let mut put = |name: &'static str, value: String| {
            if !out.iter().any(|u| u.name == name) {
                out.push(FactUse { name, value });
            }
        };
        match self {
            Check::Rate(r) => put("count", rate_value(r, env).to_string()),
            Check::Score(_) => put("score", format!("{:.1}", env.score)),
            Check::SpamScore(_) | Check::Gtube => put(
                "spam_score",
                f.spam_score.map_or("?".into(), |s| format!("{s:.1}")),
            ),
            Check::Malware(_) | Check::ScannerUnavailable => {
                put("scan", f.scan.map_or("?".into(), |s| s.to_string()));
            }
            Check::SpamdUnavailable => put(
                "spamd",
                match f.spamd_unavailable {
                    None => "?",
                    Some(true) => "unavailable",
                    Some(false) => "answered",
                }
                .to_string(),
            ),
            Check::Auth(m, _) => put(
                m.name(),
                m.result(f).map_or("?", AuthResult::as_str).to_string(),
            ),
            Check::DmarcPolicy(_) => put(
                "dmarc_policy",
                f.dmarc_policy.map_or("?", DmarcPolicy::as_str).to_string(),
            ),
            Check::DnsblScore(_) => put("dnsbl_score", dnsbl_score_text(env)),
            Check::Listener(_) => put("listener", f.listener.to_string()),
            Check::Tls => put("tls", f.tls.to_string()),
            Check::Authenticated => put("user", f.auth_user.unwrap_or("none").to_string()),
            Check::PtrMissing | Check::FcrdnsFail => put("ptr", rdns_text(f.rdns)),
            Check::MessageSize(_) | Check::Header { .. } => {
                put(
                    "size",
                    f.message_size().map_or("?".into(), |n| n.to_string()),
                );
            }
            Check::SenderDomainUnresolvable => {
                put("sender", sender_text(f));
                put(
                    "sender_domain_resolves",
                    format!("{:?}", f.sender_domain_resolves),
                );
            }
            Check::SenderNotOwned => {
                put("sender", sender_text(f));
                put("user", f.auth_user.unwrap_or("none").to_string());
            }
            _ => match self.needs().from {
                Stage::Connect | Stage::Data => put("client", f.client_ip().to_string()),
                Stage::Helo => put("helo", f.helo.unwrap_or("").to_string()),
                Stage::Mail => put("sender", sender_text(f)),
                Stage::Rcpt => {
                    if let Some(r) = f.rcpt {
                        put("rcpt", r.address.to_string());
                        put("resolution", r.status.as_str().to_string());
                        if self.validation_tables().is_some() {
                            put("tables", r.tables.to_string());
                        }
                    }
                }
            },
        }
        if let Some(e) = hit {
            put("entry", format!("line {}: {} {}", e.line, e.key, e.value));
        }
    }
}

/// Every list a rule's `dnsbl`/`dnswl` conditions read, in one `dnsbl` fact.
fn dns_list_used(list: Option<&DnsList>, f: &Facts<'_>, out: &mut Vec<FactUse>) {
    let Some(text) = list.map(|l| l.describe(f)) else {
        return;
    };
    match out.iter_mut().find(|u| u.name == "dnsbl") {
        Some(u) if u.value.split(", ").any(|v| v == text) => {}
        Some(u) => {
            u.value.push_str(", ");
            u.value.push_str(&text);
        }
        None => out.push(FactUse {
            name: "dnsbl",
            value: text,
        }),
    }
}

/// `3.0 (zen=127.0.0.2, wl=not listed)`: the score and every answered list.
fn dnsbl_score_text(env: &Env<'_, '_>) -> String {
    let f = env.facts;
    let score = dnsbl::score(env.data.dns_lists, f).map_or("?".into(), |s| format!("{s:.1}"));
    let answered: Vec<String> = env
        .data
        .dns_lists
        .iter()
        .filter(|l| f.dnsbl.is_some_and(|a| a.iter().any(|a| a.name == l.name)))
        .map(|l| l.describe(f))
        .collect();
    format!("{score} ({})", answered.join(", "))
}

fn sender_text(f: &Facts<'_>) -> String {
    f.sender.map_or(String::new(), |s| s.to_string())
}

fn rdns_text(rdns: Option<Rdns<'_>>) -> String {
    match rdns {
        None => "not looked up".into(),
        Some(Rdns::Missing) => "none".into(),
        Some(Rdns::Unconfirmed(n)) => format!("{n} (not forward-confirmed)"),
        Some(Rdns::Confirmed(n)) => format!("{n} (forward-confirmed)"),
    }
}

fn rate_key<'a>(per: Per, f: &Facts<'a>) -> Result<Key<'a>, Tri<'static>> {
    match per {
        Per::Ip => Ok(Key::Ip(f.client)),
        Per::Net => Ok(Key::Net(f.client)),
        Per::Sender => f.sender.map(Key::Sender).ok_or(Tri::Unknown(NO_SENDER)),
        // Not authenticated: there is no user to count for, so a per-user limit cannot hold.
        Per::User => f.auth_user.map(Key::User).ok_or(Tri::No),
    }
}

fn rate_value(r: &Rate, env: &Env<'_, '_>) -> u64 {
    match rate_key(r.per, env.facts) {
        Err(_) => 0,
        Ok(key) => match r.window {
            None => env.limiter.open(key),
            Some(w) => env.limiter.count(r.counter, key, w, env.now),
        },
    }
}

fn eval_rate<'e>(r: &Rate, env: &Env<'e, '_>) -> Tri<'e> {
    match rate_key(r.per, env.facts) {
        Err(t) => t,
        Ok(_) => tri(r.cmp.holds(rate_value(r, env) as f64)),
    }
}

fn eval_access<'e>(lookup: Lookup, id: usize, env: &Env<'e, '_>) -> Tri<'e> {
    let f = env.facts;
    let Some(map) = env.data.maps.get(id) else {
        return Tri::No;
    };
    let entry = match lookup {
        Lookup::Client => {
            let host = match f.rdns {
                Some(Rdns::Confirmed(n)) => Some(n),
                _ => None,
            };
            map.lookup_client(f.client, host)
        }
        Lookup::Helo => match f.helo {
            None => return Tri::Unknown(NO_HELO),
            Some(h) => map.lookup_domain(h),
        },
        Lookup::Sender => match f.sender {
            None => return Tri::Unknown(NO_SENDER),
            Some(Sender::Null) => map.lookup_address("<>"),
            Some(Sender::Address(a)) => map.lookup_address(a),
        },
        Lookup::SenderDomain => match f.sender {
            None => return Tri::Unknown(NO_SENDER),
            Some(_) => f.sender_domain().and_then(|d| map.lookup_domain(d)),
        },
        Lookup::Rcpt => match f.rcpt {
            None => return Tri::Unknown(NO_RCPT),
            Some(r) => map.lookup_address(r.address),
        },
    };
    match entry {
        Some(e) if !e.is_dunno() => Tri::Yes(Some(e)),
        _ => Tri::No,
    }
}

/// Whether the message header has a field `name` (case-insensitive) whose unfolded value
/// contains `needle` (ASCII case-insensitive), or exists at all when `needle` is `None`.
/// Only the header section is read (RFC 5322 §2.1: it ends at the first empty line).
pub(crate) fn header_matches(message: &[u8], name: &str, needle: Option<&str>) -> bool {
    let mut current: Option<Vec<u8>> = None;
    let check = |value: &[u8]| match needle {
        None => true,
        Some(n) => contains_ignore_case(value, n.as_bytes()),
    };
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            // RFC 5322 §2.2.3: a folded continuation of the previous field.
            if let Some(v) = current.as_mut() {
                v.extend_from_slice(line);
            }
            continue;
        }
        if current.take().is_some_and(|v| check(&v)) {
            return true;
        }
        if line.is_empty() {
            return false;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let (field, value) = line.split_at(colon);
            if field.trim_ascii().eq_ignore_ascii_case(name.as_bytes()) {
                current = Some(value.get(1..).unwrap_or_default().to_vec());
            }
        }
    }
    current.is_some_and(|v| check(&v))
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests;
