use calm_outbound::OutboundEvent;
use calm_queue::QueueEvent;
use calm_smtp_server::{Role, SmtpEvent};

use super::*;

fn ip() -> std::net::IpAddr {
    "192.0.2.7".parse().unwrap()
}

/// Serialises a real event as the event log does (`ts` first), with a trailing newline.
fn line<E: serde::Serialize>(ev: &E) -> Vec<u8> {
    let mut v = serde_json::to_value(ev).unwrap();
    let obj = v.as_object_mut().unwrap();
    let mut out = serde_json::Map::new();
    out.insert("ts".into(), "2026-11-29T21:00:00.000Z".into());
    out.extend(std::mem::take(obj));
    let mut bytes = serde_json::to_vec(&out).unwrap();
    bytes.push(b'\n');
    bytes
}

/// The value of the sample whose line starts with `series` (name and labels), or None.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

fn deferred(domain: &str, code: Option<u16>) -> OutboundEvent {
    OutboundEvent::Deferred {
        queue_id: "Q1".into(),
        rcpt: format!("bob@{domain}"),
        domain: domain.into(),
        code,
        status: "4.2.0".into(),
        reason: "451 try later".into(),
        attempts: 1,
        retry_in_secs: 300,
    }
}

#[test]
fn smtp_events_are_counted() {
    let m = Metrics::new();
    for role in [Role::Mx, Role::Mx, Role::Submissions] {
        let ev = SmtpEvent::Connect {
            listener: "l".into(),
            role,
            client_ip: ip(),
            tls: false,
        };
        m.observe_line(&line(&ev));
    }
    let ev = SmtpEvent::Reject {
        stage: "RCPT".into(),
        code: 550,
        enhanced: Some("5.1.1".into()),
        text: "no such user".into(),
        client_ip: ip(),
    };
    m.observe_line(&line(&ev));
    let ev = SmtpEvent::Reject {
        stage: "MAIL".into(),
        code: 451,
        enhanced: None,
        text: "later".into(),
        client_ip: ip(),
    };
    m.observe_line(&line(&ev));
    let ev = SmtpEvent::AuthFailure {
        user: "u".into(),
        client_ip: ip(),
        mechanism: "PLAIN".into(),
    };
    m.observe_line(&line(&ev));
    let ev = SmtpEvent::Accepted {
        queue_id: "Q1".into(),
        size: 1234,
        from: "a@example.org".into(),
        rcpt: vec!["b@example.test".into()],
        client_ip: ip(),
        auth_user: None,
        tls: true,
    };
    m.observe_line(&line(&ev));
    let t = m.render();
    assert_eq!(
        sample(&t, r#"calm_connections_total{role="mx"}"#),
        Some(2.0),
        "{t}"
    );
    assert_eq!(
        sample(&t, r#"calm_connections_total{role="submissions"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&t, r#"calm_smtp_rejects_total{stage="RCPT",class="5xx"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&t, r#"calm_smtp_rejects_total{stage="MAIL",class="4xx"}"#),
        Some(1.0)
    );
    assert_eq!(sample(&t, "calm_auth_failures_total"), Some(1.0));
    assert_eq!(sample(&t, "calm_messages_accepted_total"), Some(1.0));
    assert_eq!(
        sample(&t, "calm_messages_accepted_bytes_total"),
        Some(1234.0)
    );
    assert!(t.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
}

#[test]
fn pop3_connect_and_auth_failure_share_the_counters() {
    use calm_pop3_server::Pop3Event;
    let m = Metrics::new();
    let role = calm_pop3_server::Role::Pop3s;
    m.observe_line(&line(&Pop3Event::Connect {
        listener: "p".into(),
        role,
        client_ip: ip(),
        tls: true,
    }));
    let ev = Pop3Event::AuthFailure {
        user: "u".into(),
        client_ip: ip(),
        mechanism: "USER".into(),
    };
    m.observe_line(&line(&ev));
    let t = m.render();
    assert_eq!(
        sample(&t, r#"calm_connections_total{role="pop3s"}"#),
        Some(1.0),
        "{t}"
    );
    assert_eq!(sample(&t, "calm_auth_failures_total"), Some(1.0));
}

#[test]
fn spool_events_are_counted() {
    let m = Metrics::new();
    let evs = [
        QueueEvent::Delivered {
            queue_id: "Q".into(),
            rcpt: "r".into(),
            user: "u".into(),
            path: "p".into(),
        },
        QueueEvent::Delivered {
            queue_id: "Q".into(),
            rcpt: "r2".into(),
            user: "u".into(),
            path: "p".into(),
        },
        QueueEvent::DuplicateSuppressed {
            queue_id: "Q".into(),
            user: "u".into(),
        },
        QueueEvent::DeliveryDeferred {
            queue_id: "Q".into(),
            reason: "disk".into(),
            retry_in_secs: 1,
        },
        QueueEvent::Unroutable {
            queue_id: "Q".into(),
            rcpt: "r".into(),
            reason: "gone".into(),
        },
        QueueEvent::QueuedRemote {
            queue_id: "Q".into(),
            rcpt: "r".into(),
        },
        QueueEvent::Recovered {
            messages: 3,
            truncated_bytes: 0,
        },
    ];
    for ev in &evs {
        m.observe_line(&line(ev));
    }
    let t = m.render();
    assert_eq!(sample(&t, "calm_local_deliveries_total"), Some(2.0), "{t}");
    assert_eq!(sample(&t, "calm_duplicates_suppressed_total"), Some(1.0));
    assert_eq!(sample(&t, "calm_local_deferrals_total"), Some(1.0));
    assert_eq!(sample(&t, "calm_unroutable_recipients_total"), Some(1.0));
    assert_eq!(sample(&t, "calm_metrics_unparsed_lines_total"), Some(0.0));
}

#[test]
fn outbound_events_are_counted() {
    let m = Metrics::new();
    let attempt = OutboundEvent::DeliveryAttempt {
        destination: "example.net".into(),
        host: "mx.example.net".into(),
        ip: "127.0.0.2".into(),
        messages: 2,
    };
    let delivered = |attempts| OutboundEvent::DeliveredRemote {
        queue_id: "Q1".into(),
        rcpt: "bob@example.net".into(),
        domain: "example.net".into(),
        host: "mx.example.net".into(),
        reply: "250 ok".into(),
        attempts,
        delay_secs: 3,
    };
    let bounced = OutboundEvent::Bounced {
        queue_id: "Q1".into(),
        rcpt: "x@example.net".into(),
        domain: "example.net".into(),
        code: Some(550),
        status: "5.1.1".into(),
        class: 5,
        subject: 1,
        reason: "550 5.1.1 no such user".into(),
        dsn: true,
    };
    for ev in [
        attempt,
        delivered(1),
        delivered(3),
        bounced,
        deferred("example.net", Some(451)),
    ] {
        m.observe_line(&line(&ev));
    }
    let t = m.render();
    assert_eq!(sample(&t, "calm_outbound_attempts_total"), Some(1.0), "{t}");
    assert_eq!(sample(&t, "calm_remote_deliveries_total"), Some(2.0));
    assert_eq!(sample(&t, "calm_retry_successes_total"), Some(1.0));
    assert_eq!(
        sample(&t, r#"calm_outbound_bounces_total{class="5.1"}"#),
        Some(1.0)
    );
    // No queue scan yet, so no domain has its own label.
    assert_eq!(
        sample(
            &t,
            r#"calm_outbound_deferrals_total{code="451",domain="other"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn deferral_domains_follow_the_top_of_the_queue() {
    let m = Metrics::new();
    let snap = QueueSnapshot {
        domains: vec![
            DomainStats {
                domain: "slow.example".into(),
                pending: 5,
                age: AgeStats::default(),
            },
            DomainStats {
                domain: "other".into(),
                pending: 1,
                age: AgeStats::default(),
            },
        ],
        ..QueueSnapshot::default()
    };
    m.set_queue(snap);
    m.observe_line(&line(&deferred("SLOW.example", Some(421))));
    m.observe_line(&line(&deferred("rare.example", None)));
    let t = m.render();
    let top = r#"calm_outbound_deferrals_total{code="421",domain="slow.example"}"#;
    assert_eq!(sample(&t, top), Some(1.0), "{t}");
    assert_eq!(
        sample(
            &t,
            r#"calm_outbound_deferrals_total{code="none",domain="other"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn policy_verdicts_and_shadow_diffs() {
    // Shapes copied from crates/calm/src/gate.rs (VerdictEvent, ShadowDiff).
    let m = Metrics::new();
    let verdict = br#"{"ts":"2026-11-29T21:00:00.000Z","event":"verdict","stage":"rcpt","verdict":"reject","rule":"no_open_relay","file":"policy/rules.toml","line":12,"client_ip":"192.0.2.1","explain":"..."}"#;
    m.observe_line(verdict);
    m.observe_line(verdict);
    let diff = br#"{"ts":"2026-11-29T21:00:00.000Z","event":"shadow_diff","stage":"data","client_ip":"192.0.2.1","active":"accept","shadow":"reject","active_rule":null,"shadow_rule":"gtube","active_explain":"","shadow_explain":""}"#;
    m.observe_line(diff);
    let t = m.render();
    let series =
        r#"calm_policy_verdicts_total{stage="rcpt",verdict="reject",rule="no_open_relay"}"#;
    assert_eq!(sample(&t, series), Some(2.0), "{t}");
    assert_eq!(
        sample(&t, r#"calm_policy_shadow_diffs_total{stage="data"}"#),
        Some(1.0)
    );
}

#[test]
fn hostile_lines_never_panic_nor_add_series() {
    let m = Metrics::new();
    let long_rule = format!(
        r#"{{"event":"verdict","stage":"rcpt","verdict":"pass","rule":"{}"}}"#,
        "r".repeat(5000)
    );
    let hostile: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\n".to_vec(),
        b"not json".to_vec(),
        b"[1,2,3]".to_vec(),
        b"{\"event\":".to_vec(),
        vec![0xff, 0xfe, b'{'],
        br#"{"event":42}"#.to_vec(),
        br#"{"event":"reject","code":"550"}"#.to_vec(),
        br#"{"event":"reject","code":99999}"#.to_vec(),
        br#"{"event":"bounced","class":300}"#.to_vec(),
        br#"{"noevent":true}"#.to_vec(),
        br#"{"event":"connect","role":"mx\"} 9\nfake_metric 1"}"#.to_vec(),
        br#"{"event":"reject","stage":"R C\"PT","code":550}"#.to_vec(),
        long_rule.into_bytes(),
        br#"{"event":"some_future_event","x":1}"#.to_vec(),
        // Nesting past serde_json's recursion limit must be an error, not a stack overflow.
        format!(r#"{{"event":"connect","x":{}"#, "[".repeat(100_000)).into_bytes(),
    ];
    for l in &hostile {
        m.observe_line(l);
    }
    let t = m.render();
    assert_eq!(
        sample(&t, "calm_metrics_unparsed_lines_total"),
        Some(12.0),
        "{t}"
    );
    assert!(!t.contains("fake_metric"), "{t}");
    assert_eq!(
        sample(&t, r#"calm_connections_total{role="other"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&t, r#"calm_smtp_rejects_total{stage="OTHER",class="5xx"}"#),
        None,
        "{t}"
    );
    assert_eq!(
        sample(&t, r#"calm_smtp_rejects_total{stage="other",class="5xx"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &t,
            r#"calm_policy_verdicts_total{stage="rcpt",verdict="pass",rule="other"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn queue_gauges_render_and_old_domains_disappear() {
    let m = Metrics::new();
    let age = AgeStats {
        p50: 60,
        p95: 3600,
        max: 7200,
    };
    let snap = QueueSnapshot {
        messages: 4,
        pending_recipients: 6,
        held: 1,
        unreadable: 0,
        age,
        domains: vec![DomainStats {
            domain: "a.example".into(),
            pending: 6,
            age,
        }],
        spool_bytes: 4096,
    };
    m.set_queue(snap);
    let t = m.render();
    assert_eq!(sample(&t, "calm_queue_messages"), Some(4.0), "{t}");
    assert_eq!(sample(&t, "calm_queue_pending_recipients"), Some(6.0));
    assert_eq!(sample(&t, "calm_queue_held_messages"), Some(1.0));
    assert_eq!(
        sample(&t, r#"calm_queue_age_seconds{quantile="0.95"}"#),
        Some(3600.0)
    );
    assert_eq!(
        sample(&t, r#"calm_queue_age_seconds{quantile="1"}"#),
        Some(7200.0)
    );
    assert_eq!(
        sample(
            &t,
            r#"calm_queue_domain_pending_recipients{domain="a.example"}"#
        ),
        Some(6.0)
    );
    let p50 = r#"calm_queue_domain_age_seconds{domain="a.example",quantile="0.5"}"#;
    assert_eq!(sample(&t, p50), Some(60.0));
    assert_eq!(sample(&t, "calm_spool_disk_usage_bytes"), Some(4096.0));
    assert_eq!(sample(&t, "calm_queue_scans_total"), Some(1.0));
    m.set_queue(QueueSnapshot::default());
    let t = m.render();
    assert!(!t.contains("a.example"), "{t}");
    assert_eq!(sample(&t, "calm_queue_messages"), Some(0.0));
}

#[test]
fn every_metric_is_present_before_any_event() {
    let t = Metrics::new().render();
    for name in [
        "calm_messages_accepted_total",
        "calm_messages_accepted_bytes_total",
        "calm_auth_failures_total",
        "calm_local_deliveries_total",
        "calm_duplicates_suppressed_total",
        "calm_local_deferrals_total",
        "calm_unroutable_recipients_total",
        "calm_outbound_attempts_total",
        "calm_remote_deliveries_total",
        "calm_retry_successes_total",
        "calm_metrics_unparsed_lines_total",
        "calm_queue_messages",
        "calm_queue_pending_recipients",
        "calm_queue_held_messages",
        "calm_queue_unreadable_files",
        "calm_spool_disk_usage_bytes",
        "calm_queue_scans_total",
    ] {
        assert_eq!(sample(&t, name), Some(0.0), "{name} in {t}");
    }
}

#[test]
fn label_families_have_their_type_once_they_have_a_sample() {
    // prometheus-client leaves a family out until it has a series; feed one of each.
    let m = Metrics::new();
    for l in [
        r#"{"event":"connect","role":"mx"}"#,
        r#"{"event":"reject","stage":"RCPT","code":550}"#,
        r#"{"event":"verdict","stage":"rcpt","verdict":"pass","rule":"r"}"#,
        r#"{"event":"shadow_diff","stage":"rcpt"}"#,
        r#"{"event":"deferred","code":451,"domain":"a.example"}"#,
        r#"{"event":"bounced","class":5,"subject":7}"#,
    ] {
        m.observe_line(l.as_bytes());
    }
    let age = AgeStats::default();
    let domains = vec![DomainStats {
        domain: "a.example".into(),
        pending: 1,
        age,
    }];
    m.set_queue(QueueSnapshot {
        domains,
        ..QueueSnapshot::default()
    });
    let t = m.render();
    for family in [
        "calm_connections counter",
        "calm_smtp_rejects counter",
        "calm_policy_verdicts counter",
        "calm_policy_shadow_diffs counter",
        "calm_outbound_deferrals counter",
        "calm_outbound_bounces counter",
        "calm_queue_age_seconds gauge",
        "calm_queue_domain_pending_recipients gauge",
        "calm_queue_domain_age_seconds gauge",
    ] {
        assert!(t.contains(&format!("# TYPE {family}\n")), "{family} in {t}");
    }
}

#[test]
fn concurrent_writers_lose_nothing() {
    let m = Metrics::new();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    m.observe_line(br#"{"event":"delivered_remote","attempts":2}"#);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let t = m.render();
    assert_eq!(
        sample(&t, "calm_remote_deliveries_total"),
        Some(4000.0),
        "{t}"
    );
    assert_eq!(sample(&t, "calm_retry_successes_total"), Some(4000.0));
}
