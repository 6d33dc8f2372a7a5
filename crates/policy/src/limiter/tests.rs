use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn settings() -> LimiterSettings {
    LimiterSettings {
        max_window: Duration::from_secs(600),
        max_events: 100,
        ..LimiterSettings::default()
    }
}

const MIN: Duration = Duration::from_secs(60);

#[test]
fn sliding_window_counts_only_recent_events() {
    let mut l = Limiter::new(settings());
    let a = ip("192.0.2.1");
    for s in [1000, 1010, 1059, 1060, 1061] {
        l.connection_opened(a, Timestamp::from_secs(s));
    }
    let now = Timestamp::from_secs(1120);
    // The window is (1060, 1120]: the event at exactly 1060 is out, the one at 1061 in.
    assert_eq!(l.count(Counter::Connections, Key::Ip(a), MIN, now), 1);
    assert_eq!(l.count(Counter::Connections, Key::Ip(a), MIN * 3, now), 5);
    assert_eq!(l.open(Key::Ip(a)), 5);
    assert_eq!(l.open(Key::Net(ip("192.0.2.200"))), 5);
    assert_eq!(l.open(Key::Net(ip("192.0.3.1"))), 0);
}

#[test]
fn concurrency_goes_down_when_connections_close() {
    let mut l = Limiter::new(settings());
    let a = ip("::ffff:192.0.2.1");
    l.connection_opened(a, Timestamp::from_secs(1));
    l.connection_opened(ip("192.0.2.1"), Timestamp::from_secs(1));
    assert_eq!(l.open(Key::Ip(ip("192.0.2.1"))), 2);
    l.connection_closed(a);
    l.connection_closed(a);
    l.connection_closed(a);
    assert_eq!(l.open(Key::Ip(a)), 0);
}

#[test]
fn messages_count_per_ip_sender_and_user() {
    let mut l = Limiter::new(settings());
    let now = Timestamp::from_secs(100);
    let a = ip("2001:db8::1");
    l.message(a, Sender::Address("Bob@Example.test"), Some("Bob"), now);
    l.message(a, Sender::Null, None, now);
    l.recipient(a, Sender::Null, None, now);
    assert_eq!(l.count(Counter::Messages, Key::Ip(a), MIN, now), 2);
    assert_eq!(
        l.count(
            Counter::Messages,
            Key::Sender(Sender::Address("bob@example.TEST")),
            MIN,
            now
        ),
        1
    );
    assert_eq!(
        l.count(Counter::Messages, Key::Sender(Sender::Null), MIN, now),
        1
    );
    assert_eq!(l.count(Counter::Messages, Key::User("BOB"), MIN, now), 1);
    assert_eq!(
        l.count(Counter::Recipients, Key::Sender(Sender::Null), MIN, now),
        1
    );
    assert_eq!(l.count(Counter::AuthFailures, Key::Ip(a), MIN, now), 0);
    l.auth_failure(a, now);
    assert_eq!(l.count(Counter::AuthFailures, Key::Ip(a), MIN, now), 1);
    // The IPv6 network is a /64 by default.
    l.connection_opened(ip("2001:db8::2"), now);
    assert_eq!(l.open(Key::Net(ip("2001:db8::ffff"))), 1);
}

#[test]
fn memory_is_bounded() {
    let mut l = Limiter::new(LimiterSettings {
        max_events: 3,
        max_keys: 10,
        ..settings()
    });
    let a = ip("192.0.2.1");
    for s in 0..50 {
        l.auth_failure(a, Timestamp::from_secs(s));
    }
    // Only max_events are kept: enough to tell "more than 2".
    assert_eq!(
        l.count(
            Counter::AuthFailures,
            Key::Ip(a),
            MIN * 10,
            Timestamp::from_secs(50)
        ),
        3
    );
    for i in 0..100u32 {
        let sender = format!("s{i}@example.test");
        l.message(a, Sender::Address(&sender), None, Timestamp::from_secs(60));
    }
    assert!(l.senders.len() <= 10);
    // Once the window has passed, pruning frees everything.
    l.prune(Timestamp::from_secs(10_000));
    assert_eq!(l.tracked_keys(), 0);
    // A full table is pruned before a new key is refused.
    l.message(
        a,
        Sender::Address("late@example.test"),
        None,
        Timestamp::from_secs(20_000),
    );
    assert_eq!(
        l.count(
            Counter::Messages,
            Key::Sender(Sender::Address("late@example.test")),
            MIN,
            Timestamp::from_secs(20_000)
        ),
        1
    );
}

#[test]
fn open_connections_survive_pruning() {
    let mut l = Limiter::new(settings());
    let a = ip("192.0.2.9");
    l.connection_opened(a, Timestamp::from_secs(0));
    l.prune(Timestamp::from_secs(100_000));
    assert_eq!(l.open(Key::Ip(a)), 1);
    l.connection_closed(a);
    l.prune(Timestamp::from_secs(100_001));
    assert_eq!(l.tracked_keys(), 0);
}

#[test]
fn settings_merge_takes_the_larger_needs() {
    let a = LimiterSettings {
        max_window: MIN,
        max_events: 5,
        ..settings()
    };
    let b = LimiterSettings {
        max_window: MIN * 60,
        max_events: 2,
        ..settings()
    };
    let m = a.merge(b);
    assert_eq!((m.max_window, m.max_events), (MIN * 60, 5));
}
