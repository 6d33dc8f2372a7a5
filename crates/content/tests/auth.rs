//! SPF, DKIM, DMARC and ARC end to end: fixed zones on a loopback DNS server (hickory-server),
//! messages DKIM-signed and ARC-sealed here with Ed25519 keys made at test time.

#![cfg(feature = "auth")]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use calm_content::{AuthFacts, AuthSettings, Authenticator, Session};
use hickory_proto::rr::rdata::{A, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::DkimSigner;
use mail_auth::{ArcOutput, AuthenticatedMessage, AuthenticationResults};

fn name(s: &str) -> Name {
    let mut n = Name::from_utf8(s).unwrap();
    n.set_fqdn(true);
    n
}

fn zone(origin: &str, records: &[(&str, RData)]) -> (Name, Vec<Record>) {
    let soa = SOA::new(
        name(&format!("ns.{origin}")),
        name(&format!("hostmaster.{origin}")),
        1,
        3600,
        600,
        86400,
        60,
    );
    let mut out = vec![Record::from_rdata(name(origin), 60, RData::SOA(soa))];
    for (owner, data) in records {
        out.push(Record::from_rdata(name(owner), 60, data.clone()));
    }
    (name(origin), out)
}

fn txt(text: &str) -> RData {
    RData::TXT(TXT::new(vec![text.to_owned()]))
}

async fn dns(zones: Vec<(Name, Vec<Record>)>) -> (SocketAddr, Server<Catalog>) {
    let mut catalog = Catalog::new();
    for (origin, records) in zones {
        let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
            origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        );
        for r in records {
            handler.upsert_mut(r, 1);
        }
        catalog.upsert(LowerName::from(&origin), vec![Arc::new(handler)]);
    }
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let udp = tokio::net::UdpSocket::bind(addr).await.unwrap();
    let mut server = Server::new(catalog);
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 4096);
    (addr, server)
}

struct World {
    auth: Authenticator,
    key: Vec<u8>,
    /// The ARC sealing key of `list.example`, a mailing list that rewrites the Subject.
    arc_key: Vec<u8>,
    _server: Server<Catalog>,
}

const MESSAGE: &str = "From: Alice <alice@sender.example>\r\nTo: bob@example.test\r\n\
Subject: quarterly figures\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <q1@sender.example>\r\n\r\nThe figures are attached.\r\n";

async fn world() -> World {
    let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
    let public = Ed25519Key::from_pkcs8_der(&pkcs8).unwrap().public_key();
    let p = base64::engine::general_purpose::STANDARD.encode(public);
    let arc_key = Ed25519Key::generate_pkcs8().unwrap();
    let arc_public = Ed25519Key::from_pkcs8_der(&arc_key).unwrap().public_key();
    let arc_p = base64::engine::general_purpose::STANDARD.encode(arc_public);
    // One zone for the whole `example` tree: the DMARC tree walk also asks `_dmarc.example`
    // (draft-ietf-dmarc-dmarcbis §4.10), which must be an NXDOMAIN, not a refusal.
    let tree = zone(
        "example",
        &[
            ("sender.example", txt("v=spf1 ip4:127.0.0.1 -all")),
            ("_dmarc.sender.example", txt("v=DMARC1; p=reject")),
            (
                "sel._domainkey.sender.example",
                txt(&format!("v=DKIM1; k=ed25519; p={p}")),
            ),
            (
                "mail.sender.example",
                RData::A(A("127.0.0.1".parse().unwrap())),
            ),
            ("plain.example", RData::A(A("192.0.2.7".parse().unwrap()))),
            (
                "arc._domainkey.list.example",
                txt(&format!("v=DKIM1; k=ed25519; p={arc_p}")),
            ),
        ],
    );
    let (addr, server) = dns(vec![tree]).await;
    let auth = Authenticator::new(&AuthSettings {
        upstream: Some(addr),
        timeout: Duration::from_secs(2),
        attempts: 1,
        hostname: "mx.example.test".into(),
    })
    .unwrap();
    World {
        auth,
        key: pkcs8,
        arc_key,
        _server: server,
    }
}

fn sign(key: &[u8], message: &str) -> String {
    let signature = DkimSigner::from_key(Ed25519Key::from_pkcs8_der(key).unwrap())
        .domain("sender.example")
        .selector("sel")
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .sign(message.as_bytes())
        .unwrap();
    format!("{}{message}", signature.to_header())
}

/// What a mailing list does: take the signed message, tag its Subject (which breaks the
/// author's DKIM signature), and seal the result with ARC (RFC 8617 §5.1).
fn through_list(w: &World, signed: &str) -> String {
    let modified = signed.replace(
        "Subject: quarterly figures",
        "Subject: [team] quarterly figures",
    );
    let parsed = AuthenticatedMessage::parse(modified.as_bytes()).unwrap();
    // The list received the message without ARC sets: an empty chain (cv=none) to extend.
    let chain = ArcOutput::default();
    let results = AuthenticationResults::new("list.example");
    let set = ArcSealer::from_key(Ed25519Key::from_pkcs8_der(&w.arc_key).unwrap())
        .domain("list.example")
        .selector("arc")
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .seal(&parsed, &results, &chain)
        .unwrap();
    format!("{}{modified}", set.to_header())
}

async fn verify(w: &World, client: &str, mail_from: &str, message: &str) -> AuthFacts {
    let session = Session {
        client: client.parse::<IpAddr>().unwrap(),
        helo: "mail.sender.example",
        mail_from,
    };
    w.auth.verify(session, message.as_bytes()).await
}

#[tokio::test]
async fn signed_mail_from_an_authorised_host_passes_everything() {
    let w = world().await;
    let f = verify(
        &w,
        "127.0.0.1",
        "alice@sender.example",
        &sign(&w.key, MESSAGE),
    )
    .await;
    assert_eq!(
        (f.spf, f.dkim, f.dmarc, f.dmarc_policy),
        ("pass", "pass", "pass", Some("reject")),
        "{f:?}"
    );
    let h = f.header();
    assert!(
        h.starts_with("Authentication-Results: mx.example.test;"),
        "{h}"
    );
    for part in [
        "dkim=pass",
        "header.d=sender.example",
        "spf=pass",
        "smtp.mailfrom=",
        "dmarc=pass",
        "header.from=sender.example",
    ] {
        assert!(h.contains(part), "{part} missing from {h}");
    }
    assert!(h.ends_with("\r\n") && !h.trim_end().contains("\r\n\r\n"));
}

#[tokio::test]
async fn dkim_alone_carries_dmarc_when_spf_fails() {
    let w = world().await;
    let f = verify(
        &w,
        "192.0.2.1",
        "alice@sender.example",
        &sign(&w.key, MESSAGE),
    )
    .await;
    assert_eq!((f.spf, f.dkim, f.dmarc), ("fail", "pass", "pass"), "{f:?}");
}

#[tokio::test]
async fn a_forged_message_fails_dmarc_under_p_reject() {
    let w = world().await;
    let tampered = sign(&w.key, MESSAGE).replace("attached", "in the wire transfer");
    let f = verify(&w, "192.0.2.1", "alice@sender.example", &tampered).await;
    // mail-auth calls a body hash mismatch `neutral` (the body may have been altered in
    // transit); what matters is that it is not `pass`, so DMARC fails.
    assert_eq!(
        (f.spf, f.dkim, f.dmarc, f.dmarc_policy),
        ("fail", "neutral", "fail", Some("reject")),
        "{f:?}"
    );
    // A signature over a changed header: the signature itself does not verify.
    let forged_from =
        sign(&w.key, MESSAGE).replace("Subject: quarterly figures", "Subject: pay now");
    let f = verify(&w, "192.0.2.1", "alice@sender.example", &forged_from).await;
    assert_eq!((f.dkim, f.dmarc), ("fail", "fail"), "{f:?}");
    // Unsigned, from the wrong host: no DKIM at all.
    let f = verify(&w, "192.0.2.1", "alice@sender.example", MESSAGE).await;
    assert_eq!((f.spf, f.dkim, f.dmarc), ("fail", "none", "fail"), "{f:?}");
}

#[tokio::test]
async fn a_domain_without_records_is_none_not_fail() {
    let w = world().await;
    let msg = MESSAGE.replace("alice@sender.example", "carol@plain.example");
    let f = verify(&w, "192.0.2.1", "carol@plain.example", &msg).await;
    assert_eq!(
        (f.spf, f.dkim, f.dmarc, f.dmarc_policy),
        ("none", "none", "none", None),
        "{f:?}"
    );
}

#[tokio::test]
async fn null_sender_checks_the_helo_identity_and_garbage_is_survived() {
    let w = world().await;
    // RFC 7208 §2.4: for MAIL FROM:<> the identity is postmaster@HELO; the HELO domain
    // mail.sender.example has no SPF record.
    let f = verify(&w, "127.0.0.1", "", MESSAGE).await;
    assert_eq!(f.spf, "none", "{f:?}");
    assert!(
        f.header_value.contains("smtp.mailfrom=<>"),
        "{}",
        f.header_value
    );
    for junk in [
        "",
        "\r\n\r\n",
        "DKIM-Signature: v=1; a=ed25519-sha256; d=\r\n\r\nx",
    ] {
        let f = verify(&w, "127.0.0.1", "alice@sender.example", junk).await;
        assert_eq!(f.spf, "pass");
        assert_ne!(f.dkim, "pass");
    }
}

#[tokio::test]
async fn dns_down_is_a_temporary_error() {
    let free = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let auth = Authenticator::new(&AuthSettings {
        upstream: Some(free),
        timeout: Duration::from_millis(300),
        attempts: 1,
        hostname: "mx.example.test".into(),
    })
    .unwrap();
    let session = Session {
        client: "192.0.2.1".parse().unwrap(),
        helo: "mail.sender.example",
        mail_from: "alice@sender.example",
    };
    let f = auth.verify(session, MESSAGE.as_bytes()).await;
    assert_eq!(f.spf, "temperror", "{f:?}");
    assert!(matches!(f.dmarc, "temperror" | "none"), "{f:?}");
}

#[tokio::test]
async fn an_intact_arc_chain_passes_where_the_list_broke_dkim() {
    let w = world().await;
    let listed = through_list(&w, &sign(&w.key, MESSAGE));
    let f = verify(&w, "192.0.2.1", "bounces@list.example", &listed).await;
    assert_eq!((f.dkim, f.arc), ("fail", "pass"), "{f:?}");
    assert!(f.header_value.contains("arc=pass"), "{}", f.header_value);
    // Without ARC headers there is no chain at all.
    let f = verify(
        &w,
        "127.0.0.1",
        "alice@sender.example",
        &sign(&w.key, MESSAGE),
    )
    .await;
    assert_eq!(f.arc, "none", "{f:?}");
}

#[tokio::test]
async fn a_message_changed_after_sealing_fails_arc() {
    let w = world().await;
    let listed = through_list(&w, &sign(&w.key, MESSAGE));
    let tampered = listed.replace("[team] quarterly figures", "[team] pay this invoice");
    let f = verify(&w, "192.0.2.1", "bounces@list.example", &tampered).await;
    assert_eq!(f.arc, "fail", "{f:?}");
    // A seal whose ARC-Message-Signature is gone is a broken chain, not "none".
    let broken: String = listed
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with("ARC-Message-Signature"))
        .collect();
    let f = verify(&w, "192.0.2.1", "bounces@list.example", &broken).await;
    assert_eq!(f.arc, "fail", "{f:?}");
}
