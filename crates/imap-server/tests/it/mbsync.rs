//! mbsync (isync) syncing a mailbox with flags both ways over IMAPS. mbsync must be
//! installed (Debian package `isync`); a missing tool fails the test.

use std::path::Path;

use tokio::process::Command;

use crate::harness::{TestServer, start};

const MSG1: &[u8] =
    b"From: alice@example.test\r\nSubject: one\r\nMessage-ID: <1@example.test>\r\n\r\nfirst\r\n";
const MSG2: &[u8] =
    b"From: alice@example.test\r\nSubject: two\r\nMessage-ID: <2@example.test>\r\n\r\nsecond\r\n";

fn config(server: &TestServer, local: &Path) -> String {
    format!(
        "IMAPAccount calm\nHost 127.0.0.1\nPort {port}\nUser bob\nPass secret\nSSLType IMAPS\n\
         CertificateFile {cert}\nAuthMechs PLAIN\n\n\
         IMAPStore remote\nAccount calm\n\n\
         MaildirStore local\nPath {local}/\nInbox {local}/INBOX\nSubFolders Verbatim\n\n\
         Channel sync\nFar :remote:\nNear :local:\nPatterns INBOX Archive\nCreate Both\n\
         Expunge Both\nSyncState *\nSync All\n",
        port = server.imaps.port(),
        cert = server.cert_pem.display(),
        local = local.display(),
    )
}

async fn mbsync(config: &Path) {
    let output = Command::new("mbsync")
        .arg("-c")
        .arg(config)
        .arg("-a")
        .output()
        .await
        .expect("mbsync (Debian package isync) must be installed to run this test");
    assert!(
        output.status.success(),
        "mbsync failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// (file name, contents) of every message in a Maildir's cur/ and new/.
fn messages(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["cur", "new"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            out.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
    out
}

fn flags_of(files: &[(String, Vec<u8>)], marker: &[u8]) -> String {
    let (name, _) = files
        .iter()
        .find(|(_, data)| data.windows(marker.len()).any(|w| w == marker))
        .unwrap_or_else(|| panic!("no message with {marker:?}"));
    name.rsplit_once(":2,")
        .map(|(_, f)| f.to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn mbsync_syncs_messages_and_flags_both_ways() {
    let server = start().await;
    server.deliver("bob@example.test", &[MSG1, MSG2]);
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let cfg = tmp.path().join("mbsyncrc");
    std::fs::write(&cfg, config(&server, &local)).unwrap();

    // Server → local.
    mbsync(&cfg).await;
    let inbox = local.join("INBOX");
    let files = messages(&inbox);
    assert_eq!(files.len(), 2, "{files:?}");

    // Local changes: flag message one as seen and flagged, add a new message.
    let cur = inbox.join("cur");
    // mbsync stores local copies with LF line ends, so look for text without CR.
    let (name, _) = files
        .iter()
        .find(|(_, d)| d.windows(12).any(|w| w == b"Subject: one"))
        .unwrap();
    let base = name.split(":2,").next().unwrap();
    let from = if cur.join(name).exists() {
        cur.join(name)
    } else {
        inbox.join("new").join(name)
    };
    std::fs::rename(from, cur.join(format!("{base}:2,FS"))).unwrap();
    std::fs::write(
        inbox.join("new").join("1700000000.local1.host"),
        b"From: bob@example.test\r\nSubject: three\r\n\r\nwritten offline\r\n",
    )
    .unwrap();
    mbsync(&cfg).await;

    let remote = messages(&server.maildir("bob@example.test"));
    assert_eq!(
        remote.len(),
        3,
        "{:?}",
        remote.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert_eq!(flags_of(&remote, b"Subject: one"), "FS");
    assert!(
        remote
            .iter()
            .any(|(_, d)| d.ends_with(b"written offline\r\n"))
    );

    // Server-side flag change (another IMAP client) comes back down.
    let mut c = server.bob().await;
    c.command("a SELECT INBOX").await;
    let r = c.command("b UID STORE 2 +FLAGS (\\Answered)").await;
    assert!(r.last().unwrap().starts_with("b OK"), "{r:?}");
    c.command("c LOGOUT").await;
    mbsync(&cfg).await;
    assert_eq!(flags_of(&messages(&inbox), b"Subject: two"), "R");
}
