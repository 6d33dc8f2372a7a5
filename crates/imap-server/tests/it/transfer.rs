//! COPY and MOVE report `ImapEvent::Transferred` with the target files, for spam training.

use std::path::PathBuf;

use calm_imap_server::{ImapEvent, MAX_TRANSFER_PATHS};

use crate::harness::{TestServer, start};

const SPAM: &[u8] = b"From: spammer@example.test\r\nSubject: cheap pills\r\n\r\nBuy now.\r\n";
const HAM: &[u8] = b"From: carol@example.test\r\nSubject: lunch\r\n\r\nNoon?\r\n";

/// The transfers recorded so far as (from, to, moved, count, paths).
fn transfers(server: &TestServer) -> Vec<(String, String, bool, usize, Vec<PathBuf>)> {
    server
        .events()
        .into_iter()
        .filter_map(|ev| match ev {
            ImapEvent::Transferred {
                user,
                from,
                to,
                moved,
                count,
                messages,
                ..
            } => {
                assert_eq!(user, "bob@example.test");
                Some((from, to, moved, count, messages))
            }
            _ => None,
        })
        .collect()
}

fn ok(reply: &[String], tag: &str) {
    let last = reply.last().map(String::as_str).unwrap_or_default();
    assert!(last.starts_with(&format!("{tag} OK")), "{reply:?}");
}

#[tokio::test]
async fn move_into_junk_and_copy_out_report_target_files() {
    let server = start().await;
    server.deliver("bob@example.test", &[HAM, SPAM]);
    let mut c = server.bob().await;
    ok(&c.command("a SELECT INBOX").await, "a");
    ok(&c.command("b MOVE 2 Junk").await, "b");

    let t = transfers(&server);
    assert_eq!(t.len(), 1, "{t:?}");
    let (from, to, moved, count, paths) = &t[0];
    assert_eq!(
        (from.as_str(), to.as_str(), *moved, *count),
        ("INBOX", "Junk", true, 1)
    );
    assert_eq!(paths.len(), 1);
    let junk = server.maildir("bob@example.test").join(".Junk").join("cur");
    assert_eq!(paths[0].parent(), Some(junk.as_path()));
    assert_eq!(std::fs::read(&paths[0]).unwrap(), SPAM);

    ok(&c.command("c SELECT Junk").await, "c");
    ok(&c.command("d UID COPY 1:* INBOX").await, "d");
    let t = transfers(&server);
    assert_eq!(t.len(), 2, "{t:?}");
    let (from, to, moved, count, paths) = &t[1];
    assert_eq!(
        (from.as_str(), to.as_str(), *moved, *count),
        ("Junk", "INBOX", false, 1)
    );
    let inbox = server.maildir("bob@example.test").join("cur");
    assert_eq!(paths[0].parent(), Some(inbox.as_path()));
    assert_eq!(std::fs::read(&paths[0]).unwrap(), SPAM);
    // A copy leaves the Junk file in place.
    assert_eq!(std::fs::read_dir(&junk).unwrap().count(), 1);
}

#[tokio::test]
async fn nothing_transferred_means_no_event() {
    let server = start().await;
    server.deliver("bob@example.test", &[HAM]);
    let mut c = server.bob().await;
    ok(&c.command("a SELECT INBOX").await, "a");
    // UIDs that do not exist are ignored (RFC 3501 §9): an OK with nothing copied.
    ok(&c.command("b UID MOVE 99 Junk").await, "b");
    let r = c.command("c COPY 1 NoSuchBox").await;
    assert!(r.last().unwrap().starts_with("c NO [TRYCREATE]"), "{r:?}");
    let r = c.command("d APPEND Junk {5+}\r\nhello").await;
    ok(&r, "d");
    assert_eq!(transfers(&server), Vec::new());
}

#[tokio::test]
async fn large_transfer_lists_at_most_the_cap() {
    let server = start().await;
    let total = MAX_TRANSFER_PATHS + 5;
    server.deliver("bob@example.test", &vec![HAM; total]);
    let mut c = server.bob().await;
    ok(&c.command("a SELECT INBOX").await, "a");
    ok(&c.command("b UID MOVE 1:* Junk").await, "b");
    let t = transfers(&server);
    assert_eq!(t.len(), 1);
    let (_, _, moved, count, paths) = &t[0];
    assert!(*moved);
    assert_eq!(*count, total);
    assert_eq!(paths.len(), MAX_TRANSFER_PATHS);
    assert!(paths.iter().all(|p| p.is_file()), "{paths:?}");
}
