//! Every check, evaluated: holds, fails, or undecided when its fact is missing.

use super::*;
use crate::facts::{Rcpt, Sender};
use crate::limiter::LimiterSettings;
use crate::stage::Stage;
use crate::testutil::*;
use crate::trace::Verdict;
use crate::verdicts::{AuthResult, DmarcPolicy};

/// A policy with one rule at `stage` that rejects when `cond` holds.
fn one(stage: &str, cond: &str) -> Policy {
    policy_with(
        &format!(
            "[lists]\nnet = [\"192.0.2.0/24\"]\n[maps]\nm = \"m\"\n[[{stage}]]\nname = \"r\"\nif = '{cond}'\naction = \"reject\"\n"
        ),
        &[(
            "m",
            "listed@example.test OK\nexample.org OK\nbad.example REJECT\n192.0.2.5 OK\nquiet.example DUNNO\n",
        )],
    )
}

use crate::policy::Policy;

/// "yes", "no" or "unknown" for `cond` at `stage` with `facts`.
fn outcome(stage: Stage, cond: &str, f: &Facts<'_>) -> &'static str {
    let p = one(stage.as_str(), cond);
    let d = eval(&p, stage, f);
    match (&d.verdict, d.trace.steps.first().map(|s| &s.result)) {
        (Verdict::Reject(_), _) => "yes",
        (_, Some(crate::trace::StepResult::Unknown { .. })) => "unknown",
        _ => "no",
    }
}

#[test]
fn connection_checks() {
    let f = facts("192.0.2.9");
    assert_eq!(outcome(Stage::Connect, "client_in net", &f), "yes");
    assert_eq!(
        outcome(Stage::Connect, "client_in net", &facts("::ffff:192.0.2.9")),
        "yes"
    );
    assert_eq!(
        outcome(Stage::Connect, "client_in net", &facts("198.51.100.1")),
        "no"
    );
    assert_eq!(
        outcome(Stage::Connect, "not client_in net", &facts("198.51.100.1")),
        "yes"
    );
    assert_eq!(outcome(Stage::Connect, "listener mx", &f), "yes");
    assert_eq!(outcome(Stage::Connect, "listener submission", &f), "no");
    assert_eq!(outcome(Stage::Connect, "tls", &f), "no");
    let mut t = f.clone();
    t.tls = true;
    assert_eq!(outcome(Stage::Connect, "tls", &t), "yes");
}

#[test]
fn reverse_dns_checks() {
    let mut f = facts("192.0.2.9");
    assert_eq!(outcome(Stage::Connect, "ptr_missing", &f), "unknown");
    assert_eq!(outcome(Stage::Connect, "not ptr_missing", &f), "unknown");
    assert_eq!(outcome(Stage::Connect, "fcrdns_fail", &f), "unknown");
    f.rdns = Some(Rdns::Missing);
    assert_eq!(outcome(Stage::Connect, "ptr_missing", &f), "yes");
    assert_eq!(outcome(Stage::Connect, "fcrdns_fail", &f), "yes");
    f.rdns = Some(Rdns::Unconfirmed("x.example"));
    assert_eq!(outcome(Stage::Connect, "ptr_missing", &f), "no");
    assert_eq!(outcome(Stage::Connect, "fcrdns_fail", &f), "yes");
    f.rdns = Some(Rdns::Confirmed("x.example"));
    assert_eq!(outcome(Stage::Connect, "fcrdns_fail", &f), "no");
}

#[test]
fn helo_checks() {
    let mut f = facts("192.0.2.9");
    assert_eq!(outcome(Stage::Helo, "helo_invalid", &f), "unknown");
    let cases = [
        ("helo_invalid", "bad..name", "yes"),
        ("helo_invalid", "mail.example.org", "no"),
        ("helo_not_fqdn", "workstation", "yes"),
        ("helo_not_fqdn", "bad..name", "yes"),
        ("helo_not_fqdn", "[192.0.2.9]", "no"),
        ("helo_not_fqdn", "mail.example.org", "no"),
        ("helo_is_ours", "LOCALHOST", "yes"),
        ("helo_is_ours", "example.test", "yes"),
        ("helo_is_ours", "mail.example.org", "no"),
        ("helo_literal_mismatch", "[192.0.2.10]", "yes"),
        ("helo_literal_mismatch", "[192.0.2.9]", "no"),
        ("helo_literal_mismatch", "mail.example.org", "no"),
    ];
    for (check, helo, want) in cases {
        f.helo = Some(helo);
        assert_eq!(outcome(Stage::Helo, check, &f), want, "{check} {helo}");
    }
}

#[test]
fn sender_checks() {
    let mut f = facts("192.0.2.9");
    for c in [
        "sender_null",
        "sender_domain_unresolvable",
        "sender_domain_local",
        "sender_not_owned",
    ] {
        assert_eq!(outcome(Stage::Mail, c, &f), "unknown", "{c}");
    }
    f.sender = Some(Sender::Null);
    assert_eq!(outcome(Stage::Mail, "sender_null", &f), "yes");
    assert_eq!(outcome(Stage::Mail, "sender_domain_unresolvable", &f), "no");
    assert_eq!(outcome(Stage::Mail, "sender_domain_local", &f), "no");
    f.sender = Some(Sender::Address("bob@Example.Test"));
    assert_eq!(outcome(Stage::Mail, "sender_null", &f), "no");
    assert_eq!(outcome(Stage::Mail, "sender_domain_local", &f), "yes");
    assert_eq!(
        outcome(Stage::Mail, "sender_domain_unresolvable", &f),
        "unknown"
    );
    f.sender_domain_resolves = Some(false);
    assert_eq!(
        outcome(Stage::Mail, "sender_domain_unresolvable", &f),
        "yes"
    );
    f.sender_domain_resolves = Some(true);
    assert_eq!(outcome(Stage::Mail, "sender_domain_unresolvable", &f), "no");
    // Ownership only matters for authenticated users.
    assert_eq!(outcome(Stage::Mail, "sender_not_owned", &f), "no");
    f.auth_user = Some("alice@example.test");
    assert_eq!(outcome(Stage::Mail, "sender_not_owned", &f), "unknown");
    f.sender_owned = Some(false);
    assert_eq!(outcome(Stage::Mail, "sender_not_owned", &f), "yes");
    assert_eq!(outcome(Stage::Mail, "authenticated", &f), "yes");
    f.sender_owned = Some(true);
    assert_eq!(outcome(Stage::Mail, "sender_not_owned", &f), "no");
}

#[test]
fn size_and_content_checks() {
    let mut f = facts("192.0.2.9");
    assert_eq!(outcome(Stage::Mail, "message_size > 10K", &f), "unknown");
    f.size = Some(10 * 1024);
    assert_eq!(outcome(Stage::Mail, "message_size > 10K", &f), "no");
    assert_eq!(outcome(Stage::Mail, "message_size >= 10K", &f), "yes");
    f.size = None;
    assert_eq!(outcome(Stage::Data, "header Subject", &f), "unknown");
    f.message =
        Some(b"Subject: Hello\r\n  [SPAM] folded\r\nX-Other: a\r\n\r\nSubject: body [SPAM]\r\n");
    assert_eq!(outcome(Stage::Data, "message_size > 20", &f), "yes");
    assert_eq!(outcome(Stage::Data, "header subject", &f), "yes");
    assert_eq!(
        outcome(Stage::Data, "header Subject \"[spam] FOLDED\"", &f),
        "yes"
    );
    assert_eq!(outcome(Stage::Data, "header X-Other \"[SPAM]\"", &f), "no");
    assert_eq!(outcome(Stage::Data, "header X-Missing", &f), "no");
}

#[test]
fn header_scan_stops_at_the_body() {
    assert!(!header_matches(b"A: 1\r\n\r\nB: 2\r\n", "B", None));
    assert!(header_matches(b"A: 1\nB: x\n", "b", Some("X")));
    assert!(header_matches(b"B:", "B", None));
    assert!(!header_matches(b"", "B", None));
    assert!(!header_matches(b"no colon here\r\n", "no colon here", None));
}

#[test]
fn recipient_checks() {
    let cases = [
        ("rcpt_known", RcptStatus::Known, "yes"),
        ("rcpt_known", RcptStatus::Unknown, "no"),
        ("rcpt_unknown", RcptStatus::Unknown, "yes"),
        ("rcpt_unknown", RcptStatus::Remote, "no"),
        ("rcpt_remote", RcptStatus::Remote, "yes"),
        ("rcpt_lookup_failed", RcptStatus::Failed("loop"), "yes"),
        ("rcpt_lookup_failed", RcptStatus::Known, "no"),
        ("rcpt_tables_incomplete", RcptStatus::Unknown, "no"),
    ];
    for (check, status, want) in cases {
        assert_eq!(
            outcome(Stage::Rcpt, check, &rcpt("x@example.test", status)),
            want,
            "{check}"
        );
    }
    assert_eq!(
        outcome(Stage::Rcpt, "rcpt_known", &facts("192.0.2.1")),
        "unknown"
    );
}

#[test]
fn recipient_validation_waits_for_its_tables() {
    let mut f = rcpt("x@example.test", RcptStatus::Unknown);
    f.rcpt = f.rcpt.map(|r| Rcpt {
        tables: Tables::USERS,
        ..r
    });
    assert_eq!(outcome(Stage::Rcpt, "rcpt_unknown users", &f), "yes");
    assert_eq!(
        outcome(Stage::Rcpt, "rcpt_unknown users aliases", &f),
        "unknown"
    );
    assert_eq!(
        outcome(Stage::Rcpt, "rcpt_tables_incomplete users aliases", &f),
        "yes"
    );
    assert_eq!(
        outcome(Stage::Rcpt, "rcpt_tables_incomplete users", &f),
        "no"
    );
    // Known is conclusive whatever was loaded.
    f.rcpt = f.rcpt.map(|r| Rcpt {
        status: RcptStatus::Known,
        ..r
    });
    assert_eq!(
        outcome(Stage::Rcpt, "rcpt_tables_incomplete users aliases", &f),
        "no"
    );
}

#[test]
fn map_checks() {
    let mut f = rcpt("Listed@example.test", RcptStatus::Known);
    assert_eq!(outcome(Stage::Rcpt, "rcpt_in m", &f), "yes");
    assert_eq!(outcome(Stage::Rcpt, "access_rcpt m", &f), "yes");
    f.rcpt = f.rcpt.map(|r| Rcpt {
        address: "other@sub.example.org",
        ..r
    });
    assert_eq!(outcome(Stage::Rcpt, "access_rcpt m", &f), "yes");
    f.rcpt = f.rcpt.map(|r| Rcpt {
        address: "a@quiet.example",
        ..r
    });
    assert_eq!(outcome(Stage::Rcpt, "access_rcpt m", &f), "no");
    assert_eq!(outcome(Stage::Rcpt, "rcpt_in m", &f), "no");
    assert_eq!(
        outcome(Stage::Connect, "access_client m", &facts("192.0.2.5")),
        "yes"
    );
    assert_eq!(
        outcome(Stage::Connect, "access_client m", &facts("192.0.2.6")),
        "no"
    );
    let mut h = facts("192.0.2.6");
    assert_eq!(outcome(Stage::Helo, "access_helo m", &h), "unknown");
    h.helo = Some("mx.bad.example");
    assert_eq!(outcome(Stage::Helo, "access_helo m", &h), "yes");
    h.sender = Some(Sender::Address("x@bad.example"));
    assert_eq!(outcome(Stage::Mail, "access_sender m", &h), "yes");
    assert_eq!(outcome(Stage::Mail, "access_sender_domain m", &h), "yes");
    h.sender = Some(Sender::Null);
    assert_eq!(outcome(Stage::Mail, "access_sender_domain m", &h), "no");
    assert_eq!(outcome(Stage::Mail, "access_sender m", &h), "no");
}

#[test]
fn rate_checks_read_the_limiter() {
    let p = one("rcpt", "recipients_per_sender > 2 per 1m");
    let now = crate::stage::Timestamp::from_secs(1000);
    let mut limiter = Limiter::new(LimiterSettings {
        max_events: 10,
        ..p.limiter_settings()
    });
    let mut f = rcpt("x@example.test", RcptStatus::Known);
    f.sender = Some(Sender::Address("s@example.org"));
    let run = |l: &Limiter| {
        p.evaluate(Stage::Rcpt, &f, &mut crate::Session::new(), l, now)
            .verdict
    };
    for _ in 0..2 {
        limiter.recipient(f.client, Sender::Address("s@example.org"), None, now);
    }
    assert_eq!(run(&limiter), Verdict::Pass);
    limiter.recipient(f.client, Sender::Address("S@EXAMPLE.ORG"), None, now);
    assert!(matches!(run(&limiter), Verdict::Reject(_)));
    // Per-user limits do not apply to unauthenticated sessions.
    assert_eq!(
        outcome(Stage::Rcpt, "recipients_per_user > 0 per 1m", &f),
        "no"
    );
    // Without a sender, per-sender counts are undecided.
    let mut g = f.clone();
    g.sender = None;
    assert_eq!(
        outcome(Stage::Rcpt, "recipients_per_sender > 0 per 1m", &g),
        "unknown"
    );
    assert_eq!(
        outcome(Stage::Connect, "concurrent_per_ip > 0", &facts("192.0.2.1")),
        "no"
    );
}

#[test]
fn score_check_sees_earlier_tags() {
    let p = policy(
        "[[helo]]\nname = \"t\"\naction = \"tag\"\nscore = 2.5\n\
         [[helo]]\nname = \"s\"\nif = \"score >= 2.5\"\naction = \"reject\"\n",
    );
    let mut f = facts("192.0.2.1");
    f.helo = Some("x.example");
    assert!(matches!(
        eval(&p, Stage::Helo, &f).verdict,
        Verdict::Reject(_)
    ));
}

#[test]
fn every_check_name_parses() {
    let dns_lists = [
        crate::dnsbl::DnsList::example("l", crate::DnsListKind::Block),
        crate::dnsbl::DnsList::example("m", crate::DnsListKind::Allow),
    ];
    let names = Names {
        lists: &["l".into()],
        maps: &["m".into()],
        dns_lists: &dns_lists,
        tables: Tables::USERS,
    };
    for name in CHECK_NAMES {
        let attempts = [
            name.to_string(),
            format!("{name} l"),
            format!("{name} m"),
            format!("{name} mx"),
            format!("{name} > 5"),
            format!("{name} > 5 per 1h"),
            format!("{name} Subject"),
            format!("{name} fail"),
            format!("{name} reject"),
        ];
        assert!(
            attempts.iter().any(|a| parse_condition(a, &names).is_ok()),
            "no form of `{name}` parses"
        );
    }
}

#[test]
fn bad_conditions_explain_themselves() {
    let names = Names {
        lists: &["lan".into()],
        maps: &["m".into()],
        dns_lists: &[],
        tables: Tables::USERS,
    };
    let err = |s: &str| parse_condition(s, &names).unwrap_err();
    assert_eq!(
        err("client_inn lan"),
        "unknown check `client_inn`; did you mean `client_in`?"
    );
    assert!(err("frobnicate").contains("see docs/policy.md"));
    assert!(err("client_in nope").contains("no list named `nope`"));
    assert!(err("access_rcpt nope").contains("no map named `nope`"));
    assert!(err("client_in").contains("exactly one argument"));
    assert!(err("tls yes").contains("takes no arguments"));
    assert!(err("listener smtp").contains("unknown listener role"));
    assert!(err("messages_per_ip > 10").contains("> N per DURATION"));
    assert!(err("messages_per_ip > 10 per 1y").contains("> N per DURATION"));
    assert!(err("messages_per_ip > 10 per 30d").contains("> N per DURATION"));
    assert!(err("messages_per_ip > 99999999 per 1h").contains("> N per DURATION"));
    assert!(err("messages_per_ip < 10 per 1h").contains("> N per DURATION"));
    assert!(err("concurrent_per_ip > 5 per 1h").contains("`concurrent_per_ip > 20`"));
    assert!(err("message_size > lots").contains("message_size > 10M"));
    assert!(err("score > NaN").contains("score >= 5"));
    assert!(err("rcpt_unknown mailboxes").contains("unknown recipient table"));
    assert!(err("header").contains("field name"));
    assert!(err("header Bad:Name").contains("not a header field name"));
    assert!(err("header Subject \"unterminated").contains("unterminated"));
    assert_eq!(err(""), "empty condition");
    assert_eq!(err("not"), "`not` needs a check after it");
}

#[test]
fn numbers_durations_and_words() {
    assert_eq!(parse::parse_size("10M"), Some(10.0 * 1024.0 * 1024.0));
    assert_eq!(parse::parse_size("512k"), Some(512.0 * 1024.0));
    assert_eq!(parse::parse_size("99999999999G"), None);
    assert_eq!(parse::parse_size(""), None);
    assert_eq!(
        parse::parse_duration("90s"),
        Some(std::time::Duration::from_secs(90))
    );
    assert_eq!(parse::parse_duration("0s"), None);
    assert_eq!(parse::parse_duration("h"), None);
    assert_eq!(
        parse::parse_duration("7d"),
        Some(std::time::Duration::from_secs(7 * 86400))
    );
    assert_eq!(
        parse::tokens(r#"header Subject "a \"b\" c""#).unwrap(),
        ["header", "Subject", "a \"b\" c"]
    );
}

#[test]
fn needs_says_where_data_exists() {
    assert!(Check::Tls.needs().available_at(Stage::Data));
    assert!(!Check::Authenticated.needs().available_at(Stage::Helo));
    assert!(Check::Authenticated.needs().available_at(Stage::Rcpt));
    assert!(!Check::RcptKnown.needs().available_at(Stage::Data));
    assert!(
        !Check::Header {
            name: "a".into(),
            contains: None
        }
        .needs()
        .available_at(Stage::Rcpt)
    );
}

#[test]
fn the_operator_manual_documents_every_check() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy.md");
    let manual = std::fs::read_to_string(path).unwrap();
    for name in CHECK_NAMES {
        assert!(
            manual.contains(&format!("`{name}")),
            "docs/policy.md does not document `{name}`"
        );
    }
    for action in [
        "accept",
        "reject",
        "defer",
        "tag",
        "quarantine",
        "continue",
        "map",
    ] {
        assert!(
            manual.contains(&format!("| `{action}")),
            "docs/policy.md does not document action `{action}`"
        );
    }
}

#[test]
fn content_checks_are_unknown_until_scored() {
    let f = facts("192.0.2.9");
    for cond in [
        "spam_score >= 5",
        "gtube",
        "malware",
        "scanner_unavailable",
        "spamd_unavailable",
        "spf fail",
        "dkim fail",
        "dmarc fail",
        "arc pass",
        "dmarc_policy reject",
        "not gtube",
    ] {
        assert_eq!(outcome(Stage::Data, cond, &f), "unknown", "{cond}");
    }
}

#[test]
fn content_checks_compare_the_scanners_facts() {
    let mut f = facts("192.0.2.9");
    f.spam_score = Some(5.0);
    f.gtube = Some(false);
    f.scan = Some(crate::verdicts::Scan::Infected("Win.Test.EICAR_HDB-1"));
    f.spf = Some(AuthResult::SoftFail);
    f.dkim = Some(AuthResult::Pass);
    f.dmarc = Some(AuthResult::Fail);
    f.dmarc_policy = Some(DmarcPolicy::Quarantine);
    f.arc = Some(AuthResult::Pass);
    f.spamd_unavailable = Some(true);
    for (cond, want) in [
        ("spam_score >= 5", "yes"),
        ("spam_score > 5", "no"),
        ("gtube", "no"),
        ("not gtube", "yes"),
        ("malware", "yes"),
        ("malware eicar", "yes"),
        ("malware Trojan", "no"),
        ("scanner_unavailable", "no"),
        ("spf fail", "no"),
        ("spf fail softfail", "yes"),
        ("dkim pass", "yes"),
        ("dmarc fail", "yes"),
        ("dmarc_policy reject", "no"),
        ("dmarc_policy quarantine", "yes"),
        ("arc pass", "yes"),
        ("arc fail none", "no"),
        ("spamd_unavailable", "yes"),
        ("not spamd_unavailable", "no"),
    ] {
        assert_eq!(outcome(Stage::Data, cond, &f), want, "{cond}");
    }
    f.scan = Some(crate::verdicts::Scan::Unavailable("timeout"));
    assert_eq!(outcome(Stage::Data, "scanner_unavailable", &f), "yes");
    assert_eq!(outcome(Stage::Data, "malware", &f), "no");
    // SPF is known from MAIL FROM on; DKIM and DMARC only at DATA.
    assert!(
        Check::Auth(AuthMethod::Spf, Box::new([AuthResult::Fail]))
            .needs()
            .available_at(Stage::Rcpt)
    );
    assert!(
        !Check::Auth(AuthMethod::Dmarc, Box::new([AuthResult::Fail]))
            .needs()
            .available_at(Stage::Rcpt)
    );
}

#[test]
fn content_conditions_reject_bad_arguments() {
    let names = Names {
        lists: &[],
        maps: &[],
        dns_lists: &[],
        tables: Tables::USERS,
    };
    let err = |s: &str| parse_condition(s, &names).unwrap_err();
    assert!(err("spf").contains("one or more results"));
    assert!(err("spf maybe").contains("unknown spf result `maybe`"));
    assert!(err("arc sealed").contains("unknown arc result `sealed`"));
    assert!(err("dmarc_policy drop").contains("unknown DMARC policy"));
    assert!(err("dmarc_policy").contains("exactly one argument"));
    assert!(err("gtube yes").contains("takes no arguments"));
    assert!(err("malware a b").contains("at most one argument"));
    assert!(err("spam_score = 5").contains("spam_score >= 5"));
}

#[test]
fn malware_reply_names_the_signature() {
    let p = policy(
        "[[data]]\nname = \"malware\"\nif = \"malware\"\n\
         action = \"reject 554 5.7.1 infected with {malware} (score {spam_score})\"\n",
    );
    let mut f = facts("192.0.2.9");
    f.scan = Some(crate::verdicts::Scan::Infected("Eicar\r\n250 OK"));
    f.spam_score = Some(2.25);
    let d = eval(&p, Stage::Data, &f);
    let Verdict::Reject(reply) = &d.verdict else {
        panic!("{:?}", d.verdict)
    };
    assert_eq!(reply.code, 554);
    assert_eq!(reply.text(), "infected with Eicar??250 OK (score 2.2)");
    assert!(
        d.explain().contains("scan=infected: Eicar"),
        "{}",
        d.explain()
    );
}
