//! SMTP end to end through the real binary: delivery, recipient validation, relay rules,
//! aliases, sender ownership, smuggling, the event log and the queue listing.

use crate::harness::{Setup, Smtp, calm};

const BODY: &str = "Subject: test\r\n\r\nhello\r\n";

#[test]
fn mx_delivers_to_local_user_and_logs_it() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, greeting) = Smtp::connect(setup.mx());
    assert!(
        greeting.1.starts_with("220 mx.example.test"),
        "{greeting:?}"
    );
    assert_eq!(c.cmd("EHLO client.example.org").0, 250);
    let id = c
        .send_mail("alice@example.org", &["bob@example.test"], BODY)
        .unwrap();
    let files = setup.wait_for_mail("bob@example.test", 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains(&format!("id {id}")),
        "Received header names the queue id: {text}"
    );
    assert!(text.ends_with("\r\nhello\r\n"));
    let events = setup.wait_for_event("delivered");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for kind in ["connect", "accepted", "delivered"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let accepted = events.iter().find(|e| e["event"] == "accepted").unwrap();
    assert_eq!(accepted["queue_id"], id.as_str());
}

#[test]
fn unknown_local_recipient_is_550_and_relay_is_554() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").0, 250);
    let r = c.cmd("RCPT TO:<nobody@example.test>");
    assert!(r.1.starts_with("550 5.1.1"), "{r:?}");
    let r = c.cmd("RCPT TO:<x@elsewhere.example>");
    assert!(r.1.starts_with("554 5.7.1"), "{r:?}");
    let rejects = setup
        .wait_for_count("reject", 2)
        .into_iter()
        .filter(|e| e["event"] == "reject")
        .count();
    assert!(rejects >= 2);
}

#[test]
fn relay_tricks_never_leave_the_building() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.cmd("MAIL FROM:<a@example.org>");
    let cases = [
        ("<x%elsewhere.example@example.test>", "550 5.1.1"),
        ("<@example.test:x@elsewhere.example>", "554 5.7.1"),
        ("<elsewhere.example!x@example.test>", "550 5.1.1"),
        ("<\"x@elsewhere.example\"@example.test>", "550 5.1.1"),
        ("<x@[127.0.0.1]>", "554 5.7.1"),
        ("<elsewhere.example!x>", "501"),
        ("<x@elsewhere.example.>", "501"),
    ];
    for (rcpt, expected) in cases {
        let r = c.cmd(&format!("RCPT TO:{rcpt}"));
        assert!(r.1.starts_with(expected), "{rcpt}: {r:?}");
    }
    // RFC 5321 §3.3: with no valid recipient, DATA gets 503 or 554.
    let data = c.cmd("DATA").0;
    assert!(
        data == 503 || data == 554,
        "no valid recipient, no DATA: {data}"
    );
    let (ok, out, _) = calm(&["queue", "list", "--config", &setup.config()]);
    assert!(ok && out.contains("0 messages"), "{out}");
}

#[test]
fn lan_clients_relay_and_the_queue_shows_it() {
    let setup = Setup::build("127.0.0.1/32", "", "");
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO lan-host.example.test");
    let id = c
        .send_mail("bob@example.test", &["x@elsewhere.example"], BODY)
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (ok, out, err) = calm(&["queue", "list", "--config", &setup.config()]);
        assert!(ok, "{err}");
        if out.contains(&id) {
            assert!(out.contains("x@elsewhere.example"), "{out}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{id} never listed: {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn aliases_virtual_and_subaddresses_resolve() {
    let dir_files = tempfile::tempdir().unwrap();
    let aliases = dir_files.path().join("aliases");
    std::fs::write(&aliases, "# aliases\npostmaster: bob\nteam: bob, carol\n").unwrap();
    let virtual_map = dir_files.path().join("virtual");
    std::fs::write(&virtual_map, "sales@example.test  bob@example.test\n").unwrap();
    let accounts = format!(
        "[accounts]\naliases_file = {:?}\nvirtual_file = {:?}\n",
        aliases.display().to_string(),
        virtual_map.display().to_string()
    );
    let setup = Setup::build("127.0.0.2/32", "", &accounts);
    let (ok, _, err) = calm(&[
        "user",
        "add",
        "carol@example.test",
        "--password",
        "pw",
        "--config",
        &setup.config(),
    ]);
    assert!(ok, "{err}");
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    for rcpt in [
        "postmaster@example.test",
        "sales@example.test",
        "bob+lists@example.test",
        "team@example.test",
    ] {
        c.send_mail("a@example.org", &[rcpt], BODY)
            .unwrap_or_else(|r| panic!("{rcpt}: {r:?}"));
    }
    setup.wait_for_mail("bob@example.test", 4);
    setup.wait_for_mail("carol@example.test", 1);
}

#[test]
fn submission_sender_must_be_owned() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.submission());
    c.cmd("EHLO client.example.org");
    let r = c.cmd("MAIL FROM:<bob@example.test>");
    assert!(
        r.1.starts_with("530 5.7.0"),
        "AUTH needs STARTTLS first: {r:?}"
    );
}

#[test]
fn smuggling_with_bare_lf_is_rejected_and_nothing_is_queued() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.cmd("MAIL FROM:<a@example.org>");
    c.cmd("RCPT TO:<bob@example.test>");
    assert_eq!(c.cmd("DATA").0, 354);
    c.send_raw(b"Subject: one\r\n\r\nbody\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n");
    let r = c.read_reply();
    assert!(r.1.starts_with("521 5.5.2"), "{r:?}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(setup.mailbox_files("bob@example.test").is_empty());
}
