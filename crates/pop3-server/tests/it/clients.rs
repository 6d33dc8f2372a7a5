//! Real clients against the server: Python's poplib and curl. Both must be installed
//! (scripts/test.sh installs them); a missing tool fails the test rather than skipping it.

use std::path::Path;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::harness::{TestServer, start, unique};

const MSG1: &[u8] = b"From: a@example.test\r\nSubject: first\r\n\r\nHello Bob.\r\n.signature\r\n";
const MSG2: &[u8] =
    b"From: c@example.test\r\nSubject: second\r\n\r\nline 1\r\nline 2\r\nline 3\r\n";

async fn poplib(server: &TestServer, mode: &str, ops: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/poplib_client.py");
    let port = if mode == "ssl" {
        server.pop3s.port()
    } else {
        server.pop3.port()
    };
    let output = Command::new("python3")
        .arg(script)
        .args([mode, "127.0.0.1", &port.to_string()])
        .arg(&server.cert_pem)
        .args(["bob", "secret"])
        .args(ops)
        .output()
        .await
        .expect("python3 must be installed to run this test");
    assert!(
        output.status.success(),
        "poplib failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn poplib_over_stls_lists_and_retrieves() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1, MSG2]);
    let out = poplib(
        &server,
        "stls",
        &["capa", "stat", "list", "retr:1", "top:2:1"],
    )
    .await;
    assert_eq!(out["welcome"], "+OK pop.example.test POP3 ready.");
    let r = &out["results"];
    assert_eq!(r[0], "+OK Logged in, 2 messages (129 octets).");
    assert!(
        r[1].as_array().unwrap().contains(&json!("UIDL")),
        "{}",
        r[1]
    );
    assert_eq!(r[2], json!([2, 129]));
    assert_eq!(r[3], json!(["+OK 2 messages", ["1 64", "2 65"], 12]));
    assert_eq!(
        r[4][1],
        json!([
            "From: a@example.test",
            "Subject: first",
            "",
            "Hello Bob.",
            ".signature"
        ])
    );
    assert_eq!(
        r[5][1],
        json!(["From: c@example.test", "Subject: second", "", "line 1"])
    );
    assert_eq!(r[6], "+OK Logging out, 0 messages deleted.");
}

#[tokio::test]
async fn poplib_ssl_uidl_is_stable_and_dele_quit_removes_while_rset_keeps() {
    let server = start().await;
    let names = server.deliver("bob@example.test", &[MSG1, MSG2]);
    let first = poplib(&server, "ssl", &["uidl"]).await;
    let uidls = json!([
        "+OK 2 messages",
        [
            format!("1 {}", unique(&names[0])),
            format!("2 {}", unique(&names[1]))
        ],
        first["results"][1][2]
    ]);
    assert_eq!(first["results"][1], uidls);
    // DELE + RSET + QUIT keeps everything; the UIDLs are unchanged in a new session.
    let kept = poplib(&server, "ssl", &["dele:1", "rset", "uidl"]).await;
    assert_eq!(kept["results"][3], uidls);
    // DELE + QUIT removes; the survivor keeps its UIDL although it is now message 1.
    poplib(&server, "ssl", &["dele:1"]).await;
    let after = poplib(&server, "ssl", &["uidl"]).await;
    assert_eq!(
        after["results"][1][1],
        json!([format!("1 {}", unique(&names[1]))])
    );
}

#[tokio::test]
async fn poplib_dele_without_quit_removes_nothing() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1]);
    poplib(&server, "ssl", &["dele:1", "noquit"]).await;
    server.wait_for_quits(1).await;
    let out = poplib(&server, "ssl", &["stat"]).await;
    assert_eq!(out["results"][1], json!([1, 64]));
}

async fn curl(args: &[&str]) -> (bool, String) {
    let output = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--max-time",
            "20",
            "--user",
            "bob:secret",
            "--insecure",
        ])
        .args(args)
        .output()
        .await
        .expect("curl must be installed to run this test");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test]
async fn curl_pop3_with_stls_lists_and_retrieves() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1, MSG2]);
    let base = format!("pop3://127.0.0.1:{}", server.pop3.port());
    let (ok, list) = curl(&["--ssl-reqd", &format!("{base}/")]).await;
    assert!(ok, "{list}");
    assert_eq!(list, "1 64\r\n2 65\r\n");
    let (ok, message) = curl(&["--ssl-reqd", &format!("{base}/2")]).await;
    assert!(ok, "{message}");
    assert_eq!(message.as_bytes(), MSG2);
    let (ok, uidl) = curl(&["--ssl-reqd", "--request", "UIDL", &format!("{base}/")]).await;
    assert!(ok && uidl.starts_with("1 1700000000.Q"), "{uidl}");
}

#[tokio::test]
async fn curl_pop3s_retrieves_with_dot_stuffing_undone() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1]);
    let (ok, message) = curl(&[&format!("pop3s://127.0.0.1:{}/1", server.pop3s.port())]).await;
    assert!(ok, "{message}");
    assert_eq!(message.as_bytes(), MSG1);
}

#[tokio::test]
async fn curl_without_tls_cannot_log_in() {
    let server = start().await;
    let (ok, text) = curl(&[&format!("pop3://127.0.0.1:{}/", server.pop3.port())]).await;
    assert!(!ok, "plaintext login must fail: {text}");
    assert!(
        server
            .events()
            .iter()
            .all(|e| !matches!(e, calm_pop3_server::Pop3Event::AuthSuccess { .. }))
    );
}
