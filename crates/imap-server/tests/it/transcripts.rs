//! Scripted sessions in tests/data/transcripts/*.txt: `C:` lines are sent, `S:` lines must
//! come back exactly (a line ending in `...` matches by prefix). Each runs on a fresh server
//! as bob over implicit TLS, with two messages in INBOX.

use std::path::Path;

use crate::harness::start;

const MSG1: &[u8] = b"From: a@example.test\r\nSubject: first\r\n\r\nHello.\r\n";
const MSG2: &[u8] = b"From: b@example.test\r\nSubject: second\r\n\r\nWorld.\r\n";

async fn run(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transcripts")
        .join(name);
    let script = std::fs::read_to_string(&path).unwrap();
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1, MSG2]);
    let mut c = server.bob().await;
    for (n, line) in script.lines().enumerate() {
        let n = n + 1;
        if let Some(sent) = line.strip_prefix("C: ") {
            c.send(format!("{sent}\r\n").as_bytes()).await;
        } else if let Some(expected) = line.strip_prefix("S: ").or(line.strip_prefix("S:")) {
            let got = c
                .line()
                .await
                .unwrap_or_else(|| panic!("{name}:{n}: connection closed"));
            match expected.strip_suffix("...") {
                Some(prefix) => assert!(got.starts_with(prefix), "{name}:{n}: got {got:?}"),
                None => assert_eq!(got, expected, "{name}:{n}"),
            }
        }
    }
}

#[tokio::test]
async fn select_fetch() {
    run("select_fetch.txt").await;
}

#[tokio::test]
async fn errors() {
    run("errors.txt").await;
}

#[tokio::test]
async fn quota() {
    run("quota.txt").await;
}

#[tokio::test]
async fn rename() {
    run("rename.txt").await;
}

#[tokio::test]
async fn keywords() {
    run("keywords.txt").await;
}

#[tokio::test]
async fn condstore() {
    run("condstore.txt").await;
}
