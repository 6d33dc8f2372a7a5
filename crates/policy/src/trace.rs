//! [`Decision`], [`Verdict`] and [`Trace`]: what the engine decided at a stage, and why.

use std::fmt;
use std::sync::Arc;

use calm_smtp_proto::Reply;

use crate::stage::Stage;

/// A rule, as traces and reports name it: `name (file:line)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef(Arc<RuleMeta>);

#[derive(Debug, PartialEq, Eq)]
struct RuleMeta {
    name: String,
    file: String,
    line: usize,
}

impl RuleRef {
    pub(crate) fn new(name: &str, file: &str, line: usize) -> RuleRef {
        RuleRef(Arc::new(RuleMeta {
            name: name.to_owned(),
            file: file.to_owned(),
            line,
        }))
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The policy file's name (without its directory).
    pub fn file(&self) -> &str {
        &self.0.file
    }

    /// The line of the rule's `[[stage]]` header.
    pub fn line(&self) -> usize {
        self.0.line
    }
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}:{})", self.0.name, self.0.file, self.0.line)
    }
}

/// A fact a rule used, for the record: `rcpt=bob@example.test`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactUse {
    /// The fact's name (`client`, `helo`, `sender`, `rcpt`, `resolution`, `count`, ...).
    pub name: &'static str,
    /// Its value, as text.
    pub value: String,
}

/// The outcome of a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No rule decided: go on as usual.
    Pass,
    /// A rule accepted: go on, and skip the rest of this stage's rules.
    Accept,
    /// Refuse with this 5xx reply.
    Reject(Reply),
    /// Refuse with this 4xx reply.
    Defer(Reply),
    /// Accept, but file the message into quarantine (see [`crate::Session::quarantined_by`]).
    Quarantine,
}

impl Verdict {
    /// The reply to send instead of the normal one, for a refusal.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Verdict::Reject(r) | Verdict::Defer(r) => Some(r),
            _ => None,
        }
    }

    /// Reject or defer.
    pub fn is_refusal(&self) -> bool {
        self.reply().is_some()
    }

    /// The same verdict for an operator: same word, and for refusals the same code and
    /// enhanced code (a reworded text is not a different verdict). Shadow-policy and
    /// `--diff` comparisons use this.
    pub fn same_as(&self, other: &Verdict) -> bool {
        match (self.reply(), other.reply()) {
            (Some(a), Some(b)) => {
                self.word() == other.word() && a.code == b.code && a.enhanced == b.enhanced
            }
            _ => self.word() == other.word(),
        }
    }

    /// `pass`, `accept`, `reject`, `defer` or `quarantine`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Accept => "accept",
            Verdict::Reject(_) => "reject",
            Verdict::Defer(_) => "defer",
            Verdict::Quarantine => "quarantine",
        }
    }
}

impl fmt::Display for Verdict {
    /// `reject 550 5.1.1 text`, or the bare word.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())?;
        if let Some(r) = self.reply() {
            write!(f, " {}", r.code)?;
            if let Some(e) = r.enhanced {
                write!(f, " {e}")?;
            }
            write!(f, " {}", r.text())?;
        }
        Ok(())
    }
}

/// A `tag` rule that fired.
#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    /// The rule.
    pub rule: RuleRef,
    /// Points added to the score.
    pub score: f64,
    /// The header field to add (`Name: value`), if any.
    pub header: Option<String>,
    /// The mailbox to file the message in instead of INBOX, if any.
    pub folder: Option<String>,
}

/// What happened to one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepResult {
    /// All conditions held; the rule's action ran. `action` is the action's word.
    Fired {
        /// `accept`, `reject`, `defer`, `tag`, `quarantine`, `continue` or `map`.
        action: &'static str,
        /// The facts the conditions read.
        facts: Vec<FactUse>,
    },
    /// This condition did not hold.
    NoMatch {
        /// The condition, as written.
        condition: Arc<str>,
    },
    /// This condition could not be decided: a fact it needs is missing.
    Unknown {
        /// The condition, as written.
        condition: Arc<str>,
        /// What was missing.
        missing: &'static str,
    },
    /// A `tag` rule whose tag this message already has (tags count once per message).
    Repeated,
}

/// One rule looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The rule.
    pub rule: RuleRef,
    /// What happened.
    pub result: StepResult,
}

/// Every rule looked at during one stage, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The steps.
    pub steps: Vec<Step>,
}

impl fmt::Display for Trace {
    /// One line per rule: `name (file:line): fired/no/unknown ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            write!(f, "{}: ", step.rule)?;
            match &step.result {
                StepResult::Fired { action, facts } => {
                    write!(f, "fired ({action})")?;
                    write_facts(f, facts)?;
                }
                StepResult::NoMatch { condition } => write!(f, "no match: {condition}")?,
                StepResult::Unknown { condition, missing } => {
                    write!(f, "undecided: {condition}: {missing}")?;
                }
                StepResult::Repeated => f.write_str("already tagged")?,
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}

fn write_facts(f: &mut fmt::Formatter<'_>, facts: &[FactUse]) -> fmt::Result {
    if facts.is_empty() {
        return Ok(());
    }
    f.write_str(" [")?;
    for (i, u) in facts.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{}={}", u.name, u.value)?;
    }
    f.write_str("]")
}

/// The engine's answer for one stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The stage evaluated.
    pub stage: Stage,
    /// The outcome.
    pub verdict: Verdict,
    /// The rule that decided; `None` for [`Verdict::Pass`].
    pub rule: Option<RuleRef>,
    /// The `tag` rules that fired at this stage.
    pub tags: Vec<Tag>,
    /// Every rule looked at.
    pub trace: Trace,
}

impl Decision {
    /// The facts the deciding rule used (empty when no rule decided).
    pub fn facts(&self) -> &[FactUse] {
        let decided = self
            .trace
            .steps
            .iter()
            .rev()
            .find(|s| Some(&s.rule) == self.rule.as_ref());
        match decided.map(|s| &s.result) {
            Some(StepResult::Fired { facts, .. }) => facts,
            _ => &[],
        }
    }

    /// The reply to send for a refusal.
    pub fn reply(&self) -> Option<&Reply> {
        self.verdict.reply()
    }

    /// One line for the event log, e.g. `rcpt: rule unknown-local (policy.toml:41) rejected
    /// 550 5.1.1 <bob@example.test>: ... [rcpt=bob@example.test resolution=unknown]`.
    pub fn explain(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.stage)?;
        match &self.rule {
            None => write!(f, "no rule decided ({} looked at)", self.trace.steps.len())?,
            Some(rule) => {
                let done = match self.verdict {
                    Verdict::Pass => "passed",
                    Verdict::Accept => "accepted",
                    Verdict::Reject(_) => "rejected",
                    Verdict::Defer(_) => "deferred",
                    Verdict::Quarantine => "quarantined",
                };
                write!(f, "rule {rule} {done}")?;
                if let Some(r) = self.reply() {
                    write!(f, " {}", r.code)?;
                    if let Some(e) = r.enhanced {
                        write!(f, " {e}")?;
                    }
                    write!(f, ": {}", r.text())?;
                }
                write_facts(f, self.facts())?;
            }
        }
        for (i, t) in self.tags.iter().enumerate() {
            f.write_str(if i == 0 { "; tagged by " } else { ", " })?;
            write!(f, "{} ({:+})", t.rule.name(), t.score)?;
        }
        Ok(())
    }
}
