//! `calm simulate`: a case file of known-good and known-bad sessions, run offline through a
//! policy with a fixed clock, each case checked against its expected outcome.

mod diff;
mod raw;
mod report;
mod run;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use calm_smtp_proto::EnhancedCode;

pub use diff::{Change, DiffReport, diff};
pub use report::{CaseResult, Outcome, Report, StageRun};
pub use run::{simulate, simulate_with};

use crate::access::MAX_MAP_BYTES;
use crate::dnsbl::DnsblAnswer;
use crate::error::{Lines, PolicyError, Problem};
use crate::facts::{Role, Tables};
use crate::load::ReadFile;
use crate::stage::Stage;
use crate::verdicts::{AuthResult, ContentFacts, DmarcPolicy, MalwareScan};
use raw::{Ptr, RawCase, RawCases, RawDnsblAnswer, RawPrior, RawRcpt};

/// A loaded case file.
#[derive(Clone, Debug)]
pub struct Cases {
    path: PathBuf,
    display: String,
    directory: Directory,
    cases: Vec<Case>,
}

/// The simulated accounts directory.
#[derive(Clone, Debug, Default)]
struct Directory {
    users: Vec<String>,
    aliases: Vec<String>,
    virtual_map: Vec<String>,
    tables: Option<Tables>,
}

/// One case, validated.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) client: IpAddr,
    pub(crate) listener: Role,
    pub(crate) tls: bool,
    pub(crate) ptr: Option<Vec<String>>,
    pub(crate) helo: Option<String>,
    pub(crate) auth: Option<String>,
    /// `None`: no MAIL FROM; `Some(None)`: the null sender.
    pub(crate) from: Option<Option<String>>,
    pub(crate) sender_owned: Option<bool>,
    pub(crate) sender_domain_resolves: Option<bool>,
    pub(crate) size: Option<u64>,
    pub(crate) rcpts: Vec<CaseRcpt>,
    pub(crate) tables: Option<Tables>,
    pub(crate) message: Option<Vec<u8>>,
    pub(crate) dns: Option<BTreeMap<String, Vec<String>>>,
    pub(crate) prior: RawPrior,
    pub(crate) expect: Option<Expect>,
    pub(crate) stages: Vec<(Stage, Expect)>,
    pub(crate) fired: Vec<String>,
    pub(crate) not_fired: Vec<String>,
    /// Content and authentication facts the case states (they win over a scorer's).
    pub(crate) content: ContentFacts,
    /// The spam score must be in this range (inclusive).
    pub(crate) expect_score: Option<(f64, f64)>,
    /// Fixed DNS list answers; lists of the policy not named here are not listed.
    pub(crate) dnsbl: Option<Vec<DnsblAnswer>>,
}

/// A recipient of a case.
#[derive(Clone, Debug)]
pub(crate) struct CaseRcpt {
    pub(crate) address: String,
    /// Explicit resolution; `None` means ask the simulated directory.
    pub(crate) status: Option<SimStatus>,
    pub(crate) expect: Option<Expect>,
}

/// An owned recipient status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SimStatus {
    Known,
    Unknown,
    Remote,
    Failed(String),
}

/// An expected verdict: `accept`, `pass`, `quarantine`, or `reject`/`defer` with an optional
/// code and enhanced code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expect {
    pub(crate) word: &'static str,
    pub(crate) code: Option<u16>,
    pub(crate) enhanced: Option<EnhancedCode>,
}

impl Expect {
    fn parse(text: &str) -> Result<Expect, String> {
        let mut words = text.split_whitespace();
        let word = match words.next().unwrap_or("") {
            "accept" => "accept",
            "pass" => "pass",
            "quarantine" => "quarantine",
            "reject" => "reject",
            "defer" => "defer",
            w => {
                return Err(format!(
                    "unknown expectation `{w}`; use accept, pass, quarantine, reject [CODE [X.Y.Z]] or defer [CODE [X.Y.Z]]"
                ));
            }
        };
        let code = words
            .next()
            .map(|c| {
                c.parse::<u16>()
                    .map_err(|_| format!("bad reply code `{c}`"))
            })
            .transpose()?;
        let enhanced = words
            .next()
            .map(|e| EnhancedCode::parse(e).ok_or(format!("bad enhanced code `{e}`")))
            .transpose()?;
        if words.next().is_some() || (code.is_some() && !matches!(word, "reject" | "defer")) {
            return Err(format!(
                "expectation `{text}`: only reject and defer take a code"
            ));
        }
        Ok(Expect {
            word,
            code,
            enhanced,
        })
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word)?;
        if let Some(c) = self.code {
            write!(f, " {c}")?;
        }
        if let Some(e) = self.enhanced {
            write!(f, " {e}")?;
        }
        Ok(())
    }
}

impl Cases {
    /// Reads a case file; message files are relative to its directory.
    pub fn load(path: &Path) -> Result<Cases, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Cases::from_text(path, &text, &mut |p: &Path| {
            let len = std::fs::metadata(p)?.len();
            if len > MAX_MAP_BYTES as u64 {
                return Err(std::io::Error::other("message file too large"));
            }
            std::fs::read(p)
        })
    }

    /// Parses `text` as if read from `path`; `read` reads message files.
    pub fn from_text(
        path: &Path,
        text: &str,
        read: &mut ReadFile<'_>,
    ) -> Result<Cases, PolicyError> {
        let lines = Lines::new(text);
        let invalid = |problems| PolicyError::Invalid { problems };
        let raw: RawCases = toml::from_str(text).map_err(|e| {
            invalid(vec![Problem::new(
                path,
                e.span().map(|s| lines.line(s.start)),
                e.message(),
            )])
        })?;
        let base = path.parent().unwrap_or(Path::new("")).to_owned();
        let mut problems = Vec::new();
        let directory = directory(path, &raw, &mut problems);
        let defaults = raw
            .defaults
            .as_ref()
            .map(|d| d.get_ref().clone())
            .unwrap_or_default();
        let mut names = std::collections::HashSet::new();
        let mut cases = Vec::new();
        for spanned in &raw.cases {
            let line = lines.line(spanned.span().start);
            let case = spanned.get_ref().clone().or(&defaults);
            let mut err = |m: String| problems.push(Problem::new(path, Some(line), m));
            match build_case(case, line, &base, read) {
                Ok(c) if !names.insert(c.name.clone()) => {
                    err(format!("case name `{}` is used twice", c.name))
                }
                Ok(c) => cases.push(c),
                Err(m) => err(m),
            }
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let display = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Cases {
            path: path.to_owned(),
            display,
            directory,
            cases,
        })
    }

    /// The case file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of cases.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// No cases at all.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// The names of the cases, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.cases.iter().map(|c| c.name.as_str())
    }
}

fn parse_tables(names: &[String]) -> Result<Tables, String> {
    names.iter().try_fold(Tables::NONE, |acc, n| {
        Tables::parse(n)
            .map(|t| acc.union(t))
            .ok_or_else(|| format!("unknown table `{n}`; tables: users, aliases, virtual"))
    })
}

fn directory(path: &Path, raw: &RawCases, problems: &mut Vec<Problem>) -> Directory {
    let lower = |v: &[String]| v.iter().map(|s| s.to_ascii_lowercase()).collect();
    let d = &raw.directory;
    let tables = match d.tables.as_deref().map(parse_tables).transpose() {
        Ok(t) => t,
        Err(m) => {
            problems.push(Problem::new(path, None, format!("[directory]: {m}")));
            None
        }
    };
    Directory {
        users: lower(&d.users),
        aliases: lower(&d.aliases),
        virtual_map: lower(&d.virtual_map),
        tables,
    }
}

fn build_case(
    raw: RawCase,
    line: usize,
    base: &Path,
    read: &mut ReadFile<'_>,
) -> Result<Case, String> {
    let name = raw.name.clone().ok_or("a case needs a `name`")?;
    case_fields(raw, line, base, read).map_err(|m| format!("case `{name}`: {m}"))
}

fn case_fields(
    raw: RawCase,
    line: usize,
    base: &Path,
    read: &mut ReadFile<'_>,
) -> Result<Case, String> {
    let client = raw.client.as_deref().ok_or("needs a `client` address")?;
    let client: IpAddr = client
        .parse()
        .map_err(|_| format!("`{client}` is not an IP address"))?;
    let role = raw.listener.as_deref().unwrap_or("mx");
    let listener = Role::ALL
        .into_iter()
        .filter(|r| r.is_smtp())
        .find(|r| r.as_str() == role)
        .ok_or_else(|| format!("unknown listener role `{role}`"))?;
    let message = case_message(&raw, base, read)?;
    let rcpts = raw.to.clone().unwrap_or_default();
    let rcpts = rcpts.into_iter().map(rcpt).collect::<Result<Vec<_>, _>>()?;
    let parse_expect = |e: Option<&str>| e.map(Expect::parse).transpose();
    let content = case_content(&raw)?;
    let dnsbl = case_dnsbl(&raw)?;
    Ok(Case {
        dnsbl,
        name: raw.name.clone().unwrap_or_default(),
        line,
        client,
        listener,
        tls: raw.tls.unwrap_or(false),
        ptr: raw.ptr.clone().map(|p| match p {
            Ptr::One(s) if s.is_empty() => Vec::new(),
            Ptr::One(s) => vec![s],
            Ptr::Many(v) => v,
        }),
        from: raw
            .from
            .clone()
            .map(|f| (!f.is_empty() && f != "<>").then_some(f)),
        rcpts,
        tables: raw.tables.as_deref().map(parse_tables).transpose()?,
        message,
        dns: raw.dns.clone().map(|d| {
            d.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect()
        }),
        prior: raw.prior.unwrap_or_default(),
        expect: parse_expect(raw.expect.as_deref())?,
        stages: case_stages(&raw)?,
        helo: raw.helo,
        auth: raw.auth,
        sender_owned: raw.sender_owned,
        sender_domain_resolves: raw.sender_domain_resolves,
        size: raw.size,
        content,
        expect_score: match raw.expect_score.as_deref() {
            None => None,
            Some([lo, hi]) if lo <= hi => Some((*lo, *hi)),
            Some(_) => return Err("`expect_score` is [LOW, HIGH]".into()),
        },
        fired: raw.fired.unwrap_or_default(),
        not_fired: raw.not_fired.unwrap_or_default(),
    })
}

fn case_content(raw: &RawCase) -> Result<ContentFacts, String> {
    let auth = |field: &str, v: &Option<String>| {
        v.as_deref()
            .map(|w| {
                AuthResult::parse(w).ok_or_else(|| {
                    format!("`{field} = \"{w}\"`: use pass, fail, softfail, neutral, none, temperror or permerror")
                })
            })
            .transpose()
    };
    let scan = raw
        .scan
        .as_deref()
        .map(|s| {
            MalwareScan::parse(s).ok_or_else(|| {
                format!("`scan = \"{s}\"`: use clean, infected NAME or unavailable [REASON]")
            })
        })
        .transpose()?;
    let dmarc_policy = raw
        .dmarc_policy
        .as_deref()
        .map(|p| {
            DmarcPolicy::parse(p)
                .ok_or_else(|| format!("`dmarc_policy = \"{p}\"`: use none, quarantine or reject"))
        })
        .transpose()?;
    if raw.spam_score.is_some_and(|s| !s.is_finite()) {
        return Err("`spam_score` must be a number".into());
    }
    Ok(ContentFacts {
        spam_score: raw.spam_score,
        gtube: raw.gtube,
        scan,
        spamd_unavailable: raw.spamd_unavailable,
        spf: auth("spf", &raw.spf)?,
        dkim: auth("dkim", &raw.dkim)?,
        dmarc: auth("dmarc", &raw.dmarc)?,
        arc: auth("arc", &raw.arc)?,
        dmarc_policy,
    })
}

/// `dnsbl = { zen = ["127.0.0.2"], wl = [], slow = "timeout" }`.
fn case_dnsbl(raw: &RawCase) -> Result<Option<Vec<DnsblAnswer>>, String> {
    let Some(lists) = &raw.dnsbl else {
        return Ok(None);
    };
    let answer = |(name, a): (&String, &RawDnsblAnswer)| match a {
        RawDnsblAnswer::Word(w) if w == "timeout" => Ok(DnsblAnswer::failed(name.as_str())),
        RawDnsblAnswer::Word(w) => Err(format!(
            "`dnsbl.{name} = \"{w}\"`: give a list of return codes or \"timeout\""
        )),
        RawDnsblAnswer::Codes(codes) => codes
            .iter()
            .map(|c| {
                c.parse()
                    .map_err(|_| format!("`dnsbl.{name}`: `{c}` is not an IPv4 address"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|codes| DnsblAnswer::new(name.as_str(), codes)),
    };
    lists.iter().map(answer).collect::<Result<_, _>>().map(Some)
}

fn case_message(
    raw: &RawCase,
    base: &Path,
    read: &mut ReadFile<'_>,
) -> Result<Option<Vec<u8>>, String> {
    match (&raw.message, &raw.message_file) {
        (Some(_), Some(_)) => Err("give `message` or `message_file`, not both".into()),
        (Some(m), None) => Ok(Some(m.clone().into_bytes())),
        (None, Some(f)) => {
            let p = base.join(f);
            let bytes = read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            Ok(Some(bytes))
        }
        (None, None) => Ok(None),
    }
}

fn case_stages(raw: &RawCase) -> Result<Vec<(Stage, Expect)>, String> {
    let stages = raw.stages.clone().unwrap_or_default();
    stages
        .into_iter()
        .map(|(s, e)| {
            let stage =
                Stage::parse(&s).ok_or_else(|| format!("unknown stage `{s}` in `stages`"))?;
            Ok((stage, Expect::parse(&e)?))
        })
        .collect()
}

fn rcpt(raw: RawRcpt) -> Result<CaseRcpt, String> {
    let d = match raw {
        RawRcpt::Address(address) => {
            return Ok(CaseRcpt {
                address,
                status: None,
                expect: None,
            });
        }
        RawRcpt::Detailed(d) => d,
    };
    let status = match d.resolution.as_deref() {
        None => None,
        Some("known" | "local") => Some(SimStatus::Known),
        Some("unknown") => Some(SimStatus::Unknown),
        Some("remote") => Some(SimStatus::Remote),
        Some("failed") => Some(SimStatus::Failed(
            d.reason.clone().unwrap_or_else(|| "lookup failed".into()),
        )),
        Some(r) => {
            return Err(format!(
                "recipient {}: unknown resolution `{r}`; use known, unknown, remote or failed",
                d.address
            ));
        }
    };
    let expect = d.expect.as_deref().map(Expect::parse).transpose()?;
    Ok(CaseRcpt {
        address: d.address,
        status,
        expect,
    })
}

#[cfg(test)]
mod tests;
