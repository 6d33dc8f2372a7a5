//! Change without fear: reload checks before it swaps, running sessions keep their policy,
//! rollback returns to the previous version, and a shadow policy only logs.

use std::time::{Duration, Instant};

use crate::harness::{Setup, Smtp, calm};

const BASE: &str = r#"
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
"#;

const BLOCKING: &str = r#"
[[data]]
name = "no-blocked"
if = "header Subject blocked"
action = "reject 550 5.7.1 Blocked by the new policy"
"#;

const BLOCKED_MAIL: &str = "Subject: blocked\r\n\r\nhello\r\n";

fn setup_with_policy(policy: &str, extra: &str) -> Setup {
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        &format!("[policy]\nfile = \"policy.toml\"\n{extra}"),
    );
    std::fs::write(setup.dir.path().join("policy.toml"), policy).unwrap();
    setup
}

fn session(port: u16) -> Smtp {
    let (mut c, _) = Smtp::connect(port);
    assert_eq!(c.cmd("EHLO client.example.org").0, 250);
    c
}

#[test]
fn reload_swaps_for_new_sessions_and_rollback_returns() {
    let setup = setup_with_policy(BASE, "");
    let cfg = setup.config();
    let _server = setup.start();
    let mut before = session(setup.mx());

    std::fs::write(
        setup.dir.path().join("policy.toml"),
        format!("{BASE}{BLOCKING}"),
    )
    .unwrap();
    let (ok, out, err) = calm(&["reload", "--config", &cfg]);
    assert!(ok && out.contains("reloaded: version 2"), "{out}{err}");

    // The session that started before the reload finishes under the old policy.
    before
        .send_mail("a@example.org", &["bob@example.test"], BLOCKED_MAIL)
        .unwrap();
    let refused =
        session(setup.mx()).send_mail("a@example.org", &["bob@example.test"], BLOCKED_MAIL);
    assert!(refused.unwrap_err().1.starts_with("550 5.7.1 Blocked"));

    // A broken policy never takes effect; the reason names file and line.
    std::fs::write(
        setup.dir.path().join("policy.toml"),
        "[[rcpt]]\nname = \"x\"\nif = \"bogus\"\naction = \"accept\"\n",
    )
    .unwrap();
    let (ok, out, _) = calm(&["reload", "--config", &cfg]);
    assert!(
        !ok && out.contains("policy.toml:3") && out.contains("nothing changed"),
        "{out}"
    );
    let still = session(setup.mx()).send_mail("a@example.org", &["bob@example.test"], BLOCKED_MAIL);
    assert!(still.is_err(), "the previous good policy stays in force");

    // Rollback: the version before the latest (1) comes back, files included.
    std::fs::write(
        setup.dir.path().join("policy.toml"),
        format!("{BASE}{BLOCKING}"),
    )
    .unwrap();
    let (ok, out, err) = calm(&["rollback", "--config", &cfg]);
    assert!(ok && out.contains("rolled back to version 1"), "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(setup.dir.path().join("policy.toml")).unwrap(),
        BASE
    );
    session(setup.mx())
        .send_mail("a@example.org", &["bob@example.test"], BLOCKED_MAIL)
        .unwrap();

    let (ok, out, _) = calm(&["config", "versions", "--config", &cfg]);
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].contains("first version") && lines[1].contains("policy +"),
        "{out}"
    );
}

#[test]
fn sighup_reloads() {
    let setup = setup_with_policy(BASE, "");
    let server = setup.start();
    std::fs::write(
        setup.dir.path().join("policy.toml"),
        format!("{BASE}{BLOCKING}"),
    )
    .unwrap();
    let pid = server.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !setup
        .events()
        .iter()
        .any(|e| e["event"] == "config_reloaded")
    {
        assert!(
            Instant::now() < deadline,
            "no config_reloaded event after SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused =
        session(setup.mx()).send_mail("a@example.org", &["bob@example.test"], BLOCKED_MAIL);
    assert!(refused.is_err());
}

#[test]
fn failing_cases_block_a_reload() {
    let cases = "[[case]]\nname = \"blocked-mail-is-fine\"\nclient = \"203.0.113.9\"\nhelo = \"x.example\"\nfrom = \"a@x.example\"\nto = [{ address = \"bob@example.test\", resolution = \"known\" }]\nmessage = \"Subject: blocked\\r\\n\\r\\nhi\\r\\n\"\nexpect = \"accept\"\n";
    let setup = setup_with_policy(BASE, "cases = \"cases.toml\"\n");
    std::fs::write(setup.dir.path().join("cases.toml"), cases).unwrap();
    let _server = setup.start();
    std::fs::write(
        setup.dir.path().join("policy.toml"),
        format!("{BASE}{BLOCKING}"),
    )
    .unwrap();
    let (ok, out, _) = calm(&["reload", "--config", &setup.config()]);
    assert!(
        !ok && out.contains("policy cases fail") && out.contains("blocked-mail-is-fine"),
        "{out}"
    );
    session(setup.mx())
        .send_mail("a@example.org", &["bob@example.test"], BLOCKED_MAIL)
        .unwrap();
}

#[test]
fn shadow_policy_only_logs_what_it_would_change() {
    let setup = setup_with_policy(BASE, "shadow = \"candidate.toml\"\n");
    std::fs::write(
        setup.dir.path().join("candidate.toml"),
        format!("{BASE}{BLOCKING}"),
    )
    .unwrap();
    let _server = setup.start();
    session(setup.mx())
        .send_mail("a@example.org", &["bob@example.test"], BLOCKED_MAIL)
        .unwrap();
    session(setup.mx())
        .send_mail(
            "a@example.org",
            &["bob@example.test"],
            "Subject: fine\r\n\r\nx\r\n",
        )
        .unwrap();
    setup.wait_for_mail("bob@example.test", 2);
    let diffs: Vec<_> = setup
        .wait_for_event("shadow_diff")
        .into_iter()
        .filter(|e| e["event"] == "shadow_diff")
        .collect();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0]["shadow_rule"], "no-blocked");
    let (ok, out, _) = calm(&["shadow", "report", "--config", &setup.config()]);
    assert!(
        ok && out.contains("1 verdicts would differ") && out.contains("shadow reject (no-blocked)"),
        "{out}"
    );
}
