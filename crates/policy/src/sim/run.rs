//! Running one case through a policy, the way the SMTP server will: record the event in the
//! limiter, build the facts, evaluate the stage, stop at a refusal.

use std::borrow::Cow;
use std::net::IpAddr;

use super::report::{CaseResult, Outcome, Report, StageRun};
use super::{Case, Cases, Directory, Expect, SimStatus};
use crate::context::Context;
use crate::dnsbl::DnsblAnswer;
use crate::facts::{Facts, Rcpt, RcptStatus, Rdns, Sender, Tables};
use crate::limiter::Limiter;
use crate::policy::Policy;
use crate::session::Session;
use crate::stage::{Stage, Timestamp};
use crate::trace::{StepResult, Verdict};
use crate::verdicts::ContentScorer;

/// The simulated clock: every case runs at this instant; its `prior` events one second before.
pub(crate) const T0: Timestamp = Timestamp::from_secs(1_000_000);
const BEFORE: Timestamp = Timestamp::from_secs(999_999);

/// Runs every case of `cases` through `policy`, offline and deterministically (fixed clock,
/// DNS answers and directory from the case file, a fresh limiter per case).
pub fn simulate(policy: &Policy, cases: &Cases) -> Report {
    simulate_with(policy, cases, None)
}

/// [`simulate`], with the content facts of each case's message from `scorer` (calm plugs in
/// calm-content's rules and classifier); facts a case states itself win.
pub fn simulate_with(policy: &Policy, cases: &Cases, scorer: Option<&dyn ContentScorer>) -> Report {
    let results = cases
        .cases
        .iter()
        .map(|case| {
            let case = prepare(policy, scorer, case);
            let case = case.as_ref();
            let (runs, outcome) = run_case(policy, &cases.directory, case);
            let failures = check_expectations(case, &runs, &outcome);
            CaseResult {
                name: case.name.clone(),
                file: cases.display.clone(),
                line: case.line,
                runs,
                outcome,
                failures,
            }
        })
        .collect();
    Report {
        cases: results,
        verbose: false,
    }
}

/// The case with the scorer's content facts, and "not listed" for every DNS list of the policy
/// that a case giving DNS list answers does not name.
fn prepare<'c>(
    policy: &Policy,
    scorer: Option<&dyn ContentScorer>,
    case: &'c Case,
) -> Cow<'c, Case> {
    let mut case = Cow::Borrowed(case);
    if let (Some(s), Some(m)) = (scorer, &case.message) {
        let facts = s.facts(m);
        let c = case.to_mut();
        c.content = c.content.clone().or(facts);
    }
    if let Some(given) = &case.dnsbl {
        let missing: Vec<DnsblAnswer> = policy
            .dnsbl_queries()
            .into_iter()
            .filter(|q| !given.iter().any(|a| a.name == q.name))
            .map(|q| DnsblAnswer::new(q.name, Vec::new()))
            .collect();
        if !missing.is_empty() {
            case.to_mut().dnsbl.get_or_insert_default().extend(missing);
        }
    }
    case
}

fn prior(limiter: &mut Limiter, case: &Case, sender: Sender<'_>) {
    let p = case.prior;
    let user = case.auth.as_deref();
    for _ in 0..p.connections {
        limiter.connection_opened(case.client, BEFORE);
        limiter.connection_closed(case.client);
    }
    for _ in 0..p.open_connections {
        limiter.connection_opened(case.client, BEFORE);
    }
    for _ in 0..p.messages {
        limiter.message(case.client, sender, user, BEFORE);
    }
    for _ in 0..p.recipients {
        limiter.recipient(case.client, sender, user, BEFORE);
    }
    for _ in 0..p.auth_failures {
        limiter.auth_failure(case.client, BEFORE);
    }
    let other = neighbour(case.client);
    for _ in 0..p.net_connections {
        limiter.connection_opened(other, BEFORE);
        limiter.connection_closed(other);
    }
    for _ in 0..p.net_open_connections {
        limiter.connection_opened(other, BEFORE);
    }
}

/// Another address of the same /24 or /64: the client's with the lowest bit flipped.
fn neighbour(ip: IpAddr) -> IpAddr {
    match crate::facts::canonical_ip(ip) {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) ^ 1).into()),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) ^ 1).into()),
    }
}

/// A-record answers for `name` from the case's fixed DNS.
fn forward(case: &Case, name: &str) -> Vec<IpAddr> {
    let answers = case
        .dns
        .as_ref()
        .and_then(|d| d.get(&name.to_ascii_lowercase()));
    answers
        .into_iter()
        .flatten()
        .filter_map(|v| v.parse().ok())
        .collect()
}

fn sender_resolves(case: &Case) -> Option<bool> {
    let domain = case
        .from
        .as_ref()?
        .as_ref()?
        .rsplit_once('@')?
        .1
        .to_ascii_lowercase();
    case.sender_domain_resolves.or_else(|| {
        case.dns
            .as_ref()
            .map(|d| d.get(&domain).is_some_and(|v| !v.is_empty()))
    })
}

fn resolve(address: &str, dir: &Directory, ctx: &Context, tables: Tables) -> SimStatus {
    let a = address.to_ascii_lowercase();
    let Some((local, domain)) = a.rsplit_once('@') else {
        return SimStatus::Unknown;
    };
    if tables.contains(Tables::VIRTUAL) && dir.virtual_map.contains(&a) {
        return SimStatus::Known;
    }
    if !ctx.is_local_domain(domain) {
        return SimStatus::Remote;
    }
    // RFC 5233 sub-addressing: bob+tag@ is bob@.
    let base = format!(
        "{}@{domain}",
        local.split_once('+').map_or(local, |(b, _)| b)
    );
    let has = |list: &Vec<String>| list.contains(&a) || list.contains(&base);
    let known = (tables.contains(Tables::USERS) && has(&dir.users))
        || (tables.contains(Tables::ALIASES) && has(&dir.aliases))
        || (tables.contains(Tables::VIRTUAL) && has(&dir.virtual_map));
    if known {
        SimStatus::Known
    } else {
        SimStatus::Unknown
    }
}

fn status(s: &SimStatus) -> RcptStatus<'_> {
    match s {
        SimStatus::Known => RcptStatus::Known,
        SimStatus::Unknown => RcptStatus::Unknown,
        SimStatus::Remote => RcptStatus::Remote,
        SimStatus::Failed(r) => RcptStatus::Failed(r),
    }
}

struct Run<'p> {
    policy: &'p Policy,
    session: Session,
    limiter: Limiter,
    runs: Vec<StageRun>,
}

impl Run<'_> {
    fn stage(&mut self, stage: Stage, facts: &Facts<'_>, subject: Option<&str>) -> Verdict {
        let decision = self
            .policy
            .evaluate(stage, facts, &mut self.session, &self.limiter, T0);
        let verdict = decision.verdict.clone();
        self.runs.push(StageRun {
            subject: subject.map(str::to_owned),
            decision,
        });
        verdict
    }

    fn outcome(&self, verdict: Verdict) -> Outcome {
        let last = self.runs.last();
        Outcome {
            verdict,
            stage: last.map_or(Stage::Connect, |r| r.decision.stage),
            rule: last.and_then(|r| r.decision.rule.clone()),
        }
    }
}

/// Runs the session of one case; the per-stage runs and the overall outcome.
pub(crate) fn run_case(policy: &Policy, dir: &Directory, case: &Case) -> (Vec<StageRun>, Outcome) {
    let sender = match &case.from {
        Some(Some(a)) => Sender::Address(a),
        _ => Sender::Null,
    };
    let mut run = Run {
        policy,
        session: Session::new(),
        limiter: policy.new_limiter(),
        runs: Vec::new(),
    };
    prior(&mut run.limiter, case, sender);
    run.limiter.connection_opened(case.client, T0);
    let mut facts = Facts::new(case.client, case.listener);
    facts.tls = case.tls;
    facts.dnsbl = case.dnsbl.as_deref();
    facts.rdns = case
        .ptr
        .as_deref()
        .map(|names| Rdns::confirm(case.client, names, |n| forward(case, n)));
    let refused = |run: &Run<'_>, v: &Verdict| v.is_refusal().then(|| run.outcome(v.clone()));
    let v = run.stage(Stage::Connect, &facts, None);
    if let Some(o) = refused(&run, &v) {
        return (run.runs, o);
    }
    if let Some(helo) = &case.helo {
        facts.helo = Some(helo);
        let v = run.stage(Stage::Helo, &facts, None);
        if let Some(o) = refused(&run, &v) {
            return (run.runs, o);
        }
    }
    let Some(from) = &case.from else {
        let o = run.outcome(Verdict::Accept);
        return (run.runs, o);
    };
    facts.auth_user = case.auth.as_deref();
    facts.sender = Some(sender);
    facts.sender_owned = case
        .sender_owned
        .or_else(|| Some(from.as_deref()?.eq_ignore_ascii_case(case.auth.as_deref()?)));
    facts.sender_domain_resolves = sender_resolves(case);
    facts.size = case.size;
    // RFC 7208 §2.4: SPF checks the MAIL FROM identity, so its result exists from `mail` on.
    facts.spf = case.content.spf;
    run.limiter
        .message(case.client, sender, facts.auth_user, T0);
    let v = run.stage(Stage::Mail, &facts, None);
    if let Some(o) = refused(&run, &v) {
        return (run.runs, o);
    }
    rcpts_and_data(run, case, dir, facts)
}

fn rcpts_and_data<'c>(
    mut run: Run<'_>,
    case: &'c Case,
    dir: &Directory,
    facts: Facts<'c>,
) -> (Vec<StageRun>, Outcome) {
    let ctx = run.policy.context();
    let tables = case.tables.or(dir.tables).unwrap_or(ctx.tables);
    let statuses: Vec<SimStatus> = case
        .rcpts
        .iter()
        .map(|r| {
            r.status
                .clone()
                .unwrap_or_else(|| resolve(&r.address, dir, ctx, tables))
        })
        .collect();
    let mut accepted = 0;
    let mut first_refusal = None;
    for (r, s) in case.rcpts.iter().zip(&statuses) {
        run.limiter.recipient(
            case.client,
            facts.sender.unwrap_or(Sender::Null),
            facts.auth_user,
            T0,
        );
        let mut f = facts.clone();
        f.rcpt = Some(Rcpt {
            address: &r.address,
            status: status(s),
            tables,
        });
        let v = run.stage(Stage::Rcpt, &f, Some(&r.address));
        if v.is_refusal() {
            first_refusal = first_refusal.or_else(|| Some(run.outcome(v)));
        } else {
            accepted += 1;
        }
    }
    if case.rcpts.is_empty() {
        let o = run.outcome(Verdict::Accept);
        return (run.runs, o);
    }
    if accepted == 0 {
        let o = first_refusal.unwrap_or_else(|| run.outcome(Verdict::Accept));
        return (run.runs, o);
    }
    let o = data(&mut run, case, facts);
    (run.runs, o)
}

/// The `data` stage, once at least one recipient was accepted.
fn data<'c>(run: &mut Run<'_>, case: &'c Case, mut facts: Facts<'c>) -> Outcome {
    facts.rcpt = None;
    case.content.apply(&mut facts);
    facts.message = case.message.as_deref();
    facts.size = if case.message.is_some() {
        None
    } else {
        case.size
    };
    let v = run.stage(Stage::Data, &facts, None);
    let v = match v {
        Verdict::Pass | Verdict::Accept if run.session.quarantined_by().is_some() => {
            Verdict::Quarantine
        }
        Verdict::Pass => Verdict::Accept,
        v => v,
    };
    run.outcome(v)
}

/// What did not go as the case expected.
fn check_expectations(case: &Case, runs: &[StageRun], outcome: &Outcome) -> Vec<String> {
    let mut failures = Vec::new();
    if let Some((lo, hi)) = case.expect_score {
        match case.content.spam_score {
            None => failures.push(format!(
                "expected a spam score in [{lo}, {hi}], the message was not scored"
            )),
            Some(s) if !(lo..=hi).contains(&s) => {
                failures.push(format!("expected a spam score in [{lo}, {hi}], got {s:.1}"));
            }
            Some(_) => {}
        }
    }
    if let Some(e) = &case.expect
        && !matches(e, &outcome.verdict)
    {
        failures.push(format!("expected {e}, got {}", outcome.verdict));
    }
    for (stage, e) in &case.stages {
        let at: Vec<&StageRun> = runs.iter().filter(|r| r.decision.stage == *stage).collect();
        if at.is_empty() {
            failures.push(format!(
                "expected {stage}: {e}, but the session never reached {stage}"
            ));
        }
        for r in at.iter().filter(|r| !matches(e, &r.decision.verdict)) {
            failures.push(format!("expected {stage}: {e}, got {}", r.decision.verdict));
        }
    }
    for rc in &case.rcpts {
        let Some(e) = &rc.expect else { continue };
        let run = runs
            .iter()
            .find(|r| r.subject.as_deref() == Some(rc.address.as_str()));
        match run {
            None => failures.push(format!(
                "expected rcpt {}: {e}, but it was never evaluated",
                rc.address
            )),
            Some(r) if !matches(e, &r.decision.verdict) => {
                failures.push(format!(
                    "expected rcpt {}: {e}, got {}",
                    rc.address, r.decision.verdict
                ));
            }
            Some(_) => {}
        }
    }
    let fired = |name: &str| {
        runs.iter()
            .flat_map(|r| &r.decision.trace.steps)
            .any(|s| s.rule.name() == name && matches!(s.result, StepResult::Fired { .. }))
    };
    for name in case.fired.iter().filter(|n| !fired(n)) {
        failures.push(format!("expected rule `{name}` to fire, it did not"));
    }
    for name in case.not_fired.iter().filter(|n| fired(n)) {
        failures.push(format!("expected rule `{name}` not to fire, it did"));
    }
    failures
}

/// Whether a verdict meets an expectation (`accept` also meets a stage that passed).
pub(crate) fn matches(e: &Expect, v: &Verdict) -> bool {
    let word = match (e.word, v) {
        ("accept", Verdict::Accept | Verdict::Pass) => true,
        (w, v) => w == v.word(),
    };
    let reply = v.reply();
    word && e.code.is_none_or(|c| reply.is_some_and(|r| r.code == c))
        && e.enhanced
            .is_none_or(|x| reply.is_some_and(|r| r.enhanced == Some(x)))
}
