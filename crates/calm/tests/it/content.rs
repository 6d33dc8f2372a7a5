//! Content filtering through the real binary: GTUBE is refused at DATA, ordinary mail gets a
//! spam report and Authentication-Results, a quarantine rule keeps mail out of the mailbox
//! until the operator releases it, and `calm spam` explains and trains offline.

use calm_content::testing::{EICAR_SIGNATURE, TestClamd, TestSpamd, eicar};

use crate::harness::{Setup, Smtp, calm};

const GTUBE_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../policy/messages/gtube.eml"
);

/// A message of `policy/messages/`, with CRLF line ends as SMTP wants them.
fn shipped_message(name: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policy/messages/");
    let text = std::fs::read_to_string(format!("{dir}{name}")).unwrap();
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

fn gtube_body() -> String {
    shipped_message("gtube.eml")
}

#[test]
fn gtube_is_refused_and_ordinary_mail_is_scored() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let refused = c
        .send_mail("a@example.org", &["bob@example.test"], &gtube_body())
        .unwrap_err();
    assert!(refused.1.starts_with("554 5.7.1"), "{refused:?}");
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: hello\r\n\r\nlunch?\r\n",
    )
    .unwrap();
    let files = setup.wait_for_mail("bob@example.test", 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("X-Spam-Score: ") && text.contains("X-Spam-Status: No"),
        "{text}"
    );
    assert!(
        text.contains("Authentication-Results: mx.example.test"),
        "{text}"
    );
}

const QUARANTINE_POLICY: &str = r#"
[[rcpt]]
name = "local-recipient"
if = "rcpt_known"
action = "accept"

[[rcpt]]
name = "others"
action = "reject 550 5.1.1 no"

[[data]]
name = "hold-invoices"
if = "header Subject invoice"
action = "quarantine"
"#;

#[test]
fn quarantined_mail_waits_for_release() {
    let setup = Setup::with_policy(QUARANTINE_POLICY);
    let cfg = setup.config();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: your invoice\r\n\r\npay\r\n",
    )
    .unwrap();
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: hello\r\n\r\nhi\r\n",
    )
    .unwrap();
    setup.wait_for_mail("bob@example.test", 1);
    let (ok, out, _) = calm(&["quarantine", "list", "--config", &cfg]);
    assert!(
        ok && out.contains("1 quarantined") && out.contains("hold-invoices"),
        "{out}"
    );
    let id = out.split_whitespace().next().unwrap().to_string();
    let (ok, out, _) = calm(&["quarantine", "show", &id, "--config", &cfg]);
    assert!(ok && out.contains("Subject: your invoice"), "{out}");
    let (ok, out, err) = calm(&["quarantine", "release", &id, "--config", &cfg]);
    assert!(ok && out.contains("released"), "{out}{err}");
    let files = setup.wait_for_mail("bob@example.test", 2);
    assert!(files.iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap()
            .contains("Subject: your invoice")
    }));
    assert!(
        setup
            .wait_for_event("quarantined")
            .iter()
            .any(|e| e["event"] == "quarantined"
                && e["rule"].as_str().unwrap().starts_with("hold-invoices"))
    );
}

#[test]
fn spam_explain_and_train_work_offline() {
    let setup = Setup::new();
    let cfg = setup.config();
    let (ok, out, err) = calm(&["spam", "explain", GTUBE_FILE, "--config", &cfg]);
    assert!(
        ok && out.contains("GTUBE") && out.contains("total"),
        "{out}{err}"
    );
    assert!(
        out.contains("rule gtube (built-in:default.toml:"),
        "the policy's verdict: {out}"
    );
    let ham = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policy/messages/ham-minutes.eml"
    );
    let (ok, out, err) = calm(&["spam", "explain", ham, "--config", &cfg]);
    assert!(ok && out.contains("no rule decided"), "{out}{err}");
    let forged = [
        "--dmarc",
        "fail",
        "--dmarc-policy",
        "reject",
        "--config",
        &cfg,
    ];
    let (ok, out, err) = calm(&[&["spam", "explain", ham][..], &forged[..]].concat());
    assert!(
        ok && out.contains("rule dmarc-enforced") && out.contains("quarantined"),
        "{out}{err}"
    );
    let (ok, _, err) = calm(&["spam", "explain", ham, "--spf", "maybe"]);
    assert!(!ok && err.contains("--spf \"maybe\""), "{err}");
    let (ok, out, err) = calm(&["spam", "train", "--spam", GTUBE_FILE, "--config", &cfg]);
    assert!(ok && out.contains("trained 1 messages"), "{out}{err}");
    assert!(setup.data().join("bayes.tokens").exists());
}

fn imap_move(setup: &Setup, from: &str, to: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/imaplib_move.py");
    let out = std::process::Command::new("python3")
        .args([script, "--port", &setup.port("imaps").to_string()])
        .args([
            "--user",
            "bob@example.test",
            "--password",
            "secret",
            "--from",
            from,
            "--to",
            to,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn moving_mail_in_and_out_of_junk_trains_and_records_the_cause() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let body = "Subject: WIN A PRIZE NOW\r\n\r\nClick here to claim your free prize!!! http://prize.example/\r\n";
    c.send_mail("a@example.org", &["bob@example.test"], body)
        .unwrap();
    setup.wait_for_mail("bob@example.test", 1);

    imap_move(&setup, "INBOX", "Junk");
    let events = setup.wait_for_event("false_negative");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "false_negative" && e["user"] == "bob@example.test")
    );
    assert!(
        setup.data().join("bayes.tokens").exists(),
        "the classifier was trained and saved"
    );

    imap_move(&setup, "Junk", "INBOX");
    let events = setup.wait_for_event("false_positive");
    let fp = events
        .iter()
        .find(|e| e["event"] == "false_positive")
        .unwrap();
    assert!(
        fp["root_cause"].as_str().is_some_and(|c| !c.is_empty()),
        "{fp}"
    );
}

#[test]
fn clamd_down_fails_open_by_default_and_closed_by_rule() {
    // Nothing listens on port 9: the scanner is unavailable at once.
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        "[content]\nclamd = \"tcp:127.0.0.1:9\"\nclamd_timeout_secs = 2\n",
    );
    let _server = setup.start();
    let text = setup.deliver_to_bob("Subject: s\r\n\r\nx\r\n");
    assert!(
        text.contains("X-Calm-Virus-Scan: not scanned, scanner unavailable"),
        "fail-open tags: {text}"
    );

    let closed = "[[rcpt]]\nname = \"ok\"\nif = \"rcpt_known\"\naction = \"accept\"\n\n[[data]]\nname = \"scanner-unavailable\"\nif = \"scanner_unavailable\"\naction = \"defer 451 4.7.1 Virus scanner unavailable, try again later\"\n";
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        "[content]\nclamd = \"tcp:127.0.0.1:9\"\nclamd_timeout_secs = 2\n[policy]\nfile = \"policy.toml\"\n",
    );
    std::fs::write(setup.dir.path().join("policy.toml"), closed).unwrap();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let refused = c
        .send_mail(
            "a@example.org",
            &["bob@example.test"],
            "Subject: s\r\n\r\nx\r\n",
        )
        .unwrap_err();
    assert!(
        refused.1.starts_with("451 4.7.1"),
        "fail-closed defers: {refused:?}"
    );
}

/// A MIME message with the EICAR test file as a base64 attachment, as a mail client sends it.
fn eicar_attachment_mail() -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(eicar());
    format!(
        "Subject: the file\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"eicar.com\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b1--\r\n"
    )
}

#[test]
fn real_clamd_finds_eicar_through_the_server_and_the_reply_names_it() {
    let clamd = TestClamd::start();
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        &format!("[content]\nclamd = \"tcp:{}\"\n", clamd.tcp()),
    );
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let plain = String::from_utf8(eicar()).unwrap();
    for body in [
        format!("Subject: plain\r\n\r\n{plain}\r\n"),
        eicar_attachment_mail(),
    ] {
        let refused = c
            .send_mail("a@example.org", &["bob@example.test"], &body)
            .unwrap_err();
        assert!(
            refused.1.starts_with("554 5.7.1") && refused.1.contains(EICAR_SIGNATURE),
            "{refused:?}"
        );
    }
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: clean\r\n\r\nnothing here\r\n",
    )
    .unwrap();
    let files = setup.wait_for_mail("bob@example.test", 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("Subject: clean"), "{text}");
    assert!(
        !text.contains("X-Calm-Virus-Scan"),
        "scanned, so not tagged: {text}"
    );
    let malware_verdicts = |events: &[serde_json::Value]| {
        events
            .iter()
            .filter(|e| e["event"] == "verdict" && e["rule"] == "malware")
            .count()
    };
    let events = setup.wait_until(|e| malware_verdicts(e) == 2);
    assert_eq!(malware_verdicts(&events), 2, "{events:?}");
    assert_eq!(setup.mailbox_files("bob@example.test").len(), 1);
}

#[test]
fn a_policy_may_quarantine_malware_instead_of_rejecting() {
    let clamd = TestClamd::start();
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        &format!(
            "[content]\nclamd = \"unix:{}\"\n[policy]\nfile = \"policy.toml\"\n",
            clamd.unix().display()
        ),
    );
    let policy = "[[rcpt]]\nname = \"ok\"\nif = \"rcpt_known\"\naction = \"accept\"\n\n\
                  [[data]]\nname = \"hold-malware\"\nif = \"malware\"\naction = \"quarantine\"\n";
    std::fs::write(setup.dir.path().join("policy.toml"), policy).unwrap();
    let cfg = setup.config();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        &eicar_attachment_mail(),
    )
    .unwrap();
    let events = setup.wait_for_event("quarantined");
    assert!(
        events.iter().any(|e| e["event"] == "quarantined"
            && e["rule"]
                .as_str()
                .is_some_and(|r| r.starts_with("hold-malware"))),
        "{events:?}"
    );
    let (ok, out, _) = calm(&["quarantine", "list", "--config", &cfg]);
    assert!(
        ok && out.contains("1 quarantined") && out.contains("hold-malware"),
        "{out}"
    );
    assert!(setup.mailbox_files("bob@example.test").is_empty());
}

fn report(setup: &Setup, to: &str, file: &std::path::Path, inline: bool) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/spam_report.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.args([script, "--port", &setup.submissions().to_string()])
        .args([
            "--user",
            "bob@example.test",
            "--password",
            "secret",
            "--to",
            to,
        ])
        .arg("--file")
        .arg(file);
    if inline {
        cmd.arg("--inline");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn forwarding_to_the_report_addresses_trains_and_records_the_cause() {
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        "[content]\nnot_spam_address = \"not-spam@example.test\"\n\
         spam_address = \"spam@example.test\"\n",
    );
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let body = "Subject: WIN A PRIZE NOW\r\n\r\nClick here to claim your free prize!!! http://prize.example/\r\n";
    c.send_mail("a@example.org", &["bob@example.test"], body)
        .unwrap();
    // Strangers may not teach the classifier.
    c.cmd("MAIL FROM:<a@example.org>");
    let refused = c.cmd("RCPT TO:<not-spam@example.test>");
    assert!(refused.1.starts_with("550 5.7.1"), "{refused:?}");
    c.cmd("RSET");
    let delivered = setup.wait_for_mail("bob@example.test", 1);
    let text = std::fs::read_to_string(&delivered[0]).unwrap();
    // The rule with the most points in calm's X-Spam-Report: "\t*   2.5 NAME description".
    let cause = text
        .lines()
        .skip_while(|l| !l.starts_with("X-Spam-Report:"))
        .skip(1)
        .take_while(|l| l.starts_with(['\t', ' ']))
        .filter_map(|l| {
            let mut w = l.trim_start_matches(['\t', ' ', '*']).split_whitespace();
            Some((w.next()?.parse::<f64>().ok()?, w.next()?.to_string()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
        .expect("the message carries calm's spam report with a rule that fired");

    report(&setup, "not-spam@example.test", &delivered[0], false);
    let fp = setup.wait_for_event("false_positive");
    let fp = fp.iter().find(|e| e["event"] == "false_positive").unwrap();
    assert_eq!(
        (&fp["user"], &fp["source"], &fp["root_cause"]),
        (
            &serde_json::json!("bob@example.test"),
            &serde_json::json!("forward"),
            &serde_json::json!(cause)
        ),
        "{fp}"
    );
    assert!(fp["training_error"].is_null(), "{fp}");
    assert!(setup.data().join("bayes.tokens").exists());

    report(&setup, "spam@example.test", &delivered[0], true);
    let fne = setup.wait_for_event("false_negative");
    assert!(
        fne.iter()
            .any(|e| e["event"] == "false_negative" && e["source"] == "forward")
    );
    // The weekly review counts the report by its cause.
    let (ok, out, err) = calm(&["report", "weekly", "--config", &setup.config()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("User reports: 1 false positives, 1 false negatives (by source: forward 2)"),
        "{out}"
    );
    assert!(out.contains(&format!("rule `{cause}`")), "{out}");
    // Reports are consumed: still one message, in bob's mailbox only.
    assert_eq!(setup.mailbox_files("bob@example.test").len(), 1);
    assert!(setup.mailbox_files("not-spam@example.test").is_empty());
}

#[test]
fn spamd_adds_its_score_and_fails_open_when_down() {
    let spamd = TestSpamd::start();
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        &format!("[content]\nspamd = \"tcp:{}\"\n", spamd.tcp()),
    );
    let _server = setup.start();
    let text = setup
        .deliver_to_bob("From: a@example.org\r\nSubject: lunch\r\n\r\nShall we meet at noon?\r\n");
    assert!(
        text.contains(" SPAMD SpamAssassin "),
        "spamd's line in the report: {text}"
    );
    assert!(!text.contains("X-Calm-Spamd"), "{text}");
    drop(_server);
    drop(spamd);

    // Nothing listens on port 9: spamd is unavailable, and the built-in policy fails open.
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        "[content]\nspamd = \"tcp:127.0.0.1:9\"\nspamd_timeout_secs = 2\n",
    );
    let _server = setup.start();
    let text = setup.deliver_to_bob("Subject: s\r\n\r\nx\r\n");
    assert!(
        text.contains("X-Calm-Spamd: not checked, spamd unavailable") && !text.contains(" SPAMD "),
        "{text}"
    );
}

#[test]
fn training_with_the_cli_reaches_the_running_server_without_a_restart() {
    let setup = Setup::new();
    let cfg = setup.config();
    let _server = setup.start();
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../content/tests/corpus");
    for (label, dir) in [("--spam", "spam"), ("--ham", "ham")] {
        let (ok, out, err) = calm(&[
            "spam",
            "train",
            label,
            &format!("{corpus}/{dir}"),
            "--config",
            &cfg,
        ]);
        assert!(ok, "{out}{err}");
    }
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let spam = std::fs::read_to_string(format!("{corpus}/spam/00.eml")).unwrap();
    let spam = spam.replace("\r\n", "\n").replace('\n', "\r\n");
    c.send_mail("a@example.org", &["bob@example.test"], &spam)
        .unwrap();
    // Scored spam by the classifier and the rules: filed in Junk by the built-in policy.
    let files = setup.wait_for_mail_in("bob@example.test", "Junk", 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains(" BAYES_9"),
        "the classifier trained a moment ago scored it: {text}"
    );
}

#[test]
fn a_users_own_classifier_scores_mail_to_that_user_only() {
    let setup = Setup::build("127.0.0.2/32", "", "[content]\nper_user_bayes = true\n");
    let cfg = setup.config();
    let (ok, out, err) = calm(&[
        "user",
        "add",
        "ann@example.test",
        "--password",
        "pw",
        "--config",
        &cfg,
    ]);
    assert!(ok, "{out}{err}");
    // Bob's own classifier, as his reports would have trained it; the installation's is
    // untrained, so only mail to Bob can get a Bayes line.
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../content/tests/corpus");
    let mut bayes = calm_content::Bayes::new();
    for (label, dir) in [
        (calm_content::Label::Spam, "spam"),
        (calm_content::Label::Ham, "ham"),
    ] {
        for entry in std::fs::read_dir(format!("{corpus}/{dir}")).unwrap() {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            bayes.train(label, &calm_content::Content::parse(&raw));
        }
    }
    let file = setup.data().join("bayes/example.test/bob.tokens");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    bayes.save(&file).unwrap();

    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let spam = std::fs::read_to_string(format!("{corpus}/spam/00.eml")).unwrap();
    let spam = spam.replace("\r\n", "\n").replace('\n', "\r\n");
    for rcpt in ["bob@example.test", "ann@example.test"] {
        c.send_mail("a@example.org", &[rcpt], &spam).unwrap();
    }
    // Both score as spam (6.3 points of rules alone): the built-in policy files them in Junk.
    let bob =
        std::fs::read_to_string(&setup.wait_for_mail_in("bob@example.test", "Junk", 1)[0]).unwrap();
    let ann =
        std::fs::read_to_string(&setup.wait_for_mail_in("ann@example.test", "Junk", 1)[0]).unwrap();
    assert!(bob.contains(" BAYES_9"), "{bob}");
    assert!(!ann.contains(" BAYES_"), "{ann}");
}

/// The owner name and the TXT value of `calm dkim keygen`'s zone line.
fn published_key(keygen_output: &str) -> (String, String) {
    let line = keygen_output
        .lines()
        .find(|l| l.contains("._domainkey."))
        .expect("zone line printed");
    let owner = line
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('.');
    let value: String = line.split('"').skip(1).step_by(2).collect();
    (owner.to_string(), value)
}

#[test]
fn mail_signed_by_calm_passes_dkim_and_dmarc_and_a_forgery_is_quarantined() {
    let setup = Setup::new();
    let cfg = setup.config();
    let (ok, out, err) = calm(&["dkim", "keygen", "example.test", "--config", &cfg]);
    assert!(ok, "{out}{err}");
    let (owner, key) = published_key(&out);
    // The sending domain's DNS, as its owner would publish it: the key made a moment ago, an
    // SPF record that does not list this host (so DMARC rests on DKIM alone, as for mail
    // forwarded by a third party), DMARC asking receivers to reject failures.
    let zone = crate::harness::served("example.test")
        .txt(&owner, &key)
        .txt("example.test", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.example.test", "v=DMARC1; p=reject");
    // `test` itself exists, so the DMARC tree walk's `_dmarc.test` is a plain NXDOMAIN.
    let dns = crate::harness::dns_with(vec![
        crate::harness::served("example.org"),
        zone,
        calm_dns::test_server::Zone::new("test"),
    ]);
    setup.use_dns(dns);
    let _server = setup.start();

    // Submitted by bob with Python's smtplib: calm signs it (DKIM-Signature, d=example.test).
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/smtplib_send.py");
    let sent = std::process::Command::new("python3")
        .args([
            script,
            "--port",
            &setup.submissions().to_string(),
            "--mode",
            "ssl",
        ])
        .args(["--from", "bob@example.test", "--to", "bob@example.test"])
        .args(["--user", "bob@example.test", "--password", "secret"])
        .args(["--subject", "The quarterly figures are in."])
        .output()
        .unwrap();
    assert!(sent.status.success(), "{sent:?}");
    let signed = std::fs::read_to_string(&setup.wait_for_mail("bob@example.test", 1)[0]).unwrap();
    assert!(
        signed.contains("DKIM-Signature: ") && signed.contains("d=example.test"),
        "{signed}"
    );
    // A logged-in user's mail is not judged by SPF/DKIM/DMARC (those are for other servers').
    assert!(!signed.contains("Authentication-Results:"), "{signed}");
    // The same message arriving from outside (as at another server): calm verifies it.
    let received = signed
        .split_once("Delivered-To: bob@example.test\r\n")
        .unwrap()
        .1;
    // The harness's client sends DATA as given: stuff the leading dots (RFC 5321 §4.5.2).
    let received = &received.replace("\r\n.", "\r\n..");
    let (mut mx, _) = Smtp::connect(setup.mx());
    mx.cmd("EHLO mx.example.test");
    mx.send_mail("bob@example.test", &["bob@example.test"], received)
        .unwrap();
    let forged = received.replace("Hello from Python smtplib.", "Pay the invoice today.");
    mx.send_mail("bob@example.test", &["bob@example.test"], &forged)
        .unwrap();
    let files = setup.wait_for_mail("bob@example.test", 2);
    let verified = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .find(|t| t.contains("Authentication-Results:"))
        .expect("the copy that came in over MX");
    let newest = verified.split("Authentication-Results:").nth(1).unwrap();
    let newest = newest
        .split("\r\n")
        .take_while(|l| !l.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("\n");
    for part in ["dkim=pass", "spf=fail", "dmarc=pass"] {
        assert!(newest.contains(part), "{part}: {newest}");
    }
    // The forgery broke the signature; DMARC fails under p=reject: quarantined, not delivered.
    let events = setup.wait_for_event("quarantined");
    assert!(
        events.iter().any(|e| e["event"] == "quarantined"
            && e["rule"]
                .as_str()
                .is_some_and(|r| r.starts_with("dmarc-enforced"))),
        "{events:?}"
    );
    assert_eq!(setup.mailbox_files("bob@example.test").len(), 2);
    assert!(!setup.mailbox_files("bob@example.test").iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap()
            .contains("Pay the invoice")
    }));
}

/// Thresholds only, no GTUBE rule: the test string is scored like any spam.
const THRESHOLD_POLICY: &str = r#"
[[rcpt]]
name = "local-recipient"
if = "rcpt_known"
action = "accept"

[[data]]
name = "spam-tag"
if = "spam_score >= 5"
action = "tag"
score = 3.0
header = "X-Calm-Spam: tagged at {spam_score}"

[[data]]
name = "spam-quarantine"
if = "spam_score >= 10"
action = "quarantine"
"#;

#[test]
fn gtube_and_spam_are_tagged_and_quarantined_per_thresholds() {
    let setup = Setup::with_policy(THRESHOLD_POLICY);
    let cfg = setup.config();
    let _server = setup.start();
    let prize = shipped_message("spam-prize.eml");
    // Between the thresholds (8.3 points): delivered, tagged for the Junk filter.
    let text = setup.deliver_to_bob(&prize);
    assert!(
        text.contains("X-Spam-Status: Yes") && text.contains("X-Calm-Spam: tagged at 8.3"),
        "{text}"
    );
    // GTUBE (1000 points): over the quarantine threshold.
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail("a@example.org", &["bob@example.test"], &gtube_body())
        .unwrap();
    let events = setup.wait_for_event("quarantined");
    assert!(events.iter().any(|e| {
        e["event"] == "quarantined"
            && e["rule"]
                .as_str()
                .is_some_and(|r| r.starts_with("spam-quarantine"))
    }));
    let (ok, out, _) = calm(&["quarantine", "list", "--config", &cfg]);
    assert!(ok && out.contains("1 quarantined"), "{out}");
    let id = out.split_whitespace().next().unwrap().to_string();
    let (ok, out, _) = calm(&["quarantine", "show", &id, "--config", &cfg]);
    assert!(
        ok && out.contains("X-Spam-Status: Yes") && out.contains("GTUBE"),
        "{out}"
    );
    assert_eq!(setup.mailbox_files("bob@example.test").len(), 1);
}

#[test]
fn tagged_spam_is_filed_in_junk_and_moving_it_out_reports_a_false_positive() {
    let setup = Setup::new();
    let _server = setup.start();
    let prize = shipped_message("spam-prize.eml");
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail("a@example.org", &["bob@example.test"], &prize)
        .unwrap();
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: minutes\r\n\r\nThe minutes of Tuesday's meeting.\r\n",
    )
    .unwrap();
    // The built-in spam-tag rule (8.3 points here) files it in Junk; the ham stays in INBOX.
    let junk = setup.wait_for_mail_in("bob@example.test", "Junk", 1);
    let text = std::fs::read_to_string(&junk[0]).unwrap();
    assert!(text.contains("X-Spam-Flag: YES"), "{text}");
    let inbox = setup.wait_for_mail("bob@example.test", 1);
    assert!(
        std::fs::read_to_string(&inbox[0])
            .unwrap()
            .contains("Subject: minutes")
    );
    // Bob disagrees: moving it out of Junk is a false positive, recorded with its cause.
    imap_move(&setup, "Junk", "INBOX");
    let events = setup.wait_for_event("false_positive");
    let fp = events
        .iter()
        .find(|e| e["event"] == "false_positive")
        .unwrap();
    assert_eq!(fp["source"], "imap");
    assert!(
        fp["root_cause"].as_str().is_some_and(|c| c != "none"),
        "{fp}"
    );
    assert_eq!(setup.mailbox_files("bob@example.test").len(), 2);
}
