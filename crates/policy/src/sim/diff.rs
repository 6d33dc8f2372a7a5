//! `calm simulate --diff`: which cases change verdict between two policies, and the rules
//! responsible on each side.

use std::fmt;

use super::Cases;
use super::report::Outcome;
use super::run::run_case;
use crate::policy::Policy;
use crate::trace::Verdict;

/// A case whose verdict differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The case's name.
    pub case: String,
    /// The line of the case in the case file.
    pub line: usize,
    /// The outcome under the old policy.
    pub old: Outcome,
    /// The outcome under the new policy.
    pub new: Outcome,
    /// Per recipient: address, old and new verdict, where they differ.
    pub recipients: Vec<(String, Verdict, Verdict)>,
}

/// The result of [`diff`].
#[derive(Clone, Debug, PartialEq)]
pub struct DiffReport {
    /// The case file's name.
    pub file: String,
    /// Cases run.
    pub total: usize,
    /// Cases whose verdict changed, in file order.
    pub changes: Vec<Change>,
}

/// Runs every case under `old` and under `new` and lists the cases whose overall verdict or
/// any recipient's verdict differs.
pub fn diff(old: &Policy, new: &Policy, cases: &Cases) -> DiffReport {
    let mut changes = Vec::new();
    for case in &cases.cases {
        let (old_runs, old_outcome) = run_case(old, &cases.directory, case);
        let (new_runs, new_outcome) = run_case(new, &cases.directory, case);
        let rcpt = |runs: &[super::StageRun], addr: &str| {
            runs.iter()
                .find(|r| r.subject.as_deref() == Some(addr))
                .map(|r| r.decision.verdict.clone())
        };
        let recipients: Vec<_> = case
            .rcpts
            .iter()
            .filter_map(|r| {
                let (o, n) = (rcpt(&old_runs, &r.address)?, rcpt(&new_runs, &r.address)?);
                (!o.same_as(&n)).then(|| (r.address.clone(), o, n))
            })
            .collect();
        if !old_outcome.verdict.same_as(&new_outcome.verdict) || !recipients.is_empty() {
            changes.push(Change {
                case: case.name.clone(),
                line: case.line,
                old: old_outcome,
                new: new_outcome,
                recipients,
            });
        }
    }
    DiffReport {
        file: cases.display.clone(),
        total: cases.cases.len(),
        changes,
    }
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.changes {
            writeln!(f, "CHANGED {} ({}:{})", c.case, self.file, c.line)?;
            writeln!(f, "  old: {}", c.old)?;
            writeln!(f, "  new: {}", c.new)?;
            for (addr, o, n) in &c.recipients {
                writeln!(f, "  rcpt <{addr}>: {} -> {}", o, n)?;
            }
        }
        write!(
            f,
            "summary: {} of {} cases change verdict",
            self.changes.len(),
            self.total
        )
    }
}
