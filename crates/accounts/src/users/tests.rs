use super::*;
use crate::{Scheme, UserQuota};

fn parse(text: &str) -> Result<Users, AccountsError> {
    Users::from_bytes(Path::new("/etc/calm/users"), text.as_bytes())
}

fn parse_err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

/// `doveadm pw -s SHA512-CRYPT -p 'correct horse'`
const SHA512: &str = "{SHA512-CRYPT}$6$TF8e/L5r6a1IFVSl$ulzyWCr/J7KH5ZmwIw3BlSDYNRVoDCRv6zj28CnEGdrZwH7M/65hfnWgf5XNqU1DiUGRStSmS1k66GmBKcjfq0";

#[test]
fn dovecot_lines_with_all_fields_comments_and_blank_lines() {
    let text = format!(
        "# calm users\n\
         \n\
         bob@example.test:{SHA512}:1000:1000::/home/bob::userdb_quota_rule=*:storage=1G\n\
         Alice@Example.TEST:{{PLAIN}}pw\r\n\
         \t# indented comment\n\
         carol@example.test:\n\
         dave@example.test\n"
    );
    let users = parse(&text).unwrap();
    assert_eq!(users.len(), 4);
    assert!(users.contains("BOB@EXAMPLE.TEST"));
    assert!(users.contains("alice@example.test"), "stored lowercased");
    assert_eq!(
        users.get("alice@example.test").unwrap().scheme(),
        Scheme::Plain
    );
    assert_eq!(
        users.get("carol@example.test").unwrap().scheme(),
        Scheme::Disabled
    );
    assert_eq!(
        users.get("dave@example.test").unwrap().scheme(),
        Scheme::Disabled
    );
    assert!(!users.contains("eve@example.test"));
    let names: Vec<&str> = users.iter().map(|(a, _)| a).collect();
    assert_eq!(
        names,
        [
            "alice@example.test",
            "bob@example.test",
            "carol@example.test",
            "dave@example.test"
        ]
    );
}

#[test]
fn verify_returns_canonical_address() {
    let users = parse(&format!("Bob@Example.test:{SHA512}\n")).unwrap();
    assert_eq!(
        users.verify("bob@EXAMPLE.test", "correct horse").as_deref(),
        Some("bob@example.test")
    );
    assert_eq!(users.verify("bob@example.test", "Correct horse"), None);
    assert_eq!(users.verify("nobody@example.test", "correct horse"), None);
}

#[test]
fn disabled_users_cannot_log_in_even_with_empty_password() {
    let users = parse("carol@example.test:\n").unwrap();
    assert_eq!(users.verify("carol@example.test", ""), None);
}

#[test]
fn dummy_hash_is_a_valid_argon2id_hash_with_our_parameters() {
    // If this constant stopped parsing, unknown-user logins would return fast again.
    let dummy = PasswordHash::parse(DUMMY_HASH).unwrap();
    assert_eq!(dummy.scheme(), Scheme::Argon2id);
    let generated = PasswordHash::generate("x").unwrap();
    let params = |h: &str| h.split('$').nth(3).map(str::to_owned);
    assert_eq!(params(DUMMY_HASH), params(generated.as_stored()));
    assert!(!dummy.verify(""));
}

#[test]
fn unknown_user_costs_about_as_much_as_a_known_one() {
    // Timing is noisy; only catch the gross failure of skipping the dummy verification
    // (which would make the unknown case orders of magnitude faster).
    let generated = PasswordHash::generate("pw").unwrap();
    let users = parse(&format!("bob@example.test:{}\n", generated.as_stored())).unwrap();
    let time = |user: &str| {
        let start = std::time::Instant::now();
        assert_eq!(users.verify(user, "wrong"), None);
        start.elapsed()
    };
    let known = time("bob@example.test");
    let unknown = time("nobody@example.test");
    assert!(
        unknown * 4 > known,
        "unknown {unknown:?} vs known {known:?}"
    );
}

#[test]
fn errors_name_file_and_line() {
    let err = parse_err("# c\nbob@example.test:{MD5}abc\n");
    assert!(err.starts_with("/etc/calm/users:2: "), "{err}");
    assert!(err.contains("{MD5}"), "{err}");
    assert!(err.contains("bob@example.test"), "{err}");
}

#[test]
fn malformed_user_names_are_refused() {
    for line in [
        "bob:{PLAIN}x",
        "@example.test:{PLAIN}x",
        "bob@:{PLAIN}x",
        " bob@example.test:{PLAIN}x",
        "bob @example.test:{PLAIN}x",
        ":{PLAIN}x",
    ] {
        let err = parse_err(&format!("{line}\n"));
        assert!(
            err.starts_with("/etc/calm/users:1: bad user name"),
            "{line}: {err}"
        );
    }
}

#[test]
fn duplicate_users_are_refused_case_insensitively() {
    let err = parse_err("bob@example.test:{PLAIN}a\n\nBOB@example.test:{PLAIN}b\n");
    assert_eq!(
        err,
        "/etc/calm/users:3: duplicate user bob@example.test (first defined on line 1)"
    );
}

#[test]
fn non_utf8_line_is_an_error_not_a_panic() {
    let err = Users::from_bytes(Path::new("u"), b"a@b.test:{PLAIN}x\n\xc3\x28:x\n").unwrap_err();
    assert_eq!(err.to_string(), "u:2: line is not valid UTF-8");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-users");
    let err = Users::load(&path).unwrap_err();
    assert!(matches!(err, AccountsError::Io { .. }));
    assert!(err.to_string().contains("missing-users"), "{err}");
}

#[test]
fn clones_share_one_map() {
    let users = parse("a@b.test:{PLAIN}x\n").unwrap();
    let clone = users.clone();
    assert!(Arc::ptr_eq(&users.map, &clone.map));
    let handle = std::thread::spawn(move || clone.contains("a@b.test"));
    assert!(handle.join().unwrap());
}

#[test]
fn empty_file_has_no_users() {
    assert!(parse("").unwrap().is_empty());
    assert!(parse("# only a comment\n\n").unwrap().is_empty());
}

#[test]
fn quota_rule_extra_field_gives_the_users_own_limit() {
    let text = "bob@example.test:{PLAIN}pw:1000:1000::/home/bob::userdb_quota_rule=*:storage=1G\n\
                alice@example.test:{PLAIN}pw::::::userdb_quota_rule=*:storage=0\n\
                carol@example.test:{PLAIN}pw\n";
    let users = parse(text).unwrap();
    assert_eq!(
        users.quota("BOB@example.test"),
        Some(UserQuota::Bytes(1 << 30))
    );
    assert_eq!(users.storage_limit("bob@example.test", 5000), Some(1 << 30));
    assert_eq!(
        users.quota("alice@example.test"),
        Some(UserQuota::Unlimited)
    );
    assert_eq!(users.storage_limit("alice@example.test", 5000), None);
    assert_eq!(users.quota("carol@example.test"), None);
    assert_eq!(users.storage_limit("carol@example.test", 5000), Some(5000));
    assert_eq!(users.storage_limit("carol@example.test", 0), None);
    assert_eq!(users.storage_limit("nobody@example.test", 5000), Some(5000));
}

#[test]
fn a_bad_quota_rule_names_file_and_line() {
    let e = parse_err(
        "bob@example.test:{PLAIN}pw\ncarol@example.test:{PLAIN}pw::::::userdb_quota_rule=*:storage=lots\n",
    );
    assert!(e.contains("/etc/calm/users:2"), "{e}");
    assert!(e.contains("quota_rule=*:storage=lots"), "{e}");
}
