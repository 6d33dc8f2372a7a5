//! An in-process server on 127.0.0.1:0 with a recording backend, and a small raw SMTP client.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calm_mail_types::{Address, ReversePath};
use calm_smtp_server::{
    Backend, EnqueueError, IncomingMessage, RcptVerdict, Reply, Role, Server, SessionInfo,
    Settings, SmtpEvent,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const HOST: &str = "mx.example.test";
/// How long a test waits for any single server reply before failing.
const READ_LIMIT: Duration = Duration::from_secs(10);

/// Local domain `example.test`, users `bob` (password `secret`) and `postmaster`; records
/// everything it is asked and everything it stores.
#[derive(Default)]
pub struct TestBackend {
    pub enqueued: Mutex<Vec<IncomingMessage>>,
    pub events: Mutex<Vec<SmtpEvent>>,
    pub rcpts_checked: Mutex<Vec<Address>>,
    pub senders_checked: Mutex<Vec<(ReversePath, SessionInfo)>>,
    pub fail_enqueue: Mutex<Option<EnqueueError>>,
}

impl TestBackend {
    pub fn enqueued_count(&self) -> usize {
        self.enqueued.lock().unwrap().len()
    }

    pub fn events(&self) -> Vec<SmtpEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn rcpts(&self) -> Vec<(String, String)> {
        let checked = self.rcpts_checked.lock().unwrap();
        checked
            .iter()
            .map(|a| (a.local().to_owned(), a.domain().to_owned()))
            .collect()
    }
}

impl Backend for TestBackend {
    async fn check_sender(&self, s: &SessionInfo, from: &ReversePath) -> Result<(), Reply> {
        self.senders_checked
            .lock()
            .unwrap()
            .push((from.clone(), s.clone()));
        Ok(())
    }

    fn check_rcpt(&self, s: &SessionInfo, rcpt: &Address) -> RcptVerdict {
        self.rcpts_checked.lock().unwrap().push(rcpt.clone());
        let local_domain = rcpt.domain() == "example.test" || rcpt.domain() == HOST;
        if local_domain && ["bob", "postmaster"].contains(&rcpt.local()) {
            RcptVerdict::Accept
        } else if local_domain {
            RcptVerdict::Reject(Reply::no_such_user("User unknown"))
        } else if s.auth_user.is_some() {
            RcptVerdict::Accept
        } else {
            RcptVerdict::Reject(Reply::relay_denied("Relay access denied"))
        }
    }

    async fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        (user == "bob" && password == "secret").then(|| "bob".to_owned())
    }

    async fn enqueue(&self, msg: IncomingMessage) -> Result<(), EnqueueError> {
        if let Some(e) = self.fail_enqueue.lock().unwrap().clone() {
            return Err(e);
        }
        self.enqueued.lock().unwrap().push(msg);
        Ok(())
    }

    fn event(&self, ev: &SmtpEvent) {
        self.events.lock().unwrap().push(ev.clone());
    }
}

pub struct Cert {
    pub der: CertificateDer<'static>,
    key: Vec<u8>,
}

pub fn cert() -> Cert {
    let ck = rcgen::generate_simple_self_signed(vec![HOST.to_owned()]).unwrap();
    Cert {
        der: ck.cert.der().clone(),
        key: ck.signing_key.serialize_der(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn server_tls(cert: &Cert) -> Arc<rustls::ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.clone()));
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der.clone()], key)
        .unwrap();
    Arc::new(config)
}

pub fn settings(tls: Arc<rustls::ServerConfig>) -> Settings {
    Settings {
        hostname: HOST.to_owned(),
        max_message_size: 10_000,
        max_recipients: 3,
        command_timeout: Duration::from_secs(10),
        data_timeout: Duration::from_secs(10),
        max_errors: 10,
        max_auth_failures: 2,
        mx_greeting_delay: Duration::ZERO,
        tls,
    }
}

pub struct TestServer {
    pub backend: Arc<TestBackend>,
    pub mx: SocketAddr,
    pub submission: SocketAddr,
    pub submissions: SocketAddr,
    cert: CertificateDer<'static>,
}

/// Starts mx, submission and submissions listeners with default test settings.
pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// Starts the listeners after letting the test adjust the settings.
pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> TestServer {
    let cert = cert();
    let mut s = settings(server_tls(&cert));
    adjust(&mut s);
    let backend = Arc::new(TestBackend::default());
    let server = Arc::new(Server::new(Arc::new(s), backend.clone()));
    let mut addrs = Vec::new();
    for (name, role) in [
        ("mx", Role::Mx),
        ("submission", Role::Submission),
        ("submissions", Role::Submissions),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        let server = server.clone();
        tokio::spawn(async move { server.run(name.to_owned(), role, listener).await });
    }
    TestServer {
        backend,
        mx: addrs[0],
        submission: addrs[1],
        submissions: addrs[2],
        cert: cert.der,
    }
}

impl TestServer {
    pub fn addr(&self, role: Role) -> SocketAddr {
        match role {
            Role::Mx => self.mx,
            Role::Submission => self.submission,
            Role::Submissions => self.submissions,
        }
    }

    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert.clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// A plain TCP client (mx, submission).
    pub async fn plain(&self, role: Role) -> Client<TcpStream> {
        Client::new(TcpStream::connect(self.addr(role)).await.unwrap())
    }

    /// An implicit-TLS client (submissions).
    pub async fn implicit_tls(&self) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(self.submissions).await.unwrap();
        let name = ServerName::try_from(HOST).unwrap();
        Client::new(self.connector().connect(name, tcp).await.unwrap())
    }

    /// Upgrades a plain client after its `220 Ready to start TLS`. Panics if the server sent
    /// anything in plaintext after that reply.
    pub async fn upgrade(
        &self,
        client: Client<TcpStream>,
    ) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
        assert!(
            client.stream.buffer().is_empty(),
            "plaintext after the STARTTLS reply"
        );
        let tcp = client.stream.into_inner();
        let name = ServerName::try_from(HOST).unwrap();
        Client::new(self.connector().connect(name, tcp).await.unwrap())
    }

    /// Waits until the server has reported the connection's end (events are sent after close).
    pub async fn wait_for_disconnects(&self, n: usize) {
        for _ in 0..200 {
            let count = self
                .backend
                .events()
                .iter()
                .filter(|e| matches!(e, SmtpEvent::Disconnect { .. }))
                .count();
            if count >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "expected {n} disconnect events, have {:?}",
            self.backend.events()
        );
    }
}

/// A raw SMTP client: writes bytes, reads reply lines.
pub struct Client<S> {
    pub stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub fn new(stream: S) -> Self {
        Client {
            stream: BufReader::new(stream),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).await.unwrap();
        self.stream.get_mut().flush().await.unwrap();
    }

    /// Sends one command line with CRLF.
    pub async fn cmd(&mut self, line: &str) {
        self.send(format!("{line}\r\n").as_bytes()).await;
    }

    /// One reply line without CRLF, or `None` at end of stream.
    pub async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = tokio::time::timeout(READ_LIMIT, self.stream.read_line(&mut line))
            .await
            .expect("server reply timed out")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        assert!(
            line.ends_with("\r\n"),
            "reply line not CRLF-terminated: {line:?}"
        );
        line.truncate(line.len() - 2);
        Some(line)
    }

    /// A complete (possibly multi-line) reply, all lines joined with '\n'.
    pub async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let line = self
                .line()
                .await
                .expect("connection closed while reading a reply");
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    /// Sends a command and returns its reply.
    pub async fn ask(&mut self, line: &str) -> String {
        self.cmd(line).await;
        self.reply().await
    }

    /// Reads until the server closes; returns what it sent.
    pub async fn drain_until_closed(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(READ_LIMIT, self.stream.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "server did not close the connection");
        rest
    }

    /// Asserts the server closes the connection without sending anything more.
    pub async fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(READ_LIMIT, self.stream.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "server did not close the connection");
        assert_eq!(
            String::from_utf8_lossy(&rest),
            "",
            "unexpected bytes before close"
        );
    }
}
