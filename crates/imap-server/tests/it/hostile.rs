//! Hostile input: STARTTLS injection, overlong lines, huge literals, garbage.

use crate::harness::{start, start_with};

#[tokio::test]
async fn starttls_injection_is_discarded() {
    let server = start().await;
    let mut c = server.plain().await;
    // CVE-2011-0411 class: a command pipelined after STARTTLS in plaintext must not run
    // under TLS.
    c.send(b"a STARTTLS\r\nb CAPABILITY\r\n").await;
    assert_eq!(c.line().await.unwrap(), "a OK Begin TLS negotiation now");
    let mut c = server.upgrade(c).await;
    let r = c.command("c NOOP").await;
    assert_eq!(r, ["c OK NOOP completed"], "the injected command ran");
}

#[tokio::test]
async fn starttls_twice_and_under_imaps_is_refused() {
    let server = start().await;
    let mut c = server.tls().await;
    let r = c.command("a STARTTLS").await;
    assert_eq!(r, ["a BAD TLS is already active"]);
}

#[tokio::test]
async fn overlong_line_gets_bad_and_session_continues() {
    let server = start_with(|s| s.limits.max_line = 1000).await;
    let mut c = server.tls().await;
    let mut long = b"a NOOP ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 5000));
    long.extend_from_slice(b"\r\n");
    c.send(&long).await;
    assert_eq!(c.line().await.unwrap(), "* BAD Line too long");
    let r = c.command("b NOOP").await;
    assert_eq!(r, ["b OK NOOP completed"]);
}

#[tokio::test]
async fn huge_literals_are_refused() {
    let server = start_with(|s| s.limits.max_literal = 1000).await;
    let mut c = server.bob().await;
    // Synchronizing: refused without a continuation, the session goes on.
    let r = c.command("a APPEND INBOX {5000}").await;
    assert_eq!(r, ["a NO [TOOBIG] Literal too big"]);
    let r = c.command("b LOGIN {4294967295}").await;
    assert_eq!(r, ["b NO [TOOBIG] Literal too big"]);
    // Non-synchronizing: the octets are already coming, so the connection ends.
    c.send(b"c APPEND INBOX {5000+}\r\n").await;
    let rest = c.rest().await;
    assert_eq!(
        rest,
        "c BAD [TOOBIG] Literal too big\r\n* BYE Literal too big\r\n"
    );
}

#[tokio::test]
async fn garbage_gets_bad_then_bye() {
    let server = start_with(|s| s.max_errors = 5).await;
    let mut c = server.tls().await;
    for garbage in [
        &b"\r\n"[..],
        b"\x00\x01\x02\r\n",
        b"a FETCH\r\n",
        b"a SEARCH (((\r\n",
    ] {
        c.send(garbage).await;
        let line = c.line().await.unwrap();
        assert!(
            line.starts_with("* BAD") || line.starts_with("a BAD"),
            "{line}"
        );
    }
    c.send(b"\xff\xfe garbage\r\n").await;
    let rest = c.rest().await;
    assert!(rest.ends_with("* BYE Too many errors\r\n"), "{rest}");
}

#[tokio::test]
async fn literal_split_across_reads_and_continuation() {
    let server = start().await;
    let mut c = server.tls().await;
    c.send(b"a LOGIN {3}\r\n").await;
    assert_eq!(c.line().await.unwrap(), "+ Ready for literal data");
    c.send(b"bo").await;
    c.send(b"b \"secret\"\r\n").await;
    let r = c.until_tagged("a").await;
    assert!(r[0].starts_with("a OK [CAPABILITY"), "{r:?}");
    let r = c.command("b SELECT \"..\"").await;
    assert!(r[0].starts_with("b NO"), "{r:?}");
    let r = c.command("c SELECT ../../etc").await;
    assert!(r[0].starts_with("c NO"), "{r:?}");
    let r = c.command("d CREATE \"a/b\"").await;
    assert!(r[0].starts_with("d NO"), "{r:?}");
}

#[tokio::test]
async fn unauthenticated_connections_time_out_sooner() {
    let server = start_with(|s| {
        s.timeouts.login = std::time::Duration::from_millis(200);
    })
    .await;
    let mut c = server.tls().await;
    let rest = c.rest().await;
    assert_eq!(rest, "* BYE Autologout; idle for too long\r\n");
    let mut c = server.bob().await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let r = c.command("a NOOP").await;
    assert_eq!(r, ["a OK NOOP completed"]);
}

#[tokio::test]
async fn authenticate_garbage_cancel_and_failure_limit() {
    let server = start().await;
    let mut c = server.tls().await;
    let r = c.command("a AUTHENTICATE PLAIN !!!notbase64").await;
    assert!(r[0].starts_with("a BAD"), "{r:?}");
    c.send(b"b AUTHENTICATE PLAIN\r\n").await;
    assert_eq!(c.line().await.unwrap(), "+ ");
    c.send(b"*\r\n").await;
    assert_eq!(c.line().await.unwrap(), "b BAD Authentication cancelled");
    let r = c.command("c AUTHENTICATE CRAM-MD5").await;
    assert_eq!(r, ["c NO Unsupported mechanism"]);
    // base64("\0bob\0nope"), three times: the third failure ends the connection.
    for tag in ["d", "e"] {
        let r = c
            .command(&format!("{tag} AUTHENTICATE PLAIN AGJvYgBub3Bl"))
            .await;
        assert!(
            r[0].starts_with(&format!("{tag} NO [AUTHENTICATIONFAILED]")),
            "{r:?}"
        );
    }
    c.send(b"f LOGIN bob nope\r\n").await;
    let rest = c.rest().await;
    assert_eq!(
        rest,
        "f NO [AUTHENTICATIONFAILED] Authentication failed\r\n* BYE Too many failed logins\r\n"
    );
}

#[tokio::test]
async fn idle_wants_done_and_pipelining_is_answered_in_order() {
    let server = start().await;
    let mut c = server.bob().await;
    c.send(b"a IDLE\r\n").await;
    assert_eq!(c.line().await.unwrap(), "+ idling");
    c.send(b"b NOOP\r\n").await;
    assert_eq!(c.line().await.unwrap(), "a BAD Expected DONE");
    let mut burst = Vec::new();
    for i in 0..200 {
        burst.extend_from_slice(format!("p{i} NOOP\r\n").as_bytes());
    }
    c.send(&burst).await;
    for i in 0..200 {
        assert_eq!(c.line().await.unwrap(), format!("p{i} OK NOOP completed"));
    }
}
