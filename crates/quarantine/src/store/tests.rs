use super::*;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("quarantine")).unwrap();
    (dir, store)
}

fn verdict() -> Verdict {
    let mut v =
        Verdict::new("spam-quarantine", "data: rule spam-quarantine quarantined").with_score(11.5);
    v.hits = vec![
        Hit {
            name: "BODY_PHARMA".into(),
            points: 2.5,
        },
        Hit {
            name: "BAYES_99".into(),
            points: 3.5,
        },
        Hit {
            name: "PRECEDENCE_BULK".into(),
            points: -0.5,
        },
    ];
    v
}

/// Bytes a naive store would "fix": bare LF, NUL, 8-bit, no final newline.
const ODD: &[u8] = b"Subject: x\r\n\r\nline\nbare LF\x00\xff\xfe no final newline";

#[test]
fn put_list_show_round_trip_unchanged() {
    let (_d, s) = store();
    let env = Envelope {
        client: Some("203.0.113.9".into()),
        helo: Some("mx.sender.example".into()),
        ..Envelope::new("", ["alice@example.test", "bob@example.test"])
    };
    let a = s.put(&env, &verdict(), ODD, 200).unwrap();
    let b = s
        .put(
            &Envelope::new("x@y.example", ["c@example.test"]),
            &Verdict::new("r", "why"),
            b"m",
            100,
        )
        .unwrap();
    assert_ne!(a, b);
    let list = s.list().unwrap();
    assert_eq!(
        list.iter().map(|r| &r.id).collect::<Vec<_>>(),
        [&b, &a],
        "oldest first"
    );
    let (rec, bytes) = s.show(&a).unwrap();
    assert_eq!(bytes, ODD);
    assert_eq!(rec.envelope, env);
    assert_eq!(rec.verdict, verdict());
    assert_eq!(rec.size, ODD.len() as u64);
    assert_eq!(
        rec.verdict.top_hit().map(|h| h.name.as_str()),
        Some("BAYES_99")
    );
    // No temporary file left behind.
    let names: Vec<String> = fs::read_dir(s.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".tmp")), "{names:?}");
}

#[test]
fn release_returns_the_original_and_keeps_a_record() {
    let (_d, s) = store();
    let env = Envelope::new("news@sender.example", ["alice@example.test"]);
    let id = s.put(&env, &verdict(), ODD, 1).unwrap();
    let (e, bytes) = s.release(&id).unwrap();
    assert_eq!((e, bytes.as_slice()), (env, ODD));
    assert!(s.list().unwrap().is_empty());
    assert!(matches!(s.release(&id), Err(QuarantineError::NotFound(_))));
    assert_eq!(
        fs::read(s.dir().join("released").join(format!("{id}.eml"))).unwrap(),
        ODD
    );
}

#[test]
fn delete_removes_for_good() {
    let (_d, s) = store();
    let id = s
        .put(
            &Envelope::new("a@b.example", ["c@d.example"]),
            &verdict(),
            b"m",
            1,
        )
        .unwrap();
    s.delete(&id).unwrap();
    assert!(s.list().unwrap().is_empty());
    assert!(matches!(s.show(&id), Err(QuarantineError::NotFound(_))));
    assert!(matches!(s.delete(&id), Err(QuarantineError::NotFound(_))));
}

#[test]
fn hostile_ids_are_refused() {
    let long = "a".repeat(65);
    for bad in [
        "",
        "../etc/passwd",
        "a/b",
        "ABC",
        "-rf",
        "x.json",
        long.as_str(),
        "1\n2",
    ] {
        assert!(
            matches!(Id::parse(bad), Err(QuarantineError::BadId(_))),
            "{bad:?}"
        );
    }
    assert!(Id::parse("18f-3b9ac9ff-1a2b-0").is_ok());
}

#[test]
fn half_written_and_damaged_entries() {
    let (_d, s) = store();
    // A crash after the message file but before the record: not listed.
    fs::write(s.dir().join("abc-1.eml"), b"m").unwrap();
    assert!(s.list().unwrap().is_empty());
    // A damaged record is reported, not skipped silently.
    fs::write(s.dir().join("abc-2.json"), b"{not json").unwrap();
    assert!(matches!(s.list(), Err(QuarantineError::Damaged { .. })));
    fs::remove_file(s.dir().join("abc-2.json")).unwrap();
    // A record whose id does not match its name (copied by hand) is refused.
    let id = s
        .put(
            &Envelope::new("a@b.example", ["c@d.example"]),
            &verdict(),
            b"m",
            1,
        )
        .unwrap();
    fs::copy(
        s.dir().join(format!("{id}.json")),
        s.dir().join("abc-3.json"),
    )
    .unwrap();
    let err = s.list().unwrap_err().to_string();
    assert!(err.contains("does not match"), "{err}");
    // Foreign files are ignored.
    fs::remove_file(s.dir().join("abc-3.json")).unwrap();
    fs::write(s.dir().join("README.json"), b"{}").unwrap();
    assert_eq!(s.list().unwrap().len(), 1);
}

#[test]
fn open_fails_cleanly_on_a_file() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("file");
    fs::write(&f, b"x").unwrap();
    assert!(matches!(Store::open(&f), Err(QuarantineError::Io { .. })));
}
