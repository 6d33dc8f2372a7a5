//! STARTTLS against calm's own SMTP server (a real receiver with a real TLS stack).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use calm_mail_types::{Address, ReversePath};
use calm_outbound::{Routes, TlsPolicy};
use calm_smtp_server::{
    Backend, EnqueueError, IncomingMessage, RcptVerdict, Reply, Role, Server, SessionInfo,
    Settings, SmtpEvent,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::harness::*;

#[derive(Default)]
struct Keep {
    got: Mutex<Vec<IncomingMessage>>,
}

impl Backend for Keep {
    async fn check_sender(&self, _: &SessionInfo, _: &ReversePath) -> Result<(), Reply> {
        Ok(())
    }
    fn check_rcpt(&self, _: &SessionInfo, _: &Address) -> RcptVerdict {
        RcptVerdict::Accept
    }
    async fn authenticate(&self, _: &str, _: &str) -> Option<String> {
        None
    }
    async fn enqueue(&self, msg: IncomingMessage) -> Result<(), EnqueueError> {
        self.got.lock().unwrap().push(msg);
        Ok(())
    }
    fn event(&self, _: &SmtpEvent) {}
}

/// A CA and a server certificate for `mx.tls.test` signed by it.
fn certificates() -> (CertificateDer<'static>, CertificateDer<'static>, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["mx.tls.test".to_owned()]).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca.der().clone(), cert.der().clone(), key.serialize_der())
}

async fn tls_server(ip: &str, cert: CertificateDer<'static>, key: Vec<u8>) -> (u16, Arc<Keep>) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .unwrap();
    let settings = Settings {
        hostname: "mx.tls.test".into(),
        max_message_size: 1_000_000,
        max_recipients: 100,
        command_timeout: Duration::from_secs(10),
        data_timeout: Duration::from_secs(10),
        max_errors: 10,
        max_auth_failures: 2,
        mx_greeting_delay: Duration::ZERO,
        tls: Arc::new(tls),
    };
    let backend = Arc::new(Keep::default());
    let server = Server::new(Arc::new(settings), backend.clone());
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { server.run("mx".into(), Role::Mx, listener).await });
    (port, backend)
}

fn tls_zone() -> calm_dns::test_server::Zone {
    zone()
        .mx("tls.test", 10, "mx.tls.test")
        .a("mx.tls.test", "127.0.0.6".parse().unwrap())
}

#[tokio::test]
async fn opportunistic_starttls_encrypts_without_checking_the_certificate() {
    let (_, cert, key) = certificates();
    let (port, backend) = tls_server("127.0.0.6", cert, key).await;
    let s = setup(tls_zone(), port, |_| {}).await;
    s.enqueue("T1", "a@sender.test", &["b@tls.test"], BODY);
    s.engine.run_once().await;
    let got = backend.got.lock().unwrap();
    assert_eq!(got.len(), 1, "{:?}", s.events());
    assert!(got[0].session.tls, "delivered over TLS");
    assert!(got[0].data.ends_with(BODY), "the body arrives intact");
}

#[tokio::test]
async fn verified_routes_need_a_trusted_certificate() {
    let (ca, cert, key) = certificates();
    let (port, backend) = tls_server("127.0.0.6", cert, key).await;
    let route = format!("tls.test smtp:mx.tls.test:{port} tls=verify\n");
    // Without trusted roots the route defers rather than sending in the clear.
    let s = setup(tls_zone(), port, |c| {
        c.routes = Routes::parse(&route, "r").unwrap()
    })
    .await;
    s.enqueue("T2", "a@sender.test", &["b@tls.test"], BODY);
    s.engine.run_once().await;
    assert!(backend.got.lock().unwrap().is_empty());
    let r = &s.engine.show("T2").unwrap().state.recipients[0];
    assert_eq!(r.status_code.as_deref(), Some("4.7.0"), "{r:?}");
    // With the CA trusted it is delivered.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let s = setup(tls_zone(), port, |c| {
        c.routes = Routes::parse(&route, "r").unwrap();
        c.tls_roots = Some(Arc::new(roots));
    })
    .await;
    s.enqueue("T3", "a@sender.test", &["b@tls.test"], BODY);
    s.engine.run_once().await;
    assert_eq!(backend.got.lock().unwrap().len(), 1, "{:?}", s.events());
    let _ = TlsPolicy::Verify;
}

#[tokio::test]
async fn a_route_requiring_tls_defers_when_starttls_is_not_offered() {
    let rx = receiver("127.0.0.2", 0, Arc::new(accept)).await;
    let route = "example.test smtp: tls=encrypt\n";
    let s = setup(zone(), rx.addr.port(), |c| {
        c.routes = Routes::parse(route, "r").unwrap()
    })
    .await;
    s.enqueue("T4", "a@sender.test", &["b@example.test"], BODY);
    s.engine.run_once().await;
    assert!(rx.got().is_empty());
    let r = &s.engine.show("T4").unwrap().state.recipients[0];
    assert_eq!(r.status_code.as_deref(), Some("4.7.0"));
    assert!(
        r.last_reply.as_deref().unwrap_or("").contains("STARTTLS"),
        "{r:?}"
    );
}
