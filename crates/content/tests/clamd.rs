//! The clamd client against a real clamd (Debian package `clamav-daemon`), started by the test
//! on a loopback TCP port and a Unix socket, with a signature database made here: an EICAR
//! signature in a custom `.ndb` file (no download). Also clamd absent, and clamd too slow.

use std::time::{Duration, Instant};

use calm_content::testing::{EICAR_SIGNATURE, TestClamd, eicar};
use calm_content::{Endpoint, ScanResult, Scanner};

fn mail_with(body: &[u8]) -> Vec<u8> {
    let mut m = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: t\r\n\r\n".to_vec();
    m.extend_from_slice(body);
    m.extend_from_slice(b"\r\n");
    m
}

#[tokio::test]
async fn real_clamd_finds_eicar_over_tcp_and_unix_and_passes_clean_mail() {
    let clamd = TestClamd::start();
    for endpoint in [
        Endpoint::Tcp(clamd.tcp()),
        Endpoint::Unix(clamd.unix().into()),
    ] {
        let scanner = Scanner::new(endpoint.clone()).with_timeout(Duration::from_secs(20));
        assert_eq!(
            scanner.scan(&mail_with(&eicar())).await,
            ScanResult::Infected(EICAR_SIGNATURE.into()),
            "{endpoint:?}"
        );
        assert_eq!(
            scanner.scan(&mail_with(b"Hello, nothing to see.")).await,
            ScanResult::Clean
        );
    }
    // Several INSTREAM chunks: the signature sits after 200 KiB of clean text.
    let scanner = Scanner::new(Endpoint::Tcp(clamd.tcp()));
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
    let clamd = TestClamd::start();
    let (tcp, unix) = (clamd.tcp(), clamd.unix().to_path_buf());
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
