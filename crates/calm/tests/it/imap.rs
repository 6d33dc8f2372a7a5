//! Mail delivered over SMTP is read and flagged over IMAP through the real binary, with
//! Python's imaplib (STARTTLS and implicit TLS) and curl; flags land in the Maildir file
//! names where Dovecot and other Maildir readers expect them.

use std::process::Command;

use crate::harness::{Setup, Smtp};

fn imaplib(port: u16, mode: &str, password: &str) -> (bool, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/imaplib_check.py"
    );
    let out = Command::new("python3")
        .args([script, "--port", &port.to_string(), "--mode", mode])
        .args(["--user", "bob@example.test", "--password", password])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn delivered_mail_is_read_and_flagged_over_imap() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: over imap\r\n\r\nhi\r\n",
    )
    .unwrap();
    setup.wait_for_mail("bob@example.test", 1);

    let (ok, out) = imaplib(setup.port("imap"), "starttls", "secret");
    assert!(
        ok && out.contains("count 1") && out.contains("Subject: over imap"),
        "{out}"
    );
    assert!(out.contains("APPENDUID"), "UIDPLUS: {out}");
    // Flags are in the Maildir name (Dovecot-compatible info suffix).
    let files = setup.mailbox_files("bob@example.test");
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with(":2,FS")),
        "{files:?}"
    );

    let (ok, out) = imaplib(setup.port("imaps"), "ssl", "secret");
    assert!(ok && out.contains("count 1"), "{out}");
    let url = format!("imaps://127.0.0.1:{}/INBOX?ALL", setup.port("imaps"));
    let out = Command::new("curl")
        .args(["-sS", "-k", "--user", "bob@example.test:secret", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("SEARCH 1"),
        "{out:?}"
    );
}

#[test]
fn imap_refuses_a_wrong_password() {
    let setup = Setup::new();
    let _server = setup.start();
    let (ok, out) = imaplib(setup.port("imaps"), "ssl", "wrong");
    assert!(!ok && out.contains("IMAP error"), "{out}");
    assert!(
        setup
            .wait_for_event("auth_failure")
            .iter()
            .any(|e| e["event"] == "auth_failure")
    );
}

/// CONDSTORE (RFC 7162) as Python's imaplib uses it: ENABLE, FETCH CHANGEDSINCE and STORE
/// UNCHANGEDSINCE, over the MODSEQs the binary keeps beside the Maildir (issue 5).
#[test]
fn condstore_changedsince_and_unchangedsince_with_imaplib() {
    let setup = Setup::new();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    for subject in ["one", "two"] {
        let body = format!("Subject: {subject}\r\n\r\nhi\r\n");
        c.send_mail("a@example.org", &["bob@example.test"], &body)
            .unwrap();
    }
    setup.wait_for_mail("bob@example.test", 2);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/imaplib_condstore.py"
    );
    let port = setup.port("imaps").to_string();
    let out = Command::new("python3")
        .args([script, "--port", &port, "--user", "bob@example.test"])
        .args(["--password", "secret"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("enabled OK [b'CONDSTORE']"), "{text}");
    assert!(text.contains("modified [b'1']"), "{text}");
    // The MODSEQs live beside the Maildir's index.
    let modseq = setup.data().join("mail/example.test/bob/calm-modseq");
    assert!(modseq.exists(), "{modseq:?}");
}
