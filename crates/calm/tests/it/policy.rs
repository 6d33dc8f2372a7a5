//! The staged policy through the real binary: rules decide live sessions and are named in
//! the event log and the message; `calm simulate` and `calm check` read the same files.

use crate::harness::{Setup, Smtp, calm};

const REPO_CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policy/cases.toml");

#[test]
fn shipped_cases_pass_against_the_builtin_policy() {
    let (ok, out, err) = calm(&["simulate", "--cases", REPO_CASES]);
    assert!(ok, "{out}{err}");
    assert!(out.contains(" 0 failed"), "{out}");
    assert!(
        out.contains("rule unknown-local (built-in:default.toml:"),
        "traces name file and line: {out}"
    );
}

#[test]
fn a_wrong_expectation_fails_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.toml");
    std::fs::write(
        &cases,
        "[[case]]\nname = \"stranger-relays\"\nclient = \"203.0.113.9\"\nhelo = \"x.example\"\nfrom = \"a@x.example\"\nto = [\"b@elsewhere.example\"]\nexpect = \"accept\"\n",
    )
    .unwrap();
    let (ok, out, _) = calm(&["simulate", "--cases", &cases.display().to_string()]);
    assert!(!ok, "a failing case must fail the command: {out}");
    assert!(
        out.contains("FAIL stranger-relays") && out.contains("relay-denied"),
        "{out}"
    );
}

/// A small policy of our own: rules at every stage.
const POLICY: &str = r#"
[[connect]]
name = "tarpit-none"
if = "listener submission"
action = "continue"

[[helo]]
name = "no-workstations"
if = "helo_not_fqdn"
action = "reject 550 5.7.1 HELO {helo} is not a fully qualified name"

[[rcpt]]
name = "unknown-local"
if = "rcpt_unknown"
action = "reject 550 5.1.1 <{rcpt}>: no such user"

[[rcpt]]
name = "local-recipient"
if = "rcpt_known"
action = "accept"

[[rcpt]]
name = "relay-denied"
if = "rcpt_remote"
action = "reject 554 5.7.1 <{rcpt}>: Relay access denied"

[[data]]
name = "no-spam-flag"
if = "header X-Spam-Flag YES"
action = "reject 550 5.7.1 Flagged as spam upstream"

[[data]]
name = "mark-all"
action = "tag"
score = 0.5
header = "X-Calm-Test: seen by the data stage"
"#;

#[test]
fn live_rules_decide_and_are_explained() {
    let setup = Setup::with_policy(POLICY);
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    let r = c.cmd("EHLO workstation");
    assert!(r.1.starts_with("550 5.7.1 HELO workstation"), "{r:?}");
    assert_eq!(c.cmd("EHLO client.example.org").0, 250);
    let refused = c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "X-Spam-Flag: YES\r\n\r\nspam\r\n",
    );
    assert!(refused.unwrap_err().1.starts_with("550 5.7.1 Flagged"));
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: fine\r\n\r\nfine\r\n",
    )
    .unwrap();
    let files = setup.wait_for_mail("bob@example.test", 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("X-Calm-Test: seen by the data stage\r\n"),
        "{text}"
    );
    assert!(
        text.contains("X-Calm-Policy:") && text.contains("mark-all"),
        "{text}"
    );
    let verdicts: Vec<_> = setup
        .wait_for_count("verdict", 3)
        .into_iter()
        .filter(|e| e["event"] == "verdict")
        .collect();
    let helo = verdicts
        .iter()
        .find(|e| e["rule"] == "no-workstations")
        .expect("helo verdict logged");
    assert_eq!(helo["line"], 7, "the [[helo]] table of the rule");
    assert!(helo["file"].as_str().unwrap().ends_with("policy.toml"));
    assert!(
        helo["explain"]
            .as_str()
            .unwrap()
            .starts_with("helo: rule no-workstations"),
        "{helo}"
    );
    assert!(
        verdicts
            .iter()
            .any(|e| e["rule"] == "no-spam-flag" && e["verdict"] == "reject")
    );
}

#[test]
fn check_warns_about_the_seed_incident() {
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        "[accounts]\naliases_file = \"aliases\"\n[policy]\nfile = \"policy.toml\"\n",
    );
    std::fs::write(setup.dir.path().join("aliases"), "sales: bob\n").unwrap();
    let seed = "[[rcpt]]\nname = \"unknown-local\"\nif = \"rcpt_unknown users\"\naction = \"reject 550 5.1.1 no such user\"\n";
    std::fs::write(setup.dir.path().join("policy.toml"), seed).unwrap();
    let (_, out, err) = calm(&["check", "--config", &setup.config()]);
    let text = format!("{out}{err}");
    assert!(
        text.contains("policy.toml:1: warning:") && text.contains("aliases"),
        "{text}"
    );
}

#[test]
fn check_names_file_and_line_of_a_broken_policy() {
    let setup = Setup::build("127.0.0.2/32", "", "[policy]\nfile = \"policy.toml\"\n");
    std::fs::write(
        setup.dir.path().join("policy.toml"),
        "[[rcpt]]\nname = \"x\"\nif = \"no_such_check\"\naction = \"accept\"\n",
    )
    .unwrap();
    let (ok, out, err) = calm(&["check", "--config", &setup.config()]);
    assert!(!ok);
    let text = format!("{out}{err}");
    assert!(
        text.contains("policy.toml:3") && text.contains("no_such_check"),
        "{text}"
    );
}

#[test]
fn dns_facts_come_from_the_configured_resolver() {
    // The harness points calm at the test process's DNS server: nx.example names do not exist.
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail(
        "a@nowhere.nx.example",
        &["bob@example.test"],
        "Subject: 1\r\n\r\nx\r\n",
    )
    .unwrap();
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: 2\r\n\r\nx\r\n",
    )
    .unwrap();
    let files = setup.wait_for_mail("bob@example.test", 2);
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let flagged = texts
        .iter()
        .filter(|t| t.contains("X-Calm-Sender: domain of a@nowhere.nx.example does not resolve"))
        .count();
    assert_eq!(flagged, 1, "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Subject: 2") && !t.contains("X-Calm-Sender"))
    );
}

const LISTED: &str = r#"
[dnsbl.test-bl]
zone = "bl.example"

[dnsbl.quiet-bl]
zone = "nx.example"

[[connect]]
name = "listed-client"
if = "dnsbl test-bl"
action = "tag"
header = "X-Calm-Dnsbl: {client} is on test-bl"

[[connect]]
name = "quiet-list"
if = "dnsbl quiet-bl"
action = "reject 554 5.7.1 never: nx.example lists nobody"

[[rcpt]]
name = "local-recipient"
if = "rcpt_known"
action = "accept"
"#;

#[test]
fn dns_block_lists_are_looked_up_through_the_resolver() {
    let setup = Setup::with_policy(LISTED);
    let _server = setup.start();
    let text = setup.deliver_to_bob("Subject: bl\r\n\r\nx\r\n");
    assert!(
        text.contains("X-Calm-Dnsbl: 127.0.0.1 is on test-bl"),
        "{text}"
    );
}
