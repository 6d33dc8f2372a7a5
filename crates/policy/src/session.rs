//! [`Session`]: what the policy has decided so far on one connection, for the score, the
//! quarantine flag and the summary header of accepted messages.

use std::fmt::Write as _;

use crate::stage::Stage;
use crate::trace::RuleRef;

/// A verdict that applied to the message (refusals are not kept: they are not part of an
/// accepted message).
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// A `tag` rule fired.
    Tag {
        /// Where.
        stage: Stage,
        /// Which rule.
        rule: RuleRef,
        /// Points added.
        score: f64,
        /// Header field added, `Name: value`.
        header: Option<String>,
        /// Mailbox to file the message in.
        folder: Option<String>,
    },
    /// An `accept`, `quarantine`, `continue` or access-map `OK`/`HOLD` rule fired.
    Rule {
        /// Where.
        stage: Stage,
        /// Which rule.
        rule: RuleRef,
        /// `accept`, `quarantine` or `continue`.
        verdict: &'static str,
    },
}

impl Applied {
    /// The stage it applied at.
    pub fn stage(&self) -> Stage {
        match self {
            Applied::Tag { stage, .. } | Applied::Rule { stage, .. } => *stage,
        }
    }

    /// The rule.
    pub fn rule(&self) -> &RuleRef {
        match self {
            Applied::Tag { rule, .. } | Applied::Rule { rule, .. } => rule,
        }
    }
}

/// Most verdicts listed in the summary header; more are counted, not listed.
const MAX_SUMMARY: usize = 40;

/// Policy state of one SMTP connection. Create one per connection, call
/// [`Session::reset_transaction`] after each message (or `RSET`), and pass it to every
/// [`crate::Policy::evaluate`] of that connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Session {
    applied: Vec<Applied>,
}

impl Session {
    /// A new connection.
    pub fn new() -> Session {
        Session::default()
    }

    /// Forgets what applied to the last message (`mail`, `rcpt` and `data` stages), keeping
    /// the connection's `connect` and `helo` verdicts.
    pub fn reset_transaction(&mut self) {
        self.applied.retain(|a| a.stage() <= Stage::Helo);
    }

    /// Everything that applied so far, in order.
    pub fn applied(&self) -> &[Applied] {
        &self.applied
    }

    /// The sum of the points of the `tag` rules that fired (each counts once).
    pub fn score(&self) -> f64 {
        self.applied
            .iter()
            .map(|a| match a {
                Applied::Tag { score, .. } => *score,
                Applied::Rule { .. } => 0.0,
            })
            .sum()
    }

    /// The rule that sent the message to quarantine, if any.
    pub fn quarantined_by(&self) -> Option<&RuleRef> {
        self.applied.iter().find_map(|a| match a {
            Applied::Rule {
                rule,
                verdict: "quarantine",
                ..
            } => Some(rule),
            _ => None,
        })
    }

    /// The mailbox the last `tag` rule with a `folder` asked for: where local copies of the
    /// message go instead of INBOX.
    pub fn folder(&self) -> Option<&str> {
        self.applied.iter().rev().find_map(|a| match a {
            Applied::Tag {
                folder: Some(f), ..
            } => Some(f.as_str()),
            _ => None,
        })
    }

    /// The header fields `tag` rules asked for (`Name: value`).
    pub fn headers(&self) -> impl Iterator<Item = &str> {
        self.applied.iter().filter_map(|a| match a {
            Applied::Tag {
                header: Some(h), ..
            } => Some(h.as_str()),
            _ => None,
        })
    }

    /// Whether `rule` already applied at `stage` (tags count once per message).
    pub(crate) fn has(&self, stage: Stage, rule: &RuleRef) -> bool {
        self.applied
            .iter()
            .any(|a| a.stage() == stage && a.rule() == rule)
    }

    pub(crate) fn record(&mut self, applied: Applied) {
        if !self.has(applied.stage(), applied.rule()) {
            self.applied.push(applied);
        }
    }

    /// The value of the summary header: the score and every verdict that applied, e.g.
    /// `score=1.0; helo=helo-not-fqdn(tag +1.0); rcpt=local-recipient(accept)`.
    pub fn summary(&self) -> String {
        let mut out = format!("score={:.1}", self.score());
        for a in self.applied.iter().take(MAX_SUMMARY) {
            let _ = match a {
                Applied::Tag {
                    stage, rule, score, ..
                } => {
                    write!(out, "; {stage}={}(tag {score:+.1})", rule.name())
                }
                Applied::Rule {
                    stage,
                    rule,
                    verdict,
                } => {
                    write!(out, "; {stage}={}({verdict})", rule.name())
                }
            };
        }
        if self.applied.len() > MAX_SUMMARY {
            let _ = write!(out, "; +{} more", self.applied.len() - MAX_SUMMARY);
        }
        out
    }

    /// The summary as a header field for accepted messages, folded at `; ` so that no line
    /// exceeds 78 characters where avoidable (RFC 5322 §2.1.1), without the final CRLF.
    pub fn summary_header(&self) -> String {
        let mut out = String::from("X-Calm-Policy:");
        let mut line_len = out.len();
        let summary = self.summary();
        let parts: Vec<&str> = summary.split("; ").collect();
        for (i, part) in parts.iter().enumerate() {
            let sep = if i + 1 < parts.len() { ";" } else { "" };
            let piece_len = 1 + part.len() + sep.len();
            if i > 0 && line_len + piece_len > 78 {
                // RFC 5322 §2.2.3: folding is CRLF followed by white space (the piece's own).
                out.push_str("\r\n");
                line_len = 0;
            }
            out.push(' ');
            out.push_str(part);
            out.push_str(sep);
            line_len += piece_len;
        }
        out
    }
}
