use std::path::Path;

use serde_json::json;

use super::{RuleInfo, Week, defer_key, network_of, parse_day, percentiles, trend};

fn days() -> Vec<String> {
    (23..=29).map(|d| format!("2026-11-{d}")).collect()
}

fn at(day: u32) -> String {
    format!("2026-11-{day}T10:00:00.000Z")
}

fn rules() -> Vec<RuleInfo> {
    ["gtube", "spam-tag", "dnsbl-listed"]
        .iter()
        .enumerate()
        .map(|(i, n)| RuleInfo {
            name: n.to_string(),
            place: format!("policy.toml:{}", 10 * (i + 1)),
        })
        .collect()
}

fn week(events: &[serde_json::Value]) -> Week {
    let mut w = Week::new(days());
    for e in events {
        w.add(e);
    }
    w
}

#[test]
fn events_outside_the_week_are_ignored() {
    let w = week(&[
        json!({"ts": at(22), "event": "accepted"}),
        json!({"ts": "2026-11-30T00:00:00.000Z", "event": "accepted"}),
        json!({"ts": at(23), "event": "accepted"}),
        json!({"event": "accepted"}),
    ]);
    let text = w.render(Path::new("events.jsonl"), &rules());
    assert!(text.contains("(1 events from events.jsonl)"), "{text}");
    assert!(text.contains("2026-11-23         1         0"), "{text}");
}

#[test]
fn false_positives_are_counted_by_cause_and_the_worst_rule_is_suggested() {
    let fp = |cause: &str, source: &str| json!({"ts": at(25), "event": "false_positive", "root_cause": cause, "source": source});
    let w = week(&[
        fp("dnsbl-listed", "imap"),
        fp("dnsbl-listed", "forward"),
        fp("URI_PRIZE", "imap"),
        json!({"ts": at(26), "event": "false_negative", "source": "imap"}),
    ]);
    let text = w.render(Path::new("e"), &rules());
    assert!(
        text.contains(
            "User reports: 3 false positives, 1 false negatives (by source: forward 1, imap 3)"
        ),
        "{text}"
    );
    let by_cause = text.split("by root cause").nth(1).unwrap();
    assert!(
        by_cause.find("dnsbl-listed").unwrap() < by_cause.find("URI_PRIZE").unwrap(),
        "most frequent first: {text}"
    );
    assert!(
        w.suggestion(&rules())
            .starts_with("rule `dnsbl-listed` (policy.toml:30) was behind 2 of 3 false positives"),
        "{}",
        w.suggestion(&rules())
    );
}

#[test]
fn without_false_positives_a_rule_that_never_fired_is_suggested() {
    let verdict = |rule: &str| json!({"ts": at(24), "event": "verdict", "rule": rule});
    let w = week(&[verdict("gtube"), verdict("dnsbl-listed")]);
    assert!(
        w.suggestion(&rules())
            .starts_with("rule `spam-tag` (policy.toml:20) never decided")
    );
    let w = week(&[
        verdict("gtube"),
        verdict("dnsbl-listed"),
        verdict("spam-tag"),
    ]);
    assert!(w.suggestion(&rules()).starts_with("nothing"));
}

#[test]
fn defer_reasons_group_without_numbers_and_show_their_trend() {
    let deferred = |day: u32, reason: &str| {
        json!({"ts": at(day), "event": "deferred", "code": 451, "status": "4.7.1",
               "domain": "slow.example", "reason": reason})
    };
    let mut events = Vec::new();
    for day in 23..=26 {
        for n in 0..4 {
            events.push(deferred(
                day,
                &format!("451 4.7.1 <u{n}@slow.example> greylisted for {n}0 s"),
            ));
        }
    }
    events.push(deferred(
        29,
        "451 4.7.1 <x@slow.example> greylisted for 300 s",
    ));
    let w = week(&events);
    let text = w.render(Path::new("e"), &rules());
    assert_eq!(w.reasons.len(), 1, "{text}");
    assert!(text.contains("improving"), "{text}");
    assert_eq!(
        defer_key(&deferred(23, "451 4.7.1 <a@b> greylisted for 30 s")),
        "451 4.7.1 <…> greylisted for # s"
    );
}

#[test]
fn auth_failures_group_by_network_and_delays_by_day() {
    let fail = |ip: &str, user: &str| json!({"ts": at(27), "event": "auth_failure", "client_ip": ip, "user": user});
    let delivered = |day: u32, secs: u64| json!({"ts": at(day), "event": "delivered_remote", "delay_secs": secs});
    let mut events = vec![
        fail("198.51.100.7", "admin"),
        fail("198.51.100.9", "root"),
        fail("2001:db8:1:2::5", "bob"),
    ];
    events.extend((1..=20).map(|s| delivered(23, s)));
    events.push(delivered(28, 900));
    let text = week(&events).render(Path::new("e"), &rules());
    assert!(text.contains("Authentication failures: 3"), "{text}");
    assert!(
        text.contains("198.51.100.0/24") && text.contains("2001:db8:1::/48"),
        "{text}"
    );
    assert!(text.contains("2 user names: admin, root"), "{text}");
    assert!(
        text.contains("worsening"),
        "P95 grew from 19 to 900 s: {text}"
    );
}

#[test]
fn helpers() {
    assert_eq!(percentiles(&[]), None);
    assert_eq!(percentiles(&[5]), Some((5, 5, 5)));
    let v: Vec<u64> = (1..=100).collect();
    assert_eq!(percentiles(&v), Some((50, 95, 100)));
    assert_eq!(trend(0.0, 1.0), "new");
    assert_eq!(trend(10.0, 10.0), "steady");
    assert_eq!(network_of("10.1.2.3".parse().unwrap()), "10.1.2.0/24");
    assert_eq!(parse_day("2026-11-29").unwrap().to_string(), "2026-11-29");
    for bad in ["2026-13-01", "2026-11", "yesterday", "2026-02-30"] {
        assert!(parse_day(bad).is_err(), "{bad}");
    }
}
