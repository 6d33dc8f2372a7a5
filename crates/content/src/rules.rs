//! Content rule files: named header, body, URL and attachment-name rules, each with a score
//! and a description, in TOML. Every mistake is reported with its file and line, and nothing
//! is used until the whole file is valid (the same contract as the policy file).
//!
//! ```toml
//! gtube_score = 1000.0
//!
//! [[rule]]
//! name = "SUBJ_ALL_CAPS"
//! description = "Subject in capitals only"
//! header = "Subject"
//! pattern = '^[^a-z]*[A-Z]{10,}[^a-z]*$'
//! score = 1.0
//!
//! [[rule]]
//! name = "MISSING_DATE"
//! header = "Date"
//! missing = true
//! score = 1.0
//!
//! [[bayes]]
//! name = "BAYES_99"
//! min = 0.99
//! score = 3.5
//! ```
//!
//! Patterns are regular expressions (the `regex` crate's syntax, linear time, no
//! back-references), case-insensitive unless they start with `(?-i)`.

use std::fmt;
use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use toml::Spanned;

/// Largest rule file read.
pub const MAX_RULES_BYTES: u64 = 4 * 1024 * 1024;
/// Largest compiled pattern: keeps one careless rule from taking megabytes per message.
const MAX_PATTERN_SIZE: usize = 1 << 20;
/// Largest absolute score of one rule.
const MAX_SCORE: f64 = 10_000.0;

/// What a rule looks at.
#[derive(Clone, Debug)]
pub enum Target {
    /// Each value of the named header field; fires when one matches.
    Header(String),
    /// Fires when the named header field is absent.
    HeaderMissing(String),
    /// The decoded text of the text parts.
    Body,
    /// Each URL found in the text and HTML parts.
    Url,
    /// Each attachment's file name.
    Attachment,
}

/// One named content rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Unique name, as shown in reports (`SUBJ_ALL_CAPS`).
    pub name: String,
    /// What the rule means, for the report header and `calm spam explain`.
    pub description: String,
    /// Points added when the rule fires (negative for signs of good mail).
    pub score: f64,
    /// What the rule looks at.
    pub target: Target,
    /// The pattern (`None` for [`Target::HeaderMissing`]).
    pub pattern: Option<Regex>,
    /// The line of the file the rule starts on.
    pub line: usize,
}

/// A band of the classifier's spam probability and its points.
#[derive(Clone, Debug, PartialEq)]
pub struct BayesBand {
    /// Name shown in reports (`BAYES_99`).
    pub name: String,
    /// Lowest probability of the band (inclusive).
    pub min: f64,
    /// Highest probability of the band (exclusive; 1.0 is included in a band that ends at 1.0).
    pub max: f64,
    /// Points added.
    pub score: f64,
}

/// A loaded, valid rule file.
#[derive(Clone, Debug)]
pub struct Rules {
    /// The file the rules came from (for messages only).
    pub path: PathBuf,
    /// Points for a GTUBE message.
    pub gtube_score: f64,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Probability bands for the classifier's contribution.
    pub bayes: Vec<BayesBand>,
}

/// A mistake in a rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// The line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Why a rule file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but is not valid; every problem found is listed.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The problems, in line order.
        problems: Vec<Problem>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    gtube_score: Option<f64>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    bayes: Vec<Spanned<RawBand>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    description: String,
    score: f64,
    header: Option<String>,
    #[serde(default)]
    missing: bool,
    pattern: Option<String>,
    body: Option<String>,
    url: Option<String>,
    attachment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    name: String,
    #[serde(default)]
    min: f64,
    #[serde(default = "one")]
    max: f64,
    score: f64,
}

fn one() -> f64 {
    1.0
}

impl Rules {
    /// Reads and checks the rule file at `path`.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let read = |source| RulesError::Read {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read)?;
        if meta.len() > MAX_RULES_BYTES {
            return Err(invalid(path, None, "file is larger than 4 MiB"));
        }
        let bytes = std::fs::read(path).map_err(read)?;
        let text = String::from_utf8(bytes).map_err(|_| invalid(path, None, "not valid UTF-8"))?;
        Rules::from_text(path, &text)
    }

    /// Parses `text` as if read from `path` (which is only named, never read).
    pub fn from_text(path: &Path, text: &str) -> Result<Rules, RulesError> {
        let raw: RawFile = toml::from_str(text)
            .map_err(|e| invalid(path, e.span().map(|s| line_of(text, s.start)), e.message()))?;
        let mut problems = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        for spanned in raw.rule {
            let line = line_of(text, spanned.span().start);
            match build_rule(spanned.into_inner(), line) {
                Ok(rule) if rules.iter().any(|r| r.name == rule.name) => {
                    problems.push((line, format!("rule {} is defined twice", rule.name)));
                }
                Ok(rule) => rules.push(rule),
                Err(msg) => problems.push((line, msg)),
            }
        }
        let mut bayes = Vec::new();
        for spanned in raw.bayes {
            let line = line_of(text, spanned.span().start);
            let b = spanned.into_inner();
            if !(0.0..=1.0).contains(&b.min) || !(0.0..=1.0).contains(&b.max) || b.min >= b.max {
                problems.push((
                    line,
                    format!("bayes band {}: need 0 <= min < max <= 1", b.name),
                ));
            } else if !b.score.is_finite() || b.score.abs() > MAX_SCORE {
                problems.push((line, format!("bayes band {}: score out of range", b.name)));
            } else {
                bayes.push(BayesBand {
                    name: b.name,
                    min: b.min,
                    max: b.max,
                    score: b.score,
                });
            }
        }
        let gtube_score = raw.gtube_score.unwrap_or(1000.0);
        if !gtube_score.is_finite() || gtube_score.abs() > MAX_SCORE {
            problems.push((1, "gtube_score out of range".to_owned()));
        }
        if problems.is_empty() {
            Ok(Rules {
                path: path.to_owned(),
                gtube_score,
                rules,
                bayes,
            })
        } else {
            problems.sort_by_key(|(l, _)| *l);
            Err(RulesError::Invalid {
                problems: problems
                    .into_iter()
                    .map(|(l, m)| Problem {
                        file: path.to_owned(),
                        line: Some(l),
                        message: m,
                    })
                    .collect(),
            })
        }
    }

    /// An empty rule set: GTUBE only.
    pub fn empty() -> Rules {
        Rules {
            path: PathBuf::new(),
            gtube_score: 1000.0,
            rules: Vec::new(),
            bayes: Vec::new(),
        }
    }

    /// The band a spam probability falls into, if any.
    pub fn bayes_band(&self, probability: f64) -> Option<&BayesBand> {
        self.bayes.iter().find(|b| {
            probability >= b.min && (probability < b.max || (b.max >= 1.0 && probability <= 1.0))
        })
    }
}

fn build_rule(raw: RawRule, line: usize) -> Result<Rule, String> {
    let name = raw.name;
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        return Err(format!(
            "rule name {name:?}: use 1-64 letters, digits, _ or -"
        ));
    }
    if !raw.score.is_finite() || raw.score.abs() > MAX_SCORE {
        return Err(format!("rule {name}: score out of range"));
    }
    let kinds = [
        raw.header.is_some(),
        raw.body.is_some(),
        raw.url.is_some(),
        raw.attachment.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(format!(
            "rule {name}: give exactly one of header, body, url, attachment"
        ));
    }
    let has_pattern = raw.pattern.is_some();
    let is_header = raw.header.is_some();
    if raw.missing && !is_header {
        return Err(format!("rule {name}: missing = true needs header"));
    }
    if !is_header && has_pattern {
        return Err(format!(
            "rule {name}: pattern is for header rules; body, url and attachment hold their own"
        ));
    }
    let (target, pattern) = match (raw.header, raw.body, raw.url, raw.attachment) {
        (Some(h), ..) if raw.missing => {
            if has_pattern {
                return Err(format!("rule {name}: missing = true takes no pattern"));
            }
            (Target::HeaderMissing(h), None)
        }
        (Some(h), ..) => {
            let p = raw
                .pattern
                .ok_or_else(|| format!("rule {name}: header rules need a pattern"))?;
            (Target::Header(h), Some(p))
        }
        (None, Some(p), ..) => (Target::Body, Some(p)),
        (None, None, Some(p), _) => (Target::Url, Some(p)),
        (None, None, None, Some(p)) => (Target::Attachment, Some(p)),
        (None, None, None, None) => return Err(format!("rule {name}: nothing to match")),
    };
    let pattern = match pattern {
        Some(p) => Some(compile(&p).map_err(|e| format!("rule {name}: bad pattern: {e}"))?),
        None => None,
    };
    Ok(Rule {
        name,
        description: raw.description,
        score: raw.score,
        target,
        pattern,
        line,
    })
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(MAX_PATTERN_SIZE)
        .dfa_size_limit(MAX_PATTERN_SIZE)
        .build()
}

fn invalid(path: &Path, line: Option<usize>, message: &str) -> RulesError {
    RulesError::Invalid {
        problems: vec![Problem {
            file: path.to_owned(),
            line,
            message: message.to_owned(),
        }],
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests;
