//! SMTP AUTH towards relay routes (RFC 4954), against calm's own SMTP server on the
//! submission role (STARTTLS, then AUTH) with a backend that checks the password.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use calm_mail_types::{Address, ReversePath};
use calm_outbound::{RelayCredentials, Routes};
use calm_smtp_server::{
    Backend, EnqueueError, IncomingMessage, RcptVerdict, Reply, Role, Server, SessionInfo,
    Settings, SmtpEvent,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::harness::*;

const USER: &str = "relay-user@calm.test";
const PASSWORD: &str = "Corr3ct#Horse";

/// Accepts everything from a session authenticated as USER with PASSWORD.
#[derive(Default)]
struct Relay {
    got: Mutex<Vec<IncomingMessage>>,
    logins: Mutex<Vec<(String, bool)>>,
}

impl Backend for Relay {
    async fn check_sender(&self, _: &SessionInfo, _: &ReversePath) -> Result<(), Reply> {
        Ok(())
    }
    fn check_rcpt(&self, _: &SessionInfo, _: &Address) -> RcptVerdict {
        RcptVerdict::Accept
    }
    async fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        let ok = user == USER && password == PASSWORD;
        self.logins.lock().unwrap().push((user.to_owned(), ok));
        ok.then(|| user.to_owned())
    }
    async fn enqueue(&self, msg: IncomingMessage) -> Result<(), EnqueueError> {
        self.got.lock().unwrap().push(msg);
        Ok(())
    }
    fn event(&self, _: &SmtpEvent) {}
}

/// calm's SMTP server as a submission relay on `ip`, with a self-signed certificate.
async fn relay(ip: &str) -> (u16, Arc<Relay>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["relay.auth.test".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let settings = Settings {
        hostname: "relay.auth.test".into(),
        max_message_size: 1_000_000,
        max_recipients: 100,
        command_timeout: Duration::from_secs(10),
        data_timeout: Duration::from_secs(10),
        max_errors: 10,
        max_auth_failures: 2,
        mx_greeting_delay: Duration::ZERO,
        tls: Arc::new(tls),
    };
    let backend = Arc::new(Relay::default());
    let server = Server::new(Arc::new(settings), backend.clone());
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        server
            .run("submission".into(), Role::Submission, listener)
            .await
    });
    (port, backend)
}

/// `auth.test` relays through `[ip]:port` with the credential `isp`.
fn routes(ip: &str, port: u16, password: &str) -> Routes {
    let map = format!("auth.test relay:[{ip}]:{port} auth=isp\n");
    let creds = RelayCredentials::parse(&format!("isp {USER} {password}\n"), "creds").unwrap();
    Routes::parse(&map, "routes")
        .unwrap()
        .with_credentials(creds)
}

/// The password in any form it could take on the wire or in a log line.
fn assert_no_password(s: &Setup, password: &str) {
    let events = serde_json::to_string(&s.events()).unwrap();
    let state = format!("{:?}", s.engine.show("A1").map(|e| e.state));
    for text in [&events, &state] {
        assert!(!text.contains(password), "password leaked: {text}");
    }
}

#[tokio::test]
async fn the_right_credentials_deliver_over_tls() {
    let (port, relay) = relay("127.0.0.8").await;
    let s = setup(zone(), port, |c| {
        c.routes = routes("127.0.0.8", port, PASSWORD)
    })
    .await;
    s.enqueue("A1", "a@sender.test", &["b@auth.test"], BODY);
    s.engine.run_once().await;
    let got = relay.got.lock().unwrap();
    assert_eq!(got.len(), 1, "{:?}", s.events());
    assert!(got[0].session.tls, "authenticated inside TLS");
    assert_eq!(got[0].session.auth_user.as_deref(), Some(USER));
    assert!(got[0].data.ends_with(BODY));
    assert_eq!(s.count("delivered_remote"), 1);
    assert_no_password(&s, PASSWORD);
}

#[tokio::test]
async fn wrong_credentials_defer_with_the_535_text() {
    let (port, relay) = relay("127.0.0.8").await;
    let s = setup(zone(), port, |c| {
        c.routes = routes("127.0.0.8", port, "wrong#pw")
    })
    .await;
    s.enqueue("A1", "a@sender.test", &["b@auth.test"], BODY);
    s.engine.run_once().await;
    assert!(relay.got.lock().unwrap().is_empty());
    assert_eq!(*relay.logins.lock().unwrap(), [(USER.to_owned(), false)]);
    let r = &s.engine.show("A1").unwrap().state.recipients[0];
    let last = r.last_reply.as_deref().unwrap_or("");
    assert!(last.contains("535") && last.contains("AUTH PLAIN"), "{r:?}");
    assert!(
        r.status_code.as_deref().unwrap_or("").starts_with('4'),
        "{r:?}"
    );
    assert_eq!(s.count("deferred"), 1, "{:?}", s.events());
    assert_eq!(s.count("bounced"), 0);
    assert_no_password(&s, "wrong#pw");
}

/// A relay that offers AUTH but not STARTTLS: calm must not log in in clear.
fn auth_without_starttls(conn: usize, cmd: &str) -> Act {
    if cmd.to_ascii_uppercase().starts_with("EHLO") {
        return reply("250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME");
    }
    accept(conn, cmd)
}

#[tokio::test]
async fn a_relay_without_starttls_gets_no_password() {
    let rx = receiver("127.0.0.9", 0, Arc::new(auth_without_starttls)).await;
    let port = rx.addr.port();
    let s = setup(zone(), port, |c| {
        c.routes = routes("127.0.0.9", port, PASSWORD)
    })
    .await;
    s.enqueue("A1", "a@sender.test", &["b@auth.test"], BODY);
    s.engine.run_once().await;
    assert!(rx.got().is_empty());
    assert_eq!(rx.connections(), 1);
    let commands = rx.commands();
    assert!(
        commands
            .iter()
            .all(|c| !c.to_ascii_uppercase().starts_with("AUTH")),
        "{commands:?}"
    );
    let r = &s.engine.show("A1").unwrap().state.recipients[0];
    assert_eq!(r.status_code.as_deref(), Some("4.7.0"), "{r:?}");
    assert!(
        r.last_reply.as_deref().unwrap_or("").contains("STARTTLS"),
        "{r:?}"
    );
    assert_no_password(&s, PASSWORD);
}

#[tokio::test]
async fn an_unknown_credential_name_defers_without_connecting() {
    let rx = receiver("127.0.0.9", 0, Arc::new(accept)).await;
    let port = rx.addr.port();
    let map = format!("auth.test relay:[127.0.0.9]:{port} auth=nobody\n");
    let s = setup(zone(), port, |c| {
        c.routes = Routes::parse(&map, "r").unwrap();
    })
    .await;
    s.enqueue("A1", "a@sender.test", &["b@auth.test"], BODY);
    s.engine.run_once().await;
    assert_eq!(rx.connections(), 0);
    let r = &s.engine.show("A1").unwrap().state.recipients[0];
    assert_eq!(r.status_code.as_deref(), Some("4.3.5"), "{r:?}");
    assert!(
        r.last_reply.as_deref().unwrap_or("").contains("nobody"),
        "{r:?}"
    );
}
