//! Normal sessions with a raw client: login paths, listing, retrieval, deletion semantics.

use calm_mailstore::{Flags, Store};
use calm_pop3_server::Pop3Event;

use crate::harness::{self, start, unique};

const MSG: &[u8] = b"Subject: hello\r\n\r\nline one\r\n.leading dot\r\n";

#[tokio::test]
async fn stls_then_login_list_retr_top_and_quit() {
    let server = start().await;
    let names = server.deliver("bob@example.test", &[MSG, b"Subject: two\r\n\r\nx\r\n"]);
    let mut plain = server.plain().await;
    assert_eq!(plain.ask("STLS").await, "+OK Begin TLS negotiation now.");
    let mut c = server.upgrade(plain).await;
    assert_eq!(
        c.login("bob", "secret").await,
        "+OK Logged in, 2 messages (61 octets)."
    );
    assert_eq!(c.ask("STAT").await, "+OK 2 61");
    assert_eq!(c.ask("LIST").await, "+OK 2 messages");
    assert_eq!(c.body().await, ["1 42", "2 19"]);
    assert_eq!(c.ask("UIDL").await, "+OK 2 messages");
    assert_eq!(
        c.body().await,
        [
            format!("1 {}", unique(&names[0])),
            format!("2 {}", unique(&names[1]))
        ]
    );
    assert_eq!(c.ask("RETR 1").await, "+OK 42 octets");
    assert_eq!(
        c.body().await,
        ["Subject: hello", "", "line one", ".leading dot"]
    );
    assert_eq!(c.ask("TOP 1 0").await, "+OK Top of message follows");
    assert_eq!(c.body().await, ["Subject: hello", ""]);
    assert_eq!(c.ask("QUIT").await, "+OK Logging out, 0 messages deleted.");
    c.expect_closed().await;
    server.wait_for_quits(1).await;
    // RETR marked message 1 \Seen (as Dovecot's POP3 does); TOP did not mark message 2.
    let inbox = Store::open(&server.maildir("bob@example.test"))
        .unwrap()
        .inbox()
        .unwrap();
    assert!(inbox.messages()[0].flags.contains(Flags::SEEN));
    assert!(!inbox.messages()[1].flags.contains(Flags::SEEN));
    let events = server.events();
    assert!(matches!(&events[0], Pop3Event::Connect { tls: false, .. }));
    assert!(events.iter().any(|e| matches!(e, Pop3Event::AuthSuccess { user, mechanism, .. } if user == "bob@example.test" && mechanism == "USER")));
    assert!(events.iter().any(|e| matches!(
        e,
        Pop3Event::Retr {
            octets: 42,
            top: None,
            ..
        }
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Pop3Event::Retr { top: Some(0), .. }))
    );
    assert!(
        matches!(events.last(), Some(Pop3Event::Quit { reason, deleted: 0, .. }) if reason == "quit")
    );
}

#[tokio::test]
async fn implicit_tls_and_auth_plain() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG]);
    let mut c = server.tls().await;
    // "\0bob\0secret"
    assert_eq!(
        c.ask("AUTH PLAIN AGJvYgBzZWNyZXQ=").await,
        "+OK Logged in, 1 messages (42 octets)."
    );
    assert_eq!(c.ask("QUIT").await, "+OK Logging out, 0 messages deleted.");
    let mut c = server.tls().await;
    assert_eq!(c.ask("AUTH PLAIN").await, "+ ");
    assert_eq!(
        c.ask("AGJvYgBzZWNyZXQ=").await,
        "+OK Logged in, 1 messages (42 octets)."
    );
}

#[tokio::test]
async fn dele_takes_effect_only_at_quit() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG, MSG, MSG]);
    // DELE then a dropped connection: nothing removed (RFC 1939 §6).
    let mut c = server.tls().await;
    c.login("bob", "secret").await;
    assert_eq!(c.ask("DELE 1").await, "+OK Marked to be deleted.");
    drop(c);
    server.wait_for_quits(1).await;
    // DELE then RSET then QUIT: nothing removed.
    let mut c = server.tls().await;
    assert_eq!(
        c.login("bob", "secret").await,
        "+OK Logged in, 3 messages (126 octets)."
    );
    c.ask("DELE 1").await;
    assert_eq!(c.ask("RSET").await, "+OK 3 messages");
    c.ask("QUIT").await;
    server.wait_for_quits(2).await;
    // DELE then QUIT: removed.
    let mut c = server.tls().await;
    assert_eq!(
        c.login("bob", "secret").await,
        "+OK Logged in, 3 messages (126 octets)."
    );
    c.ask("DELE 1").await;
    c.ask("DELE 3").await;
    assert_eq!(c.ask("QUIT").await, "+OK Logging out, 2 messages deleted.");
    server.wait_for_quits(3).await;
    let mut c = server.tls().await;
    assert_eq!(
        c.login("bob", "secret").await,
        "+OK Logged in, 1 messages (42 octets)."
    );
    let deles = server
        .events()
        .iter()
        .filter(|e| matches!(e, Pop3Event::Dele { .. }))
        .count();
    assert_eq!(deles, 2);
    assert!(
        server
            .events()
            .iter()
            .any(|e| matches!(e, Pop3Event::Quit { deleted: 2, .. }))
    );
}

#[tokio::test]
async fn large_message_streams_intact_with_dots_and_bare_lf() {
    let server = start().await;
    let mut msg = b"Subject: big\n\n".to_vec();
    for i in 0..40_000 {
        msg.extend_from_slice(if i % 3 == 0 {
            b".dotted line\n"
        } else {
            b"plain line of text\n"
        });
    }
    server.deliver("bob@example.test", &[&msg]);
    let mut c = server.tls().await;
    c.login("bob", "secret").await;
    let lf = msg.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        c.ask("RETR 1").await,
        format!("+OK {} octets", msg.len() + lf)
    );
    let body = c.body().await;
    let expected: Vec<String> = String::from_utf8(msg)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(body.len(), expected.len());
    assert!(body == expected, "message altered in transit");
}

#[tokio::test]
async fn message_expunged_by_another_session_is_reported_not_fatal() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG, MSG]);
    let mut c = server.tls().await;
    c.login("bob", "secret").await;
    // An IMAP session (the store directly) expunges message 1 meanwhile.
    let inbox = Store::open(&server.maildir("bob@example.test"))
        .unwrap()
        .inbox()
        .unwrap();
    inbox.expunge(&[1]).unwrap();
    assert_eq!(
        c.ask("RETR 1").await,
        "-ERR Message was removed by another session"
    );
    assert_eq!(c.ask("RETR 2").await, "+OK 42 octets");
    c.body().await;
    c.ask("DELE 1").await;
    assert_eq!(c.ask("QUIT").await, "+OK Logging out, 1 messages deleted.");
}

#[tokio::test]
async fn empty_and_new_mailboxes_work() {
    let server = start().await;
    let mut c = server.tls().await;
    assert_eq!(
        c.login("alice", "wonderland").await,
        "+OK Logged in, 0 messages (0 octets)."
    );
    assert_eq!(c.ask("STAT").await, "+OK 0 0");
    assert_eq!(c.ask("LIST").await, "+OK 0 messages");
    assert!(c.body().await.is_empty());
    assert_eq!(c.ask("RETR 1").await, "-ERR No such message");
    // The store was created on first login, special-use folders included.
    assert!(
        server
            .maildir("alice@example.test")
            .join(".Sent/cur")
            .is_dir()
    );
    harness::deliver_to(&server.maildir("alice@example.test"), &[MSG]);
    assert_eq!(
        c.ask("STAT").await,
        "+OK 0 0",
        "the listing is fixed at login (RFC 1939)"
    );
}
