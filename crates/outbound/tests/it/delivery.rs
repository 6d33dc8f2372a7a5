use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::harness::*;

#[tokio::test]
async fn delivers_to_the_mx_over_one_reused_connection() {
    let rx = receiver("127.0.0.2", 0, Arc::new(accept)).await;
    let s = setup(zone(), rx.addr.port(), |_| {}).await;
    for id in ["A1", "A2", "A3"] {
        s.enqueue(
            id,
            "a@sender.test",
            &["b@example.test", "c@Example.test"],
            BODY,
        );
    }
    s.engine.run_once().await;
    let got = rx.got();
    assert_eq!(got.len(), 3, "{:?}", s.events());
    assert_eq!(rx.connections(), 1, "connection reuse");
    assert_eq!(got[0].from, "a@sender.test");
    assert_eq!(got[0].rcpts, ["b@example.test", "c@Example.test"]);
    // Dot-stuffed on the wire, identical after unstuffing.
    assert_eq!(got[0].data, BODY);
    assert!(s.ids().is_empty(), "delivered messages leave the queue");
    assert_eq!(s.count("delivered_remote"), 6);
    assert_eq!(s.count("delivery_attempt"), 1);
    // PIPELINING was offered: the envelope went as one batch; SIZE was declared.
    let cmds = rx.commands();
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("MAIL FROM:<a@sender.test> SIZE=")),
        "{cmds:?}"
    );
}

#[tokio::test]
async fn tries_the_next_mx_after_a_refused_connection_or_a_4xx_greeting() {
    // .4 (preference 5) has nothing listening; .2 (10) greets 421; .3 (20) accepts.
    let busy: Script = Arc::new(|c, cmd| {
        if cmd == "CONNECT" {
            reply("421 4.3.2 busy")
        } else {
            accept(c, cmd)
        }
    });
    let rx2 = receiver("127.0.0.2", 0, busy).await;
    let port = rx2.addr.port();
    let rx3 = receiver("127.0.0.3", port, Arc::new(accept)).await;
    let zone = zone()
        .mx("example.test", 20, "mx2.example.test")
        .a("mx2.example.test", "127.0.0.3".parse().unwrap())
        .mx("example.test", 5, "mx0.example.test")
        .a("mx0.example.test", "127.0.0.4".parse().unwrap());
    let s = setup(zone, port, |_| {}).await;
    s.enqueue("B1", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    assert_eq!(rx2.connections(), 1);
    assert!(rx2.got().is_empty());
    assert_eq!(rx3.got().len(), 1, "{:?}", s.events());
    assert_eq!(s.count("delivery_attempt"), 3);
    assert!(s.ids().is_empty());
}

#[tokio::test]
async fn ehlo_refused_falls_back_to_helo_without_pipelining() {
    let old: Script = Arc::new(|c, cmd| {
        if cmd.starts_with("EHLO") {
            reply("502 5.5.2 what")
        } else {
            accept(c, cmd)
        }
    });
    let rx = receiver("127.0.0.2", 0, old).await;
    let s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("C1", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    assert_eq!(rx.got().len(), 1, "{:?}", s.events());
    let cmds = rx.commands();
    assert!(cmds.iter().any(|c| c == "HELO calm.test"), "{cmds:?}");
    // Without ESMTP no SIZE parameter is sent.
    assert!(
        cmds.iter().any(|c| c == "MAIL FROM:<a@sender.test>"),
        "{cmds:?}"
    );
}

#[tokio::test]
async fn per_recipient_replies_are_kept_apart() {
    let picky: Script = Arc::new(|c, cmd| match cmd {
        "RCPT TO:<temp@example.test>" => reply("452 4.2.2 mailbox full"),
        "RCPT TO:<gone@example.test>" => reply("550 5.1.1 no such user"),
        _ => accept(c, cmd),
    });
    let rx = receiver("127.0.0.2", 0, picky).await;
    let mut s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue(
        "D1",
        "a@sender.test",
        &["ok@example.test", "temp@example.test", "gone@example.test"],
        BODY,
    );
    s.engine.run_once().await;
    assert_eq!(rx.got()[0].rcpts, ["ok@example.test"]);
    let entry = s.engine.show("D1").unwrap();
    let status: Vec<_> = entry
        .state
        .recipients
        .iter()
        .map(|r| (r.rcpt.as_str(), r.status))
        .collect();
    use calm_queue::outbound::RecipientStatus::*;
    assert_eq!(
        status,
        [
            ("ok@example.test", Delivered),
            ("temp@example.test", Pending),
            ("gone@example.test", Failed)
        ]
    );
    assert_eq!(
        entry.state.recipients[1].last_reply.as_deref(),
        Some("452 4.2.2 mailbox full")
    );
    let dsn = s.dsns.try_recv().expect("a DSN for gone@");
    assert!(String::from_utf8_lossy(&dsn.data).contains("gone@example.test"));
    assert!(!String::from_utf8_lossy(&dsn.data).contains("Final-Recipient: rfc822; temp@"));
}

#[tokio::test]
async fn a_dropped_connection_or_a_silent_server_defers() {
    let drop: Script = Arc::new(|c, cmd| {
        if cmd.starts_with("MAIL") {
            Act::Close
        } else {
            accept(c, cmd)
        }
    });
    let rx = receiver("127.0.0.2", 0, drop).await;
    let s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("E1", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    let r = &s.engine.show("E1").unwrap().state.recipients[0];
    assert_eq!(r.status_code.as_deref(), Some("4.4.2"), "{r:?}");
    assert_eq!(r.next_attempt, T0 + 300);

    let silent: Script = Arc::new(|c, cmd| {
        if cmd == "DOT" {
            Act::Hang
        } else {
            accept(c, cmd)
        }
    });
    let rx = receiver("127.0.0.2", 0, silent).await;
    let s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("E2", "a@sender.test", &["b@example.test"], BODY);
    let started = std::time::Instant::now();
    s.engine.run_once().await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let r = &s.engine.show("E2").unwrap().state.recipients[0];
    assert!(
        r.last_reply.as_deref().unwrap_or("").contains("timeout"),
        "{r:?}"
    );
    assert_eq!(s.count("deferred"), 1);
}

#[tokio::test]
async fn concurrency_per_destination_is_limited() {
    let slow: Script = Arc::new(|c, cmd| {
        if cmd == "DOT" {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        accept(c, cmd)
    });
    let rx = receiver("127.0.0.2", 0, slow).await;
    let s = setup(zone(), rx.addr.port(), |c| {
        c.destination_concurrency = 2;
        c.messages_per_connection = 1;
    })
    .await;
    for i in 0..5 {
        s.enqueue(&format!("F{i}"), "a@sender.test", &["b@example.test"], BODY);
    }
    for _ in 0..5 {
        s.engine.run_once().await;
    }
    assert_eq!(rx.got().len(), 5);
    assert!(rx.max_parallel.load(Ordering::SeqCst) <= 2);
    assert!(s.ids().is_empty());
}

#[tokio::test]
async fn the_background_scheduler_picks_up_new_files() {
    let rx = receiver("127.0.0.2", 0, Arc::new(accept)).await;
    let s = setup(zone(), rx.addr.port(), |c| {
        c.scan_interval = std::time::Duration::from_millis(50)
    })
    .await;
    let task = s.engine.start();
    s.enqueue("G1", "a@sender.test", &["b@example.test"], BODY);
    for _ in 0..100 {
        if s.ids().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(rx.got().len(), 1);
    assert!(s.ids().is_empty());
}
