//! CONDSTORE across sessions (RFC 7162 §3.1): the values clients compare. The single-session
//! syntax is in the `condstore.txt` transcript.

use crate::harness::start;

const MSG: &[u8] = b"From: a@example.test\r\nSubject: c\r\n\r\nHello.\r\n";

/// The number after `key` in `line` (`MODSEQ (n)`, `HIGHESTMODSEQ n`, `MODSEQ n`).
fn value(line: &str, key: &str) -> u64 {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len()..];
    let digits: String = rest
        .trim_start_matches([' ', '('])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

fn highest(responses: &[String]) -> u64 {
    let line = responses
        .iter()
        .find(|l| l.contains("[HIGHESTMODSEQ "))
        .expect("HIGHESTMODSEQ");
    value(line, "HIGHESTMODSEQ")
}

#[tokio::test]
async fn changedsince_returns_what_another_session_changed_and_nothing_else() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG, MSG, MSG]);
    let mut a = server.bob().await;
    let seen = highest(&a.command("a1 SELECT INBOX (CONDSTORE)").await);
    let mut b = server.bob().await;
    b.command("b1 SELECT INBOX").await;
    let r = b.command("b2 UID STORE 2 +FLAGS.SILENT (\\Seen)").await;
    assert_eq!(
        r,
        ["b2 OK UID STORE completed"],
        "no MODSEQ before CONDSTORE"
    );
    // A new session resynchronising from what it last saw.
    let mut c = server.bob().await;
    let now = highest(&c.command("c1 SELECT INBOX (CONDSTORE)").await);
    assert!(now > seen);
    let r = c
        .command(&format!("c2 UID FETCH 1:* (FLAGS) (CHANGEDSINCE {seen})"))
        .await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r[0].starts_with("* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ ("));
    assert_eq!(value(&r[0], "MODSEQ"), now);
    // The session that had it selected hears of it with the MODSEQ.
    let r = a.command("a2 NOOP").await;
    assert_eq!(
        r[0],
        format!("* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ ({now}))")
    );
    let r = c.command("c3 SEARCH MODSEQ 1").await;
    assert_eq!(r[0], format!("* SEARCH 1 2 3 (MODSEQ {now})"));
    let r = c.command(&format!("c4 SEARCH MODSEQ {}", seen + 1)).await;
    assert_eq!(r[0], format!("* SEARCH 2 (MODSEQ {now})"));
    let r = c.command("c5 STATUS INBOX (HIGHESTMODSEQ)").await;
    assert_eq!(r[0], format!("* STATUS \"INBOX\" (HIGHESTMODSEQ {now})"));
}

#[tokio::test]
async fn unchangedsince_refuses_messages_another_session_changed() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG, MSG]);
    let mut a = server.bob().await;
    a.command("a1 ENABLE CONDSTORE").await;
    a.command("a2 SELECT INBOX").await;
    let r = a.command("a3 FETCH 1:2 (MODSEQ)").await;
    let known = value(&r[0], "MODSEQ").max(value(&r[1], "MODSEQ"));
    let mut b = server.bob().await;
    b.command("b1 SELECT INBOX").await;
    b.command("b2 STORE 1 +FLAGS (\\Flagged)").await;
    // a has not seen b's change: message 1 is refused, message 2 is stored.
    let r = a
        .command(&format!(
            "a4 STORE 1:2 (UNCHANGEDSINCE {known}) +FLAGS.SILENT (\\Deleted)"
        ))
        .await;
    let tagged = r.last().unwrap();
    assert_eq!(tagged, "a4 OK [MODIFIED 1] STORE completed", "{r:?}");
    assert!(r[0].starts_with("* 2 FETCH (MODSEQ ("), "{r:?}");
    let stored = value(&r[0], "MODSEQ");
    assert!(stored > known);
    let r = a.command("a5 UID FETCH 1:2 (FLAGS MODSEQ)").await;
    assert!(
        r.contains(&format!(
            "* 2 FETCH (UID 2 FLAGS (\\Deleted) MODSEQ ({stored}))"
        )),
        "{r:?}"
    );
    assert!(
        r.iter()
            .any(|l| l.starts_with("* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (")),
        "{r:?}"
    );
    // The FETCH ran on a's view; the change follows it, unsolicited. With the value of the
    // last response, the same STORE goes through.
    let line = r
        .iter()
        .rev()
        .find(|l| l.starts_with("* 1 FETCH (UID 1 FLAGS"))
        .unwrap();
    let m1 = value(line, "MODSEQ");
    let r = a
        .command(&format!(
            "a6 UID STORE 1 (UNCHANGEDSINCE {m1}) +FLAGS (\\Deleted)"
        ))
        .await;
    assert_eq!(r.last().unwrap(), "a6 OK UID STORE completed");
    assert!(value(&r[0], "MODSEQ") > m1);
}
