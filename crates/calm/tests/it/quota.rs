//! Issue 5: per-user quotas from the users file (Dovecot's `userdb_quota_rule`) override the
//! global `accounts.quota_bytes` at RCPT, and IMAP clients read usage and limit with QUOTA
//! (Python imaplib's `getquotaroot`) through the real binary.

use std::process::Command;

use crate::harness::{Setup, Smtp, calm};

/// Global limit 1500 octets; bob has his own 4 KiB (a hand-written Dovecot line), carol none
/// at all (`calm user add --quota 0`), dave the global one.
fn setup() -> Setup {
    let setup = Setup::build("127.0.0.2/32", "", "[accounts]\nquota_bytes = 1500\n");
    let config = setup.config();
    for args in [
        &["carol@example.test", "--quota", "0"][..],
        &["dave@example.test"],
    ] {
        let mut argv = vec!["user", "add", "--password", "secret", "--config", &config];
        argv.extend_from_slice(args);
        let (ok, out, err) = calm(&argv);
        assert!(ok, "{out} {err}");
    }
    let (ok, _, err) = calm(&[
        "user",
        "add",
        "x@example.test",
        "--quota",
        "5X",
        "--password",
        "pw",
        "--config",
        &config,
    ]);
    assert!(!ok && err.contains("quota"), "a bad size is refused: {err}");
    let path = setup.data().join("users");
    let users = std::fs::read_to_string(&path).unwrap();
    let users: String = users
        .lines()
        .map(|line| match line.split(':').next() {
            Some("bob@example.test") => {
                format!("{line}:1000:1000::/home/bob::userdb_quota_rule=*:storage=4K\n")
            }
            _ => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&path, users).unwrap();
    setup
}

fn imaplib_quota(port: u16, user: &str) -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/imaplib_quota.py"
    );
    let out = Command::new("python3")
        .args([script, "--port", &port.to_string(), "--user", user])
        .args(["--password", "secret"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// What the RCPT-time check and QUOTA count: every file in new/ and cur/ of every folder.
fn used_kib(setup: &Setup, user: &str) -> u64 {
    let bytes: u64 = setup
        .mailbox_files(user)
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    bytes.div_ceil(1024)
}

#[test]
fn each_users_own_limit_applies_at_rcpt_and_is_reported_over_imap() {
    let setup = setup();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let body = format!(
        "Subject: q\r\n\r\n{}",
        format!("{}\r\n", "q".repeat(78)).repeat(25)
    );
    let all = [
        "bob@example.test",
        "carol@example.test",
        "dave@example.test",
    ];
    c.send_mail("a@example.org", &all, &body).unwrap();
    for user in all {
        setup.wait_for_mail(user, 1);
    }
    // Each now holds about 2.2 KB: over dave's global 1500, under bob's 4 KiB, and carol
    // has no limit.
    let refused = c
        .send_mail("a@example.org", &["dave@example.test"], &body)
        .unwrap_err();
    assert!(refused.1.starts_with("452 4.2.2"), "{refused:?}");
    c.send_mail("a@example.org", &all[..2], &body).unwrap();
    setup.wait_for_mail("bob@example.test", 2);
    setup.wait_for_mail("carol@example.test", 2);
    let refused = c
        .send_mail("a@example.org", &["bob@example.test"], &body)
        .unwrap_err();
    assert!(
        refused.1.starts_with("452 4.2.2"),
        "bob is full: {refused:?}"
    );
    c.send_mail("a@example.org", &["carol@example.test"], &body)
        .unwrap();

    let port = setup.port("imaps");
    let bob = imaplib_quota(port, "bob@example.test");
    let used = used_kib(&setup, "bob@example.test");
    assert!(used > 4, "{used}");
    assert!(bob.contains("capability QUOTA"), "{bob}");
    assert!(bob.contains("quotaroot ['\"INBOX\" \"\"']"), "{bob}");
    assert!(
        bob.contains(&format!("quota ['\"\" (STORAGE {used} 4)']")),
        "{bob}"
    );
    assert!(
        bob.contains("setquota NO") && bob.contains("NOPERM"),
        "{bob}"
    );

    let dave = imaplib_quota(port, "dave@example.test");
    let used = used_kib(&setup, "dave@example.test");
    assert!(
        dave.contains(&format!("quota ['\"\" (STORAGE {used} 1)']")),
        "{dave}"
    );

    let carol = imaplib_quota(port, "carol@example.test");
    assert!(carol.contains("capability none"), "{carol}");
    assert!(carol.contains("quotaroot ['\"INBOX\"']"), "{carol}");
    assert!(carol.contains("quota []"), "{carol}");
}

#[test]
fn a_changed_users_file_changes_the_limit_without_a_restart() {
    let setup = setup();
    let _server = setup.start();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    let body = format!(
        "Subject: q\r\n\r\n{}",
        format!("{}\r\n", "q".repeat(78)).repeat(64)
    );
    c.send_mail("a@example.org", &["bob@example.test"], &body)
        .unwrap();
    setup.wait_for_mail("bob@example.test", 1);
    let refused = c
        .send_mail(
            "a@example.org",
            &["bob@example.test"],
            "Subject: x\r\n\r\nx\r\n",
        )
        .unwrap_err();
    assert!(refused.1.starts_with("452 4.2.2"), "{refused:?}");

    // The operator raises bob's limit to 1 MiB by editing his line, as with Dovecot.
    let path = setup.data().join("users");
    let users = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, users.replace("storage=4K", "storage=1M")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = imaplib_quota(setup.port("imaps"), "bob@example.test");
        if out.contains(" 1024)']") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "limit never changed: {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: x\r\n\r\nx\r\n",
    )
    .unwrap();
}
