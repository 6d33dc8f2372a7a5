//! The queue scan over a real outbound queue directory, and the HTTP endpoints over loopback.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use calm_metrics::{AgeStats, Metrics, ServeOptions, TOP_DOMAINS, scan_queue, serve, serve_with};
use calm_queue::outbound::{Outbound, QueuedMessage, RecipientStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOW: u64 = 1_000_000;

fn msg(id: &str, rcpt: &[&str], age: u64) -> QueuedMessage {
    QueuedMessage {
        id: id.into(),
        mail_from: "a@example.org".into(),
        rcpt_to: rcpt.iter().map(|r| r.to_string()).collect(),
        failed: vec![],
        received_at: NOW - age,
        size: 10,
    }
}

fn write(q: &Outbound, m: &QueuedMessage) {
    q.write_batch(&[(m.clone(), b"Subject: t\r\n\r\nbody\r\n".as_slice())])
        .unwrap();
}

#[test]
fn scan_counts_depth_ages_and_domains() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("outbound");
    let q = Outbound::open(&dir).unwrap();
    write(&q, &msg("A", &["x@big.example", "y@big.example"], 100));
    write(&q, &msg("B", &["z@big.example", "w@small.example"], 10));
    write(&q, &msg("C", &["v@small.example"], 1000));
    // D: everything delivered, so it counts as a message but adds no pending age.
    write(&q, &msg("D", &["u@done.example"], 50_000));
    q.update("D", |e| {
        for r in &mut e.state.recipients {
            r.status = RecipientStatus::Delivered;
        }
    })
    .unwrap();
    q.set_held("C", true).unwrap();
    std::fs::write(dir.join("active").join("E"), b"not a queue file").unwrap();

    let s = scan_queue(&dir, NOW);
    assert_eq!(s.messages, 4);
    assert_eq!(s.unreadable, 1);
    assert_eq!(s.held, 1);
    assert_eq!(s.pending_recipients, 5);
    // Pending messages' ages: 10, 100, 1000 → nearest-rank P50 = 100, P95 = max = 1000.
    assert_eq!(
        s.age,
        AgeStats {
            p50: 100,
            p95: 1000,
            max: 1000
        }
    );
    let big = &s.domains[0];
    assert_eq!((big.domain.as_str(), big.pending), ("big.example", 3));
    assert_eq!(
        big.age,
        AgeStats {
            p50: 100,
            p95: 100,
            max: 100
        }
    );
    let small = &s.domains[1];
    assert_eq!((small.domain.as_str(), small.pending), ("small.example", 2));
    assert_eq!(small.age.max, 1000);
    assert_eq!(s.domains.len(), 2);
    assert!(s.spool_bytes > 0);
    assert_eq!(s.spool_bytes, calm_metrics::disk_usage(&dir));
}

#[test]
fn domains_beyond_the_top_are_merged_as_other() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("outbound");
    let q = Outbound::open(&dir).unwrap();
    for i in 0..TOP_DOMAINS + 3 {
        // Domain i gets i+1 recipients, so the three smallest fall outside the top.
        let rcpts: Vec<String> = (0..=i).map(|n| format!("r{n}@d{i}.example")).collect();
        let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
        write(&q, &msg(&format!("M{i}"), &refs, 60));
    }
    write(&q, &msg("bad", &["no-at-sign", "q@weird_domain"], 5));
    let s = scan_queue(&dir, NOW);
    assert_eq!(s.domains.len(), TOP_DOMAINS + 1);
    let last = s.domains.last().unwrap();
    assert_eq!(last.domain, "other");
    assert_eq!(last.pending, 1 + 2 + 3 + 2);
    assert!(s.domains.iter().all(|d| d.domain != "d0.example"));
    assert_eq!(s.domains[0].domain, format!("d{}.example", TOP_DOMAINS + 2));
}

#[test]
fn a_missing_queue_is_empty_and_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nowhere");
    let s = scan_queue(&dir, NOW);
    assert_eq!(s, calm_metrics::QueueSnapshot::default());
    assert!(!dir.exists());
}

/// A raw HTTP/1.1 GET; returns the status line, the headers and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap();
    (
        status.to_string(),
        headers.to_ascii_lowercase(),
        body.to_string(),
    )
}

async fn start(spool: &Path) -> (std::net::SocketAddr, Arc<Metrics>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = Metrics::new();
    let outbound = spool.join("outbound");
    tokio::spawn(serve(listener, metrics.clone(), outbound));
    (addr, metrics)
}

#[tokio::test]
async fn http_metrics_and_healthz() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool");
    let q = Outbound::open(&spool.join("outbound")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut m = msg("A", &["x@big.example"], 0);
    m.received_at = now - 120;
    write(&q, &m);
    std::fs::write(spool.join("journal-0001"), vec![0u8; 5000]).unwrap();
    let (addr, metrics) = start(&spool).await;
    metrics.observe_line(br#"{"ts":"x","event":"connect","role":"mx"}"#);

    let (status, headers, body) = get(addr, "/healthz").await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(body.trim(), "ok");
    assert!(headers.contains("content-type: text/plain"), "{headers}");

    // The first scan runs at start; wait for it rather than sleeping a fixed time.
    let mut body = String::new();
    for _ in 0..200 {
        let (status, headers, b) = get(addr, "/metrics").await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert!(
            headers.contains("content-type: application/openmetrics-text"),
            "{headers}"
        );
        body = b;
        if body.contains("calm_queue_scans_total 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        body.contains(r#"calm_connections_total{role="mx"} 1"#),
        "{body}"
    );
    assert!(body.contains("calm_queue_messages 1\n"), "{body}");
    assert!(body.contains(r#"calm_queue_domain_pending_recipients{domain="big.example"} 1"#));
    let usage = calm_metrics::disk_usage(&spool);
    assert!(usage >= 5000);
    assert!(
        body.contains(&format!("calm_spool_disk_usage_bytes {usage}\n")),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"));

    let (status, _, _) = get(addr, "/nope").await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
}

#[tokio::test]
async fn curl_can_scrape_it() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not installed; skipping");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServeOptions {
        outbound_dir: tmp.path().join("outbound"),
        spool_dir: tmp.path().to_path_buf(),
        scan_interval: Duration::from_millis(50),
    };
    tokio::spawn(serve_with(listener, Metrics::new(), options));
    // The queue gauges appear after the first queue scan, which a loaded machine may delay.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let out = tokio::process::Command::new("curl")
            .args(["-sS", "--fail", "-D", "-", "--max-time", "10"])
            .arg(format!("http://{addr}/metrics"))
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        if text.contains("calm_queue_age_seconds") || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text")
    );
    assert!(
        text.contains("# TYPE calm_queue_age_seconds gauge"),
        "{text}"
    );
    assert!(text.contains("# EOF"));
}

#[test]
fn lines_from_the_real_event_log_reach_the_counters() {
    let tmp = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let m = metrics.clone();
    let log = calm_eventlog::EventLog::open_observed(
        &tmp.path().join("events.jsonl"),
        Box::new(move |line| m.observe_line(line)),
    )
    .unwrap();
    #[derive(serde::Serialize)]
    struct Connect {
        event: &'static str,
        role: &'static str,
    }
    for _ in 0..3 {
        log.log(&Connect {
            event: "connect",
            role: "submission",
        });
    }
    let want = r#"calm_connections_total{role="submission"} 3"#;
    for _ in 0..500 {
        if metrics.render().contains(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{}", metrics.render());
}
