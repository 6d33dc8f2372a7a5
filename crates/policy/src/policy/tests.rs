//! Evaluation: every action, the order of rules, undecided facts, traces and the session.

use crate::facts::{RcptStatus, Sender};
use crate::session::Session;
use crate::stage::{Stage, Timestamp};
use crate::testutil::*;
use crate::trace::{StepResult, Verdict};

const NOW: Timestamp = Timestamp::from_secs(1000);

#[test]
fn first_deciding_rule_wins_and_stops_the_stage() {
    let p = policy(
        "[[rcpt]]\nname = \"a\"\nif = \"rcpt_remote\"\naction = \"reject\"\n\
         [[rcpt]]\nname = \"b\"\nif = \"rcpt_known\"\naction = \"accept\"\n\
         [[rcpt]]\nname = \"c\"\naction = \"reject 550 5.7.1 never reached\"\n",
    );
    let d = eval(&p, Stage::Rcpt, &rcpt("a@example.test", RcptStatus::Known));
    assert_eq!(d.verdict, Verdict::Accept);
    assert_eq!(d.rule.as_ref().map(|r| r.name()), Some("b"));
    assert_eq!(d.trace.steps.len(), 2);
    assert!(
        matches!(&d.trace.steps[0].result, StepResult::NoMatch { condition } if &**condition == "rcpt_remote")
    );
    let d = eval(
        &p,
        Stage::Rcpt,
        &rcpt("a@example.test", RcptStatus::Unknown),
    );
    assert_eq!(d.rule.as_ref().map(|r| r.name()), Some("c"));
    let reply = d.reply().unwrap();
    assert_eq!(
        (reply.code, reply.text()),
        (550, "never reached".to_string())
    );
}

#[test]
fn reject_and_defer_replies_with_defaults_and_fields() {
    let p = policy(
        "[[mail]]\nname = \"no-bounces\"\nif = \"sender_null\"\naction = \"reject\"\n\
         [[mail]]\nname = \"slow\"\naction = \"defer 421 4.7.0 {client} said {helo}, later\"\n",
    );
    let mut f = facts("192.0.2.1");
    f.helo = Some("h.example");
    f.sender = Some(Sender::Null);
    let d = eval(&p, Stage::Mail, &f);
    assert_eq!(
        d.reply().unwrap().to_string(),
        "554 5.7.1 Rejected by policy rule no-bounces\r\n"
    );
    f.sender = Some(Sender::Address("a@example.org"));
    let d = eval(&p, Stage::Mail, &f);
    assert!(matches!(d.verdict, Verdict::Defer(_)));
    assert_eq!(
        d.reply().unwrap().to_string(),
        "421 4.7.0 192.0.2.1 said h.example, later\r\n"
    );
}

#[test]
fn tag_continue_quarantine_and_the_session() {
    let p = policy(
        "[[helo]]\nname = \"t1\"\naction = \"tag\"\nscore = 1.5\nheader = \"X-Calm-Helo: {helo}\"\n\
         [[helo]]\nname = \"seen\"\naction = \"continue\"\n\
         [[data]]\nname = \"t2\"\naction = \"tag\"\nscore = -0.5\n\
         [[data]]\nname = \"q\"\nif = \"score > 0.9\"\naction = \"quarantine\"\n",
    );
    let mut f = facts("192.0.2.1");
    f.helo = Some("h.example\r\nBcc: x");
    let (mut s, l) = (Session::new(), p.new_limiter());
    let d = p.evaluate(Stage::Helo, &f, &mut s, &l, NOW);
    assert_eq!(d.verdict, Verdict::Pass);
    assert_eq!(d.tags.len(), 1);
    assert_eq!(
        d.tags[0].header.as_deref(),
        Some("X-Calm-Helo: h.example??Bcc: x")
    );
    // Tags count once per message even if the stage runs again.
    let d = p.evaluate(Stage::Helo, &f, &mut s, &l, NOW);
    assert!(d.tags.is_empty());
    assert_eq!(d.trace.steps[0].result, StepResult::Repeated);
    assert_eq!(s.score(), 1.5);
    let d = p.evaluate(Stage::Data, &f, &mut s, &l, NOW);
    assert_eq!(d.verdict, Verdict::Quarantine);
    assert_eq!(s.quarantined_by().map(|r| r.name()), Some("q"));
    assert_eq!(s.score(), 1.0);
    assert_eq!(
        s.headers().collect::<Vec<_>>(),
        ["X-Calm-Helo: h.example??Bcc: x"]
    );
    assert_eq!(
        s.summary(),
        "score=1.0; helo=t1(tag +1.5); helo=seen(continue); data=t2(tag -0.5); data=q(quarantine)"
    );
    // A new message keeps the connection's verdicts, drops the message's.
    s.reset_transaction();
    assert_eq!(
        s.summary(),
        "score=1.5; helo=t1(tag +1.5); helo=seen(continue)"
    );
    assert!(s.quarantined_by().is_none());
}

#[test]
fn summary_header_is_folded() {
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!(
            "[[helo]]\nname = \"tag-number-{i}\"\naction = \"tag\"\nscore = 0.1\n"
        ));
    }
    let p = policy(&text);
    let mut s = Session::new();
    let mut f = facts("192.0.2.1");
    f.helo = Some("x.example");
    p.evaluate(Stage::Helo, &f, &mut s, &p.new_limiter(), NOW);
    let h = s.summary_header();
    assert!(
        h.starts_with("X-Calm-Policy: score=1.2; helo=tag-number-0(tag +0.1);"),
        "{h}"
    );
    assert!(
        h.lines().all(|l| l.trim_end_matches('\r').len() <= 78),
        "{h}"
    );
    assert!(h.split("\r\n").skip(1).all(|l| l.starts_with(' ')), "{h}");
    assert!(!h.ends_with(';') && !h.ends_with('\n'));
    assert_eq!(
        h.replace("\r\n", ""),
        format!("X-Calm-Policy: {}", s.summary())
    );
}

#[test]
fn access_map_actions() {
    let p = policy_with(
        "[maps]\nc = \"c\"\n[[connect]]\nname = \"client\"\nif = \"access_client c\"\naction = \"map\"\n\
         [[connect]]\nname = \"after\"\naction = \"reject 554 5.7.1 fell through\"\n",
        &[(
            "c",
            "192.0.2.1 OK\n192.0.2.2 REJECT go away\n192.0.2.3 DEFER\n192.0.2.4 HOLD\n192.0.2.5 DUNNO\n192.0.2.6 521 5.7.0 closed\n",
        )],
    );
    let verdict = |ip: &str| eval(&p, Stage::Connect, &facts(ip)).verdict.to_string();
    assert_eq!(verdict("192.0.2.1"), "accept");
    assert_eq!(verdict("192.0.2.2"), "reject 554 5.7.1 go away");
    assert_eq!(verdict("192.0.2.3"), "defer 450 4.7.1 Try again later");
    assert_eq!(verdict("192.0.2.4"), "quarantine");
    assert_eq!(verdict("192.0.2.5"), "reject 554 5.7.1 fell through");
    assert_eq!(verdict("192.0.2.6"), "reject 521 5.7.0 closed");
    assert_eq!(verdict("192.0.2.7"), "reject 554 5.7.1 fell through");
}

#[test]
fn undecided_conditions_never_fire() {
    let p = policy(
        "[[connect]]\nname = \"no-ptr\"\nif = [\"not client_in lan\", \"ptr_missing\"]\naction = \"reject\"\n\
         [lists]\nlan = [\"10.0.0.0/8\"]\n",
    );
    let d = eval(&p, Stage::Connect, &facts("192.0.2.1"));
    assert_eq!(d.verdict, Verdict::Pass);
    assert!(matches!(
        &d.trace.steps[0].result,
        StepResult::Unknown { condition, missing } if &**condition == "ptr_missing" && missing.contains("reverse DNS")
    ));
    // A failing condition decides even after an undecided one.
    let d = eval(&p, Stage::Connect, &facts("10.0.0.1"));
    assert!(matches!(
        &d.trace.steps[0].result,
        StepResult::NoMatch { .. }
    ));
}

#[test]
fn checks_at_the_wrong_stage_are_undecided_even_with_facts() {
    // AUTH cannot have happened at HELO time; a caller that says otherwise is not believed.
    let p = policy("[[helo]]\nname = \"r\"\nif = \"authenticated\"\naction = \"reject\"\n");
    let mut f = facts("192.0.2.1");
    f.auth_user = Some("alice");
    let d = eval(&p, Stage::Helo, &f);
    assert_eq!(d.verdict, Verdict::Pass);
    assert!(
        matches!(&d.trace.steps[0].result, StepResult::Unknown { missing, .. } if missing.contains("does not exist at this stage"))
    );
}

#[test]
fn explanation_and_trace_text() {
    let p = policy(
        "[[rcpt]]\nname = \"known\"\nif = \"rcpt_known\"\naction = \"accept\"\n\
         [[rcpt]]\nname = \"unknown-local\"\nif = \"rcpt_unknown\"\naction = \"reject 550 5.1.1 no such user {rcpt}\"\n",
    );
    let d = eval(
        &p,
        Stage::Rcpt,
        &rcpt("bob@example.test", RcptStatus::Unknown),
    );
    assert_eq!(
        d.explain(),
        "rcpt: rule unknown-local (policy.toml:5) rejected 550 5.1.1: no such user bob@example.test \
         [rcpt=bob@example.test resolution=unknown tables=users, aliases, virtual]"
    );
    assert_eq!(
        d.trace.to_string(),
        "known (policy.toml:1): no match: rcpt_known\n\
         unknown-local (policy.toml:5): fired (reject) [rcpt=bob@example.test resolution=unknown tables=users, aliases, virtual]\n"
    );
    let d = eval(&p, Stage::Connect, &facts("192.0.2.1"));
    assert_eq!(d.explain(), "connect: no rule decided (0 looked at)");
    assert!(d.facts().is_empty());
}

#[test]
fn verdicts_compare_by_word_and_codes() {
    use calm_smtp_proto::{EnhancedCode, Reply};
    let r =
        |code, e: &str, text: &str| Verdict::Reject(Reply::new(code, EnhancedCode::parse(e), text));
    assert!(r(550, "5.1.1", "a").same_as(&r(550, "5.1.1", "b")));
    assert!(!r(550, "5.1.1", "a").same_as(&r(550, "5.7.1", "a")));
    assert!(!r(550, "5.1.1", "a").same_as(&r(554, "5.1.1", "a")));
    assert!(Verdict::Pass.same_as(&Verdict::Pass));
    assert!(!Verdict::Pass.same_as(&Verdict::Accept));
}

#[test]
fn the_last_tag_with_a_folder_files_the_message() {
    let p = policy(
        "[[data]]\nname = \"bulk\"\naction = \"tag\"\nfolder = \"Newsletters\"\n\
         [[data]]\nname = \"junk\"\nif = \"spam_score >= 5\"\naction = \"tag\"\nscore = 3.0\nfolder = \"Junk\"\n",
    );
    let mut s = Session::new();
    let limiter = p.new_limiter();
    let mut f = facts("192.0.2.1");
    f.spam_score = Some(1.0);
    let d = p.evaluate(Stage::Data, &f, &mut s, &limiter, NOW);
    assert_eq!(d.tags[0].folder.as_deref(), Some("Newsletters"));
    assert_eq!(s.folder(), Some("Newsletters"));
    let mut s = Session::new();
    f.spam_score = Some(6.0);
    p.evaluate(Stage::Data, &f, &mut s, &limiter, NOW);
    assert_eq!(s.folder(), Some("Junk"));
    assert_eq!(Session::new().folder(), None);
}
