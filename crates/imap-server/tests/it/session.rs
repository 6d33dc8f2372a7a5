//! Raw-protocol sessions: each command's responses as a client sees them.

use std::time::Duration;

use calm_imap_server::ImapEvent;

use crate::harness::start;

const MSG1: &[u8] = b"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: first\r\nDate: Mon, 7 Feb 2022 10:00:00 +0000\r\n\r\nHello Bob.\r\n";
const MSG2: &[u8] = b"From: carol@example.test\r\nSubject: second\r\n\r\nline 1\r\nline 2\r\n";

fn has(lines: &[String], wanted: &str) -> bool {
    lines.iter().any(|l| l == wanted)
}

#[tokio::test]
async fn select_fetch_store_expunge() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1, MSG2]);
    let mut c = server.bob().await;
    let r = c.command("a SELECT inbox").await;
    assert!(has(&r, "* 2 EXISTS"), "{r:?}");
    assert!(has(&r, "* OK [UNSEEN 1] First unseen"), "{r:?}");
    assert!(
        r.iter().any(|l| l.starts_with("* OK [UIDVALIDITY ")),
        "{r:?}"
    );
    assert!(has(&r, "* OK [UIDNEXT 3] Predicted next UID"), "{r:?}");
    assert_eq!(r.last().unwrap(), "a OK [READ-WRITE] SELECT completed");

    let r = c.command("b FETCH 1:* (UID FLAGS RFC822.SIZE)").await;
    assert_eq!(
        r[0],
        format!("* 1 FETCH (UID 1 FLAGS () RFC822.SIZE {})", MSG1.len())
    );
    assert_eq!(r[2], "b OK FETCH completed");

    let r = c
        .command("c FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .await;
    assert_eq!(r[0], "* 1 FETCH (BODY[HEADER.FIELDS (\"SUBJECT\")] {18}");
    assert_eq!(&r[1..], ["Subject: first", "", ")", "c OK FETCH completed"]);
    let r = c.command("d UID FETCH 2 (BODY[TEXT]<0.6>)").await;
    assert_eq!(r[0], "* 2 FETCH (UID 2 BODY[TEXT]<0> {6}");
    // The non-peek fetch set \Seen and says so in the same response.
    assert_eq!(
        &r[1..],
        ["line 1 FLAGS (\\Seen))", "d OK UID FETCH completed"]
    );
    let r = c.command("e FETCH 2 FLAGS").await;
    assert_eq!(r[0], "* 2 FETCH (FLAGS (\\Seen))");

    let r = c.command("f STORE 1 +FLAGS (\\Deleted \\Flagged)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Flagged \\Deleted))");
    let r = c.command("g UID STORE 2 -FLAGS.SILENT (\\Seen)").await;
    assert_eq!(r, ["g OK UID STORE completed"]);
    let r = c.command("h SEARCH UNSEEN").await;
    assert_eq!(r[0], "* SEARCH 1 2");
    let r = c.command("i UID SEARCH DELETED").await;
    assert_eq!(r[0], "* SEARCH 1");
    let r = c.command("j EXPUNGE").await;
    assert_eq!(r, ["* 1 EXPUNGE", "j OK EXPUNGE completed"]);
    let r = c.command("k FETCH 1 (UID ENVELOPE)").await;
    assert!(
        r[0].starts_with(
            "* 1 FETCH (UID 2 ENVELOPE (NIL \"second\" ((NIL NIL \"carol\" \"example.test\"))"
        ),
        "{r:?}"
    );
    let r = c.command("l FETCH 3 FLAGS").await;
    assert!(r[0].starts_with("l BAD"), "{r:?}");
    let r = c.command("m LOGOUT").await;
    assert_eq!(r, ["* BYE Logging out", "m OK LOGOUT completed"]);
    let expunges: Vec<ImapEvent> = server
        .events()
        .into_iter()
        .filter(|e| matches!(e, ImapEvent::Expunge { .. }))
        .collect();
    assert!(
        matches!(&expunges[..], [ImapEvent::Expunge { user, mailbox, count: 1, .. }]
            if user == "bob@example.test" && mailbox == "INBOX"),
        "{expunges:?}"
    );
}

#[tokio::test]
async fn list_create_rename_delete_status_append_copy_move() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1]);
    let mut c = server.bob().await;
    let r = c.command("a LIST \"\" *").await;
    assert!(has(&r, "* LIST (\\HasNoChildren) \".\" \"INBOX\""), "{r:?}");
    assert!(
        has(&r, "* LIST (\\HasNoChildren \\Sent) \".\" \"Sent\""),
        "{r:?}"
    );
    assert!(
        has(&r, "* LIST (\\HasNoChildren \\Trash) \".\" \"Trash\""),
        "{r:?}"
    );
    let r = c.command("b CREATE Projekte.Entw&APw-rfe").await;
    assert_eq!(r, ["b OK CREATE completed"]);
    let r = c.command("c LIST \"\" %").await;
    assert!(
        has(&r, "* LIST (\\Noselect \\HasChildren) \".\" \"Projekte\""),
        "{r:?}"
    );
    let r = c.command("d LIST \"\" Projekte.*").await;
    assert_eq!(
        r[0],
        "* LIST (\\HasNoChildren) \".\" \"Projekte.Entw&APw-rfe\""
    );
    let r = c.command("e LIST (SPECIAL-USE) \"\" *").await;
    assert_eq!(r.len(), 5, "{r:?}");
    let r = c.command("f RENAME Projekte.Entw&APw-rfe Archive").await;
    assert_eq!(r, ["f OK RENAME completed"]);
    let r = c.command("g CREATE Archive").await;
    assert!(r[0].starts_with("g NO [ALREADYEXISTS]"), "{r:?}");
    let r = c.command("h STATUS INBOX (MESSAGES UIDNEXT UNSEEN)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)");
    c.send(b"i APPEND Archive (\\Seen) {12+}\r\nSubject: x\r\n\r\n")
        .await;
    let r = c.until_tagged("i").await;
    assert!(
        r[0].starts_with("i OK [APPENDUID ") && r[0].ends_with(" 1] APPEND completed"),
        "{r:?}"
    );
    assert!(server.events().iter().any(|e| matches!(e,
        ImapEvent::Append { mailbox, uid: 1, octets: 12, .. } if mailbox == "Archive")));
    let r = c.command("j APPEND Nowhere {1+}\r\nx").await;
    assert!(r[0].starts_with("j NO [TRYCREATE]"), "{r:?}");
    c.command("k SELECT INBOX").await;
    let r = c.command("l UID COPY 1 Archive").await;
    assert!(
        r[0].starts_with("l OK [COPYUID ") && r[0].ends_with(" 1 2] UID COPY completed"),
        "{r:?}"
    );
    let r = c.command("m MOVE 1 Trash").await;
    assert!(
        r[0].starts_with("* OK [COPYUID ") && r[0].ends_with(" 1 1] Moved"),
        "{r:?}"
    );
    assert_eq!(&r[1..], ["* 1 EXPUNGE", "m OK MOVE completed"]);
    let r = c.command("n STATUS Archive (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Archive\" (MESSAGES 2)");
    let r = c.command("o DELETE Archive").await;
    assert_eq!(r, ["o OK DELETE completed"]);
    let r = c.command("p SUBSCRIBE INBOX").await;
    assert_eq!(r, ["p OK SUBSCRIBE completed"]);
    let r = c.command("q LSUB \"\" *").await;
    assert!(has(&r, "* LSUB (\\HasNoChildren) \".\" \"INBOX\""), "{r:?}");
    let r = c.command("r NAMESPACE").await;
    assert_eq!(r[0], "* NAMESPACE ((\"\" \".\")) NIL NIL");
}

#[tokio::test]
async fn idle_sees_delivery_and_other_sessions() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1]);
    let mut a = server.bob().await;
    let mut b = server.bob().await;
    a.command("a1 SELECT INBOX").await;
    b.command("b1 SELECT INBOX").await;
    a.send(b"a2 IDLE\r\n").await;
    assert_eq!(a.line().await.unwrap(), "+ idling");
    server.deliver("bob@example.test", &[MSG2]);
    assert_eq!(a.line().await.unwrap(), "* 2 EXISTS");
    let r = b.command("b2 STORE 1 +FLAGS (\\Flagged)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Flagged))");
    assert_eq!(
        a.line().await.unwrap(),
        "* 1 FETCH (UID 1 FLAGS (\\Flagged))"
    );
    a.send(b"DONE\r\n").await;
    assert_eq!(a.line().await.unwrap(), "a2 OK IDLE terminated");
    // b sees the new message at its next command.
    let r = b.command("b3 NOOP").await;
    assert_eq!(r, ["* 2 EXISTS", "b3 OK NOOP completed"]);
}

#[tokio::test]
async fn authentication_rules() {
    let server = start().await;
    let mut c = server.plain().await;
    let r = c.command("a CAPABILITY").await;
    assert!(
        r[0].contains("STARTTLS") && r[0].contains("LOGINDISABLED"),
        "{r:?}"
    );
    let r = c.command("b LOGIN bob secret").await;
    assert!(r[0].starts_with("b NO [PRIVACYREQUIRED]"), "{r:?}");
    let r = c.command("c SELECT INBOX").await;
    assert_eq!(r, ["c BAD Log in first"]);
    let r = c.command("d STARTTLS").await;
    assert_eq!(r, ["d OK Begin TLS negotiation now"]);
    let mut c = server.upgrade(c).await;
    let r = c.command("e CAPABILITY").await;
    assert!(
        r[0].contains("AUTH=PLAIN") && !r[0].contains("STARTTLS"),
        "{r:?}"
    );
    let r = c.command("f LOGIN bob wrong").await;
    assert!(r[0].starts_with("f NO [AUTHENTICATIONFAILED]"), "{r:?}");
    c.send(b"g AUTHENTICATE PLAIN\r\n").await;
    assert_eq!(c.line().await.unwrap(), "+ ");
    // base64("\0bob\0secret")
    c.send(b"AGJvYgBzZWNyZXQ=\r\n").await;
    let r = c.until_tagged("g").await;
    assert!(r[0].starts_with("g OK [CAPABILITY IMAP4rev1"), "{r:?}");
    c.command("h LOGOUT").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let events = server.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ImapEvent::AuthFailure { user, .. } if user == "bob"))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ImapEvent::AuthSuccess { mechanism, .. } if mechanism == "PLAIN"))
    );
}

#[tokio::test]
async fn plaintext_login_when_allowed() {
    let server = crate::harness::start_with(|s| s.allow_plaintext_auth = true).await;
    let mut c = server.plain().await;
    let r = c.command("a AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=").await;
    assert!(r[0].starts_with("a OK"), "{r:?}");
    let r = c.command("b EXAMINE INBOX").await;
    assert_eq!(r.last().unwrap(), "b OK [READ-ONLY] EXAMINE completed");
    let r = c.command("c STORE 1:* +FLAGS (\\Seen)").await;
    assert!(
        r[0].starts_with("c NO [READ-ONLY]") || r[0].starts_with("c BAD"),
        "{r:?}"
    );
}

#[tokio::test]
async fn imap4rev2_esearch_searchres_binary_list_status() {
    let server = start().await;
    let attachment = b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--xx--\r\n";
    server.deliver("bob@example.test", &[MSG1, MSG2, attachment]);
    let mut c = server.bob().await;
    let r = c.command("a ENABLE IMAP4rev2").await;
    assert_eq!(r, ["* ENABLED IMAP4rev2", "a OK ENABLE completed"]);
    let r = c.command("b SELECT INBOX").await;
    assert!(has(&r, "* LIST () \".\" \"INBOX\""), "{r:?}");
    assert!(!r.iter().any(|l| l.contains("RECENT")), "{r:?}");
    let r = c.command("c SEARCH ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"c\") ALL 1:3");
    let r = c
        .command("d UID SEARCH RETURN (MIN MAX COUNT) NOT SUBJECT second")
        .await;
    assert_eq!(r[0], "* ESEARCH (TAG \"d\") UID MIN 1 MAX 3 COUNT 2");
    let r = c.command("e UID SEARCH RETURN (SAVE) SUBJECT second").await;
    assert_eq!(r, ["e OK UID SEARCH completed"]);
    let r = c.command("f FETCH $ (UID)").await;
    assert_eq!(r[0], "* 2 FETCH (UID 2)");
    let r = c.command("g SEARCH RETURN (COUNT) $ SEEN").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"g\") COUNT 0");
    let r = c.command("h FETCH 3 (BINARY.SIZE[1] BINARY.PEEK[1])").await;
    assert_eq!(r[0], "* 3 FETCH (BINARY.SIZE[1] 3 BINARY[1] ~{3}");
    let r = c.command("i CREATE \"Entw\u{fc}rfe &\"").await;
    assert_eq!(r, ["i OK CREATE completed"]);
    let r = c
        .command("j LIST \"\" \"E*\" RETURN (STATUS (MESSAGES DELETED SIZE))")
        .await;
    assert_eq!(
        r,
        [
            "* LIST (\\HasNoChildren) \".\" {11}",
            "Entw\u{fc}rfe &",
            "* STATUS {11}",
            "Entw\u{fc}rfe & (MESSAGES 0 DELETED 0 SIZE 0)",
            "j OK LIST completed"
        ]
    );
}

#[tokio::test]
async fn large_fetch_is_streamed_in_order() {
    let server = start().await;
    let body = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(100_000));
    let bodies: Vec<&[u8]> = std::iter::repeat_n(body.as_bytes(), 12).collect();
    server.deliver("bob@example.test", &bodies);
    let mut c = server.bob().await;
    c.command("a SELECT INBOX").await;
    let r = c.command("b FETCH 1:* (BODY.PEEK[])").await;
    let starts: Vec<&String> = r
        .iter()
        .filter(|l| l.contains(" FETCH (BODY[] {"))
        .collect();
    assert_eq!(starts.len(), 12);
    for (i, line) in starts.iter().enumerate() {
        assert_eq!(
            **line,
            format!("* {} FETCH (BODY[] {{{}}}", i + 1, body.len())
        );
    }
    assert_eq!(r.last().unwrap(), "b OK FETCH completed");
    // The session is usable afterwards.
    let r = c.command("c NOOP").await;
    assert_eq!(r, ["c OK NOOP completed"]);
}

#[tokio::test]
async fn idle_notices_changes_after_the_mailbox_went_quiet() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1]);
    let mut a = server.bob().await;
    a.command("a1 SELECT INBOX").await;
    a.send(b"a2 IDLE\r\n").await;
    assert_eq!(a.line().await.unwrap(), "+ idling");
    // Past the two-second window in which every poll rescans: now only a changed
    // directory triggers a scan, and a delivery must change it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.deliver("bob@example.test", &[MSG2]);
    assert_eq!(a.line().await.unwrap(), "* 2 EXISTS");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut b = server.bob().await;
    b.command("b1 SELECT INBOX").await;
    b.command("b2 STORE 1 +FLAGS (\\Deleted)").await;
    assert_eq!(
        a.line().await.unwrap(),
        "* 1 FETCH (UID 1 FLAGS (\\Deleted))"
    );
    b.command("b3 EXPUNGE").await;
    assert_eq!(a.line().await.unwrap(), "* 1 EXPUNGE");
    a.send(b"DONE\r\n").await;
    assert_eq!(a.line().await.unwrap(), "a2 OK IDLE terminated");
    // The same holds for the check after an ordinary command.
    let r = a.command("a3 NOOP").await;
    assert_eq!(r, ["a3 OK NOOP completed"]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.deliver("bob@example.test", &[MSG1]);
    let r = a.command("a4 NOOP").await;
    assert_eq!(r, ["* 2 EXISTS", "a4 OK NOOP completed"]);
}

#[tokio::test]
async fn subscriptions_outlive_their_mailboxes() {
    let server = start().await;
    let mut c = server.bob().await;
    c.command("a CREATE Old").await;
    c.command("b SUBSCRIBE Old").await;
    c.command("c DELETE Old").await;
    let r = c.command("d LSUB \"\" Old").await;
    assert_eq!(
        r,
        [
            "* LSUB (\\Noselect \\HasNoChildren) \".\" \"Old\"",
            "d OK LSUB completed"
        ]
    );
    let r = c.command("e LIST (SUBSCRIBED) \"\" O*").await;
    assert_eq!(
        r,
        [
            "* LIST (\\NonExistent \\HasNoChildren \\Subscribed) \".\" \"Old\"",
            "e OK LIST completed"
        ]
    );
    let r = c.command("f LIST \"\" O*").await;
    assert_eq!(r, ["f OK LIST completed"]);
}

#[tokio::test]
async fn search_looks_through_transfer_encodings() {
    let server = start().await;
    let qp = b"Subject: =?utf-8?q?Caf=C3=A9_menu?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCr=C3=A8me br=C3=BBl=C3=A9e today\r\n";
    let b64 = b"Subject: plain\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nU2VjcmV0IHJlY2lwZQ==\r\n";
    server.deliver("bob@example.test", &[qp, b64]);
    let mut c = server.bob().await;
    c.command("a SELECT INBOX").await;
    let r = c
        .command("b SEARCH CHARSET UTF-8 BODY {15+}\r\nCR\u{c8}ME BR\u{db}L\u{c9}E")
        .await;
    assert_eq!(r[0], "* SEARCH 1", "{r:?}");
    let r = c.command("c SEARCH BODY recipe").await;
    assert_eq!(r[0], "* SEARCH 2");
    let r = c.command("d SEARCH SUBJECT {5+}\r\ncaf\u{e9}").await;
    assert_eq!(r[0], "* SEARCH 1");
    let r = c.command("e SEARCH TEXT {4+}\r\nMENU").await;
    assert_eq!(r[0], "* SEARCH 1");
    let r = c.command("f SEARCH BODY nowhere").await;
    assert_eq!(r[0], "* SEARCH");
}

#[tokio::test]
async fn header_keys_find_fields_past_a_long_header_and_ignore_the_body() {
    let server = start().await;
    // The header runs past the first 8 KiB read; the body is large.
    let big = format!(
        "Subject: big one\r\nDate: Tue, 3 Mar 2020 10:00:00 +0000\r\nX-Long: {}\r\n\
         X-Late: found\r\n\r\n{}",
        "a".repeat(9000),
        "body line\r\n".repeat(2000)
    );
    let lf = b"Subject: lf only\nDate: Wed, 4 Mar 2020 10:00:00 +0000\nX-Late: also\n\n\
               X-Late: found in the body\n";
    server.deliver("bob@example.test", &[big.as_bytes(), lf]);
    let mut c = server.bob().await;
    c.command("a SELECT INBOX").await;
    let r = c.command("b SEARCH HEADER X-Late found").await;
    assert_eq!(r[0], "* SEARCH 1", "{r:?}");
    let r = c.command("c SEARCH HEADER X-Late \"\"").await;
    assert_eq!(r[0], "* SEARCH 1 2", "{r:?}");
    let r = c.command("d SEARCH SENTON 4-Mar-2020").await;
    assert_eq!(r[0], "* SEARCH 2", "{r:?}");
    let r = c.command("e SEARCH SENTBEFORE 4-Mar-2020").await;
    assert_eq!(r[0], "* SEARCH 1", "{r:?}");
    let r = c.command("f SEARCH BODY \"found in\"").await;
    assert_eq!(r[0], "* SEARCH 2", "{r:?}");
}
