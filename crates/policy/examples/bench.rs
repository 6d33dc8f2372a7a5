//! Policy evaluation benchmark: how many SMTP sessions per second go through a 50-rule policy.
//!
//! `cargo run --release -p calm-policy --example bench`
//!
//! The policy is the shipped `policy/default.toml` (38 rules, six access maps) plus 12 more
//! rules, 50 in all. One "case" is a whole session as the SMTP server will drive it: record
//! the connection, evaluate `connect`, `helo`, `mail` (recording the message), one `rcpt`
//! (recording the recipient) and `data`, then build the summary header. DNS answers and the
//! recipient's resolution are facts held in memory. The clock advances 10 ms per case so the
//! rate windows slide, and the limiter is pruned every 10,000 cases as a server would. A
//! second figure runs the shipped case file through `simulate` (which also builds a fresh
//! limiter and the facts for every case).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use calm_policy::{
    Context, Facts, Policy, Rcpt, RcptStatus, Rdns, Role, Sender, Session, Stage, Tables, Timestamp,
};

const EXTRA: &str = r#"
[[connect]]
name = "x-tls-tag"
if = ["tls", "listener submission"]
action = "tag"
header = "X-Bench: tls"
[[helo]]
name = "x-helo-ours-lan"
if = ["helo_is_ours", "client_in lan"]
action = "continue"
[[mail]]
name = "x-declared-size"
if = "message_size > 20M"
action = "defer 452 4.3.1 too big for now"
[[mail]]
name = "x-null-sender-rate"
if = ["sender_null", "messages_per_ip > 50 per 10m"]
action = "defer 450 4.7.1 too many bounces"
[[rcpt]]
name = "x-rate-1"
if = "recipients_per_ip > 5000 per 1d"
action = "defer"
[[rcpt]]
name = "x-rate-2"
if = "recipients_per_sender > 3000 per 1d"
action = "defer"
[[rcpt]]
name = "x-rate-3"
if = ["recipients_per_user > 9000 per 1d", "authenticated"]
action = "defer"
[[data]]
name = "x-subject"
if = "header Subject \"***SPAM***\""
action = "tag"
score = 5.0
[[data]]
name = "x-exe"
if = "header Content-Type \"application/x-msdownload\""
action = "tag"
score = 4.0
[[data]]
name = "x-list"
if = "header List-Id"
action = "tag"
header = "X-Bench: list"
[[data]]
name = "x-score-tag"
if = "score >= 4"
action = "tag"
header = "X-Bench: suspicious"
[[data]]
name = "x-big"
if = ["message_size > 1M", "not authenticated"]
action = "tag"
score = 0.5
"#;

const MESSAGE: &[u8] = b"From: a@sender.example\r\nTo: alice@example.test\r\nSubject: meeting notes\r\n\
Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@sender.example>\r\nContent-Type: text/plain\r\n\r\n\
Notes attached.\r\n";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy")
}

fn load() -> Policy {
    let path = repo().join("default.toml");
    let text = std::fs::read_to_string(&path).expect("policy/default.toml") + EXTRA;
    let base = repo();
    let mut read = |p: &Path| std::fs::read(base.join(p.strip_prefix(&base).unwrap_or(p)));
    let policy = Policy::from_text(&path, &text, &Context::default(), &mut read)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.rule_count(), 50);
    policy
}

/// One session through every stage; returns how many stages refused (to keep the work live).
fn session(policy: &Policy, limiter: &mut calm_policy::Limiter, i: u32, now: Timestamp) -> usize {
    // 65,536 clients in 256 networks, 50,000 senders: at 10 ms per case no rate limit is hit,
    // so every rule is looked at, as for ordinary mail.
    let [_, _, hi, lo] = i.to_be_bytes();
    let client = IpAddr::V4(Ipv4Addr::new(10, lo, hi, 1));
    let names = [format!("mail{}.sender.example", i % 65_536)];
    let from = format!("news{}@sender.example", i % 50_000);
    limiter.connection_opened(client, now);
    let mut session = Session::new();
    let mut facts = Facts::new(client, Role::Mx);
    facts.tls = true;
    facts.rdns = Some(Rdns::confirm(client, &names, |_| vec![client]));
    let mut refused = 0;
    let mut run = |stage, facts: &Facts<'_>, limiter: &calm_policy::Limiter, s: &mut Session| {
        let d = policy.evaluate(stage, facts, s, limiter, now);
        if d.verdict.is_refusal() && std::env::var_os("BENCH_DEBUG").is_some() {
            eprintln!("{}", d.explain());
        }
        refused += usize::from(d.verdict.is_refusal());
        black_box(d);
    };
    run(Stage::Connect, &facts, limiter, &mut session);
    facts.helo = Some(&names[0]);
    run(Stage::Helo, &facts, limiter, &mut session);
    let sender = Sender::Address(&from);
    facts.sender = Some(sender);
    facts.sender_domain_resolves = Some(true);
    limiter.message(client, sender, None, now);
    run(Stage::Mail, &facts, limiter, &mut session);
    limiter.recipient(client, sender, None, now);
    facts.rcpt = Some(Rcpt {
        address: "alice@example.test",
        status: RcptStatus::Known,
        tables: Tables::USERS,
    });
    run(Stage::Rcpt, &facts, limiter, &mut session);
    facts.rcpt = None;
    facts.message = Some(MESSAGE);
    run(Stage::Data, &facts, limiter, &mut session);
    black_box(session.summary_header());
    limiter.connection_closed(client);
    refused
}

fn main() {
    let policy = load();
    let mut limiter = policy.new_limiter();
    let cases: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let mut refused = 0;
    // Warm up caches and the limiter's tables.
    let at = |i: u32| Timestamp::from_millis(10 * u64::from(i));
    for i in 0..10_000 {
        refused += session(&policy, &mut limiter, i, at(i));
    }
    let start = Instant::now();
    for i in 10_000..10_000 + cases {
        let now = at(i);
        refused += session(&policy, &mut limiter, i, now);
        if i % 10_000 == 0 {
            limiter.prune(now);
        }
    }
    let elapsed = start.elapsed();
    let per_case = elapsed / cases;
    println!(
        "{cases} cases through a {}-rule policy in {elapsed:.2?}: {per_case:.2?} per case, {:.0} cases/s ({refused} refusals)",
        policy.rule_count(),
        f64::from(cases) / elapsed.as_secs_f64(),
    );
    let cases = calm_policy::Cases::load(&repo().join("cases.toml")).expect("policy/cases.toml");
    let rounds = 2_000u32;
    let start = Instant::now();
    for _ in 0..rounds {
        black_box(calm_policy::simulate(&policy, &cases));
    }
    let elapsed = start.elapsed();
    let n = rounds * u32::try_from(cases.len()).unwrap_or(u32::MAX);
    println!(
        "simulate: {n} example cases in {elapsed:.2?}: {:.2?} per case",
        elapsed / n
    );
}
