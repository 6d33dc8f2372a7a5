//! STARTTLS and implicit TLS, including the CVE-2011-0411 class injection.

use calm_smtp_server::{Role, SmtpEvent};

use crate::harness::start;

#[tokio::test]
async fn starttls_injection_is_not_executed() {
    let server = start().await;
    let mut c = server.plain(Role::Mx).await;
    assert!(c.reply().await.starts_with("220 "));
    assert!(c.ask("EHLO client.test").await.contains("250 STARTTLS"));
    // A man in the middle appends plaintext behind STARTTLS, in the same packet.
    c.send(b"STARTTLS\r\nRSET\r\n").await;
    assert_eq!(c.reply().await, "220 2.0.0 Ready to start TLS");
    // `upgrade` fails the test if any plaintext reply followed the 220.
    let mut c = server.upgrade(c).await;
    // Inside TLS: the first reply must answer our EHLO, not the injected RSET, and the EHLO
    // state was reset (RFC 3207 §4.2), so MAIL before EHLO is out of sequence.
    assert_eq!(
        c.ask("MAIL FROM:<a@remote.test>").await,
        "503 5.5.1 Error: send HELO/EHLO first"
    );
    let ehlo = c.ask("EHLO client.test").await;
    assert!(ehlo.starts_with("250-mx.example.test"), "{ehlo}");
    assert!(
        !ehlo.contains("STARTTLS"),
        "STARTTLS not offered twice: {ehlo}"
    );
    assert!(!ehlo.contains("AUTH"), "mx never offers AUTH: {ehlo}");
    assert_eq!(c.ask("NOOP").await, "250 2.0.0 Ok");
    assert_eq!(c.ask("QUIT").await, "221 2.0.0 Bye");
}

#[tokio::test]
async fn submission_starttls_then_auth_then_relay() {
    let server = start().await;
    let mut c = server.plain(Role::Submission).await;
    c.reply().await;
    c.ask("EHLO client.test").await;
    assert_eq!(c.ask("STARTTLS").await, "220 2.0.0 Ready to start TLS");
    let mut c = server.upgrade(c).await;
    let ehlo = c.ask("EHLO client.test").await;
    assert!(ehlo.ends_with("250 AUTH PLAIN LOGIN"), "{ehlo}");
    assert_eq!(
        c.ask("MAIL FROM:<bob@example.test>").await,
        "530 5.7.0 Authentication required"
    );
    assert_eq!(
        c.ask("AUTH PLAIN AGJvYgBzZWNyZXQ=").await,
        "235 2.7.0 Authentication successful"
    );
    assert_eq!(c.ask("MAIL FROM:<bob@example.test>").await, "250 2.1.0 Ok");
    assert_eq!(
        c.ask("RCPT TO:<friend@elsewhere.test>").await,
        "250 2.1.5 Ok"
    );
    assert_eq!(c.ask("DATA").await, "354 End data with <CR><LF>.<CR><LF>");
    c.send(b"Subject: hi\r\n\r\nhello\r\n.\r\n").await;
    assert!(c.reply().await.starts_with("250 2.0.0 Ok: queued as "));
    let msgs = server.backend.enqueued.lock().unwrap().clone();
    let [msg] = msgs.as_slice() else {
        panic!("one message expected")
    };
    assert_eq!(msg.session.auth_user.as_deref(), Some("bob"));
    assert!(msg.session.tls);
    assert_eq!(msg.session.role, Role::Submission);
    assert_eq!(msg.session.listener, "submission");
    let text = String::from_utf8_lossy(&msg.data);
    assert!(text.contains("(calm) with ESMTPSA id "), "{text}");
}

#[tokio::test]
async fn starttls_forgets_authentication_state_and_helo() {
    let server = start().await;
    let mut c = server.plain(Role::Submission).await;
    c.reply().await;
    c.ask("EHLO first.test").await;
    c.ask("STARTTLS").await;
    let mut c = server.upgrade(c).await;
    c.ask("EHLO second.test").await;
    c.ask("AUTH PLAIN AGJvYgBzZWNyZXQ=").await;
    c.ask("MAIL FROM:<bob@example.test>").await;
    let senders = server.backend.senders_checked.lock().unwrap().clone();
    assert_eq!(senders[0].1.helo.as_deref(), Some("second.test"));
}

#[tokio::test]
async fn implicit_tls_greets_inside_tls() {
    let server = start().await;
    let mut c = server.implicit_tls().await;
    assert_eq!(c.reply().await, "220 mx.example.test ESMTP calm");
    let ehlo = c.ask("EHLO client.test").await;
    assert!(!ehlo.contains("STARTTLS"));
    assert_eq!(
        c.ask("STARTTLS").await,
        "503 5.5.1 Error: TLS already active"
    );
    let events = server.backend.events();
    assert!(events.iter().any(|e| matches!(
        e,
        SmtpEvent::Connect {
            tls: true,
            role: Role::Submissions,
            ..
        }
    )));
}

#[tokio::test]
async fn plaintext_on_implicit_tls_port_fails_cleanly() {
    let server = start().await;
    let mut c = server.plain(Role::Submissions).await;
    c.send(b"EHLO client.test\r\n").await;
    // The server answers with a TLS alert at most, never with SMTP in plaintext.
    let rest = c.drain_until_closed().await;
    assert!(!String::from_utf8_lossy(&rest).contains("220"), "{rest:?}");
    server.wait_for_disconnects(1).await;
    let events = server.backend.events();
    let reason = events.iter().find_map(|e| match e {
        SmtpEvent::Disconnect { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(reason.is_some_and(|r| r.starts_with("tls handshake failed")));
    // The listener is still alive.
    let mut ok = server.implicit_tls().await;
    assert!(ok.reply().await.starts_with("220 "));
}
