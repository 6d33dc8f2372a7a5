//! [`Report`]: the result of a simulation, printed per case with its per-stage trace.

use std::fmt;

use crate::stage::Stage;
use crate::trace::{Decision, RuleRef, Verdict};

/// One stage evaluated during a case (`rcpt` once per recipient).
#[derive(Clone, Debug, PartialEq)]
pub struct StageRun {
    /// The recipient, for `rcpt`.
    pub subject: Option<String>,
    /// What the policy decided.
    pub decision: Decision,
}

/// How a case's session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `accept` or `quarantine` when the message was taken, or the refusal that ended it.
    pub verdict: Verdict,
    /// The last stage evaluated.
    pub stage: Stage,
    /// The rule that decided that stage, if any.
    pub rule: Option<RuleRef>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.verdict)?;
        match &self.rule {
            Some(r) => write!(f, " (at {}, by rule {r})", self.stage),
            None => write!(f, " (at {}, no rule decided)", self.stage),
        }
    }
}

/// One case's result.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// The case file's name.
    pub file: String,
    /// The line of the case's `[[case]]` header.
    pub line: usize,
    /// Every stage evaluated, in order.
    pub runs: Vec<StageRun>,
    /// How the session ended.
    pub outcome: Outcome,
    /// Expectations that were not met; empty means PASS.
    pub failures: Vec<String>,
}

impl CaseResult {
    /// Every expectation was met.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The result of [`crate::simulate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// One result per case, in file order.
    pub cases: Vec<CaseResult>,
    /// Print every rule looked at, not only the ones that fired.
    pub verbose: bool,
}

impl Report {
    /// Cases that met every expectation.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    /// Cases that did not.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// All cases passed: `calm simulate` exits 0 only then.
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for case in &self.cases {
            let status = if case.passed() { "PASS" } else { "FAIL" };
            writeln!(f, "{status} {} ({}:{})", case.name, case.file, case.line)?;
            for run in &case.runs {
                let subject = run
                    .subject
                    .as_deref()
                    .map(|s| format!(" <{s}>"))
                    .unwrap_or_default();
                let line = run.decision.explain();
                let line = line
                    .split_once(": ")
                    .map_or(line.as_str(), |(_, rest)| rest);
                writeln!(f, "  {}{subject}: {line}", run.decision.stage)?;
                if self.verbose {
                    for l in run.decision.trace.to_string().lines() {
                        writeln!(f, "      {l}")?;
                    }
                }
            }
            writeln!(f, "  => {}", case.outcome)?;
            for failure in &case.failures {
                writeln!(f, "  FAIL: {failure}")?;
            }
        }
        write!(
            f,
            "summary: {} cases, {} passed, {} failed",
            self.cases.len(),
            self.passed(),
            self.failed()
        )
    }
}
