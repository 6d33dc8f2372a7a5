use std::sync::Arc;

use calm_outbound::OutboundEvent;
use calm_queue::outbound::{FailedRecipient, QueuedMessage};
use mail_parser::{MessageParser, MimeHeaders};

use crate::harness::*;

fn rejecting() -> Script {
    Arc::new(|c, cmd| {
        if cmd.starts_with("RCPT") {
            reply(
                "550-5.1.1 <b@example.test>: Recipient address rejected:\r\n550 5.1.1 User unknown in virtual mailbox table",
            )
        } else {
            accept(c, cmd)
        }
    })
}

#[tokio::test]
async fn a_5xx_bounces_at_once_with_a_dsn_quoting_the_reply_and_is_never_retried() {
    let rx = receiver("127.0.0.2", 0, rejecting()).await;
    let mut s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("X1", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    assert!(s.ids().is_empty(), "bounced messages leave the queue");
    let dsn = s.dsns.try_recv().expect("a DSN");
    assert_eq!(
        (dsn.mail_from.as_str(), dsn.rcpt_to.as_str()),
        ("", "a@sender.test")
    );
    let msg = MessageParser::default().parse(&dsn.data).unwrap();
    assert_eq!(msg.content_type().unwrap().subtype(), Some("report"));
    let status = String::from_utf8_lossy(msg.parts[2].contents()).into_owned();
    assert!(status.contains("Status: 5.1.1"), "{status}");
    assert!(status.contains("Action: failed"));
    assert!(status.contains("Final-Recipient: rfc822; b@example.test"));
    assert!(
        status.contains("Diagnostic-Code: smtp; 550 5.1.1 <b@example.test>: Recipient address rejected: User unknown"),
        "{status}"
    );
    assert!(status.contains("Remote-MTA: dns; mx1.example.test"));
    let headers = String::from_utf8_lossy(msg.parts[3].contents()).into_owned();
    assert!(headers.contains("Subject: hello there"));
    // Time passes, nothing is retried.
    s.advance(86_400);
    s.engine.run_once().await;
    assert_eq!(rx.connections(), 1);
    let bounced = s.events().into_iter().find_map(|e| match e {
        OutboundEvent::Bounced {
            class,
            subject,
            code,
            dsn,
            ..
        } => Some((class, subject, code, dsn)),
        _ => None,
    });
    assert_eq!(bounced, Some((5, 1, Some(550), true)));
    assert_eq!(s.count("dsn_queued"), 1);
}

#[tokio::test]
async fn no_bounce_is_ever_sent_to_the_null_sender() {
    let rx = receiver("127.0.0.2", 0, rejecting()).await;
    let mut s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("X2", "", &["b@example.test"], BODY);
    s.engine.run_once().await;
    assert!(s.dsns.try_recv().is_err());
    assert!(s.ids().is_empty());
    assert!(
        s.events()
            .iter()
            .any(|e| matches!(e, OutboundEvent::Bounced { dsn: false, .. }))
    );
}

#[tokio::test]
async fn a_null_mx_bounces_immediately_without_connecting() {
    let rx = receiver("127.0.0.2", 0, Arc::new(accept)).await;
    let mut s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("X3", "a@sender.test", &["u@null.test"], BODY);
    s.engine.run_once().await;
    assert_eq!(rx.connections(), 0);
    let dsn = s.dsns.try_recv().expect("a DSN");
    let text = String::from_utf8_lossy(&dsn.data).into_owned();
    // RFC 7505 §4.2.
    assert!(text.contains("Status: 5.1.10"), "{text}");
    assert!(s.ids().is_empty());
}

#[tokio::test]
async fn a_domain_that_does_not_exist_bounces_and_a_dns_outage_defers() {
    let rx = receiver("127.0.0.2", 0, Arc::new(accept)).await;
    let mut s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("X4", "a@sender.test", &["u@missing.test"], BODY);
    s.engine.run_once().await;
    let text = String::from_utf8_lossy(&s.dsns.try_recv().expect("a DSN").data).into_owned();
    assert!(text.contains("Status: 5.1.2"), "{text}");

    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut s = setup(zone(), rx.addr.port(), |c| {
        c.resolver.upstream = Some(silent.local_addr().unwrap());
        c.resolver.timeout = std::time::Duration::from_millis(200);
    })
    .await;
    s.enqueue("X5", "a@sender.test", &["u@example.test"], BODY);
    s.engine.run_once().await;
    assert!(s.dsns.try_recv().is_err());
    let r = &s.engine.show("X5").unwrap().state.recipients[0];
    assert_eq!(r.status_code.as_deref(), Some("4.4.3"), "{r:?}");
}

#[tokio::test]
async fn recipients_the_spool_could_not_route_are_bounced_too() {
    let mut s = setup(zone(), 9, |_| {}).await;
    let message = QueuedMessage {
        id: "X6".into(),
        mail_from: "a@sender.test".into(),
        rcpt_to: vec![],
        failed: vec![FailedRecipient {
            rcpt: "gone@local.test".into(),
            reason: "no such user".into(),
        }],
        received_at: T0,
        size: BODY.len() as u64,
    };
    s.queue.write_batch(&[(message, BODY)]).unwrap();
    s.engine.run_once().await;
    let text = String::from_utf8_lossy(&s.dsns.try_recv().expect("a DSN").data).into_owned();
    assert!(
        text.contains(
            "Final-Recipient: rfc822; gone@local.test\r\nAction: failed\r\nStatus: 5.1.1"
        )
    );
    assert!(
        text.contains("Diagnostic-Code: x-calm; no such user"),
        "{text}"
    );
    assert!(s.ids().is_empty());
    assert_eq!(s.count("bounced"), 1);
}

#[tokio::test]
async fn a_dsn_that_cannot_be_handed_over_is_kept_and_retried() {
    let rx = receiver("127.0.0.2", 0, rejecting()).await;
    let mut s = setup(zone(), rx.addr.port(), |_| {}).await;
    // Close the DSN channel's receiving end by swapping in a dropped one.
    let (tx, rx_dsn) = tokio::sync::mpsc::unbounded_channel();
    drop(rx_dsn);
    let fresh = std::mem::replace(&mut s.dsns, tokio::sync::mpsc::unbounded_channel().1);
    drop(fresh);
    let s = setup_with_sink(s, rx.addr.port(), Arc::new(tx)).await;
    s.enqueue("X7", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    assert_eq!(s.ids(), ["X7"], "kept while its DSN is owed");
    assert_eq!(s.count("dsn_failed"), 1);
    let r = &s.engine.show("X7").unwrap().state.recipients[0];
    assert!(!r.dsn_done);
    // The recipient is not attempted again; only the DSN is.
    s.advance(120);
    s.engine.run_once().await;
    assert_eq!(rx.connections(), 1);
    assert_eq!(s.count("dsn_failed"), 2);
}

#[tokio::test]
async fn queued_addresses_that_would_inject_commands_are_refused_not_sent() {
    let rx = receiver("127.0.0.2", 0, Arc::new(accept)).await;
    let mut s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue(
        "X8",
        "a@sender.test",
        &["ok@example.test", "x>\r\nRSET\r\nRCPT TO:<y@example.test"],
        BODY,
    );
    s.engine.run_once().await;
    assert_eq!(rx.got()[0].rcpts, ["ok@example.test"]);
    assert!(
        rx.commands()
            .iter()
            .all(|c| c != "RSET" || !c.contains("x@"))
    );
    let text = String::from_utf8_lossy(&s.dsns.try_recv().expect("a DSN").data).into_owned();
    assert!(text.contains("Status: 5.1.3"), "{text}");
}
