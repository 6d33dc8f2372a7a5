//! Real clients nobody here wrote: Python's smtplib, swaks and curl, against every listener role.

use std::process::Command;

use crate::harness::Setup;

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (scripts/test.sh installs it)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

fn smtplib(port: u16, mode: &str, auth: bool) -> Command {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/smtplib_send.py");
    let mut cmd = Command::new("python3");
    cmd.args([script, "--port", &port.to_string(), "--mode", mode]);
    cmd.args(["--from", "bob@example.test", "--to", "bob@example.test"]);
    if auth {
        cmd.args(["--user", "bob@example.test", "--password", "secret"]);
    }
    cmd
}

#[test]
fn python_smtplib_on_every_listener() {
    let setup = Setup::new();
    let _server = setup.start();
    run(&mut smtplib(setup.mx(), "plain", false));
    run(&mut smtplib(setup.mx(), "starttls", false));
    run(&mut smtplib(setup.submission(), "starttls", true));
    run(&mut smtplib(setup.submissions(), "ssl", true));
    let files = setup.wait_for_mail("bob@example.test", 4);
    let body = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        body.contains("\r\n.hidden\r\n"),
        "dot-stuffing undone: {body}"
    );
    assert!(body.starts_with(
        "Return-Path: <bob@example.test>\r\nDelivered-To: bob@example.test\r\nReceived: "
    ));
}

#[test]
fn python_smtplib_is_refused_without_auth_or_with_wrong_password() {
    let setup = Setup::new();
    let _server = setup.start();
    let out = smtplib(setup.submission(), "starttls", false)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("530"),
        "{out:?}"
    );
    let mut wrong = smtplib(setup.submissions(), "ssl", false);
    wrong.args(["--user", "bob@example.test", "--password", "wrong"]);
    let out = wrong.output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("535"),
        "{out:?}"
    );
    // smtplib tries PLAIN, then LOGIN: one failure each, and never the password in the log.
    let failures: Vec<_> = setup
        .wait_for_count("auth_failure", 2)
        .into_iter()
        .filter(|e| e["event"] == "auth_failure")
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures.iter().all(|e| e["user"] == "bob@example.test"));
    let log = std::fs::read_to_string(setup.data().join("events.jsonl")).unwrap();
    assert!(!log.contains("wrong"), "a password reached the event log");
}

fn swaks(port: u16) -> Command {
    let mut cmd = Command::new("swaks");
    cmd.args([
        "--server",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--timeout",
        "20",
    ]);
    cmd.args([
        "--from",
        "bob@example.test",
        "--to",
        "bob@example.test",
        "--helo",
        "client.example.org",
    ]);
    cmd
}

#[test]
fn swaks_plain_starttls_auth_and_implicit_tls() {
    let setup = Setup::new();
    let _server = setup.start();
    run(swaks(setup.mx()).args(["--body", "plain mx"]));
    let auth = [
        "--auth",
        "PLAIN",
        "--auth-user",
        "bob@example.test",
        "--auth-password",
        "secret",
    ];
    run(swaks(setup.submission()).arg("--tls").args(auth));
    let login = [
        "--auth",
        "LOGIN",
        "--auth-user",
        "bob@example.test",
        "--auth-password",
        "secret",
    ];
    run(swaks(setup.submissions())
        .arg("--tls-on-connect")
        .args(login));
    setup.wait_for_mail("bob@example.test", 3);
    // swaks must see the relay refused from a non-LAN client on the MX.
    let out = swaks(setup.mx())
        .args(["--to", "someone@elsewhere.example"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("554 5.7.1"),
        "{out:?}"
    );
}

fn curl_message(dir: &std::path::Path) -> String {
    let path = dir.join("curl-message.eml");
    std::fs::write(
        &path,
        "From: bob@example.test\r\nSubject: curl\r\n\r\nsent by curl\r\n",
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn curl_smtp_smtps_and_starttls() {
    let setup = Setup::new();
    let _server = setup.start();
    let msg = curl_message(setup.dir.path());
    let base = [
        "-sS",
        "--mail-from",
        "bob@example.test",
        "--mail-rcpt",
        "bob@example.test",
        "-T",
        &msg,
    ];
    run(Command::new("curl").args(base).arg(format!(
        "smtp://127.0.0.1:{}/client.example.org",
        setup.mx()
    )));
    let auth = ["-k", "--user", "bob@example.test:secret"];
    run(Command::new("curl")
        .args(base)
        .args(auth)
        .args(["--ssl-reqd"])
        .arg(format!("smtp://127.0.0.1:{}", setup.submission())));
    run(Command::new("curl")
        .args(base)
        .args(auth)
        .arg(format!("smtps://127.0.0.1:{}", setup.submissions())));
    let files = setup.wait_for_mail("bob@example.test", 3);
    assert!(
        files
            .iter()
            .all(|f| std::fs::read_to_string(f).unwrap().contains("sent by curl"))
    );
}

#[test]
fn submission_refuses_a_sender_the_user_does_not_own() {
    let setup = Setup::new();
    let _server = setup.start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/smtplib_send.py");
    let out = Command::new("python3")
        .args([
            script,
            "--port",
            &setup.submission().to_string(),
            "--mode",
            "starttls",
        ])
        .args(["--user", "bob@example.test", "--password", "secret"])
        .args(["--from", "ceo@example.test", "--to", "bob@example.test"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("553") && text.contains("not owned by user bob@example.test"),
        "{text}"
    );
    // Bob's own address, sub-addressed, is his.
    let ok = Command::new("python3")
        .args([
            script,
            "--port",
            &setup.submission().to_string(),
            "--mode",
            "starttls",
        ])
        .args(["--user", "bob@example.test", "--password", "secret"])
        .args([
            "--from",
            "bob+news@example.test",
            "--to",
            "bob@example.test",
        ])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
}

/// The TXT value of `calm dkim keygen`'s zone line: its quoted strings, joined.
fn txt_value(zone_line: &str) -> String {
    zone_line.split('"').skip(1).step_by(2).collect()
}

#[test]
fn submitted_mail_is_dkim_signed_and_dkimpy_agrees() {
    let setup = Setup::new();
    let (ok, out, err) = crate::harness::calm(&[
        "dkim",
        "keygen",
        "example.test",
        "--config",
        &setup.config(),
    ]);
    assert!(ok, "{out}{err}");
    let zone = out
        .lines()
        .find(|l| l.contains("_domainkey"))
        .expect("zone line printed");
    let record = txt_value(zone);
    assert!(record.starts_with("v=DKIM1; k=rsa; p="), "{record}");
    let _server = setup.start();
    run(&mut smtplib(setup.submission(), "starttls", true));
    let files = setup.wait_for_mail("bob@example.test", 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("DKIM-Signature: ") && text.contains("d=example.test"),
        "{text}"
    );
    let verify = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/dkim_verify.py");
    let out = Command::new("/usr/bin/python3")
        .args([verify, &files[0].display().to_string(), &record])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dkimpy: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
