use super::*;
use crate::command::{DateCmp, FetchItem, SearchKey, Section, SectionText, StoreOp};

fn ok(s: &str) -> CommandBody {
    match parse_command(s.as_bytes()) {
        Ok(c) => c.body,
        Err(e) => panic!("{s:?}: {e}"),
    }
}

fn bad(s: &[u8]) -> ParseError {
    parse_command(s).expect_err(&String::from_utf8_lossy(s))
}

#[test]
fn simple_commands() {
    assert_eq!(ok("a CAPABILITY\r\n"), CommandBody::Capability);
    assert_eq!(ok("a noop\r\n"), CommandBody::Noop);
    assert_eq!(
        ok("a LOGIN bob \"se\\\"cret\"\r\n"),
        CommandBody::Login {
            user: "bob".into(),
            password: "se\"cret".into()
        }
    );
    assert_eq!(
        ok("a LOGIN {3+}\r\nbob {2}\r\npw\r\n"),
        CommandBody::Login {
            user: "bob".into(),
            password: "pw".into()
        }
    );
    assert_eq!(
        ok("a select inbox (CONDSTORE)\r\n"),
        CommandBody::Select {
            mailbox: "INBOX".into(),
            read_only: false,
            condstore: true
        }
    );
    assert_eq!(
        ok("a EXAMINE \"Entw&APw-rfe\"\r\n"),
        CommandBody::Select {
            mailbox: "Entw\u{fc}rfe".into(),
            read_only: true,
            condstore: false
        }
    );
    assert_eq!(
        ok("a AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n"),
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some("AGJvYgBzZWNyZXQ=".into())
        }
    );
    assert_eq!(ok("a ID NIL\r\n"), CommandBody::Id);
    assert_eq!(ok("a ID (\"name\" \"x\" \"v\" NIL)\r\n"), CommandBody::Id);
}

#[test]
fn list_forms() {
    let CommandBody::List(l) = ok("a LIST \"\" *\r\n") else {
        panic!()
    };
    assert_eq!(
        (l.reference.as_str(), l.patterns.as_slice()),
        ("", &["*".to_owned()][..])
    );
    let CommandBody::List(l) =
        ok("a LIST (SPECIAL-USE) \"\" (% INBOX.*) RETURN (SUBSCRIBED CHILDREN)\r\n")
    else {
        panic!()
    };
    assert!(l.special_use_only && l.return_subscribed && !l.lsub);
    assert_eq!(l.patterns, ["%", "INBOX.*"]);
    let CommandBody::List(l) = ok("a LSUB \"\" \"%\"\r\n") else {
        panic!()
    };
    assert!(l.lsub);
}

#[test]
fn fetch_items() {
    let CommandBody::Fetch {
        uid, set, items, ..
    } = ok(
        "a UID FETCH 1:*,5 (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100> BODY[1.2.MIME] BODY)\r\n",
    )
    else {
        panic!()
    };
    assert!(uid);
    assert!(set.contains(7, 9) && set.contains(5, 1) && !set.contains(0, 9));
    assert_eq!(
        items,
        [
            FetchItem::Flags,
            FetchItem::Body {
                peek: true,
                section: Section {
                    part: vec![],
                    text: Some(SectionText::HeaderFields(vec![
                        "From".into(),
                        "Subject".into()
                    ]))
                },
                partial: Some((0, 100))
            },
            FetchItem::Body {
                peek: false,
                section: Section {
                    part: vec![1, 2],
                    text: Some(SectionText::Mime)
                },
                partial: None
            },
            FetchItem::BodyStructure(false),
        ]
    );
    let CommandBody::Fetch { items, .. } = ok("a FETCH 1 FAST\r\n") else {
        panic!()
    };
    assert_eq!(items.len(), 3);
    let CommandBody::Fetch { items, .. } = ok("a FETCH 2 body[]\r\n") else {
        panic!()
    };
    assert!(
        matches!(&items[..], [FetchItem::Body { peek: false, section, partial: None }] if *section == Section::default())
    );
}

#[test]
fn store_and_copy() {
    assert_eq!(
        ok("a UID STORE 3 +FLAGS.SILENT (\\Seen \\deleted $Junk)\r\n"),
        CommandBody::Store {
            uid: true,
            set: SequenceSet(vec![(SeqNum::Value(3), SeqNum::Value(3))]),
            op: StoreOp::Add,
            silent: true,
            flags: vec![Flag::Seen, Flag::Deleted, Flag::Other("$Junk".into())],
            unchanged_since: None
        }
    );
    assert!(matches!(
        ok("a MOVE 1:2 Trash\r\n"),
        CommandBody::Copy {
            moving: true,
            uid: false,
            ..
        }
    ));
    assert!(matches!(
        ok("a UID EXPUNGE 4:5\r\n"),
        CommandBody::Expunge { uids: Some(_) }
    ));
}

#[test]
fn search_keys() {
    let CommandBody::Search { key, .. } =
        ok("a SEARCH CHARSET UTF-8 OR FROM bob (UNSEEN SINCE 1-Feb-2024) UID 1:3\r\n")
    else {
        panic!()
    };
    let SearchKey::And(keys) = key else { panic!() };
    assert_eq!(keys.len(), 2);
    assert!(
        matches!(&keys[0], SearchKey::Or(a, _) if **a == SearchKey::Header("FROM".into(), "bob".into()))
    );
    assert_eq!(
        ok("a SEARCH SENTBEFORE \"01-Jan-1970\"\r\n"),
        CommandBody::Search {
            uid: false,
            key: SearchKey::And(vec![SearchKey::Date {
                cmp: DateCmp::Before,
                day: 0,
                sent: true
            }]),
            ret: None
        }
    );
    let e = bad(b"a SEARCH CHARSET KOI8-R ALL\r\n");
    assert!(e.bad_charset);
}

#[test]
fn append_with_date() {
    let CommandBody::Append {
        mailbox,
        flags,
        date,
        message,
    } = ok("a APPEND Sent (\\Seen) \" 1-Jan-1970 01:00:00 +0100\" {5+}\r\nhello\r\n")
    else {
        panic!()
    };
    assert_eq!(
        (mailbox.as_str(), flags, date, message),
        ("Sent", vec![Flag::Seen], Some(0), b"hello".to_vec())
    );
}

#[test]
fn malformed_is_refused() {
    for input in [
        &b"\r\n"[..],
        b"a\r\n",
        b"a FOO\r\n",
        b"a NOOP extra\r\n",
        b"a LOGIN bob\r\n",
        b"a FETCH 0 FLAGS\r\n",
        b"a FETCH 1 BODY[HEADER\r\n",
        b"a FETCH 1 (FLAGS\r\n",
        b"a FETCH 99999999999 FLAGS\r\n",
        b"a STORE 1 FLAGS (\\Seen\r\n",
        b"a SEARCH\r\n",
        b"a SEARCH ON 32-Jan-2020\r\n",
        b"a APPEND INBOX {10}\r\nshort\r\n",
        b"a LOGIN \"unterminated\r\n",
        b"a SELECT &Jjo\r\n",
        b"a UID NOOP\r\n",
        b"a ID (\"x\"\r\n",
        b"a EXAMINE \xff\r\n",
    ] {
        let e = bad(input);
        assert!(!e.reason.is_empty());
    }
    assert_eq!(bad(b"(x) NOOP\r\n").tag, None);
    assert_eq!(bad(b"t1 FOO\r\n").tag.as_deref(), Some("t1"));
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut s = b"a SEARCH ".to_vec();
    s.extend(std::iter::repeat_n(b"NOT ", 10_000).flatten());
    s.extend_from_slice(b"ALL\r\n");
    assert!(bad(&s).reason.contains("deeply"));
    let mut s = b"a SEARCH ".to_vec();
    s.extend(std::iter::repeat_n(b'(', 10_000));
    assert!(bad(&s).reason.contains("deeply"));
}

proptest::proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let _ = parse_command(&bytes);
    }

    #[test]
    fn never_panics_on_commandish(s in "[a-z0-9]{1,3} (UID )?(FETCH|SEARCH|STORE|LIST|APPEND|STATUS) [ -~]{0,60}\r\n") {
        let _ = parse_command(s.as_bytes());
    }

    #[test]
    fn never_panics_on_quota_commands(s in "[a-z0-9]{1,3} (GETQUOTA|GETQUOTAROOT|SETQUOTA) [ -~]{0,60}\r\n") {
        let _ = parse_command(s.as_bytes());
    }
}

#[test]
fn extended_search_and_saved_results() {
    let CommandBody::Search { ret, key, .. } =
        ok("a UID SEARCH RETURN (MIN COUNT SAVE) UNSEEN\r\n")
    else {
        panic!()
    };
    let ret = ret.unwrap();
    assert!(ret.min && ret.count && ret.save && !ret.all && !ret.max);
    assert_eq!(
        key,
        SearchKey::And(vec![SearchKey::Not(Box::new(SearchKey::Flag(Flag::Seen)))])
    );
    let CommandBody::Search { ret, .. } = ok("a SEARCH RETURN () ALL\r\n") else {
        panic!()
    };
    assert!(ret.unwrap().all);
    let CommandBody::Fetch { set, .. } = ok("a UID FETCH $ FLAGS\r\n") else {
        panic!()
    };
    assert!(set.is_saved());
    let CommandBody::Search { key, .. } = ok("a SEARCH $ SEEN\r\n") else {
        panic!()
    };
    assert!(
        matches!(&key, SearchKey::And(k) if matches!(&k[0], SearchKey::Seq(s) if s.is_saved()))
    );
    bad(b"a SEARCH RETURN (BOGUS) ALL\r\n");
}

#[test]
fn binary_and_list_status() {
    let CommandBody::Fetch { items, .. } =
        ok("a FETCH 1 (BINARY.PEEK[1.2]<0.10> BINARY.SIZE[1] BINARY[])\r\n")
    else {
        panic!()
    };
    assert_eq!(
        items,
        [
            FetchItem::Binary {
                peek: true,
                part: vec![1, 2],
                partial: Some((0, 10))
            },
            FetchItem::BinarySize(vec![1]),
            FetchItem::Binary {
                peek: false,
                part: vec![],
                partial: None
            },
        ]
    );
    bad(b"a FETCH 1 BINARY[HEADER]\r\n");
    let CommandBody::List(l) = ok("a LIST \"\" * RETURN (STATUS (MESSAGES DELETED))\r\n") else {
        panic!()
    };
    assert_eq!(l.return_status, [StatusItem::Messages, StatusItem::Deleted]);
}

#[test]
fn utf8_names_when_enabled() {
    let CommandBody::Create { mailbox } =
        parse_command_with(b"a CREATE \"A&B \xc3\xbc\"\r\n", true)
            .unwrap()
            .body
    else {
        panic!()
    };
    assert_eq!(mailbox, "A&B \u{fc}");
    // Without IMAP4rev2 the same name is malformed modified UTF-7.
    assert!(parse_command_with(b"a CREATE \"A&B\"\r\n", false).is_err());
}

#[test]
fn quota_commands() {
    assert_eq!(
        ok("a GETQUOTAROOT inbox\r\n"),
        CommandBody::GetQuotaRoot {
            mailbox: "INBOX".into()
        }
    );
    assert_eq!(
        ok("a getquotaroot \"Entw&APw-rfe\"\r\n"),
        CommandBody::GetQuotaRoot {
            mailbox: "Entw\u{fc}rfe".into()
        }
    );
    assert_eq!(
        ok("a GETQUOTA \"\"\r\n"),
        CommandBody::GetQuota { root: "".into() }
    );
    assert_eq!(
        ok("a GETQUOTA {4+}\r\nuser\r\n"),
        CommandBody::GetQuota {
            root: "user".into()
        }
    );
    assert_eq!(
        ok("a SETQUOTA \"\" (storage 512 MESSAGE 9223372036854775807)\r\n"),
        CommandBody::SetQuota {
            root: "".into(),
            limits: vec![
                ("STORAGE".into(), 512),
                ("MESSAGE".into(), 9_223_372_036_854_775_807)
            ]
        }
    );
    assert_eq!(
        ok("a SETQUOTA x ()\r\n"),
        CommandBody::SetQuota {
            root: "x".into(),
            limits: vec![]
        }
    );
}

#[test]
fn malformed_quota_commands_are_refused() {
    let many = format!("a SETQUOTA \"\" ({})\r\n", ["STORAGE 1"; 17].join(" "));
    for input in [
        &b"a GETQUOTA\r\n"[..],
        b"a GETQUOTA \r\n",
        b"a GETQUOTA \"\" extra\r\n",
        b"a GETQUOTAROOT\r\n",
        b"a GETQUOTAROOT a b\r\n",
        b"a GETQUOTAROOT &Jjo\r\n",
        b"a GETQUOTA \"unterminated\r\n",
        b"a GETQUOTA {5}\r\nab\r\n",
        b"a SETQUOTA \"\"\r\n",
        b"a SETQUOTA \"\" STORAGE 5\r\n",
        b"a SETQUOTA \"\" (STORAGE)\r\n",
        b"a SETQUOTA \"\" (STORAGE -1)\r\n",
        b"a SETQUOTA \"\" (STORAGE 1\r\n",
        b"a SETQUOTA \"\" (STORAGE 1 )\r\n",
        b"a SETQUOTA \"\" (STORAGE 99999999999999999999999)\r\n",
        b"a SETQUOTA \"\" ((STORAGE 1))\r\n",
        b"a SETQUOTA \"\" (STORAGE 1))\r\n",
        b"a UID GETQUOTA \"\"\r\n",
        many.as_bytes(),
    ] {
        let e = bad(input);
        assert_eq!(
            e.tag.as_deref(),
            Some("a"),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert!(!e.reason.is_empty());
    }
    assert!(bad(many.as_bytes()).reason.contains("too many"));
}

/// RFC 7162 §3.1: the CONDSTORE syntax, and BAD for what is malformed.
#[test]
fn condstore() {
    let fetch = |s: &str| match ok(s) {
        CommandBody::Fetch {
            items,
            changed_since,
            ..
        } => (items, changed_since),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        fetch("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n"),
        (vec![FetchItem::Flags], Some(12345))
    );
    assert_eq!(
        fetch("a FETCH 1 modseq (changedsince 9223372036854775807)\r\n"),
        (vec![FetchItem::Modseq], Some(9_223_372_036_854_775_807))
    );
    assert_eq!(fetch("a FETCH 1 (UID MODSEQ)\r\n").1, None);
    let store = |s: &str| match ok(s) {
        CommandBody::Store {
            unchanged_since,
            op,
            ..
        } => (unchanged_since, op),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        store("a STORE 7,5 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n"),
        (Some(320_162_338), StoreOp::Add)
    );
    assert_eq!(
        store("a UID STORE 1 (UNCHANGEDSINCE 0) FLAGS \\Seen\r\n"),
        (Some(0), StoreOp::Replace)
    );
    let CommandBody::Search { key, .. } =
        ok("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338 MODSEQ 0\r\n")
    else {
        panic!()
    };
    assert_eq!(
        key,
        SearchKey::And(vec![SearchKey::Modseq(620_162_338), SearchKey::Modseq(0)])
    );
    let CommandBody::Status { items, .. } = ok("a STATUS INBOX (HIGHESTMODSEQ UIDNEXT)\r\n") else {
        panic!()
    };
    assert_eq!(items, [StatusItem::HighestModseq, StatusItem::UidNext]);
    assert!(matches!(
        ok("a EXAMINE Trash (foo (CONDSTORE) CONDSTORE)\r\n"),
        CommandBody::Select {
            condstore: true,
            read_only: true,
            ..
        }
    ));
    for malformed in [
        "a FETCH 1 FLAGS (CHANGEDSINCE 0)\r\n",
        "a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)\r\n",
        "a FETCH 1 FLAGS (CHANGEDSINCE 18446744073709551616)\r\n",
        "a FETCH 1 FLAGS (CHANGEDSINCE)\r\n",
        "a FETCH 1 FLAGS (CHANGEDSINCE -1)\r\n",
        "a FETCH 1 FLAGS (CHANGEDSINCE 5\r\n",
        "a FETCH 1 FLAGS (VANISHED)\r\n",
        "a FETCH 1 FLAGS (UNCHANGEDSINCE 5)\r\n",
        "a STORE 1 (UNCHANGEDSINCE 9223372036854775808) +FLAGS \\Seen\r\n",
        "a STORE 1 (CHANGEDSINCE 5) +FLAGS \\Seen\r\n",
        "a STORE 1 (UNCHANGEDSINCE 5)+FLAGS \\Seen\r\n",
        "a SEARCH MODSEQ\r\n",
        "a SEARCH MODSEQ x\r\n",
        "a SEARCH MODSEQ \"/flags/\\\\seen\" 5\r\n",
        "a SEARCH MODSEQ \"/other/x\" all 5\r\n",
        "a SEARCH MODSEQ \"/flags/\\\\seen\" mine 5\r\n",
        "a STATUS INBOX (HIGHESTMODSEQS)\r\n",
    ] {
        let e = bad(malformed.as_bytes());
        assert_eq!(e.tag.as_deref(), Some("a"), "{malformed}");
        assert!(!e.bad_charset, "{malformed}");
    }
}
