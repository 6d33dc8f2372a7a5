use std::net::Ipv4Addr;

use super::*;
use crate::facts::Sender;
use crate::stage::Stage;
use crate::testutil::{eval, facts, load_error, policy};
use crate::trace::Verdict;
use crate::{HazardKind, Role};

const LISTS: &str = r#"
[dnsbl.zen]
zone = "zen.example"
weight = 3
codes = ["127.0.0.2", "127.0.0.4-127.0.0.7"]

[dnsbl.dbl]
zone = "dbl.example."
target = "sender_domain"
weight = 2.5

[dnsbl.helobl]
zone = "helo.example"
target = "helo"
on_failure = "undecided"

[dnswl.wl]
zone = "wl.example"
weight = 4
codes = ["127.0.10.0/24"]
"#;

fn with_rules(rules: &str) -> crate::Policy {
    policy(&format!("{LISTS}\n{rules}"))
}

fn code(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn answers(list: &[(&str, &[&str])]) -> Vec<DnsblAnswer> {
    list.iter()
        .map(|(n, c)| DnsblAnswer::new(*n, c.iter().map(|c| code(c)).collect()))
        .collect()
}

fn verdict(p: &crate::Policy, stage: Stage, f: &Facts<'_>) -> &'static str {
    eval(p, stage, f).verdict.word()
}

#[test]
fn queries_say_what_to_look_up() {
    let p = with_rules("");
    let q = p.dnsbl_queries();
    let names: Vec<_> = q
        .iter()
        .map(|q| (q.name.as_str(), q.zone.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("dbl", "dbl.example"),
            ("helobl", "helo.example"),
            ("zen", "zen.example"),
            ("wl", "wl.example")
        ]
    );
    assert_eq!(q[0].target, DnsblTarget::SenderDomain);
    assert_eq!(q[3].kind, DnsListKind::Allow);
    assert_eq!(q[1].target.to_string(), "helo");
}

#[test]
fn subjects_follow_the_session() {
    let p = with_rules("");
    let q = p.dnsbl_queries();
    let (dbl, helo, zen) = (&q[0], &q[1], &q[2]);
    let mut f = facts("::ffff:192.0.2.1");
    assert_eq!(
        zen.subject(&f),
        Some(DnsblSubject::Ip("192.0.2.1".parse().unwrap()))
    );
    assert_eq!(helo.subject(&f), None);
    assert_eq!(dbl.subject(&f), None);
    f.helo = Some("[192.0.2.1]");
    assert_eq!(helo.subject(&f), None, "address literals are not looked up");
    f.helo = Some("localhost");
    assert_eq!(
        helo.subject(&f),
        None,
        "names without a dot are not looked up"
    );
    f.helo = Some("mx.example.org.");
    assert_eq!(
        helo.subject(&f),
        Some(DnsblSubject::Domain("mx.example.org"))
    );
    f.sender = Some(Sender::Null);
    assert_eq!(dbl.subject(&f), None);
    f.sender = Some(Sender::Address("a@spam.example"));
    assert_eq!(dbl.subject(&f), Some(DnsblSubject::Domain("spam.example")));
    f.sender = Some(Sender::Address("no-at-sign"));
    assert_eq!(dbl.subject(&f), None);
}

#[test]
fn return_codes_are_filtered() {
    let p = with_rules(
        "[[connect]]\nname = \"bl\"\nif = \"dnsbl zen\"\naction = \"reject 554 5.7.1 listed\"\n",
    );
    for (codes, expect) in [
        (&["127.0.0.2"][..], "reject"),
        (&["127.0.0.5"], "reject"),
        (&["127.0.0.7"], "reject"),
        (&["127.0.0.3"], "pass"),
        (&["127.0.0.8"], "pass"),
        (&["127.0.0.3", "127.0.0.4"], "reject"),
        (&[], "pass"),
    ] {
        let a = answers(&[("zen", codes)]);
        let mut f = facts("192.0.2.1");
        f.dnsbl = Some(&a);
        assert_eq!(verdict(&p, Stage::Connect, &f), expect, "{codes:?}");
    }
}

#[test]
fn default_codes_skip_127_0_0_1_and_error_answers() {
    let p = with_rules("[[helo]]\nname = \"bl\"\nif = \"dnsbl helobl\"\naction = \"reject\"\n");
    for (c, expect) in [
        ("127.0.0.2", "reject"),
        ("127.1.2.3", "reject"),
        ("127.0.0.1", "pass"),
        // Spamhaus-style "your resolver is blocked" answers are not listings.
        ("127.255.255.254", "pass"),
        ("10.0.0.2", "pass"),
    ] {
        let a = answers(&[("helobl", &[c])]);
        let mut f = facts("192.0.2.1");
        f.helo = Some("mx.example.org");
        f.dnsbl = Some(&a);
        assert_eq!(verdict(&p, Stage::Helo, &f), expect, "{c}");
    }
}

#[test]
fn missing_answers_are_undecided_and_never_reject() {
    let p = with_rules(
        "[[connect]]\nname = \"bl\"\nif = \"dnsbl zen\"\naction = \"reject\"\n\
         [[connect]]\nname = \"nbl\"\nif = \"not dnsbl zen\"\naction = \"reject\"\n",
    );
    let mut f = facts("192.0.2.1");
    let d = eval(&p, Stage::Connect, &f);
    assert_eq!(d.verdict, Verdict::Pass);
    assert!(
        d.trace
            .to_string()
            .contains("the DNS list was not looked up"),
        "{}",
        d.trace
    );
    // Other lists answered, but not this one: still undecided.
    let a = answers(&[("wl", &[])]);
    f.dnsbl = Some(&a);
    assert_eq!(eval(&p, Stage::Connect, &f).verdict, Verdict::Pass);
}

#[test]
fn a_timeout_counts_as_not_listed_unless_configured_otherwise() {
    let p = with_rules(
        "[[helo]]\nname = \"zen-clean\"\nif = \"not dnsbl zen\"\naction = \"accept\"\n\
         [[helo]]\nname = \"helo-clean\"\nif = \"not dnsbl helobl\"\naction = \"reject\"\n",
    );
    let mut f = facts("192.0.2.1");
    f.helo = Some("mx.example.org");
    let a = vec![DnsblAnswer::failed("zen"), DnsblAnswer::failed("helobl")];
    f.dnsbl = Some(&a);
    // zen: on_failure defaults to not_listed, so `not dnsbl zen` holds.
    assert_eq!(verdict(&p, Stage::Helo, &f), "accept");
    let p = with_rules(
        "[[helo]]\nname = \"helo-clean\"\nif = \"not dnsbl helobl\"\naction = \"reject\"\n",
    );
    let d = eval(&p, Stage::Helo, &f);
    assert_eq!(d.verdict, Verdict::Pass);
    assert!(
        d.trace.to_string().contains("look-up failed"),
        "{}",
        d.trace
    );
}

#[test]
fn allow_lists_and_the_score() {
    let p = with_rules(
        "[[mail]]\nname = \"wl\"\nif = \"dnswl wl\"\naction = \"accept\"\n\
         [[mail]]\nname = \"bad\"\nif = \"dnsbl_score >= 5\"\naction = \"reject 554 5.7.1 listed\"\n\
         [[mail]]\nname = \"meh\"\nif = \"dnsbl_score > 0\"\naction = \"tag\"\nscore = 1\n",
    );
    let mut f = facts("192.0.2.1");
    f.sender = Some(Sender::Address("a@spam.example"));
    let run = |a: &[DnsblAnswer], f: &mut Facts<'_>| {
        let a = a.to_vec();
        let mut g = f.clone();
        g.dnsbl = Some(&a);
        let d = eval(&p, Stage::Mail, &g);
        (d.verdict.word(), d.tags.len())
    };
    // zen (3) + dbl (2.5) = 5.5.
    let both = answers(&[
        ("zen", &["127.0.0.2"]),
        ("dbl", &["127.0.1.2"]),
        ("wl", &[]),
    ]);
    assert_eq!(run(&both, &mut f), ("reject", 0));
    // Only zen: 3, tagged.
    let zen = answers(&[("zen", &["127.0.0.2"]), ("dbl", &[])]);
    assert_eq!(run(&zen, &mut f), ("pass", 1));
    // Whitelisted with a code outside its filter: not listed.
    let odd = answers(&[("wl", &["127.0.0.2"]), ("zen", &["127.0.0.2"])]);
    assert_eq!(run(&odd, &mut f), ("pass", 1));
    // Whitelisted: accepted first.
    let wl = answers(&[("wl", &["127.0.10.1"]), ("zen", &["127.0.0.2"])]);
    assert_eq!(run(&wl, &mut f), ("accept", 0));
    // Nothing looked up: the score is undecided, no tag, no reject.
    let d = eval(&p, Stage::Mail, &f);
    assert_eq!((d.verdict.word(), d.tags.len()), ("pass", 0));
}

#[test]
fn allow_list_weight_lowers_the_score() {
    let p =
        with_rules("[[connect]]\nname = \"bad\"\nif = \"dnsbl_score > 0\"\naction = \"reject\"\n");
    let mut f = facts("192.0.2.1");
    let a = answers(&[("zen", &["127.0.0.2"]), ("wl", &["127.0.10.9"])]);
    f.dnsbl = Some(&a);
    // 3 - 4 < 0.
    assert_eq!(verdict(&p, Stage::Connect, &f), "pass");
    let lists = p.dns_lists.clone();
    assert_eq!(score(&lists, &f), Some(-1.0));
}

#[test]
fn traces_show_the_answers() {
    let p = with_rules(
        "[[connect]]\nname = \"bl\"\nif = [\"dnsbl zen\", \"dnsbl_score >= 3\"]\naction = \"reject 554 5.7.1 listed\"\n",
    );
    let mut f = facts("192.0.2.1");
    let a = answers(&[("zen", &["127.0.0.2", "127.0.0.3"]), ("wl", &[])]);
    f.dnsbl = Some(&a);
    let d = eval(&p, Stage::Connect, &f);
    let explain = d.explain();
    assert!(
        explain.contains("dnsbl=zen=127.0.0.2,127.0.0.3 (ignored)"),
        "{explain}"
    );
    assert!(
        explain.contains("dnsbl_score=3.0 (zen=127.0.0.2,127.0.0.3 (ignored), wl=not listed)"),
        "{explain}"
    );
}

#[test]
fn checks_exist_from_their_targets_stage() {
    let p = with_rules(
        "[[connect]]\nname = \"early\"\nif = \"dnsbl dbl\"\naction = \"reject\"\n\
         [[mail]]\nname = \"late\"\nif = \"dnsbl dbl\"\naction = \"reject\"\n",
    );
    let mut f = facts("192.0.2.1");
    let a = answers(&[("dbl", &["127.0.0.2"])]);
    f.dnsbl = Some(&a);
    assert_eq!(verdict(&p, Stage::Connect, &f), "pass");
    f.sender = Some(Sender::Address("a@spam.example"));
    assert_eq!(verdict(&p, Stage::Mail, &f), "reject");
    assert!(
        p.hazards()
            .iter()
            .any(|h| h.kind == HazardKind::WrongStage && h.message.contains("early")),
        "{:?}",
        p.hazards()
    );
}

#[test]
fn unused_lists_are_warned_about() {
    let p = with_rules("[[connect]]\nname = \"bl\"\nif = \"dnsbl zen\"\naction = \"reject\"\n");
    let unused: Vec<_> = p
        .hazards()
        .into_iter()
        .filter(|h| h.kind == HazardKind::Unused)
        .map(|h| (h.line, h.message))
        .collect();
    assert_eq!(unused.len(), 3, "{unused:?}");
    assert!(
        unused
            .iter()
            .any(|(l, m)| *l == Some(7) && m.contains("dnsbl `dbl`")),
        "{unused:?}"
    );
    let p =
        with_rules("[[connect]]\nname = \"bl\"\nif = \"dnsbl_score > 3\"\naction = \"reject\"\n");
    assert!(!p.hazards().iter().any(|h| h.kind == HazardKind::Unused));
}

#[test]
fn mistakes_name_their_line() {
    let cases: &[(&str, &str)] = &[
        (
            "[dnsbl.a]\nzone = \"a.example\"\ncodes = [\"127.0.0.x\"]\n",
            ":3: error: dnsbl `a`: bad return code `127.0.0.x`",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\ncodes = [\n \"127.0.0.2\",\n \"127.0.0.9-127.0.0.3\"]\n",
            ":5: error: dnsbl `a`: return code range `127.0.0.9-127.0.0.3` is backwards",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\ncodes = []\n",
            ":3: error: dnsbl `a`: `codes` is empty",
        ),
        (
            "[dnswl.a]\n\nzone = \"a..example\"\n",
            ":3: error: dnswl `a`: bad zone `a..example`",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\ntarget = \"rcpt\"\n",
            ":3: error: dnsbl `a`: unknown target `rcpt`",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\nweight = -1\n",
            ":3: error: dnsbl `a`: weight must be between 0",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\nweight = nan\n",
            ":3: error: dnsbl `a`: weight must be between 0",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\non_failure = \"reject\"\n",
            ":3: error: dnsbl `a`: unknown on_failure `reject`",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\nzones = \"x\"\n",
            ":3: error: unknown field `zones`",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\n[dnswl.a]\nzone = \"b.example\"\n",
            ":3: error: DNS list name `a` is used by both",
        ),
        (
            "[dnsbl.\"a b\"]\nzone = \"a.example\"\n",
            ":1: error: bad name `a b`",
        ),
        (
            "[dnsbl.a]\nzone = \"a.example\"\n[[connect]]\nname = \"r\"\nif = \"dnswl a\"\naction = \"accept\"\n",
            ":5: error: rule `r`: `dnswl a`: `a` is not a dnswl list",
        ),
        (
            "[[connect]]\nname = \"r\"\nif = \"dnsbl nope\"\naction = \"accept\"\n",
            ":3: error: rule `r`: `dnsbl`: no list named `nope` (declare it as [dnsbl.nope])",
        ),
        (
            "[[connect]]\nname = \"r\"\nif = \"dnsbl_score = 3\"\naction = \"accept\"\n",
            ":3: error: rule `r`: `dnsbl_score` needs `> N` or `>= N`",
        ),
    ];
    for (text, want) in cases {
        let e = load_error(text, &[]);
        assert!(e.contains(want), "{text}\n→ {e}\nwanted {want}");
    }
}

#[test]
fn code_filters_parse() {
    let r = |s: &str| parse_codes(s).map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(r("127.0.0.2"), Ok(("127.0.0.2".into(), "127.0.0.2".into())));
    assert_eq!(
        r(" 127.0.0.4 - 127.0.0.7 "),
        Ok(("127.0.0.4".into(), "127.0.0.7".into()))
    );
    assert_eq!(
        r("127.0.1.0/24"),
        Ok(("127.0.1.0".into(), "127.0.1.255".into()))
    );
    for bad in [
        "",
        "127.0.0",
        "::1",
        "127.0.0.0/33",
        "a-b",
        "127.0.0.2-",
        "1-2-3",
    ] {
        assert!(parse_codes(bad).is_err(), "{bad}");
    }
    assert!(check_zone("bl.example").is_ok());
    for bad in [
        "",
        ".",
        "a b.example",
        "a_b.example",
        &"x".repeat(64),
        &"a.".repeat(100),
    ] {
        assert!(check_zone(bad).is_err(), "{bad}");
    }
}

#[test]
fn listener_role_is_irrelevant_to_lists() {
    // Submission clients are looked up the same way; the policy decides whether to care.
    let p = with_rules("[[connect]]\nname = \"bl\"\nif = \"dnsbl zen\"\naction = \"reject\"\n");
    let mut f = Facts::new("2001:db8::1".parse().unwrap(), Role::Submission);
    let a = answers(&[("zen", &["127.0.0.4"])]);
    f.dnsbl = Some(&a);
    assert_eq!(verdict(&p, Stage::Connect, &f), "reject");
}

#[test]
fn a_rule_with_two_lists_shows_both() {
    let p = with_rules(
        "[[mail]]\nname = \"both\"\nif = [\"dnsbl zen\", \"dnsbl dbl\", \"not dnswl wl\"]\naction = \"reject\"\n",
    );
    let mut f = facts("2001:db8::1");
    f.sender = Some(Sender::Address("a@spam.example"));
    let a = answers(&[
        ("zen", &["127.0.0.2"]),
        ("dbl", &["127.0.1.2"]),
        ("wl", &[]),
    ]);
    f.dnsbl = Some(&a);
    let explain = eval(&p, Stage::Mail, &f).explain();
    assert!(
        explain.contains("dnsbl=zen=127.0.0.2, dbl=127.0.1.2, wl=not listed"),
        "{explain}"
    );
    assert!(explain.contains("client=2001:db8::1"), "{explain}");
}

proptest::proptest! {
    #[test]
    fn hostile_list_declarations_never_panic(zone in "\\PC{0,80}", code in "\\PC{0,40}", target in "\\PC{0,20}") {
        let _ = parse_codes(&code);
        let _ = check_zone(&zone);
        let text = format!(
            "[dnsbl.x]\nzone = {zone:?}\ntarget = {target:?}\ncodes = [{code:?}]\n[[connect]]\nname = \"r\"\nif = \"dnsbl x\"\naction = \"reject\"\n"
        );
        let _ = crate::testutil::load_with(&text, &[], &crate::Context::default());
    }
}
