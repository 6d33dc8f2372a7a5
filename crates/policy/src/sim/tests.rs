//! The simulator: case files, expectations, reports and diffs.

use std::io;
use std::path::Path;

use super::*;
use crate::testutil::*;

const POLICY: &str = "\
[lists]
lan = [\"config:lan_networks\"]
[[helo]]
name = \"not-fqdn\"
if = \"helo_not_fqdn\"
action = \"tag\"
score = 1.0
[[rcpt]]
name = \"unknown-local\"
if = \"rcpt_unknown\"
action = \"reject 550 5.1.1 no such user {rcpt}\"
[[rcpt]]
name = \"known\"
if = \"rcpt_known\"
action = \"accept\"
[[rcpt]]
name = \"relay-lan\"
if = [\"rcpt_remote\", \"client_in lan\"]
action = \"accept\"
[[rcpt]]
name = \"relay-denied\"
if = \"rcpt_remote\"
action = \"reject 554 5.7.1 relay denied\"
";

fn cases(text: &str) -> Result<Cases, PolicyError> {
    Cases::from_text(
        Path::new("/etc/calm/cases.toml"),
        text,
        &mut |p: &Path| match p.to_str() {
            Some("/etc/calm/msg.eml") => Ok(b"Subject: hi\r\n\r\nbody\r\n".to_vec()),
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "No such file or directory",
            )),
        },
    )
}

fn run(policy_text: &str, cases_text: &str) -> Report {
    simulate(
        &policy(policy_text),
        &cases(cases_text).unwrap_or_else(|e| panic!("{e}")),
    )
}

const CASES: &str = "\
[directory]
users = [\"alice@example.test\"]
[defaults]
client = \"203.0.113.1\"
helo = \"mail.example.org\"
from = \"x@example.org\"
[[case]]
name = \"known\"
to = [\"alice@example.test\"]
expect = \"accept\"
fired = [\"known\"]
[[case]]
name = \"unknown\"
to = [\"bob@example.test\"]
expect = \"reject 550 5.1.1\"
stages = { rcpt = \"reject 550\", helo = \"pass\" }
[[case]]
name = \"lan-relay\"
client = \"127.0.0.1\"
helo = \"box\"
to = [\"x@elsewhere.example\"]
expect = \"accept\"
fired = [\"relay-lan\", \"not-fqdn\"]
";

#[test]
fn passing_cases_report_pass_and_a_summary() {
    let report = run(POLICY, CASES);
    assert!(report.is_success(), "{report}");
    let text = report.to_string();
    assert!(
        text.starts_with("PASS known (cases.toml:7)\n  connect: no rule decided (0 looked at)\n"),
        "{text}"
    );
    assert!(text.contains("  rcpt <bob@example.test>: rule unknown-local (policy.toml:8) rejected 550 5.1.1: no such user bob@example.test"), "{text}");
    assert!(
        text.contains("  helo: no rule decided (1 looked at); tagged by not-fqdn (+1)"),
        "{text}"
    );
    assert!(
        text.ends_with("summary: 3 cases, 3 passed, 0 failed"),
        "{text}"
    );
    let verbose = Report {
        verbose: true,
        ..report
    }
    .to_string();
    assert!(
        verbose.contains("      not-fqdn (policy.toml:3): no match: helo_not_fqdn"),
        "{verbose}"
    );
}

#[test]
fn failing_expectations_are_listed() {
    let text = "\
[defaults]
client = \"203.0.113.1\"
helo = \"mail.example.org\"
from = \"x@example.org\"
[[case]]
name = \"wrong\"
to = [{ address = \"bob@example.test\", expect = \"accept\" }, \"alice@example.test\"]
expect = \"accept\"
stages = { data = \"pass\", connect = \"reject\" }
fired = [\"known\"]
not_fired = [\"unknown-local\"]
";
    let report = run(POLICY, text);
    assert!(!report.is_success());
    assert_eq!((report.passed(), report.failed()), (0, 1));
    let failures = &report.cases[0].failures;
    let expected = [
        "expected accept, got reject 550 5.1.1 no such user bob@example.test",
        "expected connect: reject, got pass",
        "expected data: pass, but the session never reached data",
        "expected rcpt bob@example.test: accept, got reject 550 5.1.1 no such user bob@example.test",
        "expected rule `known` to fire, it did not",
        "expected rule `unknown-local` not to fire, it did",
    ];
    assert_eq!(failures, &expected);
    assert!(report.to_string().contains("FAIL wrong (cases.toml:5)\n"));
    assert!(
        report
            .to_string()
            .ends_with("summary: 1 cases, 0 passed, 1 failed")
    );
}

#[test]
fn sessions_stop_at_a_refusal() {
    let p = "[[connect]]\nname = \"no\"\nif = \"not client_in lan\"\naction = \"defer 421 4.7.0 busy\"\n[lists]\nlan = [\"10.0.0.0/8\"]\n";
    let report = run(
        p,
        "[[case]]\nname = \"c\"\nclient = \"192.0.2.1\"\nhelo = \"x.example\"\nfrom = \"a@b.example\"\nto = [\"c@d.example\"]\nexpect = \"defer 421 4.7.0\"\n",
    );
    assert!(report.is_success(), "{report}");
    assert_eq!(report.cases[0].runs.len(), 1);
    assert_eq!(report.cases[0].outcome.stage, crate::stage::Stage::Connect);
}

#[test]
fn facts_come_from_the_case_file() {
    let p = "\
[[connect]]\nname = \"fcrdns\"\nif = \"fcrdns_fail\"\naction = \"tag\"\nscore = 1.0
[[mail]]\nname = \"unresolvable\"\nif = \"sender_domain_unresolvable\"\naction = \"tag\"\nscore = 1.0
[[mail]]\nname = \"not-owned\"\nif = \"sender_not_owned\"\naction = \"reject 553 5.7.1 no\"
[[rcpt]]\nname = \"failed\"\nif = \"rcpt_lookup_failed\"\naction = \"defer 451 4.3.0 {reason}\"
[[rcpt]]\nname = \"ok\"\naction = \"accept\"
[[data]]\nname = \"subject\"\nif = \"header Subject hi\"\naction = \"tag\"\nscore = 1.0
";
    let c = "\
[directory]\nusers = [\"alice@example.test\"]
[[case]]
name = \"confirmed\"
client = \"192.0.2.1\"
ptr = [\"other.example\", \"mx.example.org\"]
dns = { \"MX.example.org\" = [\"192.0.2.1\"], \"example.org\" = [\"MX mx.example.org\"] }
from = \"a@example.org\"
to = [\"alice@example.test\"]
message_file = \"msg.eml\"
not_fired = [\"fcrdns\", \"unresolvable\"]
fired = [\"subject\"]
[[case]]
name = \"unconfirmed-and-unresolvable\"
client = \"192.0.2.1\"
ptr = \"mx.example.org\"
dns = {}
from = \"a@example.org\"
to = [{ address = \"loop@example.test\", resolution = \"failed\", reason = \"alias loop\" }]
expect = \"defer 451 4.3.0\"
fired = [\"fcrdns\", \"unresolvable\"]
[[case]]
name = \"not-owned\"
client = \"192.0.2.1\"
auth = \"alice@example.test\"
from = \"bob@example.test\"
expect = \"reject 553 5.7.1\"
[[case]]
name = \"owned\"
client = \"192.0.2.1\"
auth = \"alice@example.test\"
from = \"Alice@Example.Test\"
expect = \"accept\"
";
    let report = run(p, c);
    assert!(report.is_success(), "{report}");
    let unconfirmed = &report.cases[1];
    assert_eq!(
        unconfirmed.outcome.verdict.reply().map(|r| r.text()),
        Some("alias loop".to_string())
    );
}

#[test]
fn case_file_mistakes_name_the_line() {
    let err = |text: &str| cases(text).unwrap_err().to_string();
    assert_eq!(
        err("[[case]]\nclient = \"192.0.2.1\"\n"),
        "/etc/calm/cases.toml:1: error: a case needs a `name`"
    );
    assert!(err("[[case]]\nname = \"a\"\n").contains("case `a`: needs a `client` address"));
    assert!(
        err("[[case]]\nname = \"a\"\nclient = \"999.1.1.1\"\n").contains("is not an IP address")
    );
    assert!(
        err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nlistener = \"pop3\"\n")
            .contains("unknown listener role")
    );
    assert!(
        err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nexpect = \"maybe\"\n")
            .contains("unknown expectation `maybe`")
    );
    assert!(
        err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nexpect = \"accept 250\"\n")
            .contains("only reject and defer take a code")
    );
    assert!(
        err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nexpect = \"reject 5x0\"\n")
            .contains("bad reply code")
    );
    assert!(
        err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nstages = { quit = \"pass\" }\n")
            .contains("unknown stage `quit`")
    );
    assert!(
        err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\ntables = [\"ldap\"]\n")
            .contains("unknown table `ldap`")
    );
    assert!(err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nto = [{ address = \"x@y\", resolution = \"maybe\" }]\n").contains("unknown resolution `maybe`"));
    assert!(
        err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nmessage_file = \"nope.eml\"\n")
            .contains("cannot read /etc/calm/nope.eml")
    );
    assert!(err("[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nmessage = \"x\"\nmessage_file = \"msg.eml\"\n").contains("not both"));
    let dup = err(
        "[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\n\n[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\n",
    );
    assert_eq!(
        dup,
        "/etc/calm/cases.toml:5: error: case name `a` is used twice"
    );
    assert!(
        err("[[case]]\nname = \"a\"\nclinet = \"192.0.2.1\"\n")
            .starts_with("/etc/calm/cases.toml:3: error: unknown field `clinet`")
    );
    assert!(err("[directory]\ntables = [\"x\"]\n").contains("[directory]: unknown table `x`"));
}

#[test]
fn diff_lists_changed_verdicts_with_their_rules() {
    let old = policy(POLICY);
    let new = policy(&POLICY.replace("reject 554 5.7.1 relay denied", "accept"));
    let c = cases(
        "[defaults]\nclient = \"203.0.113.1\"\nfrom = \"x@example.org\"\n\
         [[case]]\nname = \"relay\"\nto = [\"a@elsewhere.example\", \"alice@example.test\"]\n\
         [[case]]\nname = \"same\"\nto = [\"bob@example.test\"]\n\
         [directory]\nusers = [\"alice@example.test\"]\n",
    )
    .unwrap();
    let d = diff(&old, &new, &c);
    assert_eq!((d.total, d.changes.len()), (2, 1));
    assert_eq!(d.changes[0].case, "relay");
    let text = d.to_string();
    assert!(text.contains("CHANGED relay (cases.toml:4)\n"), "{text}");
    assert!(
        text.contains("  rcpt <a@elsewhere.example>: reject 554 5.7.1 relay denied -> accept"),
        "{text}"
    );
    assert!(
        text.ends_with("summary: 1 of 2 cases change verdict"),
        "{text}"
    );
    assert_eq!(diff(&old, &old, &c).changes, []);
}

#[test]
fn cases_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.eml"), "Subject: x\r\n\r\n").unwrap();
    let path = dir.path().join("cases.toml");
    std::fs::write(
        &path,
        "[[case]]\nname = \"a\"\nclient = \"192.0.2.1\"\nmessage_file = \"m.eml\"\n",
    )
    .unwrap();
    let c = Cases::load(&path).unwrap();
    assert_eq!((c.len(), c.is_empty(), c.path() == path), (1, false, true));
    assert_eq!(c.names().collect::<Vec<_>>(), ["a"]);
    assert!(Cases::load(&dir.path().join("nope")).is_err());
}

proptest::proptest! {
    #[test]
    fn arbitrary_case_files_never_panic(text in "\\PC{0,300}") {
        if let Ok(c) = cases(&text) {
            let _ = simulate(&policy(POLICY), &c);
        }
    }

    #[test]
    fn case_shaped_text_never_panics(
        client in "[0-9a-f:.]{0,20}",
        helo in "[ -~]{0,20}",
        from in "[a-z@.<>]{0,12}",
        to in "[a-zA-Z@.+]{0,16}",
        expect in "(accept|reject|defer|pass|quarantine)( [0-9]{3})?( [0-9.]{5})?",
    ) {
        let text = format!("[[case]]\nname = \"p\"\nclient = {client:?}\nhelo = {helo:?}\nfrom = {from:?}\nto = [{to:?}]\nexpect = {expect:?}\nptr = []\ndns = {{}}\n");
        if let Ok(c) = cases(&text) {
            let _ = simulate(&policy(POLICY), &c).to_string();
        }
    }
}

const CONTENT_POLICY: &str = "\
[[rcpt]]
name = \"known\"
if = \"rcpt_known\"
action = \"accept\"
[[data]]
name = \"gtube\"
if = \"gtube\"
action = \"reject 554 5.7.1 GTUBE\"
[[data]]
name = \"spf-fail\"
if = \"spf fail\"
action = \"tag\"
score = 1.0
[[data]]
name = \"spam\"
if = \"spam_score >= 5\"
action = \"quarantine\"
";

struct FixedScorer;

impl crate::verdicts::ContentScorer for FixedScorer {
    fn facts(&self, message: &[u8]) -> crate::verdicts::ContentFacts {
        let spam = message.windows(4).any(|w| w == b"SPAM");
        crate::verdicts::ContentFacts {
            spam_score: Some(if spam { 7.0 } else { 0.5 }),
            gtube: Some(false),
            ..Default::default()
        }
    }
}

const CONTENT_CASES: &str = "\
[directory]
users = [\"alice@example.test\"]
[defaults]
client = \"203.0.113.1\"
helo = \"mail.example.org\"
from = \"a@example.org\"
to = [\"alice@example.test\"]
[[case]]
name = \"scored-spam\"
message = \"Subject: SPAM\\r\\n\\r\\nx\\r\\n\"
expect = \"quarantine\"
expect_score = [6.0, 8.0]
[[case]]
name = \"stated-facts-win\"
message = \"Subject: SPAM\\r\\n\\r\\nx\\r\\n\"
spam_score = 1.0
spf = \"fail\"
expect = \"accept\"
fired = [\"spf-fail\"]
[[case]]
name = \"wrong-range\"
message = \"Subject: hi\\r\\n\\r\\nx\\r\\n\"
expect_score = [3.0, 4.0]
";

#[test]
fn a_scorer_supplies_content_facts_and_cases_override_them() {
    let c = cases(CONTENT_CASES).unwrap_or_else(|e| panic!("{e}"));
    let report = simulate_with(&policy(CONTENT_POLICY), &c, Some(&FixedScorer));
    let failures: Vec<(&str, &Vec<String>)> = report
        .cases
        .iter()
        .filter(|r| !r.failures.is_empty())
        .map(|r| (r.name.as_str(), &r.failures))
        .collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].0, "wrong-range");
    assert_eq!(failures[0].1, &["expected a spam score in [3, 4], got 0.5"]);
    // Without a scorer the unscored message cannot meet its range.
    let plain = simulate(&policy(CONTENT_POLICY), &c);
    let r = plain
        .cases
        .iter()
        .find(|r| r.name == "scored-spam")
        .unwrap();
    assert!(
        r.failures.iter().any(|f| f.contains("was not scored")),
        "{:?}",
        r.failures
    );
}

#[test]
fn content_fields_of_cases_are_validated() {
    for (field, want) in [
        ("spf = \"maybe\"", "use pass, fail"),
        ("scan = \"dirty\"", "use clean, infected NAME"),
        ("dmarc_policy = \"drop\"", "use none, quarantine or reject"),
        ("expect_score = [5.0, 1.0]", "[LOW, HIGH]"),
        ("expect_score = [1.0]", "[LOW, HIGH]"),
        ("spam_score = nan", "must be a number"),
    ] {
        let text = format!("[[case]]\nname = \"c\"\nclient = \"192.0.2.1\"\n{field}\n");
        let err = cases(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(want), "{field}: {err}");
    }
}

#[test]
fn dns_list_answers_of_cases_are_validated() {
    for (field, want) in [
        (
            "dnsbl = { zen = [\"127.0.0.x\"] }",
            "`dnsbl.zen`: `127.0.0.x` is not an IPv4 address",
        ),
        ("dnsbl = { zen = [\"::1\"] }", "is not an IPv4 address"),
        (
            "dnsbl = { zen = \"slow\" }",
            "give a list of return codes or \"timeout\"",
        ),
        ("dnsbl = { zen = 3 }", "/etc/calm/cases.toml:"),
    ] {
        let text = format!("[[case]]\nname = \"c\"\nclient = \"192.0.2.1\"\n{field}\n");
        let err = cases(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(want), "{field}: {err}");
    }
}

#[test]
fn cases_give_dns_list_answers() {
    let policy_text = "\
[dnsbl.zen]
zone = \"zen.example\"
codes = [\"127.0.0.2\"]
[dnsbl.dbl]
zone = \"dbl.example\"
target = \"sender_domain\"
[dnswl.wl]
zone = \"wl.example\"
on_failure = \"undecided\"
[[connect]]
name = \"not-whitelisted\"
if = \"not dnswl wl\"
action = \"continue\"
[[connect]]
name = \"zen\"
if = \"dnsbl zen\"
action = \"reject 554 5.7.1 listed\"
[[mail]]
name = \"dbl\"
if = \"dnsbl dbl\"
action = \"reject 550 5.7.1 domain listed\"
";
    let report = run(
        policy_text,
        "\
[defaults]
client = \"203.0.113.1\"
from = \"x@spam.example\"
to = [\"a@example.test\"]
[[case]]
name = \"listed\"
dnsbl = { zen = [\"127.0.0.2\"] }
expect = \"reject 554 5.7.1\"
fired = [\"zen\", \"not-whitelisted\"]
[[case]]
name = \"filtered-code\"
dnsbl = { zen = [\"127.0.0.3\"], dbl = [\"127.0.1.2\"] }
expect = \"reject 550 5.7.1\"
stages = { connect = \"pass\", mail = \"reject 550\" }
[[case]]
name = \"timeouts\"
dnsbl = { zen = \"timeout\", wl = \"timeout\" }
expect = \"accept\"
not_fired = [\"zen\", \"not-whitelisted\", \"dbl\"]
[[case]]
name = \"not-looked-up\"
expect = \"accept\"
not_fired = [\"zen\", \"not-whitelisted\", \"dbl\"]
",
    );
    assert!(report.is_success(), "{report}");
    assert_eq!(report.cases.len(), 4);
}
