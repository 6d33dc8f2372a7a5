use super::*;
use crate::{Scheme, UserQuota, Users};
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// A file with everything an editor must keep: comments, blank lines, CRLF, Dovecot extra
/// fields, and no newline at the end.
const ORIGINAL: &str = "# calm users -- keep this comment\n\
                        \n\
                        bob@example.test:{PLAIN}old:1000:1000::/home/bob::userdb_quota_rule=*:storage=1G\n\
                        #alice@example.test:{PLAIN}commented-out\n\
                        Carol@Example.test:{PLAIN}c\r\n\
                        dave@example.test:{PLAIN}d";

fn setup(contents: &str) -> (tempfile::TempDir, UsersFile) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    fs::write(&path, contents).unwrap();
    let file = UsersFile::new(&path);
    (dir, file)
}

fn read(file: &UsersFile) -> String {
    fs::read_to_string(file.path()).unwrap()
}

#[test]
fn list_gives_canonical_addresses_in_file_order() {
    let (_dir, file) = setup(ORIGINAL);
    assert_eq!(
        file.list().unwrap(),
        [
            "bob@example.test",
            "carol@example.test",
            "dave@example.test"
        ]
    );
}

#[test]
fn add_appends_an_argon2id_line_and_keeps_everything_else() {
    let (_dir, file) = setup(ORIGINAL);
    file.add("Eve@Example.TEST", "new secret").unwrap();
    let text = read(&file);
    let (before, added) = text.split_at(ORIGINAL.len() + 1);
    assert_eq!(before, format!("{ORIGINAL}\n"), "old bytes changed");
    assert!(
        added.starts_with("eve@example.test:{ARGON2ID}$argon2id$"),
        "{added}"
    );
    assert!(added.ends_with('\n'));
    let users = Users::load(file.path()).unwrap();
    assert_eq!(
        users.verify("eve@example.test", "new secret").as_deref(),
        Some("eve@example.test")
    );
}

#[test]
fn add_refuses_an_existing_user_in_any_case() {
    let (_dir, file) = setup(ORIGINAL);
    let err = file.add("CAROL@example.test", "x").unwrap_err();
    assert!(
        matches!(err, AccountsError::UserExists { ref address } if address == "carol@example.test")
    );
    assert_eq!(read(&file), ORIGINAL, "file untouched");
}

#[test]
fn add_refuses_addresses_that_would_corrupt_the_file() {
    let (_dir, file) = setup(ORIGINAL);
    for bad in [
        "x:y@example.test",
        "x@example.test\nroot@example.test:{PLAIN}",
        "nodomain",
        "#x@example.test",
        "",
    ] {
        let err = file.add(bad, "pw").unwrap_err();
        assert!(
            matches!(err, AccountsError::InvalidAddress { .. }),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(read(&file), ORIGINAL);
}

#[test]
fn add_refuses_an_empty_password() {
    let (_dir, file) = setup(ORIGINAL);
    let err = file.add("eve@example.test", "").unwrap_err();
    assert!(
        matches!(err, AccountsError::InvalidPassword { .. }),
        "{err}"
    );
    let err = file.passwd("bob@example.test", "").unwrap_err();
    assert!(
        matches!(err, AccountsError::InvalidPassword { .. }),
        "{err}"
    );
    assert_eq!(read(&file), ORIGINAL);
}

#[test]
fn add_creates_a_missing_file_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let file = UsersFile::new(dir.path().join("users"));
    assert!(file.list().unwrap().is_empty());
    file.add("bob@example.test", "pw").unwrap();
    let mode = fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(file.list().unwrap(), ["bob@example.test"]);
}

#[test]
fn passwd_replaces_only_the_password_field() {
    let (_dir, file) = setup(ORIGINAL);
    file.passwd("BOB@example.test", "fresh").unwrap();
    file.passwd("carol@example.test", "fresh too").unwrap();
    file.passwd("dave@example.test", "third").unwrap();
    let text = read(&file);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0], "# calm users -- keep this comment\n");
    assert_eq!(lines[1], "\n");
    assert!(lines[2].starts_with("bob@example.test:{ARGON2ID}$argon2id$"));
    assert!(
        lines[2].ends_with(":1000:1000::/home/bob::userdb_quota_rule=*:storage=1G\n"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "#alice@example.test:{PLAIN}commented-out\n");
    assert!(
        lines[4].starts_with("Carol@Example.test:{ARGON2ID}$"),
        "user field as written"
    );
    assert!(lines[4].ends_with("\r\n"), "CRLF kept");
    assert!(!lines[5].ends_with('\n'), "no newline added at the end");
    let users = Users::load(file.path()).unwrap();
    assert!(users.verify("bob@example.test", "fresh").is_some());
    assert!(users.verify("bob@example.test", "old").is_none());
    assert!(users.verify("carol@example.test", "fresh too").is_some());
    assert!(users.verify("dave@example.test", "third").is_some());
}

#[test]
fn passwd_enables_a_disabled_user() {
    let (_dir, file) = setup("bob@example.test\ncarol@example.test::1:1\n");
    file.passwd("bob@example.test", "pw").unwrap();
    file.passwd("carol@example.test", "pw2").unwrap();
    let users = Users::load(file.path()).unwrap();
    assert_eq!(
        users.get("bob@example.test").unwrap().scheme(),
        Scheme::Argon2id
    );
    assert!(read(&file).contains("\ncarol@example.test:{ARGON2ID}$"));
    assert!(read(&file).ends_with(":1:1\n"));
    assert!(users.verify("carol@example.test", "pw2").is_some());
}

#[test]
fn delete_removes_exactly_one_line() {
    let (_dir, file) = setup(ORIGINAL);
    file.delete("carol@EXAMPLE.test").unwrap();
    let want = ORIGINAL.replace("Carol@Example.test:{PLAIN}c\r\n", "");
    assert_eq!(read(&file), want);
    file.delete("dave@example.test").unwrap();
    assert!(read(&file).ends_with("#alice@example.test:{PLAIN}commented-out\n"));
}

#[test]
fn passwd_and_delete_of_unknown_user_say_no_such_user() {
    let (_dir, file) = setup(ORIGINAL);
    let err = file.passwd("alice@example.test", "x").unwrap_err();
    assert!(matches!(err, AccountsError::NoSuchUser { .. }), "{err}");
    let err = file.delete("alice@example.test").unwrap_err();
    assert_eq!(err.to_string(), "no such user alice@example.test");
    assert_eq!(read(&file), ORIGINAL);
}

#[test]
fn a_broken_file_is_not_edited() {
    let (_dir, file) = setup("bob@example.test:{PLAIN}x\nbroken line\n");
    let err = file.add("eve@example.test", "pw").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("users:2: bad user name \"broken line\": expected local@domain"),
        "{err}"
    );
    assert!(file.delete("bob@example.test").is_err());
    assert_eq!(read(&file), "bob@example.test:{PLAIN}x\nbroken line\n");
}

#[test]
fn edits_keep_the_file_mode() {
    let (_dir, file) = setup(ORIGINAL);
    fs::set_permissions(file.path(), fs::Permissions::from_mode(0o640)).unwrap();
    file.delete("bob@example.test").unwrap();
    let mode = fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn with_password_handles_every_line_shape() {
    assert_eq!(with_password("a@b:old\n", "NEW"), "a@b:NEW\n");
    assert_eq!(with_password("a@b:old:1:2\r\n", "NEW"), "a@b:NEW:1:2\r\n");
    assert_eq!(with_password("a@b", "NEW"), "a@b:NEW");
    assert_eq!(with_password("a@b:", "NEW"), "a@b:NEW");
    assert_eq!(with_password("a@b::x", "NEW"), "a@b:NEW:x");
}

#[test]
fn add_with_quota_writes_a_dovecot_quota_rule() {
    let (_dir, file) = setup(ORIGINAL);
    file.add_with_quota("eve@example.test", "pw", "512M")
        .unwrap();
    file.add_with_quota("fay@example.test", "pw", "0").unwrap();
    let text = read(&file);
    let eve = text.lines().find(|l| l.starts_with("eve@")).unwrap();
    // user:password, five empty fields (uid to shell), then the extra field.
    let fields: Vec<&str> = eve.splitn(8, ':').collect();
    assert_eq!(fields[2..7], ["", "", "", "", ""], "{eve}");
    assert_eq!(fields[7], "userdb_quota_rule=*:storage=512M", "{eve}");
    let users = Users::load(file.path()).unwrap();
    assert_eq!(
        users.quota("eve@example.test"),
        Some(UserQuota::Bytes(512 << 20))
    );
    assert_eq!(users.quota("fay@example.test"), Some(UserQuota::Unlimited));
    assert!(users.verify("eve@example.test", "pw").is_some());
    // Later edits keep the field.
    file.passwd("eve@example.test", "new").unwrap();
    let users = Users::load(file.path()).unwrap();
    assert_eq!(
        users.quota("eve@example.test"),
        Some(UserQuota::Bytes(512 << 20))
    );
}

#[test]
fn add_with_quota_refuses_a_bad_size_and_writes_nothing() {
    let (_dir, file) = setup(ORIGINAL);
    for bad in [
        "lots",
        "5X",
        "-1",
        "",
        "1G userdb_mail=/tmp",
        "1G\nmallory:{PLAIN}x",
        "50%",
    ] {
        let err = file
            .add_with_quota("eve@example.test", "pw", bad)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("setting quota: "),
            "{bad:?}: {err}"
        );
        assert_eq!(read(&file), ORIGINAL, "{bad:?}");
    }
}
