//! The DATA-stage content pipeline: score the message (rules, GTUBE, Bayes, and spamd when
//! configured), scan it with clamd, verify SPF/DKIM/DMARC/ARC, and hand the results to the
//! policy as facts. Nothing here
//! decides: the policy's `data` rules do (tag, quarantine, or reject only high-confidence).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use calm_config::Config;
use calm_content::{
    Authenticator, Content, Endpoint, Rules, ScanResult, Scanner, ScoreReport, Spamd, SpamdResult,
};
use calm_policy::{AuthResult, ContentFacts, DmarcPolicy, MalwareScan};

use crate::bayes::Classifiers;

/// The built-in content rules (`policy/content.toml`).
pub const DEFAULT_RULES: &str = include_str!("../../../policy/content.toml");

/// Loaded once at start.
pub struct ContentPipeline {
    rules: Rules,
    /// Trained from `calm spam train` and from users' reports (IMAP moves, forwards).
    bayes: Classifiers,
    scanner: Option<Scanner>,
    spamd: Option<Spamd>,
    auth: Option<Authenticator>,
    tag_threshold: f64,
}

/// What the SMTP session says about a message.
pub struct MessageEnvelope<'a> {
    pub client: std::net::IpAddr,
    pub helo: &'a str,
    pub mail_from: &'a str,
    /// The one recipient, when there is exactly one: its own classifier may score it.
    pub recipient: Option<&'a str>,
    /// The client logged in (submission): SPF, DKIM and DMARC judge mail arriving from other
    /// servers, so they are not checked (as OpenDMARC's `IgnoreAuthenticatedClients`); the
    /// message is signed after this stage anyway.
    pub authenticated: bool,
}

/// What the pipeline found in one message.
pub struct Analysis {
    /// Facts for the policy's data stage.
    pub facts: ContentFacts,
    /// Header lines to add (`X-Spam-*`, `Authentication-Results`), CRLF-terminated.
    pub headers: String,
    /// The score with every rule that fired (for quarantine records).
    pub report: ScoreReport,
}

/// The content rules in force: the configured file or the built-in ones.
pub fn load_rules(config: &Config) -> Result<Rules> {
    match &config.content.rules_file {
        Some(path) => Ok(Rules::load(path)?),
        None => Rules::from_text(Path::new("built-in:content.toml"), DEFAULT_RULES)
            .context("the built-in content rules do not load (a bug)"),
    }
}

/// The Bayes token file: configured, or `<data_dir>/bayes.tokens`.
pub fn bayes_path(config: &Config) -> PathBuf {
    config
        .content
        .bayes_file
        .clone()
        .unwrap_or_else(|| config.server.data_dir.join("bayes.tokens"))
}

/// `tcp:ADDR:PORT` or `unix:PATH`, for the setting `key`.
fn endpoint(key: &str, text: &str) -> Result<Endpoint> {
    if let Some(addr) = text.strip_prefix("tcp:") {
        let addr: SocketAddr = addr
            .parse()
            .with_context(|| format!("content.{key}: bad address in {text:?}"))?;
        return Ok(Endpoint::Tcp(addr));
    }
    if let Some(path) = text.strip_prefix("unix:") {
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    Err(anyhow!(
        "content.{key}: {text:?} must start with tcp: or unix:"
    ))
}

impl ContentPipeline {
    /// Loads rules, Bayes data, and sets up clamd and the authenticator; None when disabled.
    pub fn load(config: &Config) -> Result<Option<ContentPipeline>> {
        let c = &config.content;
        if !c.enabled {
            return Ok(None);
        }
        let rules = load_rules(config)?;
        let user_dir = c
            .per_user_bayes
            .then(|| config.server.data_dir.join("bayes"));
        let bayes = Classifiers::load(bayes_path(config), user_dir)?;
        let scanner = match &c.clamd {
            Some(text) => Some(
                Scanner::new(endpoint("clamd", text)?)
                    .with_timeout(Duration::from_secs(c.clamd_timeout_secs)),
            ),
            None => None,
        };
        let spamd = match &c.spamd {
            Some(text) => Some(
                Spamd::new(endpoint("spamd", text)?)
                    .with_timeout(Duration::from_secs(c.spamd_timeout_secs)),
            ),
            None => None,
        };
        let auth = match c.authenticate {
            true => Some(authenticator(config)?),
            false => None,
        };
        Ok(Some(ContentPipeline {
            rules,
            bayes,
            scanner,
            spamd,
            auth,
            tag_threshold: c.tag_threshold,
        }))
    }

    /// Looks at one message. clamd, spamd and the DNS look-ups are round trips to other
    /// servers: they overlap.
    pub async fn analyse(&self, envelope: &MessageEnvelope<'_>, message: &[u8]) -> Analysis {
        let content = Content::parse(message);
        let mut report = calm_content::score(&self.rules, &content);
        if let Some((p, _)) = self.bayes.probability(&content, envelope.recipient) {
            report.add_bayes(&self.rules, p);
        }
        let session = calm_content::Session {
            client: envelope.client,
            helo: envelope.helo,
            mail_from: envelope.mail_from,
        };
        let (scan, spamd, auth) = tokio::join!(
            async { Some(self.scanner.as_ref()?.scan(message).await) },
            async { Some(self.spamd.as_ref()?.check(message).await) },
            async {
                match envelope.authenticated {
                    true => None,
                    false => Some(self.auth.as_ref()?.verify(session, message).await),
                }
            },
        );
        let mut facts = ContentFacts {
            scan: scan.map(|result| match result {
                ScanResult::Clean => MalwareScan::Clean,
                ScanResult::Infected(name) => MalwareScan::Infected(name),
                ScanResult::Unavailable(why) => MalwareScan::Unavailable(why),
            }),
            spamd_unavailable: spamd.as_ref().and_then(|r| add_spamd(&mut report, r)),
            ..Default::default()
        };
        facts.spam_score = Some(report.total());
        facts.gtube = Some(report.gtube);
        let mut headers = report.header_block(self.tag_threshold);
        if let Some(a) = auth {
            facts.spf = AuthResult::parse(a.spf);
            facts.dkim = AuthResult::parse(a.dkim);
            facts.dmarc = AuthResult::parse(a.dmarc);
            facts.arc = AuthResult::parse(a.arc);
            facts.dmarc_policy = a.dmarc_policy.and_then(DmarcPolicy::parse);
            headers.push_str(&a.header());
        }
        Analysis {
            facts,
            headers,
            report,
        }
    }
}

/// spamd's score becomes one line of the content score, naming the SpamAssassin rules that
/// hit. Returns the `spamd_unavailable` fact (`None`: not asked).
fn add_spamd(report: &mut ScoreReport, result: &SpamdResult) -> Option<bool> {
    match result {
        SpamdResult::Scored {
            score,
            threshold,
            symbols,
        } => {
            let description = format!(
                "SpamAssassin {score:.1}/{threshold:.1}: {}",
                if symbols.is_empty() {
                    "no rules hit".to_string()
                } else {
                    symbols.join(",")
                }
            );
            report.add("SPAMD", *score, &description);
            Some(false)
        }
        SpamdResult::Skipped(_) => None,
        SpamdResult::Unavailable(_) => Some(true),
    }
}

fn authenticator(config: &Config) -> Result<Authenticator> {
    let settings = calm_content::AuthSettings {
        upstream: config.outbound.resolver,
        timeout: Duration::from_secs(config.outbound.dns_timeout_secs.max(1)),
        attempts: 2,
        hostname: config.server.hostname.clone(),
    };
    Authenticator::new(&settings)
        .map_err(|e| anyhow!("setting up SPF/DKIM/DMARC verification: {e}"))
}

impl ContentPipeline {
    /// Trains the classifiers with one user's report (see [`Classifiers::learn`]).
    pub fn learn(&self, label: calm_content::Label, message: &[u8], user: &str) -> Result<()> {
        self.bayes.learn(label, message, Some(user))
    }
}

/// The rule most to blame for a message's spam verdict, from the headers calm added when it
/// accepted it: the content rule with the most points in `X-Spam-Report`; when no content
/// rule scored, the policy tag with the most points in `X-Calm-Policy` (a DNS block list, an
/// SPF failure, ...); else "none".
pub fn root_cause(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(&message[..message.len().min(64 * 1024)]);
    let header = text.split("\r\n\r\n").next().unwrap_or("");
    let fields = unfolded_fields(header);
    let field = |name: &'static str| {
        fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let content = field("X-Spam-Report").flat_map(report_rules);
    let policy = field("X-Calm-Policy").flat_map(policy_tags);
    most_points(content)
        .or_else(|| most_points(policy))
        .unwrap_or_else(|| "none".to_string())
}

/// Header fields as (name, value) with folded lines kept apart by `\n`.
fn unfolded_fields(header: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in header.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.to_string(), value.to_string()));
        }
    }
    fields
}

/// `X-Spam-Report` lines: `\t*   2.5 NAME description`.
fn report_rules(value: &str) -> impl Iterator<Item = (f64, String)> + '_ {
    value.split('\n').filter_map(|line| {
        let mut words = line.trim_start_matches(['\t', ' ', '*']).split_whitespace();
        let points = words.next()?.parse::<f64>().ok()?;
        Some((points, words.next()?.to_string()))
    })
}

/// `X-Calm-Policy` entries: `score=4.0; mail=dnsbl-listed(tag +3.0); rcpt=ok(accept)`.
fn policy_tags(value: &str) -> impl Iterator<Item = (f64, String)> + '_ {
    value.split(';').filter_map(|entry| {
        let (_, verdict) = entry.trim().split_once('=')?;
        let (rule, rest) = verdict.split_once("(tag ")?;
        let points = rest.trim_end_matches(')').parse::<f64>().ok()?;
        Some((points, rule.to_string()))
    })
}

fn most_points(candidates: impl Iterator<Item = (f64, String)>) -> Option<String> {
    candidates
        .filter(|(points, _)| *points > 0.0)
        .fold(None, |best: Option<(f64, String)>, (p, n)| match best {
            Some((bp, _)) if bp >= p => best,
            _ => Some((p, n)),
        })
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::root_cause;

    #[test]
    fn root_cause_is_the_rule_with_most_points() {
        let m = b"Received: x\r\nX-Spam-Report: score=4.0\r\n\t*   1.0 A first\r\n\t*   3.0 B second\r\nSubject: s\r\n\r\nbody";
        assert_eq!(root_cause(m), "B");
        assert_eq!(root_cause(b"Subject: s\r\n\r\nbody"), "none");
    }

    #[test]
    fn without_content_points_the_biggest_policy_tag_is_to_blame() {
        let m = b"X-Spam-Report: score=0.0\r\nX-Calm-Policy: score=4.0; helo=odd-helo(tag +1.0);\r\n mail=dnsbl-listed(tag +3.0); rcpt=ok(accept)\r\n\r\nbody";
        assert_eq!(root_cause(m), "dnsbl-listed");
        let both = b"X-Spam-Report: score=1.0\r\n\t*   1.0 A first\r\nX-Calm-Policy: score=3.0; mail=dnsbl-listed(tag +3.0)\r\n\r\nb";
        assert_eq!(root_cause(both), "A", "content rules come first");
    }
}
