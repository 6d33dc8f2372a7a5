//! Line length, message size, timeouts and garbage.

use std::time::Duration;

use calm_smtp_server::{Role, SmtpEvent};

use crate::harness::{start, start_with};

#[tokio::test]
async fn overlong_command_lines_are_refused_and_sync_kept() {
    let server = start().await;
    let mut c = server.plain(Role::Mx).await;
    c.reply().await;
    // RFC 5321 §4.5.3.1.4: 512 octets including CRLF.
    let line = format!("NOOP {}", "x".repeat(600));
    assert_eq!(c.ask(&line).await, "500 5.5.6 Line too long");
    // Far beyond the buffer limit: discarded as it arrives, answered once, still in step.
    let line = format!("HELO {}", "y".repeat(100_000));
    assert_eq!(c.ask(&line).await, "500 5.5.6 Line too long");
    assert_eq!(c.ask("HELO client.test").await, "250 mx.example.test");
    // Exactly 512 octets with CRLF is fine.
    let line = format!("NOOP {}", "z".repeat(510 - 5));
    assert_eq!(c.ask(&line).await, "250 2.0.0 Ok");
}

#[tokio::test]
async fn message_over_size_is_refused_at_end_of_data() {
    let server = start().await;
    let mut c = server.plain(Role::Mx).await;
    c.reply().await;
    c.ask("HELO client.test").await;
    c.ask("MAIL FROM:<alice@remote.test>").await;
    c.ask("RCPT TO:<bob@example.test>").await;
    assert!(c.ask("DATA").await.starts_with("354"));
    let line = format!("{}\r\n", "a".repeat(98));
    for _ in 0..200 {
        c.send(line.as_bytes()).await;
    }
    c.send(b".\r\n").await;
    assert_eq!(
        c.reply().await,
        "552 5.3.4 Message size exceeds fixed limit"
    );
    assert_eq!(server.backend.enqueued_count(), 0);
    // The session continues normally.
    assert_eq!(c.ask("MAIL FROM:<alice@remote.test>").await, "250 2.1.0 Ok");
}

#[tokio::test]
async fn long_text_line_in_data_is_refused_at_end() {
    let server = start().await;
    let mut c = server.plain(Role::Mx).await;
    c.reply().await;
    c.send(b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        .await;
    for _ in 0..4 {
        c.reply().await;
    }
    c.send(format!("{}\r\n.\r\n", "b".repeat(1200)).as_bytes())
        .await;
    assert_eq!(
        c.reply().await,
        "550 5.6.0 Message has lines longer than 1000 octets (RFC 5321 4.5.3.1.6)"
    );
    assert_eq!(server.backend.enqueued_count(), 0);
}

#[tokio::test]
async fn command_timeout_closes_with_421() {
    let server = start_with(|s| s.command_timeout = Duration::from_millis(200)).await;
    let mut c = server.plain(Role::Mx).await;
    c.reply().await;
    assert_eq!(
        c.line().await.as_deref(),
        Some("421 4.4.2 mx.example.test Error: timeout exceeded")
    );
    c.expect_closed().await;
    server.wait_for_disconnects(1).await;
    assert!(
        server
            .backend
            .events()
            .iter()
            .any(|e| matches!(e, SmtpEvent::Disconnect { reason, .. } if reason == "timeout"))
    );
}

#[tokio::test]
async fn garbage_never_takes_the_server_down() {
    let server = start().await;
    let mut seed: u32 = 0x2545_f491;
    for round in 0..20 {
        let mut c = server.plain(Role::Mx).await;
        let mut junk = Vec::new();
        for _ in 0..(200 + round * 50) {
            // xorshift: deterministic junk, heavy on CR, LF, dots and NULs.
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            junk.push(match seed % 8 {
                0 => b'\r',
                1 => b'\n',
                2 => b'.',
                3 => 0,
                _ => (seed >> 8) as u8,
            });
        }
        c.send(&junk).await;
        drop(c);
    }
    let mut c = server.plain(Role::Mx).await;
    assert_eq!(c.reply().await, "220 mx.example.test ESMTP calm");
    assert_eq!(c.ask("NOOP").await, "250 2.0.0 Ok");
}

#[tokio::test]
async fn client_vanishing_mid_data_is_an_event() {
    let server = start().await;
    let mut c = server.plain(Role::Mx).await;
    c.reply().await;
    c.send(b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\npartial")
        .await;
    for _ in 0..4 {
        c.reply().await;
    }
    drop(c);
    server.wait_for_disconnects(1).await;
    assert_eq!(server.backend.enqueued_count(), 0);
    let events = server.backend.events();
    assert!(events.iter().any(|e| matches!(e, SmtpEvent::Disconnect { reason, .. } if reason == "client closed connection")));
}
