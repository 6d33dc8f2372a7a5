//! Mail delivered over SMTP is read back over POP3 through the real binary, with Python's
//! poplib (STLS and implicit TLS) and curl.

use std::process::Command;

use crate::harness::{Setup, Smtp};

fn poplib(port: u16, mode: &str, extra: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/poplib_check.py");
    let out = Command::new("python3")
        .args([script, "--port", &port.to_string(), "--mode", mode])
        .args(["--user", "bob@example.test", "--password", "secret"])
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn delivered_mail_is_read_and_deleted_over_pop3() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    for subject in ["one", "two"] {
        let body = format!("Subject: {subject}\r\n\r\nbody {subject}\r\n");
        c.send_mail("a@example.org", &["bob@example.test"], &body)
            .unwrap();
    }
    setup.wait_for_mail("bob@example.test", 2);

    let first = poplib(setup.port("pop3"), "stls", &[]);
    assert!(
        first.contains("count 2") && first.contains("first Subject: "),
        "{first}"
    );
    let again = poplib(setup.port("pop3s"), "ssl", &[]);
    let uidls = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("uidl"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        uidls(&first),
        uidls(&again),
        "UIDL is stable across sessions"
    );

    let url = format!("pop3s://127.0.0.1:{}/", setup.port("pop3s"));
    let out = Command::new("curl")
        .args(["-sS", "-k", "--user", "bob@example.test:secret", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        2,
        "curl lists two messages"
    );

    poplib(setup.port("pop3s"), "ssl", &["--delete"]);
    assert!(poplib(setup.port("pop3s"), "ssl", &[]).contains("count 0"));
    let events = setup.wait_for_event("retr");
    assert!(
        events.iter().any(|e| e["event"] == "retr"),
        "POP3 events reach the event log"
    );
}

#[test]
fn pop3_refuses_a_wrong_password_and_plaintext_login() {
    let setup = Setup::new();
    let _server = setup.start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/poplib_check.py");
    let out = Command::new("python3")
        .args([
            script,
            "--port",
            &setup.port("pop3s").to_string(),
            "--mode",
            "ssl",
        ])
        .args(["--user", "bob@example.test", "--password", "wrong"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let (mut raw, greeting) = Smtp::connect(setup.port("pop3"));
    assert!(greeting.1.starts_with("+OK"), "{greeting:?}");
    raw.send_raw(b"USER bob@example.test\r\n");
    let reply = raw.read_reply();
    assert!(
        reply.1.starts_with("-ERR"),
        "USER before STLS is refused: {reply:?}"
    );
}

#[test]
fn a_full_mailbox_defers_at_rcpt_and_nothing_is_lost() {
    let setup = Setup::build("127.0.0.2/32", "", "[accounts]\nquota_bytes = 2000\n");
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let big = format!(
        "Subject: big\r\n\r\n{}",
        format!("{}\r\n", "q".repeat(70)).repeat(30)
    );
    c.send_mail("a@example.org", &["bob@example.test"], &big)
        .unwrap();
    setup.wait_for_mail("bob@example.test", 1);
    let refused = c
        .send_mail(
            "a@example.org",
            &["bob@example.test"],
            "Subject: more\r\n\r\nx\r\n",
        )
        .unwrap_err();
    assert!(refused.1.starts_with("452 4.2.2"), "{refused:?}");
    // After the user deletes mail over POP3, mail is accepted again.
    poplib(setup.port("pop3s"), "ssl", &["--delete"]);
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: more\r\n\r\nx\r\n",
    )
    .unwrap();
}

#[test]
fn plaintext_login_on_loopback_only_when_configured() {
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        "[accounts]\nplaintext_auth_on_loopback = true\n",
    );
    let _server = setup.start();
    let (mut raw, _) = Smtp::connect(setup.port("pop3"));
    raw.send_raw(b"USER bob@example.test\r\n");
    assert!(raw.read_reply().1.starts_with("+OK"));
    raw.send_raw(b"PASS secret\r\n");
    let reply = raw.read_reply();
    assert!(reply.1.starts_with("+OK"), "{reply:?}");
}
