//! `calm check` for policies: warnings about rules that parse but will not do what their
//! author meant. Each warning names the file and line of the rule (or list, or map).
//!
//! The seed incident this exists for: recipient validation ran before a required local map
//! was loaded, and valid local recipients got 5xx. Recipient validation here (`rcpt_unknown`)
//! names the tables it needs (by default every table the configuration loads), the caller
//! reports which tables the directory had loaded ([`crate::Rcpt::tables`]), and the check is
//! only conclusive when all were. Three warnings guard the rest:
//! [`HazardKind::RecipientTableNotLoaded`], [`HazardKind::ValidationIncomplete`] and
//! [`HazardKind::ValidationBeforeMap`].

mod relations;

use std::fmt;
use std::path::PathBuf;

pub use calm_config::Severity;

use crate::action::{AccessAction, Action};
use crate::check::{AuthMethod, Check, Cmp, Cond, Lookup};
use crate::dnsbl::DnsListKind;
use crate::facts::Tables;
use crate::policy::{Policy, Rule};
use crate::stage::Stage;
use crate::verdicts::{AuthResult, DmarcPolicy};
use relations::{contradicts, covers};

/// What kind of hazard a [`Hazard`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HazardKind {
    /// The rule's conditions can never all hold (they contradict, or a list or map is empty,
    /// or a threshold is beyond what the server accepts at all).
    NeverFires,
    /// An earlier rule at the same stage always decides first whenever this one would fire.
    Shadowed,
    /// A check placed at a stage where its data does not exist yet (or any more).
    WrongStage,
    /// The rule depends on something the configuration does not provide (an empty
    /// `config:lan_networks`, no local domains, no hostname).
    MissingConfig,
    /// Seed incident: recipient validation requires a table the configuration never loads,
    /// so it can never be conclusive.
    RecipientTableNotLoaded,
    /// Seed incident: recipient validation does not wait for a table the configuration loads,
    /// so while that table is not loaded, its recipients are rejected.
    ValidationIncomplete,
    /// Seed incident: a rule that rejects unknown recipients runs before a rule that accepts
    /// recipients from a map, so those recipients are rejected.
    ValidationBeforeMap,
    /// Remote recipients can be accepted without authentication or a trusted network.
    OpenRelay,
    /// A list or map is declared but no rule uses it.
    Unused,
    /// A rule rejects on an uncertain signal: a content score below
    /// [`HIGH_SPAM_SCORE`], or an SPF, DKIM or DMARC failure that forwarding and mailing
    /// lists cause for legitimate mail, or a DNS block list whose word alone decides.
    UncertainReject,
}

/// Content scores at least this high may reject without a warning: the operator set a
/// high threshold explicitly.
pub const HIGH_SPAM_SCORE: f64 = 15.0;

/// One warning about a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hazard {
    /// What kind.
    pub kind: HazardKind,
    /// Always a warning today: hazards do not stop a policy from loading.
    pub severity: Severity,
    /// The policy file.
    pub file: PathBuf,
    /// The line of the rule, list or map concerned.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl Hazard {
    /// The same finding as a configuration diagnostic, for `calm check` output.
    pub fn to_diagnostic(&self) -> calm_config::Diagnostic {
        calm_config::Diagnostic {
            severity: self.severity,
            file: self.file.clone(),
            line: self.line,
            message: self.message.clone(),
        }
    }
}

impl fmt::Display for Hazard {
    /// `policy.toml:41: warning: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_diagnostic().fmt(f)
    }
}

impl Policy {
    /// Everything suspicious about this policy under its configuration context, in line
    /// order. An empty list means no hazard was found.
    pub fn hazards(&self) -> Vec<Hazard> {
        let mut out = Hazards {
            policy: self,
            found: Vec::new(),
        };
        for stage in Stage::ALL {
            let rules = self.stage_rules(stage);
            for (i, rule) in rules.iter().enumerate() {
                out.rule(rule);
                out.shadowed(rule, rules.get(..i).unwrap_or_default());
            }
        }
        out.validation_order();
        out.open_relay();
        out.unused();
        out.found.sort_by_key(|h| h.line);
        out.found
    }
}

struct Hazards<'p> {
    policy: &'p Policy,
    found: Vec<Hazard>,
}

fn positive(rule: &Rule) -> impl Iterator<Item = &Check> {
    rule.conds.iter().filter(|c| !c.negate).map(|c| &c.check)
}

impl Hazards<'_> {
    fn warn(&mut self, kind: HazardKind, line: usize, message: String) {
        self.found.push(Hazard {
            kind,
            severity: Severity::Warning,
            file: self.policy.path.clone(),
            line: Some(line),
            message,
        });
    }

    fn rule(&mut self, rule: &Rule) {
        for cond in &rule.conds {
            self.stage_of(rule, cond);
        }
        for (i, a) in rule.conds.iter().enumerate() {
            for b in rule.conds.iter().skip(i + 1) {
                if contradicts(a, b) {
                    let msg = format!(
                        "rule `{}` can never fire: `{}` and `{}` cannot both hold",
                        rule.meta.name(),
                        a.text,
                        b.text
                    );
                    self.warn(HazardKind::NeverFires, rule.meta.line(), msg);
                }
            }
        }
        if matches!(rule.action, Action::Reject(_)) {
            self.uncertain_reject(rule);
        }
        for cond in rule.conds.iter().filter(|c| !c.negate) {
            self.impossible(rule, cond);
            self.needs_config(rule, cond);
            if let Check::RcptUnknown(t) | Check::RcptTablesIncomplete(t) = cond.check {
                self.validation_tables(rule, cond, t);
            }
        }
    }

    /// The lesson of the seed: reject only on high-confidence signals.
    fn uncertain_reject(&mut self, rule: &Rule) {
        let enforced = positive(rule).any(|c| *c == Check::DmarcPolicy(DmarcPolicy::Reject));
        for cond in rule.conds.iter().filter(|c| !c.negate) {
            let why = match &cond.check {
                Check::SpamScore(cmp) if cmp.limit < HIGH_SPAM_SCORE => format!(
                    "a content score below {HIGH_SPAM_SCORE} is uncertain; tag or quarantine instead, or raise the threshold"
                ),
                Check::Auth(AuthMethod::Spf | AuthMethod::Dkim | AuthMethod::Arc, r) if !r.contains(&AuthResult::Pass) => {
                    "forwarding breaks SPF, and mailing lists break DKIM and ARC, for legitimate mail; tag instead".to_owned()
                }
                Check::Auth(AuthMethod::Dmarc, r) if r.contains(&AuthResult::Fail) && !enforced => {
                    "DMARC failures are only the domain owner's to refuse: add `dmarc_policy reject`, or quarantine".to_owned()
                }
                Check::ScannerUnavailable | Check::SpamdUnavailable => {
                    "a scanner being down says nothing about the message, and a 5xx makes the sender give up: fail closed with `defer 451 4.7.1`, or tag".to_owned()
                }
                Check::DnsList { id, .. } if self.is_block_list(*id) => {
                    "one block list's word is uncertain (lists err, and list whole networks); reject on `dnsbl_score` that two lists must reach, or tag".to_owned()
                }
                Check::DnsblScore(cmp) => match self.single_list_reaching(*cmp) {
                    Some(name) => format!(
                        "block list `{name}` alone reaches this score; one list's word is uncertain, so set weights or the threshold so that two lists must agree"
                    ),
                    None => continue,
                },
                _ => continue,
            };
            let msg = format!(
                "rule `{}` rejects on `{}`: {why}",
                rule.meta.name(),
                cond.text
            );
            self.warn(HazardKind::UncertainReject, rule.meta.line(), msg);
        }
    }

    fn is_block_list(&self, id: usize) -> bool {
        self.policy
            .dns_lists
            .get(id)
            .is_some_and(|l| l.kind == DnsListKind::Block)
    }

    /// The first block list whose weight alone makes `dnsbl_score` hold.
    fn single_list_reaching(&self, cmp: Cmp) -> Option<&str> {
        self.policy
            .dns_lists
            .iter()
            .find(|l| l.kind == DnsListKind::Block && cmp.holds(l.weight))
            .map(|l| &*l.name)
    }

    fn stage_of(&mut self, rule: &Rule, cond: &Cond) {
        let needs = cond.check.needs();
        if needs.available_at(rule.stage) {
            return;
        }
        let when = if needs.only {
            format!("only exists at stage `{}`", needs.from)
        } else {
            format!("only exists from stage `{}` on", needs.from)
        };
        let msg = format!(
            "rule `{}` at stage `{}`: `{}` needs {}, which {when}; here it is never known, so the rule can never fire",
            rule.meta.name(),
            rule.stage,
            cond.text,
            needs.what
        );
        self.warn(HazardKind::WrongStage, rule.meta.line(), msg);
    }

    fn impossible(&mut self, rule: &Rule, cond: &Cond) {
        let p = self.policy;
        let why = match &cond.check {
            Check::ClientIn(id) => p.lists.get(*id).filter(|l| l.nets.is_empty() && !l.uses_config)
                .map(|l| format!("list `{}` is empty", l.name)),
            Check::Access(_, id) | Check::RcptIn(id) => p.maps.get(*id).filter(|m| m.len() == 0)
                .map(|m| format!("map `{}` ({}) is empty", m.name, m.path.display())),
            Check::MessageSize(cmp) => p.ctx.max_message_size.filter(|max| !cmp.holds(*max as f64))
                .map(|max| format!("messages over limits.max_message_size ({max} bytes) are refused before the policy sees them")),
            _ => None,
        };
        if let Some(why) = why {
            let msg = format!(
                "rule `{}` can never fire: `{}`: {why}",
                rule.meta.name(),
                cond.text
            );
            self.warn(HazardKind::NeverFires, rule.meta.line(), msg);
        }
    }

    fn needs_config(&mut self, rule: &Rule, cond: &Cond) {
        let ctx = &self.policy.ctx;
        let why = match &cond.check {
            Check::ClientIn(id) => self
                .policy
                .lists
                .get(*id)
                .filter(|l| l.uses_config && l.nets.is_empty())
                .map(|l| {
                    format!(
                        "list `{}` takes config:lan_networks, and server.lan_networks is empty",
                        l.name
                    )
                }),
            Check::RcptKnown
            | Check::RcptUnknown(_)
            | Check::RcptTablesIncomplete(_)
            | Check::SenderDomainLocal
                if ctx.local_domains.is_empty() =>
            {
                Some("the configuration has no server.local_domains".to_string())
            }
            Check::HeloIsOurs if ctx.hostname.is_empty() => {
                Some("the configuration has no server.hostname".to_string())
            }
            _ => None,
        };
        if let Some(why) = why {
            let msg = format!(
                "rule `{}` can never fire: `{}`: {why}",
                rule.meta.name(),
                cond.text
            );
            self.warn(HazardKind::MissingConfig, rule.meta.line(), msg);
        }
    }

    /// The seed incident, statically: the tables a validation check waits for against the
    /// tables the configuration loads.
    fn validation_tables(&mut self, rule: &Rule, cond: &Cond, required: Tables) {
        let configured = self.policy.ctx.tables;
        let name = rule.meta.name();
        let never = required.minus(configured);
        if !never.is_empty() {
            let effect = match cond.check {
                Check::RcptUnknown(_) => {
                    "it can never be conclusive, so the rule never fires and unknown recipients are not refused by it"
                }
                _ => {
                    "it always holds for unknown recipients, so they are refused by this rule forever"
                }
            };
            let msg = format!(
                "rule `{name}`: `{}` requires the {never} table, which the configuration does not load (set accounts.{}_file): {effect}",
                cond.text,
                never.names().next().unwrap_or("users")
            );
            self.warn(HazardKind::RecipientTableNotLoaded, rule.meta.line(), msg);
        }
        let unwaited = configured.minus(required);
        let refuses = matches!(
            rule.action,
            Action::Reject(_) | Action::Defer(_) | Action::Map
        );
        if !unwaited.is_empty() && refuses && matches!(cond.check, Check::RcptUnknown(_)) {
            let msg = format!(
                "rule `{name}`: recipient validation `{}` does not wait for the {unwaited} table, which the configuration loads: \
                 while it is not loaded yet (start-up, reload) recipients that exist only there are refused as unknown. \
                 Drop the table list (it defaults to every configured table) or add {unwaited}",
                cond.text
            );
            self.warn(HazardKind::ValidationIncomplete, rule.meta.line(), msg);
        }
    }

    fn shadowed(&mut self, rule: &Rule, earlier: &[Rule]) {
        let shadow = earlier.iter().find(|e| {
            e.action.always_stops()
                && e.available.iter().all(|a| *a)
                && e.conds
                    .iter()
                    .all(|b| rule.conds.iter().any(|a| covers(a, b)))
        });
        if let Some(e) = shadow {
            let msg = format!(
                "rule `{}` is shadowed by rule `{}` (line {}): whenever its conditions hold, so do those of `{}`, which {}s first",
                rule.meta.name(),
                e.meta.name(),
                e.meta.line(),
                e.meta.name(),
                e.action.word()
            );
            self.warn(HazardKind::Shadowed, rule.meta.line(), msg);
        }
    }

    /// The seed incident by ordering: unknown recipients refused before a rule that would
    /// have accepted them from a map.
    fn validation_order(&mut self) {
        let rules = self.policy.stage_rules(Stage::Rcpt);
        for (i, v) in rules.iter().enumerate() {
            let validates = positive(v).any(|c| matches!(c, Check::RcptUnknown(_)));
            if !validates || !matches!(v.action, Action::Reject(_) | Action::Defer(_)) {
                continue;
            }
            for later in rules.iter().skip(i + 1).filter(|r| r.action.may_accept()) {
                let map = positive(later).find_map(|c| match c {
                    Check::RcptIn(id) | Check::Access(Lookup::Rcpt, id) => {
                        self.policy.maps.get(*id)
                    }
                    _ => None,
                });
                let Some(map) = map else { continue };
                let msg = format!(
                    "rule `{}` refuses unknown recipients before rule `{}` (line {}) can accept recipients listed in map `{}` ({}): \
                     recipients known only to that map are refused. Move `{}` before `{}`",
                    v.meta.name(),
                    later.meta.name(),
                    later.meta.line(),
                    map.name,
                    map.path.display(),
                    later.meta.name(),
                    v.meta.name()
                );
                self.warn(HazardKind::ValidationBeforeMap, v.meta.line(), msg);
            }
        }
    }

    fn open_relay(&mut self) {
        let rules = self.policy.stage_rules(Stage::Rcpt);
        let guard = rules.iter().position(|r| {
            matches!(r.action, Action::Reject(_) | Action::Defer(_))
                && r.conds
                    .iter()
                    .any(|c| !c.negate && c.check == Check::RcptRemote)
                && r.available.iter().all(|a| *a)
        });
        let Some(guard) = guard else {
            let line = rules.first().map_or(1, |r| r.meta.line());
            let msg = "no rcpt rule refuses remote recipients (a reject with `rcpt_remote`): anyone may relay mail through this server".to_string();
            self.warn(HazardKind::OpenRelay, line, msg);
            return;
        };
        for r in rules.iter().take(guard).filter(|r| r.action.may_accept()) {
            if let Some(why) = self.relays(r) {
                let msg = format!(
                    "rule `{}` can accept remote recipients before the relay rule `{}` (line {}) runs: {why}",
                    r.meta.name(),
                    rules.get(guard).map_or("", |g| g.meta.name()),
                    rules.get(guard).map_or(0, |g| g.meta.line())
                );
                self.warn(HazardKind::OpenRelay, r.meta.line(), msg);
            }
        }
    }

    /// Why a rule ahead of the relay rule could accept a remote recipient, if it could.
    fn relays(&self, r: &Rule) -> Option<String> {
        let restricted = r.conds.iter().any(|c| {
            matches!(
                (&c.check, c.negate),
                (Check::RcptRemote, true)
                    | (
                        Check::RcptKnown
                            | Check::RcptUnknown(_)
                            | Check::RcptTablesIncomplete(_)
                            | Check::RcptLookupFailed
                            | Check::Authenticated
                            | Check::ClientIn(_),
                        false
                    )
            )
        });
        if restricted {
            return None;
        }
        // A recipient map limits the rule to the addresses it lists: look at them.
        let by_map = r
            .conds
            .iter()
            .filter(|c| !c.negate)
            .find_map(|c| match c.check {
                Check::RcptIn(id) => Some((self.policy.maps.get(id)?, false)),
                Check::Access(_, id) if matches!(r.action, Action::Map) => {
                    Some((self.policy.maps.get(id)?, true))
                }
                Check::Access(Lookup::Rcpt, id) => Some((self.policy.maps.get(id)?, false)),
                _ => None,
            });
        let Some((map, by_action)) = by_map else {
            return Some("none of its conditions limits it to local recipients, authenticated clients or a trusted network".into());
        };
        let ctx = &self.policy.ctx;
        let open = map.entries().find(|e| {
            let accepts = if by_action {
                matches!(e.action, Some(AccessAction::Ok | AccessAction::Hold))
            } else {
                !e.is_dunno()
            };
            accepts
                && !e
                    .key
                    .rsplit('@')
                    .next()
                    .is_some_and(|d| ctx.is_local_domain(d))
        })?;
        Some(format!(
            "map `{}` lists `{}` ({}:{}), which is not in a local domain",
            map.name,
            open.key,
            map.path.display(),
            open.line
        ))
    }

    fn unused(&mut self) {
        let p = self.policy;
        let conds: Vec<&Check> = p
            .stages
            .iter()
            .flatten()
            .flat_map(|r| &r.conds)
            .map(|c| &c.check)
            .collect();
        for (id, list) in p.lists.iter().enumerate() {
            if !conds
                .iter()
                .any(|c| matches!(c, Check::ClientIn(i) if *i == id))
            {
                self.warn(
                    HazardKind::Unused,
                    list.line,
                    format!("list `{}` is not used by any rule", list.name),
                );
            }
        }
        for (id, map) in p.maps.iter().enumerate() {
            let used = conds
                .iter()
                .any(|c| matches!(c, Check::RcptIn(i) | Check::Access(_, i) if *i == id));
            if !used {
                self.warn(
                    HazardKind::Unused,
                    map.decl_line,
                    format!("map `{}` is not used by any rule", map.name),
                );
            }
        }
        // A DNS list costs a look-up per session: warn when neither a `dnsbl`/`dnswl`
        // condition nor `dnsbl_score` reads it.
        let scored = conds.iter().any(|c| matches!(c, Check::DnsblScore(_)));
        for (id, list) in p.dns_lists.iter().enumerate() {
            let used = conds
                .iter()
                .any(|c| matches!(c, Check::DnsList { id: i, .. } if *i == id));
            if !used && !scored {
                self.warn(
                    HazardKind::Unused,
                    list.line,
                    format!(
                        "{} `{}` is not used by any rule (nor by dnsbl_score)",
                        list.kind.as_str(),
                        list.name
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
