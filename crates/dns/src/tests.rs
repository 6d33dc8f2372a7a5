use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::test_server::{TestDnsServer, Zone};
use super::*;

fn records(list: &[(u16, &str)]) -> Vec<(u16, String)> {
    list.iter().map(|(p, n)| (*p, (*n).to_owned())).collect()
}

fn names(hosts: &[MxHost]) -> Vec<&str> {
    hosts.iter().map(|h| h.exchange.as_str()).collect()
}

#[test]
fn mx_hosts_come_in_preference_order() {
    let recs = records(&[(30, "c.test."), (10, "A.test."), (20, "b.test")]);
    let hosts = order_mx("d.test", &recs, &mut StdRng::seed_from_u64(1)).unwrap();
    assert_eq!(names(&hosts), ["a.test", "b.test", "c.test"]);
    assert!(hosts.iter().all(|h| !h.implicit));
}

#[test]
fn equal_preferences_are_shuffled_but_stay_in_their_group() {
    let recs = records(&[(10, "a"), (10, "b"), (10, "c"), (10, "d"), (20, "z")]);
    let mut firsts = std::collections::HashSet::new();
    for seed in 0..64 {
        let hosts = order_mx("d", &recs, &mut StdRng::seed_from_u64(seed)).unwrap();
        assert_eq!(hosts.last().map(|h| h.exchange.as_str()), Some("z"));
        assert_eq!(hosts.len(), 5);
        firsts.insert(hosts[0].exchange.clone());
    }
    // RFC 5321 §5.1: equal preferences are randomised, so every host leads sometimes.
    assert_eq!(firsts.len(), 4, "{firsts:?}");
}

#[test]
fn a_single_root_exchange_is_a_null_mx() {
    for root in [".", ""] {
        let err = order_mx("d.test", &records(&[(0, root)]), &mut rand::rng()).unwrap_err();
        assert_eq!(
            err,
            DnsError::NullMx {
                domain: "d.test".into()
            }
        );
        assert!(err.is_permanent());
    }
}

#[test]
fn a_root_exchange_among_real_hosts_is_ignored() {
    let recs = records(&[(0, "."), (10, "mx.test")]);
    let hosts = order_mx("d", &recs, &mut rand::rng()).unwrap();
    assert_eq!(names(&hosts), ["mx.test"]);
}

#[test]
fn a_host_listed_twice_is_tried_once_at_its_best_preference() {
    let recs = records(&[(20, "mx.test"), (10, "MX.test."), (15, "b.test")]);
    let hosts = order_mx("d", &recs, &mut rand::rng()).unwrap();
    assert_eq!(names(&hosts), ["mx.test", "b.test"]);
    assert_eq!(hosts[0].preference, 10);
}

#[test]
fn no_records_give_an_empty_list_for_the_caller_to_apply_implicit_mx() {
    assert!(order_mx("d", &[], &mut rand::rng()).unwrap().is_empty());
    let implicit = implicit_mx("Example.TEST.");
    assert_eq!(implicit.exchange, "example.test");
    assert!(implicit.implicit);
}

#[test]
fn only_temporary_failures_are_retryable() {
    let temp = DnsError::Temporary {
        name: "x".into(),
        reason: "timeout".into(),
    };
    assert!(!temp.is_permanent());
    assert!(DnsError::NoSuchDomain { name: "x".into() }.is_permanent());
    assert!(!DnsError::Setup("x".into()).is_permanent());
}

async fn test_dns() -> TestDnsServer {
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let zone = Zone::new("example.test")
        .mx("example.test", 20, "mx2.example.test")
        .mx("example.test", 10, "mx1.example.test")
        .a("mx1.example.test", ip("127.0.0.2"))
        .a("mx2.example.test", ip("127.0.0.3"))
        .a("nomx.example.test", ip("127.0.0.4"))
        .aaaa("nomx.example.test", "::1".parse::<Ipv6Addr>().unwrap())
        .mx("null.example.test", 0, ".")
        .mx("dangling.example.test", 10, "gone.example.test")
        .mx("txtonly.example.test", 10, "mx1.example.test");
    TestDnsServer::start(vec![zone]).await.unwrap()
}

#[tokio::test]
async fn resolves_mx_hosts_and_their_addresses_from_a_dns_server() {
    let dns = test_dns().await;
    let resolver = Resolver::new(&dns.settings()).unwrap();
    let hosts = resolver.mail_exchangers("Example.Test").await.unwrap();
    assert_eq!(names(&hosts), ["mx1.example.test", "mx2.example.test"]);
    let ips = resolver.ip_addresses("mx1.example.test").await.unwrap();
    assert_eq!(ips, [IpAddr::from([127, 0, 0, 2])]);
}

#[tokio::test]
async fn a_domain_without_mx_is_its_own_implicit_mx() {
    let dns = test_dns().await;
    let resolver = Resolver::new(&dns.settings()).unwrap();
    let hosts = resolver.mail_exchangers("nomx.example.test").await.unwrap();
    assert_eq!(hosts, [implicit_mx("nomx.example.test")]);
    let ips = resolver.ip_addresses("nomx.example.test").await.unwrap();
    assert_eq!(ips.first(), Some(&IpAddr::from([127, 0, 0, 4])));
    assert!(ips.contains(&"::1".parse::<IpAddr>().unwrap()), "{ips:?}");
}

#[tokio::test]
async fn null_mx_and_missing_domains_are_permanent() {
    let dns = test_dns().await;
    let resolver = Resolver::new(&dns.settings()).unwrap();
    let null = resolver.mail_exchangers("null.example.test").await;
    assert!(matches!(null, Err(DnsError::NullMx { .. })), "{null:?}");
    let missing = resolver.mail_exchangers("missing.example.test").await;
    assert!(
        matches!(missing, Err(DnsError::NoSuchDomain { .. })),
        "{missing:?}"
    );
    let gone = resolver.ip_addresses("gone.example.test").await;
    assert!(gone.as_ref().is_err_and(DnsError::is_permanent), "{gone:?}");
    // An MX host name that exists without addresses.
    let bare = resolver.ip_addresses("null.example.test").await;
    assert!(matches!(bare, Err(DnsError::NoAddress { .. })), "{bare:?}");
}

#[tokio::test]
async fn hostile_names_are_refused_before_any_query() {
    let dns = test_dns().await;
    let resolver = Resolver::new(&dns.settings()).unwrap();
    let long = "a".repeat(64);
    for bad in ["", ".", "a..b", long.as_str()] {
        let result = resolver.mail_exchangers(bad).await;
        assert!(
            matches!(result, Err(DnsError::BadName { .. })),
            "{bad:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_silent_server_is_a_temporary_failure() {
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let settings = ResolverSettings {
        upstream: Some(silent.local_addr().unwrap()),
        timeout: Duration::from_millis(200),
        attempts: 1,
    };
    let resolver = Resolver::new(&settings).unwrap();
    let result = resolver.mail_exchangers("example.test").await;
    assert!(
        matches!(result, Err(DnsError::Temporary { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn reverse_names_and_domain_resolves() {
    // Not 127/8: the resolver answers loopback reverse lookups itself ("localhost").
    let ip: std::net::IpAddr = "192.0.2.55".parse().unwrap();
    let reverse = Zone::new("2.0.192.in-addr.arpa").ptr(ip, "mail.sender.test");
    let forward = Zone::new("sender.test")
        .mx("sender.test", 10, "mail.sender.test")
        .a("mail.sender.test", "127.0.0.55".parse().unwrap())
        .a("bare.sender.test", "127.0.0.56".parse().unwrap())
        .mx("nomail.sender.test", 0, ".");
    let dns = TestDnsServer::start(vec![reverse, forward]).await.unwrap();
    let r = Resolver::new(&dns.settings()).unwrap();
    assert_eq!(r.reverse_names(ip).await.unwrap(), ["mail.sender.test"]);
    assert!(
        r.reverse_names("192.0.2.99".parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(r.domain_resolves("sender.test").await.unwrap());
    assert!(
        r.domain_resolves("bare.sender.test").await.unwrap(),
        "implicit MX with an A record"
    );
    assert!(
        !r.domain_resolves("nomail.sender.test").await.unwrap(),
        "null MX"
    );
    assert!(
        !r.domain_resolves("missing.sender.test").await.unwrap(),
        "NXDOMAIN"
    );
}
