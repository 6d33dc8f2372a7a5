use super::*;

fn ok(line: &str) -> Command {
    Command::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn err(line: &[u8]) -> CommandError {
    Command::parse(line).expect_err(&String::from_utf8_lossy(line))
}

#[test]
fn parses_every_command_case_insensitively() {
    assert_eq!(
        ok("user bob@example.test"),
        Command::User("bob@example.test".into())
    );
    assert_eq!(
        ok("PASS secret with spaces "),
        Command::Pass("secret with spaces ".into())
    );
    assert_eq!(ok("Capa"), Command::Capa);
    assert_eq!(ok("stls"), Command::Stls);
    assert_eq!(ok("STAT"), Command::Stat);
    assert_eq!(ok("LIST"), Command::List(None));
    assert_eq!(ok("LIST 3"), Command::List(Some(3)));
    assert_eq!(ok("uidl 4294967295"), Command::Uidl(Some(u32::MAX)));
    assert_eq!(ok("RETR 1"), Command::Retr(1));
    assert_eq!(ok("TOP 2 0"), Command::Top(2, 0));
    assert_eq!(ok("DELE 7"), Command::Dele(7));
    assert_eq!(ok("RSET"), Command::Rset);
    assert_eq!(ok("NOOP"), Command::Noop);
    assert_eq!(ok("QUIT"), Command::Quit);
    assert_eq!(
        ok("AUTH"),
        Command::Auth {
            mechanism: None,
            initial: None
        }
    );
    assert_eq!(
        ok("AUTH PLAIN AGJvYgBzZWNyZXQ="),
        Command::Auth {
            mechanism: Some("PLAIN".into()),
            initial: Some("AGJvYgBzZWNyZXQ=".into())
        }
    );
    // Extra spaces between arguments are tolerated (clients differ).
    assert_eq!(ok("TOP  2   5"), Command::Top(2, 5));
}

#[test]
fn refuses_malformed_arguments() {
    for line in [
        &b"RETR"[..],
        b"RETR x",
        b"RETR -1",
        b"RETR +1",
        b"RETR 1 2",
        b"RETR 99999999999",
        b"TOP 1",
        b"TOP 1 x",
        b"TOP 1 2 3",
        b"STAT 1",
        b"LIST 1 2",
        b"USER",
        b"USER a b",
        b"PASS",
        b"AUTH PLAIN a b",
        b"QUIT now",
    ] {
        assert!(
            matches!(err(line), CommandError::Syntax(_)),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn refuses_unknown_commands_and_bad_bytes() {
    assert_eq!(err(b"APOP bob 0123"), CommandError::Unknown);
    assert_eq!(err(b""), CommandError::Unknown);
    assert_eq!(err(b"XYZZY"), CommandError::Unknown);
    assert_eq!(err(b"USER\xff"), CommandError::BadCharacters);
    assert_eq!(err(b"USER a\0b"), CommandError::BadCharacters);
    assert_eq!(err(b"PASS a\rb"), CommandError::BadCharacters);
    assert_eq!(err(b"\x1b[31mRETR 1"), CommandError::BadCharacters);
}

#[test]
fn debug_never_shows_secrets() {
    let shown = format!(
        "{:?} {:?}",
        ok("PASS hunter2"),
        ok("AUTH PLAIN aHVudGVyMg==")
    );
    assert!(
        !shown.contains("hunter2") && !shown.contains("aHVudGVyMg"),
        "{shown}"
    );
    assert_eq!(format!("{:?}", ok("STAT")), "STAT");
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(line in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = Command::parse(&line);
    }

    #[test]
    fn numbers_round_trip(n in 0u32..) {
        proptest::prop_assert_eq!(Command::parse(format!("RETR {n}").as_bytes()), Ok(Command::Retr(n)));
    }
}
