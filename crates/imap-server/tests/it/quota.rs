//! RFC 9208 QUOTA beyond the transcript: who is offered it, a user without a limit, the
//! commands in every state, and hostile arguments.

use crate::harness::start;

#[tokio::test]
async fn offered_after_login_only_to_a_user_with_a_limit() {
    let server = start().await;
    let mut c = server.tls().await;
    let r = c.command("a CAPABILITY").await;
    assert!(!r[0].contains("QUOTA"), "not before login: {r:?}");
    let r = c.command("b LOGIN bob secret").await;
    assert!(r[0].contains(" QUOTA QUOTA=RES-STORAGE"), "{r:?}");
    let r = c.command("c CAPABILITY").await;
    assert!(r[0].contains(" QUOTA QUOTA=RES-STORAGE"), "{r:?}");

    let mut c = server.tls().await;
    let r = c.command("a LOGIN alice wonderland").await;
    assert!(!r[0].contains("QUOTA"), "{r:?}");
    let r = c.command("b CAPABILITY").await;
    assert!(!r[0].contains("QUOTA"), "{r:?}");
}

#[tokio::test]
async fn a_user_without_a_limit_has_no_quota_root() {
    let server = start().await;
    let mut c = server.tls().await;
    c.command("a LOGIN alice wonderland").await;
    let r = c.command("b GETQUOTAROOT INBOX").await;
    assert_eq!(r, ["* QUOTAROOT \"INBOX\"", "b OK GETQUOTAROOT completed"]);
    let r = c.command("c GETQUOTA \"\"").await;
    assert_eq!(r, ["c NO [NONEXISTENT] No such quota root"]);
    let r = c.command("d SETQUOTA \"\" (STORAGE 10)").await;
    assert_eq!(r, ["d NO [NOPERM] Quotas are set by the server's operator"]);
}

#[tokio::test]
async fn usage_counts_every_mailbox_and_follows_changes() {
    let server = start().await;
    let mut c = server.bob().await;
    let r = c.command("a GETQUOTA \"\"").await;
    assert_eq!(r[0], "* QUOTA \"\" (STORAGE 0 1024)");
    server.deliver("bob@example.test", &[&[b'x'; 1024]]);
    let r = c.command("b GETQUOTA \"\"").await;
    assert_eq!(r[0], "* QUOTA \"\" (STORAGE 1 1024)");
    c.command("c CREATE Archive").await;
    c.send(b"d APPEND Archive {1025+}\r\n").await;
    c.send(&[b'y'; 1025]).await;
    c.send(b"\r\n").await;
    let r = c.until_tagged("d").await;
    assert!(r.last().unwrap().starts_with("d OK"), "{r:?}");
    // 1024 + 1025 octets: 2049, rounded up to 3 KiB.
    let r = c.command("e GETQUOTAROOT Archive").await;
    assert_eq!(
        r,
        [
            "* QUOTAROOT \"Archive\" \"\"",
            "* QUOTA \"\" (STORAGE 3 1024)",
            "e OK GETQUOTAROOT completed"
        ]
    );
    // Also in the selected state, and names go back as the client's encoding expects.
    c.command("f CREATE Entw&APw-rfe").await;
    c.command("g SELECT INBOX").await;
    let r = c.command("h GETQUOTAROOT Entw&APw-rfe").await;
    assert_eq!(r[0], "* QUOTAROOT \"Entw&APw-rfe\" \"\"");
    c.command("i ENABLE IMAP4rev2").await;
    let r = c.command("j GETQUOTAROOT \"Entwürfe\"").await;
    // Non-ASCII goes as a literal, as in LIST.
    assert_eq!(r[..2], ["* QUOTAROOT {9}", "Entwürfe \"\""]);
}

#[tokio::test]
async fn hostile_quota_commands_get_bad_and_the_session_goes_on() {
    let server = start().await;
    let mut c = server.tls().await;
    let r = c.command("a GETQUOTAROOT INBOX").await;
    assert_eq!(r, ["a BAD Log in first"]);
    let r = c.command("b GETQUOTA \"\"").await;
    assert_eq!(r, ["b BAD Log in first"]);
    c.command("c LOGIN bob secret").await;
    let many = ["STORAGE 1"; 40].join(" ");
    for (tag, args) in [
        ("d", "GETQUOTAROOT"),
        ("e", "GETQUOTAROOT ../../etc"),
        ("f", "GETQUOTA"),
        ("g", "GETQUOTA \"\" \"\""),
        ("h", "SETQUOTA \"\" (STORAGE 99999999999999999999999)"),
        ("i", &format!("SETQUOTA \"\" ({many})")),
        ("j", "SETQUOTA \"\" ((("),
        ("k", "GETQUOTAROOT \"INBOX"),
    ] {
        let r = c.command(&format!("{tag} {args}")).await;
        let last = r.last().unwrap();
        assert!(
            last.starts_with(&format!("{tag} BAD")) || last.starts_with(&format!("{tag} NO")),
            "{args}: {r:?}"
        );
    }
    // A root name that is a long literal is just an unknown root.
    c.send(b"l GETQUOTA {5000+}\r\n").await;
    c.send(&[b'r'; 5000]).await;
    c.send(b"\r\n").await;
    let r = c.until_tagged("l").await;
    assert_eq!(r, ["l NO [NONEXISTENT] No such quota root"]);
    let r = c.command("m GETQUOTA \"\"").await;
    assert_eq!(r[0], "* QUOTA \"\" (STORAGE 0 1024)");
}

#[tokio::test]
async fn append_and_copy_over_the_limit_are_refused_and_move_is_not() {
    let server = start().await;
    let mut c = server.bob().await;
    // Bob's limit is 1 MiB; 900 KiB are in use.
    server.deliver("bob@example.test", &[&[b'x'; 900 * 1024]]);
    c.command("a CREATE Archive").await;
    c.send(b"b APPEND Archive {204800+}\r\n").await;
    c.send(&[b'y'; 204_800]).await;
    c.send(b"\r\n").await;
    let r = c.until_tagged("b").await;
    assert_eq!(
        r.last().unwrap(),
        "b NO [OVERQUOTA] Quota exceeded",
        "{r:?}"
    );
    c.send(b"c APPEND Archive {1024+}\r\n").await;
    c.send(&[b'z'; 1024]).await;
    c.send(b"\r\n").await;
    let r = c.until_tagged("c").await;
    assert!(
        r.last().unwrap().starts_with("c OK"),
        "a small one still fits: {r:?}"
    );
    c.command("d SELECT INBOX").await;
    let r = c.command("e COPY 1 Archive").await;
    assert_eq!(
        r.last().unwrap(),
        "e NO [OVERQUOTA] Quota exceeded",
        "{r:?}"
    );
    // MOVE takes no more space than before.
    let r = c.command("f MOVE 1 Archive").await;
    assert!(r.last().unwrap().starts_with("f OK"), "{r:?}");
    let r = c.command("g STATUS Archive (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Archive\" (MESSAGES 2)");
}
