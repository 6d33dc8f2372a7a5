//! What reaches the backend on DATA: Received header, flags, events; enqueue failures.

use calm_smtp_server::{EnqueueError, Role, SmtpEvent};

use crate::harness::{Client, start};

async fn send_one<S>(c: &mut Client<S>, extra_params: &str) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    c.reply().await;
    c.ask("EHLO client.test").await;
    assert_eq!(
        c.ask(&format!("MAIL FROM:<alice@remote.test>{extra_params}"))
            .await,
        "250 2.1.0 Ok"
    );
    assert_eq!(c.ask("RCPT TO:<bob@example.test>").await, "250 2.1.5 Ok");
    c.ask("DATA").await;
    c.send(b"Subject: test\r\n\r\n..dot\r\nbody\r\n.\r\n").await;
    c.reply().await
}

#[tokio::test]
async fn received_header_is_prepended() {
    let server = start().await;
    let mut c = server.plain(Role::Mx).await;
    let reply = send_one(&mut c, " BODY=8BITMIME").await;
    let id = reply
        .strip_prefix("250 2.0.0 Ok: queued as ")
        .expect(&reply)
        .to_owned();
    let msgs = server.backend.enqueued.lock().unwrap().clone();
    let [msg] = msgs.as_slice() else {
        panic!("one message expected")
    };
    assert_eq!(msg.id.as_str(), id);
    assert!(msg.body_8bit);
    assert!(!msg.smtputf8);
    assert_eq!(msg.mail_from.to_string(), "<alice@remote.test>");
    let text = String::from_utf8(msg.data.clone()).unwrap();
    let expected_start = format!(
        "Received: from client.test ([127.0.0.1])\r\n\tby mx.example.test (calm) with ESMTP id {id}\r\n\tfor <bob@example.test>; "
    );
    assert!(text.starts_with(&expected_start), "{text}");
    assert!(
        text.ends_with(" +0000\r\nSubject: test\r\n\r\n.dot\r\nbody\r\n"),
        "{text}"
    );
    let events = server.backend.events();
    let accepted = events.iter().find_map(|e| match e {
        SmtpEvent::Accepted {
            queue_id,
            size,
            rcpt,
            tls,
            ..
        } => Some((queue_id.clone(), *size, rcpt.clone(), *tls)),
        _ => None,
    });
    assert_eq!(
        accepted,
        Some((
            id,
            msg.data.len() as u64,
            vec!["bob@example.test".to_owned()],
            false
        ))
    );
}

#[tokio::test]
async fn enqueue_failure_is_451_and_not_accepted() {
    let server = start().await;
    *server.backend.fail_enqueue.lock().unwrap() =
        Some(EnqueueError::Temporary("disk on fire".into()));
    let mut c = server.plain(Role::Mx).await;
    assert_eq!(
        send_one(&mut c, "").await,
        "451 4.3.0 Error: queue file write error"
    );
    assert_eq!(server.backend.enqueued_count(), 0);
    let events = server.backend.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SmtpEvent::Accepted { .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SmtpEvent::Reject { code: 451, stage, .. } if stage == "DATA"))
    );
    // The session goes on: the client can retry in the same connection.
    *server.backend.fail_enqueue.lock().unwrap() = None;
    assert_eq!(c.ask("MAIL FROM:<alice@remote.test>").await, "250 2.1.0 Ok");
}

#[tokio::test]
async fn no_space_is_452() {
    let server = start().await;
    *server.backend.fail_enqueue.lock().unwrap() = Some(EnqueueError::NoSpace("ENOSPC".into()));
    let mut c = server.plain(Role::Mx).await;
    assert_eq!(
        send_one(&mut c, "").await,
        "452 4.3.1 Error: insufficient system storage"
    );
    assert_eq!(server.backend.enqueued_count(), 0);
}

#[tokio::test]
async fn events_name_stage_and_never_carry_passwords() {
    let server = start().await;
    let mut c = server.implicit_tls().await;
    c.reply().await;
    c.ask("EHLO client.test").await;
    // \0bob\0hunter2, then \0bob\0secret
    assert_eq!(
        c.ask("AUTH PLAIN AGJvYgBodW50ZXIy").await,
        "535 5.7.8 Authentication credentials invalid"
    );
    assert_eq!(
        c.ask("AUTH PLAIN AGJvYgBzZWNyZXQ=").await,
        "235 2.7.0 Authentication successful"
    );
    c.ask("QUIT").await;
    server.wait_for_disconnects(1).await;
    let events = server.backend.events();
    let json: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let all = json.join("\n");
    assert!(!all.contains("hunter2") && !all.contains("secret"), "{all}");
    assert!(
        all.contains(r#""event":"connect","listener":"submissions","role":"submissions""#),
        "{all}"
    );
    assert!(
        all.contains(
            r#"{"event":"auth_failure","user":"bob","client_ip":"127.0.0.1","mechanism":"PLAIN"}"#
        ),
        "{all}"
    );
    assert!(
        all.contains(r#"{"event":"auth_success","user":"bob","client_ip":"127.0.0.1"}"#),
        "{all}"
    );
    assert!(
        all.contains(r#""event":"reject","stage":"AUTH","code":535,"enhanced":"5.7.8""#),
        "{all}"
    );
    assert!(
        all.contains(r#"{"event":"disconnect","client_ip":"127.0.0.1","reason":"quit"}"#),
        "{all}"
    );
}
