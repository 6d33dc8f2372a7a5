use super::*;

fn tmpdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn batch_delivers_into_new_with_prefix() {
    let dir = tmpdir();
    let a = Maildir::create(&dir.path().join("a")).unwrap();
    let b = Maildir::create(&dir.path().join("b")).unwrap();
    let items = [
        Item {
            maildir: &a,
            name: "1.Qx.h,S=3".into(),
            prefix: b"P: 1\r\n",
            data: b"abc",
            check_existing: false,
        },
        Item {
            maildir: &b,
            name: "1.Qy.h,S=3".into(),
            prefix: b"",
            data: b"xyz",
            check_existing: false,
        },
    ];
    let res = deliver_batch(&items);
    assert_eq!(res.len(), 2);
    let Ok(Outcome::Delivered(p)) = &res[0] else {
        panic!("{res:?}")
    };
    assert_eq!(fs::read(p).unwrap(), b"P: 1\r\nabc");
    assert!(dir.path().join("b/new/1.Qy.h,S=3").exists());
    assert_eq!(fs::read_dir(dir.path().join("a/tmp")).unwrap().count(), 0);
}

#[test]
fn redelivery_finds_earlier_copy_in_new_and_cur() {
    let dir = tmpdir();
    let m = Maildir::create(dir.path()).unwrap();
    let name = unique_name(10, "QID", "bob@example.test", "host", 3);
    let item = |check| Item {
        maildir: &m,
        name: name.clone(),
        prefix: b"",
        data: b"abc",
        check_existing: check,
    };
    assert!(matches!(
        deliver_batch(&[item(true)])[0],
        Ok(Outcome::Delivered(_))
    ));
    assert!(matches!(
        deliver_batch(&[item(true)])[0],
        Ok(Outcome::AlreadyPresent)
    ));
    // A reader moved it to cur/ with flags: still found.
    fs::rename(
        m.path().join("new").join(&name),
        m.path().join("cur").join(format!("{name}:2,S")),
    )
    .unwrap();
    assert!(matches!(
        deliver_batch(&[item(true)])[0],
        Ok(Outcome::AlreadyPresent)
    ));
    // Without the check a second copy would be written: the flag matters.
    assert!(matches!(
        deliver_batch(&[item(false)])[0],
        Ok(Outcome::Delivered(_))
    ));
}

#[test]
fn unique_name_is_stable_and_distinguishes_recipients() {
    let a = unique_name(5, "Q1", "a@x", "mx/1:2", 9);
    assert_eq!(a, unique_name(5, "Q1", "a@x", "mx/1:2", 9));
    assert_ne!(a, unique_name(5, "Q1", "b@x", "mx/1:2", 9));
    assert!(a.starts_with("5.QQ1U"), "{a}");
    assert!(a.ends_with(".mx\\0571\\0722,S=9"), "{a}");
}

#[test]
fn mailbox_dir_cannot_escape_base() {
    let base = Path::new("/base");
    assert_eq!(
        mailbox_dir(base, "Bob@Example.Test"),
        Path::new("/base/example.test/Bob")
    );
    assert_eq!(mailbox_dir(base, "../x@y"), Path::new("/base/y/%2E.%2Fx"));
    assert_eq!(
        mailbox_dir(base, "a/b@../c"),
        Path::new("/base/%2E.%2Fc/a%2Fb")
    );
    assert_eq!(mailbox_dir(base, "@d"), Path::new("/base/d/%"));
}

#[test]
fn write_error_names_the_path() {
    let dir = tmpdir();
    let m = Maildir::create(dir.path()).unwrap();
    fs::remove_dir(dir.path().join("tmp")).unwrap();
    let res = deliver_batch(&[Item {
        maildir: &m,
        name: "n".into(),
        prefix: b"",
        data: b"",
        check_existing: false,
    }]);
    let err = res[0].as_ref().unwrap_err();
    assert!(err.to_string().contains("tmp/n"), "{err}");
    assert!(!err.is_no_space());
}

#[test]
fn mailbox_size_counts_every_folder_from_names_or_stat() {
    let dir = tmpdir();
    assert_eq!(mailbox_size(&dir.path().join("missing")), 0);
    let inbox = Maildir::create(dir.path()).unwrap();
    let sent = Maildir::create(&dir.path().join(".Sent")).unwrap();
    fs::write(inbox.path().join("new/1.a.h,S=100"), b"x").unwrap();
    fs::write(inbox.path().join("cur/2.b.h,S=50:2,S"), b"x").unwrap();
    fs::write(sent.path().join("cur/3.c.h:2,S"), b"12345").unwrap();
    fs::write(inbox.path().join("tmp/4.d.h,S=999"), b"x").unwrap();
    assert_eq!(mailbox_size(dir.path()), 155);
}
