//! An in-process POP3 server on 127.0.0.1:0 with a recording backend, a temporary Maildir
//! tree, and a small raw POP3 client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calm_maildir::{Item, Maildir, deliver_batch};
use calm_pop3_server::{Backend, Pop3Event, Role, Server, Settings};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const HOST: &str = "pop.example.test";
/// How long a test waits for any single server line before failing.
const READ_LIMIT: Duration = Duration::from_secs(10);

/// Users `bob` (password `secret`) and `alice` (`wonderland`); records every event.
pub struct TestBackend {
    pub root: PathBuf,
    pub events: Mutex<Vec<Pop3Event>>,
}

impl Backend for TestBackend {
    async fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        match (user, password) {
            ("bob", "secret") => Some("bob@example.test".to_owned()),
            ("alice", "wonderland") => Some("alice@example.test".to_owned()),
            _ => None,
        }
    }

    fn mailbox_root(&self, user: &str) -> PathBuf {
        calm_maildir::mailbox_dir(&self.root, user)
    }

    fn event(&self, ev: &Pop3Event) {
        self.events.lock().unwrap().push(ev.clone());
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

pub struct TestServer {
    pub backend: Arc<TestBackend>,
    pub pop3: SocketAddr,
    pub pop3s: SocketAddr,
    /// The self-signed certificate in PEM, for clients that verify it.
    pub cert_pem: PathBuf,
    cert: CertificateDer<'static>,
    _tmp: tempfile::TempDir,
}

/// Starts `pop3` and `pop3s` listeners with test settings (no auth failure delay).
pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// Starts the listeners after letting the test adjust the settings.
pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> TestServer {
    let tmp = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec![HOST.to_owned()]).unwrap();
    let cert_pem = tmp.path().join("cert.pem");
    std::fs::write(&cert_pem, ck.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    let mut settings = Settings::new(HOST, Arc::new(tls));
    settings.auth_failure_delay = Duration::ZERO;
    adjust(&mut settings);
    let backend = Arc::new(TestBackend {
        root: tmp.path().join("mail"),
        events: Mutex::default(),
    });
    let server = Arc::new(Server::new(Arc::new(settings), backend.clone()));
    let mut addrs = Vec::new();
    for (name, role) in [("pop3", Role::Pop3), ("pop3s", Role::Pop3s)] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        let server = server.clone();
        tokio::spawn(async move { server.run(name.to_owned(), role, listener).await });
    }
    TestServer {
        backend,
        pop3: addrs[0],
        pop3s: addrs[1],
        cert_pem,
        cert: ck.cert.der().clone(),
        _tmp: tmp,
    }
}

impl TestServer {
    /// The Maildir of `user` (e.g. `bob@example.test`).
    pub fn maildir(&self, user: &str) -> PathBuf {
        self.backend.mailbox_root(user)
    }

    /// Delivers messages the way calm's delivery does; returns their base names.
    pub fn deliver(&self, user: &str, bodies: &[&[u8]]) -> Vec<String> {
        deliver_to(&self.maildir(user), bodies)
    }

    pub fn events(&self) -> Vec<Pop3Event> {
        self.backend.events.lock().unwrap().clone()
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

    /// A plaintext client on the `pop3` listener, greeting consumed.
    pub async fn plain(&self) -> Client<TcpStream> {
        let mut client = Client::new(TcpStream::connect(self.pop3).await.unwrap());
        client.greeting().await;
        client
    }

    /// An implicit-TLS client on the `pop3s` listener, greeting consumed.
    pub async fn tls(&self) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(self.pop3s).await.unwrap();
        let name = ServerName::try_from(HOST).unwrap();
        let mut client = Client::new(self.connector().connect(name, tcp).await.unwrap());
        client.greeting().await;
        client
    }

    /// Upgrades a plain client after `+OK Begin TLS`. Panics if the server sent anything in
    /// plaintext after that line.
    pub async fn upgrade(
        &self,
        client: Client<TcpStream>,
    ) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
        assert!(
            client.stream.buffer().is_empty(),
            "plaintext after the STLS reply"
        );
        let tcp = client.stream.into_inner();
        let name = ServerName::try_from(HOST).unwrap();
        Client::new(self.connector().connect(name, tcp).await.unwrap())
    }

    /// Waits until `n` sessions have ended (the `quit` event comes after the lock is released).
    pub async fn wait_for_quits(&self, n: usize) {
        for _ in 0..500 {
            let quits = self
                .events()
                .iter()
                .filter(|e| matches!(e, Pop3Event::Quit { .. }))
                .count();
            if quits >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {n} quit events, have {:?}", self.events());
    }
}

pub fn deliver_to(root: &Path, bodies: &[&[u8]]) -> Vec<String> {
    let maildir = Maildir::create(root).unwrap();
    let items: Vec<Item<'_>> = bodies
        .iter()
        .map(|body| Item {
            maildir: &maildir,
            name: calm_maildir::unique_name(
                1_700_000_000,
                calm_mail_like_id().as_str(),
                "bob@example.test",
                "mx.example.test",
                body.len() as u64,
            ),
            prefix: b"",
            data: body,
            check_existing: false,
        })
        .collect();
    let names = items.iter().map(|i| i.name.clone()).collect();
    for result in deliver_batch(&items) {
        result.unwrap();
    }
    names
}

/// The UIDL expected for a delivered name: the Maildir unique name before `,S=`.
pub fn unique(name: &str) -> &str {
    name.split(',').next().unwrap()
}

/// A distinct queue id per delivered message (the delivery name derives from it).
fn calm_mail_like_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("T{:08}", N.fetch_add(1, Ordering::Relaxed))
}

/// A raw POP3 client: writes bytes, reads lines.
pub struct Client<S> {
    pub stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub fn new(stream: S) -> Self {
        Client {
            stream: BufReader::new(stream),
        }
    }

    async fn greeting(&mut self) {
        let greeting = self.line().await.expect("no greeting");
        assert_eq!(greeting, format!("+OK {HOST} POP3 ready."));
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).await.unwrap();
        self.stream.get_mut().flush().await.unwrap();
    }

    /// One line without CRLF, or `None` at end of stream.
    pub async fn line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        let n = tokio::time::timeout(READ_LIMIT, self.stream.read_until(b'\n', &mut line))
            .await
            .expect("server reply timed out")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        assert!(
            line.ends_with(b"\r\n"),
            "line not CRLF-terminated: {line:?}"
        );
        line.truncate(line.len() - 2);
        Some(String::from_utf8(line).expect("server sent non-UTF-8"))
    }

    /// Sends a command, returns its one-line reply.
    pub async fn ask(&mut self, command: &str) -> String {
        self.send(format!("{command}\r\n").as_bytes()).await;
        self.line()
            .await
            .expect("connection closed while waiting for a reply")
    }

    /// Reads the lines of a multi-line body up to the terminating `.`, unstuffed.
    pub async fn body(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self
                .line()
                .await
                .expect("connection closed inside a multi-line reply");
            if line == "." {
                return lines;
            }
            lines.push(line.strip_prefix('.').map(str::to_owned).unwrap_or(line));
        }
    }

    /// Logs in with USER/PASS and returns the PASS reply.
    pub async fn login(&mut self, user: &str, password: &str) -> String {
        assert_eq!(self.ask(&format!("USER {user}")).await, "+OK");
        self.ask(&format!("PASS {password}")).await
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
