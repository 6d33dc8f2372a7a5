//! Hostile and broken input: raw transcripts that must get `-ERR` with a reason, never a
//! crash, a leak of a password, or a command executed where it must not be.

use std::time::Duration;

use calm_pop3_server::Pop3Event;

use crate::harness::{start, start_with};

const MSG: &[u8] = b"Subject: x\r\n\r\nbody\r\n";

#[tokio::test]
async fn stls_injection_is_discarded() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG]);
    let mut plain = server.plain().await;
    // CVE-2011-0411 class: commands pipelined behind STLS in the same packet.
    plain
        .send(b"STLS\r\nUSER bob\r\nPASS secret\r\nDELE 1\r\nQUIT\r\n")
        .await;
    assert_eq!(
        plain.line().await.unwrap(),
        "+OK Begin TLS negotiation now."
    );
    let mut c = server.upgrade(plain).await;
    assert_eq!(
        c.ask("STAT").await,
        "-ERR STAT is not valid before authentication"
    );
    assert!(!server.events().iter().any(|e| matches!(
        e,
        Pop3Event::AuthSuccess { .. } | Pop3Event::AuthFailure { .. }
    )));
    assert_eq!(
        c.login("bob", "secret").await,
        "+OK Logged in, 1 messages (20 octets)."
    );
}

#[tokio::test]
async fn plaintext_login_refused_before_tls_unless_allowed() {
    let server = start().await;
    let mut c = server.plain().await;
    c.send(b"CAPA\r\n").await;
    assert_eq!(c.line().await.unwrap(), "+OK Capability list follows");
    let caps = c.body().await;
    assert!(
        caps.contains(&"STLS".to_owned()) && !caps.contains(&"USER".to_owned()),
        "{caps:?}"
    );
    let refused = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections";
    assert_eq!(c.ask("USER bob").await, refused);
    assert_eq!(c.ask("PASS secret").await, refused);
    assert_eq!(c.ask("AUTH PLAIN AGJvYgBzZWNyZXQ=").await, refused);
    assert!(server.events().iter().all(|e| !matches!(
        e,
        Pop3Event::AuthSuccess { .. } | Pop3Event::AuthFailure { .. }
    )));

    let server = start_with(|s| s.allow_plaintext_auth = true).await;
    let mut c = server.plain().await;
    assert_eq!(
        c.login("bob", "secret").await,
        "+OK Logged in, 0 messages (0 octets)."
    );
}

#[tokio::test]
async fn second_login_to_a_locked_maildrop_gets_in_use() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG, MSG]);
    let mut first = server.tls().await;
    first.login("bob", "secret").await;
    let mut second = server.tls().await;
    assert_eq!(
        second.login("bob", "secret").await,
        "-ERR [IN-USE] Mailbox is locked by another POP3 session"
    );
    assert_eq!(
        second.ask("STAT").await,
        "-ERR STAT is not valid before authentication"
    );
    // Another user is not affected.
    let mut alice = server.tls().await;
    assert_eq!(
        alice.login("alice", "wonderland").await,
        "+OK Logged in, 0 messages (0 octets)."
    );
    first.ask("DELE 1").await;
    first.ask("QUIT").await;
    server.wait_for_quits(1).await;
    assert_eq!(
        second.login("bob", "secret").await,
        "+OK Logged in, 1 messages (20 octets)."
    );
}

#[tokio::test]
async fn auth_failures_never_log_the_password_and_end_the_session() {
    let server = start().await;
    let mut c = server.tls().await;
    assert_eq!(
        c.login("bob", "hunter2-wrong").await,
        "-ERR [AUTH] Authentication failed."
    );
    // "\0bob\0hunter3-wrong"
    assert_eq!(
        c.ask("AUTH PLAIN AGJvYgBodW50ZXIzLXdyb25n").await,
        "-ERR [AUTH] Authentication failed."
    );
    c.send(b"USER mallory\r\nPASS hunter4-wrong\r\n").await;
    assert_eq!(c.line().await.unwrap(), "+OK");
    assert_eq!(
        c.line().await.unwrap(),
        "-ERR [AUTH] Authentication failed."
    );
    assert_eq!(
        c.line().await.unwrap(),
        "-ERR Too many authentication failures, closing"
    );
    c.expect_closed().await;
    server.wait_for_quits(1).await;
    let log: String = server
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(!log.contains("hunter"), "password in events: {log}");
    let failures: Vec<(String, String)> = server
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Pop3Event::AuthFailure {
                user, mechanism, ..
            } => Some((user, mechanism)),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [
            ("bob".into(), "USER".into()),
            ("bob".into(), "PLAIN".into()),
            ("mallory".into(), "USER".into())
        ]
    );
    assert!(
        log.contains(r#""reason":"too_many_auth_failures""#),
        "{log}"
    );
}

#[tokio::test]
async fn overlong_lines_and_binary_garbage_get_err_and_the_session_continues() {
    let server = start().await;
    let mut c = server.tls().await;
    let mut long = vec![b'A'; 100_000];
    long.extend_from_slice(b"\r\n");
    c.send(&long).await;
    assert_eq!(c.line().await.unwrap(), "-ERR Command line too long");
    assert_eq!(
        c.ask(&format!("USER {}", "b".repeat(300))).await,
        "-ERR Command line too long"
    );
    c.send(b"\x00\xff\xfe\x1b[2J\r\n").await;
    assert_eq!(
        c.line().await.unwrap(),
        "-ERR Invalid characters in command"
    );
    assert_eq!(c.ask("RETR -1").await, "-ERR Invalid message number");
    assert_eq!(c.ask("NOOP").await, "+OK");
    assert_eq!(
        c.login("bob", "secret").await,
        "+OK Logged in, 0 messages (0 octets)."
    );
}

#[tokio::test]
async fn commands_in_the_wrong_state() {
    // More errors than the default limit of 10 are made here on purpose.
    let server = start_with(|s| s.max_errors = 50).await;
    server.deliver("bob@example.test", &[MSG]);
    let mut c = server.tls().await;
    for cmd in [
        "STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 1", "RSET",
    ] {
        let verb = cmd.split(' ').next().unwrap();
        assert_eq!(
            c.ask(cmd).await,
            format!("-ERR {verb} is not valid before authentication")
        );
    }
    assert_eq!(
        c.ask("PASS secret").await,
        "-ERR No user name given; send USER first"
    );
    assert_eq!(c.ask("STLS").await, "-ERR TLS is already active");
    c.login("bob", "secret").await;
    assert_eq!(
        c.ask("USER bob").await,
        "-ERR USER is not valid after authentication"
    );
    assert_eq!(
        c.ask("AUTH PLAIN").await,
        "-ERR AUTH is not valid after authentication"
    );
    assert_eq!(
        c.ask("STLS").await,
        "-ERR STLS is only valid before authentication"
    );
    assert_eq!(c.ask("APOP bob 1234").await, "-ERR Unknown command");
}

#[tokio::test]
async fn too_many_errors_close_the_connection() {
    let server = start().await;
    let mut c = server.tls().await;
    c.send(&b"BOGUS\r\n".repeat(12)).await;
    for _ in 0..9 {
        assert_eq!(c.line().await.unwrap(), "-ERR Unknown command");
    }
    assert_eq!(
        c.line().await.unwrap(),
        "-ERR Unknown command; too many errors, closing"
    );
    c.expect_closed().await;
}

#[tokio::test]
async fn idle_timeout_logs_out_without_update() {
    let server = start_with(|s| s.timeouts.idle = Duration::from_millis(300)).await;
    server.deliver("bob@example.test", &[MSG]);
    let mut c = server.tls().await;
    c.login("bob", "secret").await;
    c.ask("DELE 1").await;
    assert_eq!(
        c.line().await.unwrap(),
        "-ERR Autologout; idle for too long"
    );
    c.expect_closed().await;
    server.wait_for_quits(1).await;
    assert!(
        server.events().iter().any(
            |e| matches!(e, Pop3Event::Quit { reason, deleted: 0, .. } if reason == "timeout")
        )
    );
    let mut again = server.tls().await;
    assert_eq!(
        again.login("bob", "secret").await,
        "+OK Logged in, 1 messages (20 octets)."
    );
}

#[tokio::test]
async fn garbage_instead_of_a_tls_handshake_is_a_clean_disconnect() {
    let server = start_with(|s| s.timeouts.handshake = Duration::from_millis(500)).await;
    let mut raw = tokio::net::TcpStream::connect(server.pop3s).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut raw, b"USER bob\r\n\r\n\r\n")
        .await
        .unwrap();
    server.wait_for_quits(1).await;
    let reason = server.events().into_iter().find_map(|e| match e {
        Pop3Event::Quit { reason, .. } => Some(reason),
        _ => None,
    });
    assert!(
        reason.unwrap().starts_with("tls handshake"),
        "{:?}",
        server.events()
    );
    // The listener keeps serving.
    let mut c = server.tls().await;
    assert_eq!(c.ask("NOOP").await, "+OK");
}
