use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use calm_outbound::OutboundEvent;

use crate::harness::*;

/// 451 on the first `n` connections, then accept.
fn temp_fail_first(n: usize) -> Script {
    Arc::new(move |c, cmd| {
        if c < n && cmd.starts_with("RCPT") {
            reply("451 4.7.1 greylisted, try again later")
        } else {
            accept(c, cmd)
        }
    })
}

#[tokio::test]
async fn a_4xx_is_retried_on_the_backoff_schedule_then_delivered() {
    let rx = receiver("127.0.0.2", 0, temp_fail_first(2)).await;
    let s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("R1", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    let r = s.engine.show("R1").unwrap().state.recipients[0].clone();
    assert_eq!((r.attempts, r.next_attempt), (1, T0 + 300));
    assert_eq!(
        r.last_reply.as_deref(),
        Some("451 4.7.1 greylisted, try again later")
    );
    // Not due yet: no connection.
    s.advance(299);
    s.engine.run_once().await;
    assert_eq!(rx.connections(), 1);
    s.advance(1);
    s.engine.run_once().await;
    let r = s.engine.show("R1").unwrap().state.recipients[0].clone();
    // Second failure: the delay doubles (5 → 10 minutes).
    assert_eq!((r.attempts, r.next_attempt), (2, T0 + 300 + 600));
    s.advance(600);
    s.engine.run_once().await;
    assert_eq!(rx.got().len(), 1);
    assert!(s.ids().is_empty());
    let delivered = s.events().into_iter().find_map(|e| match e {
        OutboundEvent::DeliveredRemote {
            attempts,
            delay_secs,
            ..
        } => Some((attempts, delay_secs)),
        _ => None,
    });
    assert_eq!(delivered, Some((3, 900)));
    let deferred = s.events().into_iter().find_map(|e| match e {
        OutboundEvent::Deferred {
            code,
            domain,
            status,
            ..
        } => Some((code, domain, status)),
        _ => None,
    });
    assert_eq!(
        deferred,
        Some((Some(451), "example.test".into(), "4.7.1".into()))
    );
}

#[tokio::test]
async fn a_4xx_is_never_bounced_before_the_lifetime_ends() {
    let rx = receiver("127.0.0.2", 0, temp_fail_first(usize::MAX)).await;
    let mut s = setup(zone(), rx.addr.port(), |c| {
        c.retry.lifetime = Duration::from_secs(3600);
        c.retry.warn_after = None;
    })
    .await;
    s.enqueue("R2", "a@sender.test", &["b@example.test"], BODY);
    let mut attempts = 0;
    while !s.ids().is_empty() && attempts < 50 {
        s.engine.run_once().await;
        attempts += 1;
        if let Ok(entry) = s.engine.show("R2") {
            assert!(
                s.dsns.try_recv().is_err(),
                "bounced before the lifetime ended"
            );
            let next = entry.next_attempt().unwrap();
            assert!(next <= T0 + 3600, "scheduled past the lifetime");
            s.clock.set(next);
        }
    }
    // 5, 10, 20 minutes, then the last try exactly at the end of the hour.
    assert_eq!(rx.connections(), 5);
    let dsn = s.dsns.try_recv().expect("bounce after the lifetime");
    let text = String::from_utf8_lossy(&dsn.data).into_owned();
    assert!(text.contains("Action: failed\r\nStatus: 4.7.1"), "{text}");
    assert!(
        text.contains("Diagnostic-Code: smtp; 451 4.7.1 greylisted"),
        "{text}"
    );
    let class = s.events().into_iter().find_map(|e| match e {
        OutboundEvent::Bounced { class, subject, .. } => Some((class, subject)),
        _ => None,
    });
    assert_eq!(class, Some((4, 7)));
}

#[tokio::test]
async fn a_delay_warning_is_sent_once_after_the_configured_delay() {
    let rx = receiver("127.0.0.2", 0, temp_fail_first(usize::MAX)).await;
    let mut s = setup(zone(), rx.addr.port(), |c| {
        c.retry.warn_after = Some(Duration::from_secs(900));
    })
    .await;
    s.enqueue("R3", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    assert!(s.dsns.try_recv().is_err(), "too early for a warning");
    for _ in 0..4 {
        let next = s.engine.show("R3").unwrap().next_attempt().unwrap();
        s.clock.set(next);
        s.engine.run_once().await;
    }
    let warning = s.dsns.try_recv().expect("a delay DSN");
    let text = String::from_utf8_lossy(&warning.data).into_owned();
    assert!(text.contains("Action: delayed"), "{text}");
    assert!(text.contains("Will-Retry-Until:"));
    assert!(s.dsns.try_recv().is_err(), "only one warning");
    assert!(s.engine.show("R3").unwrap().state.warned);
}

#[tokio::test]
async fn state_survives_a_new_engine_over_the_same_queue() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let script: Script = Arc::new(move |c, cmd| {
        if cmd.starts_with("RCPT TO:<b@") && seen.fetch_add(1, Ordering::SeqCst) == 0 {
            reply("450 4.2.0 later")
        } else {
            accept(c, cmd)
        }
    });
    let rx = receiver("127.0.0.2", 0, script).await;
    let s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue(
        "R4",
        "a@sender.test",
        &["b@example.test", "c@example.test"],
        BODY,
    );
    s.engine.run_once().await;
    assert_eq!(rx.got()[0].rcpts, ["c@example.test"]);
    // A restart: a fresh engine reads the state from the queue files.
    let s2 = setup_over(&s, rx.addr.port()).await;
    s2.advance(300);
    s2.engine.run_once().await;
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].rcpts,
        ["b@example.test"],
        "c@ must not be sent twice"
    );
}
