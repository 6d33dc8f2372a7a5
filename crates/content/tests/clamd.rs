//! The clamd client against a real clamd (Debian package `clamav-daemon`), started by the test
//! on a loopback TCP port and a Unix socket, with a signature database made here: an EICAR
//! signature in a custom `.ndb` file (no download). Also clamd absent, and clamd too slow.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use calm_content::{Endpoint, ScanResult, Scanner};

/// The EICAR test file, built from two halves so that this source is not itself "infected".
fn eicar() -> Vec<u8> {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-",
        "ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

struct Clamd {
    child: Child,
    tcp: SocketAddr,
    unix: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn clamd_binary() -> PathBuf {
    for p in ["/usr/sbin/clamd", "/usr/bin/clamd"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("clamd not found: install the Debian package clamav-daemon");
}

fn start_clamd() -> Clamd {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    let hex: String = eicar().iter().map(|b| format!("{b:02x}")).collect();
    // .ndb: Name:TargetType:Offset:HexSignature (type 0 = any file, offset * = anywhere)
    std::fs::write(
        db.join("calm-eicar.ndb"),
        format!("Eicar-Test-Signature.CALM:0:*:{hex}\n"),
    )
    .unwrap();
    let tcp = free_port();
    let unix = dir.path().join("clamd.sock");
    let conf = dir.path().join("clamd.conf");
    let mut f = std::fs::File::create(&conf).unwrap();
    write!(
        f,
        "DatabaseDirectory {db}\nLocalSocket {unix}\nTCPSocket {port}\nTCPAddr 127.0.0.1\n\
         TemporaryDirectory {tmp}\nLogFile {log}\nForeground yes\nMaxThreads 2\n\
         StreamMaxLength 1M\n",
        db = db.display(),
        unix = unix.display(),
        port = tcp.port(),
        tmp = dir.path().join("tmp").display(),
        log = dir.path().join("clamd.log").display(),
    )
    .unwrap();
    let child = Command::new(clamd_binary())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Clamd {
        child,
        tcp,
        unix,
        _dir: dir,
    }
}

async fn wait_up(clamd: &mut Clamd) {
    let scanner = Scanner::new(Endpoint::Tcp(clamd.tcp)).with_timeout(Duration::from_millis(500));
    let start = Instant::now();
    while !scanner.ping().await {
        if let Ok(Some(status)) = clamd.child.try_wait() {
            let log =
                std::fs::read_to_string(clamd._dir.path().join("clamd.log")).unwrap_or_default();
            panic!("clamd exited with {status}: {log}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "clamd did not come up in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn mail_with(body: &[u8]) -> Vec<u8> {
    let mut m = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: t\r\n\r\n".to_vec();
    m.extend_from_slice(body);
    m.extend_from_slice(b"\r\n");
    m
}

#[tokio::test]
async fn real_clamd_finds_eicar_over_tcp_and_unix_and_passes_clean_mail() {
    let mut clamd = start_clamd();
    wait_up(&mut clamd).await;
    for endpoint in [Endpoint::Tcp(clamd.tcp), Endpoint::Unix(clamd.unix.clone())] {
        let scanner = Scanner::new(endpoint.clone()).with_timeout(Duration::from_secs(20));
        assert_eq!(
            scanner.scan(&mail_with(&eicar())).await,
            ScanResult::Infected("Eicar-Test-Signature.CALM.UNOFFICIAL".into()),
            "{endpoint:?}"
        );
        assert_eq!(
            scanner.scan(&mail_with(b"Hello, nothing to see.")).await,
            ScanResult::Clean
        );
    }
    // Several INSTREAM chunks: the signature sits after 200 KiB of clean text.
    let scanner = Scanner::new(Endpoint::Tcp(clamd.tcp));
    let mut big = b"lorem ipsum dolor sit amet\r\n".repeat(8000);
    big.extend_from_slice(&eicar());
    assert!(matches!(
        scanner.scan(&mail_with(&big)).await,
        ScanResult::Infected(_)
    ));
    // Over StreamMaxLength (1M here): clamd answers with an error, which is no verdict.
    let huge = vec![b'a'; 2 * 1024 * 1024];
    let r = scanner.scan(&huge).await;
    assert!(matches!(r, ScanResult::Unavailable(_)), "{r:?}");
}

#[tokio::test]
async fn stopped_clamd_is_unavailable() {
    let mut clamd = start_clamd();
    wait_up(&mut clamd).await;
    let (tcp, unix) = (clamd.tcp, clamd.unix.clone());
    drop(clamd);
    for endpoint in [Endpoint::Tcp(tcp), Endpoint::Unix(unix)] {
        let scanner = Scanner::new(endpoint).with_timeout(Duration::from_secs(5));
        assert!(!scanner.ping().await);
        match scanner.scan(&mail_with(&eicar())).await {
            ScanResult::Unavailable(why) => assert!(why.starts_with("clamd"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_silent_server_times_out_as_unavailable() {
    // Accepts and reads but never answers, like a hung clamd.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut s, &mut sink).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let scanner = Scanner::new(Endpoint::Tcp(addr)).with_timeout(Duration::from_millis(300));
    let start = Instant::now();
    match scanner.scan(b"hello").await {
        ScanResult::Unavailable(why) => assert!(why.contains("did not answer"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn garbage_answers_are_unavailable_not_clean() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt as _;
        let (mut s, _) = listener.accept().await.unwrap();
        let _ = s.write_all(&[b'X'; 10_000]).await;
    });
    let scanner = Scanner::new(Endpoint::Tcp(addr)).with_timeout(Duration::from_secs(5));
    assert!(matches!(
        scanner.scan(b"hello").await,
        ScanResult::Unavailable(_)
    ));
}
