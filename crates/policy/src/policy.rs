//! [`Policy`] and its evaluation: one stage's rules, in order, against the facts.

use std::path::{Path, PathBuf};

use crate::access::{AccessMap, Entry};
use crate::action::{AccessAction, Action};
use crate::check::{Cond, Env, PolicyData, Tri};
use crate::context::Context;
use crate::dnsbl::{DnsList, DnsblQuery};
use crate::facts::Facts;
use crate::limiter::{Limiter, LimiterSettings};
use crate::lists::NetList;
use crate::session::{Applied, Session};
use crate::stage::{Stage, Timestamp};
use crate::trace::{Decision, RuleRef, Step, StepResult, Tag, Trace, Verdict};

/// What the trace says about a condition that is not available at its rule's stage.
const NOT_AT_STAGE: &str = "its data does not exist at this stage";

/// One rule, loaded.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub(crate) meta: RuleRef,
    pub(crate) stage: Stage,
    pub(crate) conds: Vec<Cond>,
    /// Per condition: its data exists at `stage`.
    pub(crate) available: Vec<bool>,
    pub(crate) action: Action,
}

/// A loaded policy: per stage, an ordered list of named rules, plus the lists and maps they
/// use. Immutable once loaded; share it (`Arc<Policy>`) and swap it whole on reload.
#[derive(Clone, Debug)]
pub struct Policy {
    pub(crate) path: PathBuf,
    pub(crate) stages: [Vec<Rule>; 5],
    pub(crate) lists: Vec<NetList>,
    pub(crate) maps: Vec<AccessMap>,
    pub(crate) dns_lists: Vec<DnsList>,
    pub(crate) ctx: Context,
    pub(crate) limits: LimiterSettings,
}

/// How a rule's conditions came out.
enum Match<'e> {
    Yes(Option<&'e Entry>),
    No(usize),
    Unknown(usize, &'static str),
}

impl Rule {
    /// All conditions must hold. A condition that fails decides; an unknown one only
    /// decides when no later condition fails.
    fn matches<'e>(&self, env: &Env<'e, '_>) -> Match<'e> {
        let mut hit = None;
        let mut unknown = None;
        for (i, cond) in self.conds.iter().enumerate() {
            let result = if self.available.get(i).copied().unwrap_or(false) {
                cond.check.eval(env)
            } else {
                Tri::Unknown(NOT_AT_STAGE)
            };
            match (result, cond.negate) {
                (Tri::Unknown(why), _) => unknown = unknown.or(Some((i, why))),
                (Tri::Yes(entry), false) => hit = hit.or(entry),
                (Tri::No, true) => {}
                (Tri::Yes(_), true) | (Tri::No, false) => return Match::No(i),
            }
        }
        match unknown {
            Some((i, why)) => Match::Unknown(i, why),
            None => Match::Yes(hit),
        }
    }

    fn step(&self, result: StepResult) -> Step {
        Step {
            rule: self.meta.clone(),
            result,
        }
    }

    fn condition(&self, i: usize) -> std::sync::Arc<str> {
        self.conds
            .get(i)
            .map_or_else(|| "".into(), |c| c.text.clone())
    }
}

impl Policy {
    /// The policy file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration context the policy was loaded against.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The rules of `stage`, in order.
    pub fn rules(&self, stage: Stage) -> impl Iterator<Item = &RuleRef> {
        self.stage_rules(stage).iter().map(|r| &r.meta)
    }

    /// Number of rules over all stages.
    pub fn rule_count(&self) -> usize {
        self.stages.iter().map(Vec::len).sum()
    }

    /// The DNS list look-ups this policy uses (`[dnsbl.NAME]` and `[dnswl.NAME]`), block lists
    /// first. Look each up when its target is known ([`DnsblQuery::subject`]) and pass the
    /// answers in [`Facts::dnsbl`]; a list left out is undecided.
    pub fn dnsbl_queries(&self) -> Vec<DnsblQuery> {
        self.dns_lists.iter().map(DnsList::query).collect()
    }

    /// What a [`Limiter`] must keep for this policy's rate checks.
    pub fn limiter_settings(&self) -> LimiterSettings {
        self.limits
    }

    /// A fresh limiter sized for this policy.
    pub fn new_limiter(&self) -> Limiter {
        Limiter::new(self.limits)
    }

    pub(crate) fn stage_rules(&self, stage: Stage) -> &[Rule] {
        self.stages.get(stage.index()).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn data(&self) -> PolicyData<'_> {
        PolicyData {
            lists: &self.lists,
            maps: &self.maps,
            dns_lists: &self.dns_lists,
            ctx: &self.ctx,
        }
    }

    /// Runs the rules of `stage` in order against `facts`, at time `now`.
    ///
    /// The first rule whose conditions all hold and whose action is `accept`, `reject`,
    /// `defer`, `quarantine` or `map` decides; `tag` and `continue` rules record and go on.
    /// When no rule decides the verdict is [`Verdict::Pass`]. `session` collects tags, the
    /// score and the quarantine flag; `limiter` is only read (record events before calling).
    pub fn evaluate(
        &self,
        stage: Stage,
        facts: &Facts<'_>,
        session: &mut Session,
        limiter: &Limiter,
        now: Timestamp,
    ) -> Decision {
        let rules = self.stage_rules(stage);
        let mut env = Env {
            facts,
            limiter,
            now,
            score: session.score(),
            data: self.data(),
        };
        let mut trace = Trace {
            steps: Vec::with_capacity(rules.len()),
        };
        let mut tags = Vec::new();
        for rule in rules {
            let (result, verdict) = self.run_rule(rule, &mut env, session, &mut tags);
            trace.steps.push(rule.step(result));
            if let Some(verdict) = verdict {
                return Decision {
                    stage,
                    verdict,
                    rule: Some(rule.meta.clone()),
                    tags,
                    trace,
                };
            }
        }
        Decision {
            stage,
            verdict: Verdict::Pass,
            rule: None,
            tags,
            trace,
        }
    }

    /// Looks at one rule: what happened to it, and the verdict when it ends the stage.
    fn run_rule(
        &self,
        rule: &Rule,
        env: &mut Env<'_, '_>,
        session: &mut Session,
        tags: &mut Vec<Tag>,
    ) -> (StepResult, Option<Verdict>) {
        let hit = match rule.matches(env) {
            Match::Yes(hit) => hit,
            Match::No(i) => {
                let condition = rule.condition(i);
                return (StepResult::NoMatch { condition }, None);
            }
            Match::Unknown(i, missing) => {
                let condition = rule.condition(i);
                return (StepResult::Unknown { condition, missing }, None);
            }
        };
        if matches!(rule.action, Action::Tag { .. }) && session.has(rule.stage, &rule.meta) {
            return (StepResult::Repeated, None);
        }
        let mut used = Vec::new();
        for c in &rule.conds {
            c.check.facts_used(env, hit, &mut used);
        }
        let fired = StepResult::Fired {
            action: rule.action.word(),
            facts: used,
        };
        let facts = env.facts;
        (fired, self.apply(rule, hit, facts, session, tags, env))
    }

    /// Runs a fired rule's action; `Some` when it ends the stage.
    fn apply(
        &self,
        rule: &Rule,
        hit: Option<&Entry>,
        facts: &Facts<'_>,
        session: &mut Session,
        tags: &mut Vec<Tag>,
        env: &mut Env<'_, '_>,
    ) -> Option<Verdict> {
        let name = rule.meta.name();
        let (stage, meta) = (rule.stage, rule.meta.clone());
        let verdict = match &rule.action {
            Action::Tag {
                score,
                header,
                folder,
            } => {
                let header = header.as_ref().map(|h| h.render(facts, name));
                env.score += score;
                let tag = Tag {
                    rule: meta.clone(),
                    score: *score,
                    header: header.clone(),
                    folder: folder.clone(),
                };
                tags.push(tag);
                session.record(Applied::Tag {
                    stage,
                    rule: meta,
                    score: *score,
                    header,
                    folder: folder.clone(),
                });
                return None;
            }
            Action::Continue => {
                session.record(Applied::Rule {
                    stage,
                    rule: meta,
                    verdict: "continue",
                });
                return None;
            }
            Action::Accept => Verdict::Accept,
            Action::Quarantine => Verdict::Quarantine,
            Action::Reject(t) => Verdict::Reject(t.render(facts, name)),
            Action::Defer(t) => Verdict::Defer(t.render(facts, name)),
            Action::Map => match hit.and_then(|e| e.action.as_ref()) {
                Some(AccessAction::Ok) => Verdict::Accept,
                Some(AccessAction::Hold) => Verdict::Quarantine,
                Some(AccessAction::Reject(t)) => Verdict::Reject(t.render(facts, name)),
                Some(AccessAction::Defer(t)) => Verdict::Defer(t.render(facts, name)),
                Some(AccessAction::Dunno) | None => return None,
            },
        };
        if matches!(verdict, Verdict::Accept | Verdict::Quarantine) {
            let word = verdict.word();
            session.record(Applied::Rule {
                stage,
                rule: meta,
                verdict: word,
            });
        }
        Some(verdict)
    }
}

#[cfg(test)]
mod tests;
