use std::sync::Arc;

use calm_outbound::{EntryState, ListFilter, OutboundEvent, Routes, Transport};

use crate::harness::*;

#[tokio::test]
async fn held_messages_wait_until_released() {
    let rx = receiver("127.0.0.2", 0, Arc::new(accept)).await;
    let s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("O1", "a@sender.test", &["b@example.test"], BODY);
    let held = s.engine.hold("O1").await.unwrap();
    assert_eq!(held.entry_state(), EntryState::Hold);
    s.engine.run_once().await;
    assert_eq!(rx.connections(), 0);
    let filter = ListFilter {
        state: Some(EntryState::Hold),
        ..Default::default()
    };
    assert_eq!(s.engine.list(&filter).unwrap().len(), 1);
    s.engine.release("O1").await.unwrap();
    s.engine.run_once().await;
    assert_eq!(rx.got().len(), 1);
    assert!(s.engine.show("O1").is_err(), "delivered and gone");
}

#[tokio::test]
async fn retry_now_skips_the_wait() {
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let script: Script = Arc::new(move |c, cmd| {
        if cmd.starts_with("RCPT") && first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            reply("421 4.3.2 shutting down")
        } else {
            accept(c, cmd)
        }
    });
    let rx = receiver("127.0.0.2", 0, script).await;
    let s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("O2", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    assert_eq!(
        s.engine.show("O2").unwrap().entry_state(),
        EntryState::Deferred
    );
    assert_eq!(
        s.engine.retry_now("O2").await.unwrap().next_attempt(),
        Some(0)
    );
    s.engine.run_once().await;
    assert_eq!(rx.got().len(), 1);
    assert_eq!(rx.connections(), 2, "a 421 retires the connection");
}

#[tokio::test]
async fn delete_and_bounce_are_logged_with_their_reason() {
    let rx = receiver("127.0.0.2", 0, Arc::new(accept)).await;
    let mut s = setup(zone(), rx.addr.port(), |_| {}).await;
    s.enqueue("O3", "a@sender.test", &["b@example.test"], BODY);
    s.enqueue("O4", "a@sender.test", &["b@example.test"], BODY);
    s.engine.delete("O3", "spam run").await.unwrap();
    assert!(
        s.engine.delete("O3", "again").await.is_err(),
        "a wrong id is an error"
    );
    s.engine.bounce("O4", "domain retired").await.unwrap();
    assert!(s.ids().is_empty());
    let dsn = s.dsns.try_recv().expect("the bounce DSN");
    let text = String::from_utf8_lossy(&dsn.data).into_owned();
    assert!(text.contains("Status: 5.0.0"), "{text}");
    assert!(text.contains("domain retired"));
    assert!(s.dsns.try_recv().is_err(), "delete sends nothing");
    let ops: Vec<_> = s
        .events()
        .into_iter()
        .filter_map(|e| match e {
            OutboundEvent::QueueOperation {
                operation,
                queue_id,
                reason,
            } => Some((operation, queue_id, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(ops[0], ("delete", "O3".into(), Some("spam run".into())));
    assert_eq!(
        ops[1],
        ("bounce", "O4".into(), Some("domain retired".into()))
    );
    s.engine.run_once().await;
    assert_eq!(rx.connections(), 0);
    assert!(s.engine.hold("../O4").await.is_err());
}

#[tokio::test]
async fn routes_send_to_a_relay_defer_disabled_domains_and_bounce_error_routes() {
    let relay = receiver("127.0.0.5", 0, Arc::new(accept)).await;
    let map = format!(
        "old.test relay:[127.0.0.5]:{}\nmoving.test disabled\nclosed.test error:domain closed\n",
        relay.addr.port()
    );
    let routes = Routes::parse(&map, "routes").unwrap();
    let mut s = setup(zone(), 9, |c| c.routes = routes).await;
    assert_eq!(s.engine.route("moving.test"), Transport::Disabled);
    assert_eq!(
        s.engine.route("moving.test").rcpt_refusal().unwrap().code,
        450
    );
    s.enqueue(
        "P1",
        "a@sender.test",
        &["x@old.test", "y@moving.test", "z@closed.test"],
        BODY,
    );
    s.engine.run_once().await;
    assert_eq!(relay.got().len(), 1, "{:?}", s.events());
    assert_eq!(relay.got()[0].rcpts, ["x@old.test"]);
    let entry = s.engine.show("P1").unwrap();
    let moving = entry
        .state
        .recipients
        .iter()
        .find(|r| r.rcpt == "y@moving.test")
        .unwrap();
    assert_eq!(moving.status_code.as_deref(), Some("4.3.2"));
    let text =
        String::from_utf8_lossy(&s.dsns.try_recv().expect("DSN for closed.test").data).into_owned();
    assert!(
        text.contains("z@closed.test") && text.contains("domain closed"),
        "{text}"
    );
    // Flipping the domain is one line and a reload.
    let flipped = format!("moving.test relay:[127.0.0.5]:{}\n", relay.addr.port());
    s.engine
        .set_routes(Routes::parse(&flipped, "routes").unwrap());
    s.engine.retry_now("P1").await.unwrap();
    s.engine.run_once().await;
    assert_eq!(relay.got().len(), 2);
    assert!(s.ids().is_empty());
}
