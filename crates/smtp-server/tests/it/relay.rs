//! Relay tricks: the backend decides, but it must see the address parsed as RFC 5321 says,
//! so that relay permission is judged on the real domain only.

use calm_smtp_server::Role;

use crate::harness::start;

fn pair(l: &str, d: &str) -> (String, String) {
    (l.to_owned(), d.to_owned())
}

#[tokio::test]
async fn addresses_reach_check_rcpt_parsed() {
    let server = start().await;
    let mut c = server.plain(Role::Mx).await;
    c.reply().await;
    c.ask("HELO client.test").await;
    c.ask("MAIL FROM:<alice@remote.test>").await;
    let cases = [
        // Percent hack: the local part keeps the %, the domain is ours; the backend finds no
        // such user (and must never route to evil.test).
        (
            "RCPT TO:<victim%evil.test@example.test>",
            "550 5.1.1 User unknown",
        ),
        // Bang path, same idea.
        (
            "RCPT TO:<evil.test!victim@example.test>",
            "550 5.1.1 User unknown",
        ),
        // Quoted local part containing @: still a local part of example.test.
        (
            "RCPT TO:<\"victim@evil.test\"@example.test>",
            "550 5.1.1 User unknown",
        ),
        // Source route through our domain to a foreign one: the route is dropped, so the
        // relay decision is made on evil.test, and denied.
        (
            "RCPT TO:<@example.test:victim@evil.test>",
            "554 5.7.1 Relay access denied",
        ),
        // IP literal: not a local domain.
        (
            "RCPT TO:<victim@[192.0.2.1]>",
            "554 5.7.1 Relay access denied",
        ),
    ];
    for (cmd, expect) in cases {
        assert_eq!(c.ask(cmd).await, expect, "{cmd}");
    }
    // A trailing dot is a syntax error and never reaches the backend.
    assert_eq!(
        c.ask("RCPT TO:<bob@example.test.>").await,
        "501 5.1.3 Bad recipient address syntax: invalid domain: domain must not end with a dot"
    );
    assert_eq!(
        server.backend.rcpts(),
        [
            pair("victim%evil.test", "example.test"),
            pair("evil.test!victim", "example.test"),
            pair("victim@evil.test", "example.test"),
            pair("victim", "evil.test"),
            pair("victim", "[192.0.2.1]"),
        ]
    );
    let checked = server.backend.rcpts_checked.lock().unwrap().clone();
    assert!(checked[4].is_ip_literal());
    assert_eq!(server.backend.enqueued_count(), 0);
}
