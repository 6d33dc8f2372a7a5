//! Keywords across sessions and from a Maildir Dovecot wrote (issue 5); the single-session
//! commands are in the `keywords.txt` transcript.

use crate::harness::start;

const MSG: &[u8] = b"From: a@example.test\r\nSubject: k\r\n\r\nHello.\r\n";

#[tokio::test]
async fn another_session_sees_new_keywords_in_flags_and_fetch() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG]);
    let mut a = server.bob().await;
    let mut b = server.bob().await;
    a.command("a1 SELECT INBOX").await;
    b.command("b1 SELECT INBOX").await;
    a.send(b"a2 IDLE\r\n").await;
    assert_eq!(a.line().await.unwrap(), "+ idling");
    let r = b.command("b2 STORE 1 +FLAGS ($Junk)").await;
    assert_eq!(r.last().unwrap(), "b2 OK STORE completed");
    let flags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk";
    assert_eq!(a.line().await.unwrap(), format!("* FLAGS ({flags})"));
    assert_eq!(
        a.line().await.unwrap(),
        format!("* OK [PERMANENTFLAGS ({flags} \\*)] Flags permitted")
    );
    assert_eq!(a.line().await.unwrap(), "* 1 FETCH (UID 1 FLAGS ($Junk))");
    // A known keyword removed: only the FETCH.
    b.command("b3 STORE 1 -FLAGS.SILENT ($JUNK)").await;
    assert_eq!(a.line().await.unwrap(), "* 1 FETCH (UID 1 FLAGS ())");
    a.send(b"DONE\r\n").await;
    assert_eq!(a.line().await.unwrap(), "a2 OK IDLE terminated");
}

#[tokio::test]
async fn keywords_dovecot_stored_are_read_by_name() {
    let server = start().await;
    let root = server.maildir("bob@example.test");
    std::fs::create_dir_all(root.join("cur")).unwrap();
    std::fs::create_dir_all(root.join("new")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    // As Dovecot leaves them: names by index, letters after the capitals.
    std::fs::write(
        root.join("dovecot-keywords"),
        "0 $Junk\n1 NonJunk\n2 $label1\n",
    )
    .unwrap();
    std::fs::write(root.join("cur/1700000000.M1P1.mx,S=44:2,Sac"), MSG).unwrap();
    let mut c = server.bob().await;
    let r = c.command("a SELECT INBOX").await;
    assert_eq!(
        r[0],
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk NonJunk $label1)"
    );
    let r = c.command("b FETCH 1 FLAGS").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Seen $Junk $label1))");
    let r = c
        .command("c SEARCH KEYWORD $LABEL1 UNKEYWORD nonjunk")
        .await;
    assert_eq!(r[0], "* SEARCH 1");
    c.command("d STORE 1 -FLAGS.SILENT ($junk)").await;
    c.command("e STORE 1 +FLAGS.SILENT (nonjunk)").await;
    let names: Vec<String> = std::fs::read_dir(root.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["1700000000.M1P1.mx,S=44:2,Sbc"]);
}
