//! Facts from the data stage's scanners, supplied by the caller: sender authentication results
//! (SPF, DKIM, DMARC) and the malware scan. The engine only compares them; who produced them
//! (mail-auth, clamd) is the caller's business.

use std::fmt;

/// An authentication method's result, as in `Authentication-Results` (RFC 8601 §2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthResult {
    /// Authenticated.
    Pass,
    /// Explicitly not authorised (SPF `-all`, a bad DKIM signature, DMARC failure).
    Fail,
    /// SPF `~all`: probably not authorised (RFC 7208 §2.6.5).
    SoftFail,
    /// The domain makes no assertion (RFC 7208 §2.6.2).
    Neutral,
    /// No policy or signature to evaluate.
    None,
    /// A transient error (DNS timeout): the answer may differ later.
    TempError,
    /// A permanent error in the published records.
    PermError,
}

impl AuthResult {
    /// Every result, in the order of [`AuthResult::as_str`]'s names.
    pub const ALL: [AuthResult; 7] = [
        AuthResult::Pass,
        AuthResult::Fail,
        AuthResult::SoftFail,
        AuthResult::Neutral,
        AuthResult::None,
        AuthResult::TempError,
        AuthResult::PermError,
    ];

    /// The RFC 8601 name: `pass`, `fail`, `softfail`, `neutral`, `none`, `temperror`,
    /// `permerror`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthResult::Pass => "pass",
            AuthResult::Fail => "fail",
            AuthResult::SoftFail => "softfail",
            AuthResult::Neutral => "neutral",
            AuthResult::None => "none",
            AuthResult::TempError => "temperror",
            AuthResult::PermError => "permerror",
        }
    }

    /// Parses an RFC 8601 result name (case-insensitive).
    pub fn parse(word: &str) -> Option<AuthResult> {
        AuthResult::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for AuthResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The policy a domain publishes in its DMARC record (`p=`, RFC 7489 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DmarcPolicy {
    /// `p=none`: monitor only.
    None,
    /// `p=quarantine`: treat failing mail as suspicious.
    Quarantine,
    /// `p=reject`: refuse failing mail.
    Reject,
}

impl DmarcPolicy {
    /// `none`, `quarantine` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcPolicy::None => "none",
            DmarcPolicy::Quarantine => "quarantine",
            DmarcPolicy::Reject => "reject",
        }
    }

    /// Parses `none`, `quarantine` or `reject` (case-insensitive).
    pub fn parse(word: &str) -> Option<DmarcPolicy> {
        [
            DmarcPolicy::None,
            DmarcPolicy::Quarantine,
            DmarcPolicy::Reject,
        ]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for DmarcPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The malware scanner's answer for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan<'a> {
    /// No signature matched.
    Clean,
    /// A signature matched: its name.
    Infected(&'a str),
    /// No answer (scanner down or too slow): the reason.
    Unavailable(&'a str),
}

impl fmt::Display for Scan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scan::Clean => f.write_str("clean"),
            Scan::Infected(name) => write!(f, "infected: {name}"),
            Scan::Unavailable(why) => write!(f, "unavailable: {why}"),
        }
    }
}

/// An owned malware scan result, for [`ContentFacts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MalwareScan {
    /// No signature matched.
    Clean,
    /// A signature matched: its name.
    Infected(String),
    /// No answer: the reason.
    Unavailable(String),
}

impl MalwareScan {
    /// The borrowed form used in [`crate::Facts::scan`].
    pub fn as_scan(&self) -> Scan<'_> {
        match self {
            MalwareScan::Clean => Scan::Clean,
            MalwareScan::Infected(n) => Scan::Infected(n),
            MalwareScan::Unavailable(r) => Scan::Unavailable(r),
        }
    }

    /// `clean`, `infected NAME` or `unavailable [REASON]`, as in case files.
    pub fn parse(text: &str) -> Option<MalwareScan> {
        let (word, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
        let rest = rest.trim();
        match word {
            "clean" if rest.is_empty() => Some(MalwareScan::Clean),
            "infected" if !rest.is_empty() => Some(MalwareScan::Infected(rest.to_owned())),
            "unavailable" => Some(MalwareScan::Unavailable(if rest.is_empty() {
                "scanner unavailable".to_owned()
            } else {
                rest.to_owned()
            })),
            _ => None,
        }
    }
}

/// The data-stage facts about a message's content and its sender's authentication, owned:
/// what a [`ContentScorer`] produces, and what a case file may state directly. Each `None`
/// stays unknown.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContentFacts {
    /// See [`crate::Facts::spam_score`].
    pub spam_score: Option<f64>,
    /// See [`crate::Facts::gtube`].
    pub gtube: Option<bool>,
    /// See [`crate::Facts::scan`].
    pub scan: Option<MalwareScan>,
    /// See [`crate::Facts::spamd_unavailable`].
    pub spamd_unavailable: Option<bool>,
    /// See [`crate::Facts::spf`].
    pub spf: Option<AuthResult>,
    /// See [`crate::Facts::dkim`].
    pub dkim: Option<AuthResult>,
    /// See [`crate::Facts::dmarc`].
    pub dmarc: Option<AuthResult>,
    /// See [`crate::Facts::arc`].
    pub arc: Option<AuthResult>,
    /// See [`crate::Facts::dmarc_policy`].
    pub dmarc_policy: Option<DmarcPolicy>,
}

impl ContentFacts {
    /// Every field of `self` that is set, else the one of `other`.
    #[must_use]
    pub fn or(self, other: ContentFacts) -> ContentFacts {
        ContentFacts {
            spam_score: self.spam_score.or(other.spam_score),
            gtube: self.gtube.or(other.gtube),
            scan: self.scan.or(other.scan),
            spamd_unavailable: self.spamd_unavailable.or(other.spamd_unavailable),
            spf: self.spf.or(other.spf),
            dkim: self.dkim.or(other.dkim),
            dmarc: self.dmarc.or(other.dmarc),
            arc: self.arc.or(other.arc),
            dmarc_policy: self.dmarc_policy.or(other.dmarc_policy),
        }
    }

    /// Copies the data-stage facts into `facts` (SPF too, though it is known from `mail` on).
    pub fn apply<'a>(&'a self, facts: &mut crate::Facts<'a>) {
        facts.spam_score = self.spam_score;
        facts.gtube = self.gtube;
        facts.scan = self.scan.as_ref().map(MalwareScan::as_scan);
        facts.spamd_unavailable = self.spamd_unavailable;
        facts.spf = self.spf;
        facts.dkim = self.dkim;
        facts.dmarc = self.dmarc;
        facts.arc = self.arc;
        facts.dmarc_policy = self.dmarc_policy;
    }
}

/// Scores a message for `calm simulate` (calm-content's rules and classifier, in calm): the
/// engine stays free of content scanning, the caller plugs it in.
pub trait ContentScorer {
    /// The content facts of `message`.
    fn facts(&self, message: &[u8]) -> ContentFacts;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in AuthResult::ALL {
            assert_eq!(AuthResult::parse(r.as_str()), Some(r));
            assert_eq!(AuthResult::parse(&r.as_str().to_uppercase()), Some(r));
        }
        assert_eq!(AuthResult::parse("passed"), None);
        assert_eq!(AuthResult::SoftFail.to_string(), "softfail");
        assert_eq!(DmarcPolicy::parse("Reject"), Some(DmarcPolicy::Reject));
        assert_eq!(DmarcPolicy::parse("drop"), None);
        assert_eq!(DmarcPolicy::Quarantine.to_string(), "quarantine");
        assert_eq!(Scan::Infected("Eicar").to_string(), "infected: Eicar");
        assert_eq!(Scan::Unavailable("down").to_string(), "unavailable: down");
        assert_eq!(Scan::Clean.to_string(), "clean");
    }

    #[test]
    fn case_file_scan_words() {
        assert_eq!(MalwareScan::parse("clean"), Some(MalwareScan::Clean));
        assert_eq!(
            MalwareScan::parse("infected Eicar-Test-Signature"),
            Some(MalwareScan::Infected("Eicar-Test-Signature".into()))
        );
        assert!(matches!(
            MalwareScan::parse("unavailable"),
            Some(MalwareScan::Unavailable(_))
        ));
        assert_eq!(MalwareScan::parse("infected"), None);
        assert_eq!(MalwareScan::parse("clean extra"), None);
        assert_eq!(MalwareScan::parse("dirty"), None);
        let a = ContentFacts {
            spam_score: Some(1.0),
            ..ContentFacts::default()
        };
        let b = ContentFacts {
            spam_score: Some(2.0),
            gtube: Some(true),
            ..ContentFacts::default()
        };
        let m = a.or(b);
        assert_eq!((m.spam_score, m.gtube), (Some(1.0), Some(true)));
    }
}
