//! The command line: config example and check, user management, queue listing, built-in
//! defaults, and honest answers for what is not built yet.

use crate::harness::{Server, Setup, Smtp, calm};

#[test]
fn generated_example_config_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, example, err) = calm(&["config", "example"]);
    assert!(ok, "{err}");
    assert!(
        example.contains("[server]") && example.contains("# "),
        "{example}"
    );
    let path = dir.path().join("calm.toml");
    std::fs::write(&path, &example).unwrap();
    let (ok, out, err) = calm(&["check", "--config", &path.display().to_string()]);
    assert!(ok, "{out}{err}");
}

#[test]
fn check_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nhostname = \"mx.example.test\"\nno_such_key = 1\n",
    )
    .unwrap();
    let (ok, out, err) = calm(&["check", "--config", &path.display().to_string()]);
    assert!(!ok);
    let text = format!("{out}{err}");
    assert!(text.contains("bad.toml:3"), "{text}");
    assert!(text.contains("no_such_key"), "{text}");
}

#[test]
fn check_reports_a_broken_aliases_file_with_line() {
    let setup = Setup::build(
        "127.0.0.2/32",
        "",
        "[accounts]\naliases_file = \"aliases\"\n",
    );
    std::fs::write(
        setup.dir.path().join("aliases"),
        "postmaster: bob\nlogger: |/usr/bin/logger\n",
    )
    .unwrap();
    let (ok, out, err) = calm(&["check", "--config", &setup.config()]);
    assert!(!ok);
    let text = format!("{out}{err}");
    assert!(text.contains("aliases:2"), "{text}");
}

#[test]
fn user_add_list_passwd_del() {
    let setup = Setup::new();
    let cfg = setup.config();
    let (ok, out, _) = calm(&["user", "list", "--config", &cfg]);
    assert!(ok && out.contains("bob@example.test"), "{out}");
    let (ok, _, err) = calm(&[
        "user",
        "add",
        "bob@example.test",
        "--password",
        "x",
        "--config",
        &cfg,
    ]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = calm(&[
        "user",
        "passwd",
        "bob@example.test",
        "--password",
        "new-secret",
        "--config",
        &cfg,
    ]);
    assert!(ok, "{err}");
    let users = std::fs::read_to_string(setup.data().join("users")).unwrap();
    assert!(users.contains("$argon2id$"), "{users}");
    let (ok, _, err) = calm(&["user", "del", "bob@example.test", "--config", &cfg]);
    assert!(ok, "{err}");
    let (_, out, _) = calm(&["user", "list", "--config", &cfg]);
    assert!(!out.contains("bob@example.test"), "{out}");
}

#[test]
fn unbuilt_commands_say_so_plainly() {
    // `report` alone is the unbuilt daily summary; `report weekly` is built.
    for cmd in ["report", "doctor", "dns"] {
        let (ok, out, err) = calm(&[cmd]);
        assert!(!ok, "{cmd} must not pretend to succeed");
        assert!(
            format!("{out}{err}").contains("not implemented yet"),
            "{cmd}: {out}{err}"
        );
    }
}

#[test]
fn serve_runs_on_builtin_defaults_with_a_dev_user() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["serve"], dir.path());
    let out = server.stdout.join("\n");
    assert!(out.contains("built-in defaults"), "{out}");
    assert!(
        out.contains("127.0.0.1:2525")
            && out.contains("127.0.0.1:2587")
            && out.contains("127.0.0.1:2465")
    );
    assert!(dir.path().join("calm-data").is_dir());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("calm-data"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "a new data directory is private");
    assert!(dir.path().join("calm-data/tls").is_dir());
    let line = server
        .stdout
        .iter()
        .find(|l| l.contains("development user"))
        .expect("dev user printed");
    assert!(line.contains("dev@example.test"), "{line}");
    let (mut c, greeting) = Smtp::connect(2525);
    assert_eq!(greeting.0, 220);
    c.cmd("EHLO client.example.org");
    c.send_mail(
        "a@example.org",
        &["dev@example.test"],
        "Subject: hi\r\n\r\nhi\r\n",
    )
    .unwrap();
}
