//! A Bayesian spam classifier: word tokens, Robinson's per-token probability with Fisher's
//! chi-square combining (Gary Robinson, "A Statistical Approach to the Spam Problem", 2003;
//! as in SpamBayes). Token counts live in memory; [`Bayes::load`] and [`Bayes::save`] keep them
//! in a plain text file, written atomically (temporary file, fsync, rename, directory fsync).

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::message::Content;

/// Robinson's strength of the prior: how many messages a token must be seen in before its
/// own counts outweigh the neutral guess.
const PRIOR_STRENGTH: f64 = 1.0;
/// The neutral guess for a token seen too rarely.
const PRIOR: f64 = 0.5;
/// Tokens whose probability is closer than this to 0.5 say nothing and are skipped.
const MIN_DEVIATION: f64 = 0.1;
/// At most this many of the most telling tokens are combined.
const MAX_DISCRIMINATORS: usize = 150;
/// Longest and shortest word kept as a token.
const WORD_LEN: std::ops::RangeInclusive<usize> = 3..=24;
/// Most tokens taken from one message.
const MAX_TOKENS: usize = 5000;
/// First line of the token file.
const MAGIC: &str = "calm-bayes 1";

/// What a training message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// Unwanted mail.
    Spam,
    /// Wanted mail.
    Ham,
}

/// Why the token file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BayesError {
    /// I/O on the file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The file is not a token file, or is damaged at `line`.
    #[error("{}:{line}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Token counts: how many spam and ham messages were trained, and in how many of each every
/// token occurred.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bayes {
    spam_messages: u32,
    ham_messages: u32,
    tokens: HashMap<String, (u32, u32)>,
    /// Fewer trained messages of either kind than this and [`Bayes::probability`] says `None`.
    pub min_messages: u32,
}

impl Bayes {
    /// An empty classifier that answers once it has seen 5 spam and 5 ham messages.
    pub fn new() -> Bayes {
        Bayes {
            min_messages: 5,
            ..Bayes::default()
        }
    }

    /// Trained messages: (spam, ham).
    pub fn messages(&self) -> (u32, u32) {
        (self.spam_messages, self.ham_messages)
    }

    /// Number of distinct tokens known.
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// Learns one message as `label`.
    pub fn train(&mut self, label: Label, content: &Content) {
        for t in tokens(content) {
            let c = self.tokens.entry(t).or_default();
            match label {
                Label::Spam => c.0 = c.0.saturating_add(1),
                Label::Ham => c.1 = c.1.saturating_add(1),
            }
        }
        match label {
            Label::Spam => self.spam_messages = self.spam_messages.saturating_add(1),
            Label::Ham => self.ham_messages = self.ham_messages.saturating_add(1),
        }
    }

    /// Forgets one message trained earlier as `label` (a user corrected the label: untrain
    /// as the old label, then train as the new one).
    pub fn untrain(&mut self, label: Label, content: &Content) {
        for t in tokens(content) {
            if let Some(c) = self.tokens.get_mut(&t) {
                match label {
                    Label::Spam => c.0 = c.0.saturating_sub(1),
                    Label::Ham => c.1 = c.1.saturating_sub(1),
                }
                if *c == (0, 0) {
                    self.tokens.remove(&t);
                }
            }
        }
        match label {
            Label::Spam => self.spam_messages = self.spam_messages.saturating_sub(1),
            Label::Ham => self.ham_messages = self.ham_messages.saturating_sub(1),
        }
    }

    /// The probability that `content` is spam, 0.0 to 1.0; `None` until enough of both kinds
    /// were trained.
    pub fn probability(&self, content: &Content) -> Option<f64> {
        if self.spam_messages < self.min_messages.max(1)
            || self.ham_messages < self.min_messages.max(1)
        {
            return None;
        }
        let mut probs: Vec<f64> = tokens(content)
            .iter()
            .filter_map(|t| self.token_probability(t))
            .filter(|p| (p - 0.5).abs() >= MIN_DEVIATION)
            .collect();
        probs.sort_by(|a, b| (b - 0.5).abs().total_cmp(&(a - 0.5).abs()));
        probs.truncate(MAX_DISCRIMINATORS);
        if probs.is_empty() {
            return Some(0.5);
        }
        Some(fisher(&probs))
    }

    /// Robinson's f(w): the token's spam probability pulled towards 0.5 by how rarely it was
    /// seen. `None` for a token never trained.
    fn token_probability(&self, token: &str) -> Option<f64> {
        let &(s, h) = self.tokens.get(token)?;
        let spam_ratio = f64::from(s) / f64::from(self.spam_messages.max(1));
        let ham_ratio = f64::from(h) / f64::from(self.ham_messages.max(1));
        let p = if spam_ratio + ham_ratio == 0.0 {
            return None;
        } else {
            spam_ratio / (spam_ratio + ham_ratio)
        };
        let n = f64::from(s) + f64::from(h);
        Some(((PRIOR_STRENGTH * PRIOR + n * p) / (PRIOR_STRENGTH + n)).clamp(0.01, 0.99))
    }

    /// Reads a token file written by [`Bayes::save`]. A missing file is an empty classifier.
    pub fn load(path: &Path) -> Result<Bayes, BayesError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Bayes::new()),
            Err(source) => {
                return Err(BayesError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Bayes::from_text(path, &text)
    }

    /// Parses the token file format (see [`Bayes::to_text`]); `path` names it in errors.
    pub fn from_text(path: &Path, text: &str) -> Result<Bayes, BayesError> {
        let bad = |line: usize, message: &str| BayesError::Format {
            path: path.to_owned(),
            line,
            message: message.to_owned(),
        };
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(bad(1, "not a calm-bayes 1 file"));
        }
        let counts = lines.next().and_then(|l| l.strip_prefix("messages "));
        let (s, h) = counts
            .and_then(|c| c.split_once(' '))
            .ok_or_else(|| bad(2, "no message counts"))?;
        let mut bayes = Bayes::new();
        bayes.spam_messages = s.parse().map_err(|_| bad(2, "bad spam count"))?;
        bayes.ham_messages = h.parse().map_err(|_| bad(2, "bad ham count"))?;
        for (i, line) in lines.enumerate() {
            let mut f = line.splitn(3, '\t');
            let (Some(s), Some(h), Some(t)) = (f.next(), f.next(), f.next()) else {
                return Err(bad(i + 3, "want spam<TAB>ham<TAB>token"));
            };
            let s = s.parse().map_err(|_| bad(i + 3, "bad spam count"))?;
            let h = h.parse().map_err(|_| bad(i + 3, "bad ham count"))?;
            bayes.tokens.insert(t.to_owned(), (s, h));
        }
        Ok(bayes)
    }

    /// The token file: `calm-bayes 1`, `messages SPAM HAM`, then one `spam<TAB>ham<TAB>token`
    /// line per token, sorted, so that the file diffs well.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{MAGIC}\nmessages {} {}\n",
            self.spam_messages, self.ham_messages
        );
        let mut tokens: Vec<_> = self.tokens.iter().collect();
        tokens.sort();
        for (t, (s, h)) in tokens {
            out.push_str(&format!("{s}\t{h}\t{t}\n"));
        }
        out
    }

    /// Writes the token file atomically: a crash leaves the old file or the new one.
    pub fn save(&self, path: &Path) -> Result<(), BayesError> {
        write_atomic(path, self.to_text().as_bytes()).map_err(|source| BayesError::Io {
            path: path.to_owned(),
            source,
        })
    }
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it, renames it over `path` and
/// fsyncs the directory, so the new name survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut f = File::create(&tmp)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

/// Fisher's method as Robinson applies it: combine the token probabilities into a spam
/// indicator S and a ham indicator H with the inverse chi-square, and return (1 + S - H) / 2.
fn fisher(probs: &[f64]) -> f64 {
    let n = probs.len();
    let ln_ham: f64 = probs.iter().map(|p| p.ln()).sum();
    let ln_spam: f64 = probs.iter().map(|p| (1.0 - p).ln()).sum();
    let s = 1.0 - chi2q(-2.0 * ln_spam, 2 * n);
    let h = 1.0 - chi2q(-2.0 * ln_ham, 2 * n);
    ((1.0 + s - h) / 2.0).clamp(0.0, 1.0)
}

/// The chi-square survival function for an even number of degrees of freedom `v`.
fn chi2q(x2: f64, v: usize) -> f64 {
    let m = x2 / 2.0;
    let mut term = (-m).exp();
    let mut sum = term;
    for i in 1..v / 2 {
        term *= m / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// The distinct tokens of a message: body words, subject words (`subject:` prefix), URL hosts
/// (`url:`) and attachment extensions (`attach:`).
pub fn tokens(content: &Content) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    words(&content.body, "", &mut out);
    for subject in content.header("Subject") {
        words(subject, "subject:", &mut out);
    }
    for url in &content.urls {
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let host = rest.split(['/', '?', '#', ':']).next().unwrap_or_default();
        out.insert(format!("url:{}", host.to_ascii_lowercase()));
    }
    for name in &content.attachments {
        if let Some((_, ext)) = name.rsplit_once('.') {
            out.insert(format!("attach:{}", ext.to_lowercase()));
        }
    }
    out
}

fn words(text: &str, prefix: &str, out: &mut BTreeSet<String>) {
    for w in text.split(|c: char| !(c.is_alphanumeric() || c == '$' || c == '\'')) {
        if out.len() >= MAX_TOKENS {
            return;
        }
        let w = w.trim_matches('\'');
        if WORD_LEN.contains(&w.chars().count()) {
            out.insert(format!("{prefix}{}", w.to_lowercase()));
        }
    }
}

#[cfg(test)]
mod tests;
