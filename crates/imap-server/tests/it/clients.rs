//! Real clients against the server: Python's imaplib and curl. Both must be installed; a
//! missing tool fails the test rather than skipping it.

use std::path::Path;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::harness::{TestServer, start};

const MSG1: &[u8] = b"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: first\r\n\r\nHello Bob.\r\n";
const MSG2: &[u8] = b"From: carol@example.test\r\nSubject: second\r\n\r\nline 1\r\nline 2\r\n";

async fn imaplib(server: &TestServer, mode: &str, ops: Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/imaplib_client.py");
    let port = if mode == "ssl" {
        server.imaps.port()
    } else {
        server.imap.port()
    };
    let output = Command::new("python3")
        .arg(script)
        .args([mode, "127.0.0.1", &port.to_string()])
        .arg(&server.cert_pem)
        .args(["bob", "secret", &ops.to_string()])
        .output()
        .await
        .expect("python3 must be installed to run this test");
    assert!(
        output.status.success(),
        "imaplib failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn imaplib_over_starttls() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1, MSG2]);
    let out = imaplib(
        &server,
        "starttls",
        json!([
            ["list"],
            ["select", "INBOX"],
            [
                "fetch",
                "1:*",
                "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
            ],
            ["fetch", "2", "(RFC822)"],
            ["store", "1", "+FLAGS", "(\\Deleted)"],
            ["search", null, "UNSEEN"],
            ["expunge"],
            ["search", null, "ALL"],
            ["capability"],
        ]),
    )
    .await;
    let r = &out["results"];
    let list = r[0][1].as_array().unwrap();
    assert!(
        list.contains(&json!("(\\HasNoChildren \\Drafts) \".\" \"Drafts\"")),
        "{list:?}"
    );
    assert_eq!(r[1], json!(["OK", ["2"]]));
    assert_eq!(
        r[2][1][0],
        json!([
            "1 (UID 1 FLAGS () BODY[HEADER.FIELDS (\"SUBJECT\")] {18}",
            "Subject: first\r\n\r\n"
        ])
    );
    assert_eq!(r[3][1][0][1], String::from_utf8_lossy(MSG2).as_ref());
    assert_eq!(r[4], json!(["OK", ["1 (FLAGS (\\Deleted))"]]));
    assert_eq!(r[5], json!(["OK", ["1"]]));
    assert_eq!(r[6], json!(["OK", ["1"]]));
    assert_eq!(r[7], json!(["OK", ["1"]]));
    let caps = r[8][1][0].as_str().unwrap();
    assert!(
        caps.contains(" UIDPLUS ") && caps.contains(" MOVE "),
        "{caps}"
    );
    assert!(
        out["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("AUTH=PLAIN"))
    );
}

#[tokio::test]
async fn imaplib_over_implicit_tls_appends_copies_moves() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1]);
    let out = imaplib(
        &server,
        "ssl",
        json!([
            ["create", "Work"],
            [
                "append",
                "Work",
                "(\\Seen \\Flagged)",
                null,
                "Subject: appended\r\n\r\nbody\r\n"
            ],
            ["select", "INBOX"],
            ["copy", "1", "Work"],
            ["uid", "MOVE", "1", "Trash"],
            ["select", "Work", true],
            ["fetch", "1:*", "(FLAGS)"],
            ["uid", "SEARCH", "FLAGGED"],
            ["status", "Trash", "(MESSAGES)"],
        ]),
    )
    .await;
    let r = &out["results"];
    assert_eq!(r[0][0], "OK");
    assert!(
        r[1][1][0].as_str().unwrap().starts_with("[APPENDUID "),
        "{}",
        r[1]
    );
    assert!(
        r[3][1][0].as_str().unwrap().starts_with("[COPYUID "),
        "{}",
        r[3]
    );
    assert_eq!(r[4][0], "OK", "{}", r[4]);
    assert_eq!(r[5], json!(["OK", ["2"]]));
    assert_eq!(
        r[6][1],
        json!(["1 (FLAGS (\\Flagged \\Seen))", "2 (FLAGS ())"])
    );
    assert_eq!(r[7], json!(["OK", ["1"]]));
    assert_eq!(r[8], json!(["OK", ["\"Trash\" (MESSAGES 1)"]]));
    // Both transfers were reported with the target's file (spam training reads it).
    let moves: Vec<(String, String, bool, Vec<std::path::PathBuf>)> = server
        .events()
        .into_iter()
        .filter_map(|ev| match ev {
            calm_imap_server::ImapEvent::Transferred {
                from,
                to,
                moved,
                messages,
                ..
            } => Some((from, to, moved, messages)),
            _ => None,
        })
        .collect();
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert_eq!(
        (&*moves[0].0, &*moves[0].1, moves[0].2),
        ("INBOX", "Work", false)
    );
    assert_eq!(
        (&*moves[1].0, &*moves[1].1, moves[1].2),
        ("INBOX", "Trash", true)
    );
    for (_, _, _, paths) in &moves {
        assert_eq!(std::fs::read(&paths[0]).unwrap(), MSG1);
    }
}

async fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-s", "-S", "--max-time", "20"])
        .args(args)
        .output()
        .await
        .expect("curl must be installed to run this test");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn curl_imap_starttls_and_imaps() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1, MSG2]);
    let url = format!("imap://127.0.0.1:{}/INBOX;UID=2", server.imap.port());
    let body = curl(&["--ssl-reqd", "-k", "-u", "bob:secret", &url]).await;
    assert_eq!(body.as_bytes(), MSG2);
    let url = format!("imaps://127.0.0.1:{}/", server.imaps.port());
    let list = curl(&["-k", "-u", "bob:secret", &url]).await;
    assert!(
        list.contains("* LIST (\\HasNoChildren) \".\" \"INBOX\""),
        "{list}"
    );
    let url = format!(
        "imaps://127.0.0.1:{}/INBOX?SUBJECT%20first",
        server.imaps.port()
    );
    let search = curl(&["-k", "-u", "bob:secret", &url]).await;
    assert_eq!(search.trim_end(), "* SEARCH 1");
}

#[tokio::test]
async fn curl_appends_over_imaps() {
    let server = start().await;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("message.eml");
    std::fs::write(&file, MSG1).unwrap();
    let url = format!("imaps://127.0.0.1:{}/Drafts", server.imaps.port());
    curl(&["-k", "-u", "bob:secret", "-T", file.to_str().unwrap(), &url]).await;
    let url = format!("imaps://127.0.0.1:{}/Drafts;UID=1", server.imaps.port());
    let body = curl(&["-k", "-u", "bob:secret", &url]).await;
    assert_eq!(body.as_bytes(), MSG1);
}
