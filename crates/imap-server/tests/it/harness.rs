//! An in-process IMAP server on 127.0.0.1:0 with a recording backend, a temporary Maildir
//! tree, and a small raw IMAP client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calm_imap_server::{Backend, ImapEvent, Role, Server, Settings};
use calm_maildir::{Item, Maildir, deliver_batch};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const HOST: &str = "imap.example.test";
/// How long a test waits for any single server line before failing.
const READ_LIMIT: Duration = Duration::from_secs(10);

/// Users `bob` (password `secret`, a 1 MiB quota) and `alice` (`wonderland`, no quota);
/// records every event.
pub struct TestBackend {
    pub root: PathBuf,
    pub events: Mutex<Vec<ImapEvent>>,
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

    /// Bob has 1 MiB; alice has no limit.
    fn storage_limit(&self, user: &str) -> Option<u64> {
        (user == "bob@example.test").then_some(BOB_QUOTA)
    }

    fn storage_used(&self, user: &str) -> u64 {
        calm_maildir::mailbox_size(&self.mailbox_root(user))
    }

    fn event(&self, ev: &ImapEvent) {
        self.events.lock().unwrap().push(ev.clone());
    }
}

/// Bob's storage limit in octets.
pub const BOB_QUOTA: u64 = 1 << 20;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

pub struct TestServer {
    pub backend: Arc<TestBackend>,
    pub imap: SocketAddr,
    pub imaps: SocketAddr,
    /// The self-signed certificate in PEM, for clients that verify it.
    pub cert_pem: PathBuf,
    cert: CertificateDer<'static>,
    _tmp: tempfile::TempDir,
}

/// Starts `imap` and `imaps` listeners with test settings (no auth failure delay).
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
    settings.timeouts.idle_poll = Duration::from_millis(100);
    adjust(&mut settings);
    let backend = Arc::new(TestBackend {
        root: tmp.path().join("mail"),
        events: Mutex::default(),
    });
    let server = Arc::new(Server::new(Arc::new(settings), backend.clone()));
    let mut addrs = Vec::new();
    for (name, role) in [("imap", Role::Imap), ("imaps", Role::Imaps)] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        let server = server.clone();
        tokio::spawn(async move { server.run(name.to_owned(), role, listener).await });
    }
    TestServer {
        backend,
        imap: addrs[0],
        imaps: addrs[1],
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

    /// Delivers messages the way calm's delivery does.
    pub fn deliver(&self, user: &str, bodies: &[&[u8]]) {
        deliver_to(&self.maildir(user), bodies);
    }

    pub fn events(&self) -> Vec<ImapEvent> {
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

    /// A plaintext client on the `imap` listener, greeting consumed.
    pub async fn plain(&self) -> Client<TcpStream> {
        let mut client = Client::new(TcpStream::connect(self.imap).await.unwrap());
        client.greeting().await;
        client
    }

    /// An implicit-TLS client on the `imaps` listener, greeting consumed.
    pub async fn tls(&self) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(self.imaps).await.unwrap();
        let name = ServerName::try_from(HOST).unwrap();
        let mut client = Client::new(self.connector().connect(name, tcp).await.unwrap());
        client.greeting().await;
        client
    }

    /// A TLS client logged in as bob.
    pub async fn bob(&self) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
        let mut client = self.tls().await;
        let reply = client.command("L LOGIN bob secret").await;
        assert!(reply.last().unwrap().starts_with("L OK"), "{reply:?}");
        client
    }

    /// Upgrades a plain client after the STARTTLS OK. Panics if the server sent anything in
    /// plaintext after that line.
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
}

pub fn deliver_to(root: &Path, bodies: &[&[u8]]) {
    let maildir = Maildir::create(root).unwrap();
    let items: Vec<Item<'_>> = bodies
        .iter()
        .map(|body| Item {
            maildir: &maildir,
            name: calm_maildir::unique_name(
                1_700_000_000,
                next_id().as_str(),
                "bob@example.test",
                "mx.example.test",
                body.len() as u64,
            ),
            prefix: b"",
            data: body,
            check_existing: false,
        })
        .collect();
    for result in deliver_batch(&items) {
        result.unwrap();
    }
}

/// A distinct queue id per delivered message (the delivery name derives from it).
fn next_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("T{:08}", N.fetch_add(1, Ordering::Relaxed))
}

/// A raw IMAP client: writes bytes, reads lines.
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
        assert!(
            greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "),
            "{greeting}"
        );
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).await.unwrap();
        self.stream.get_mut().flush().await.unwrap();
    }

    /// One line without CRLF, or `None` at end of stream. Literal contents arrive as lines
    /// too; tests use messages with CRLF line ends.
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

    /// Reads lines up to and including the tagged reply for `tag`.
    pub async fn until_tagged(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let prefix = format!("{tag} ");
        loop {
            let line = self
                .line()
                .await
                .unwrap_or_else(|| panic!("connection closed before {tag}: {lines:?}"));
            let done = line.starts_with(&prefix);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Sends `line` (its first word is the tag) and returns every line up to the tagged one.
    pub async fn command(&mut self, line: &str) -> Vec<String> {
        self.send(format!("{line}\r\n").as_bytes()).await;
        let tag = line.split(' ').next().unwrap().to_owned();
        self.until_tagged(&tag).await
    }

    /// Asserts the server closes the connection, returning what it sent before.
    pub async fn rest(&mut self) -> String {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(READ_LIMIT, self.stream.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "server did not close the connection");
        String::from_utf8_lossy(&rest).into_owned()
    }
}
