use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::*;

/// Routes `*@local` to a Maildir under `base`, `bad@local` to an unwritable path, others remote.
struct TestRouter {
    base: PathBuf,
}

impl Router for TestRouter {
    fn route(&self, rcpt: &str) -> Vec<Route> {
        match rcpt.split_once('@') {
            Some(("bad", "local")) => vec![Route::Mailbox {
                user: rcpt.into(),
                dir: "/proc/calm-no".into(),
            }],
            Some(("gone", "local")) => vec![Route::Unroutable {
                reason: "no such user".into(),
            }],
            Some((user, "local")) => vec![Route::Mailbox {
                user: rcpt.into(),
                dir: self.base.join(user),
            }],
            _ => vec![Route::Remote(rcpt.into())],
        }
    }
}

struct Harness {
    dir: tempfile::TempDir,
    events: Arc<Mutex<Vec<QueueEvent>>>,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            dir: tempfile::tempdir().unwrap(),
            events: Arc::default(),
        }
    }

    fn open(&self) -> Spool {
        let config = SpoolConfig {
            dir: self.dir.path().join("spool"),
            hostname: "h".into(),
            max_batch: 64,
        };
        let router = Arc::new(TestRouter {
            base: self.dir.path().join("mail"),
        });
        let events = self.events.clone();
        Spool::open(
            config,
            router,
            Arc::new(move |e| events.lock().unwrap().push(e)),
        )
        .unwrap()
    }

    fn files(&self, user: &str) -> Vec<PathBuf> {
        let dir = self.dir.path().join("mail").join(user).join("new");
        std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    fn wait_for(&self, what: impl Fn(&[QueueEvent]) -> bool) {
        for _ in 0..500 {
            if what(&self.events.lock().unwrap()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("timed out; events: {:?}", self.events.lock().unwrap());
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("spool/journal")
    }
}

fn envelope(id: &str, rcpts: &[&str]) -> Envelope {
    let rcpt_to = rcpts.iter().map(|r| r.to_string()).collect();
    Envelope {
        id: id.into(),
        mail_from: "a@remote".into(),
        rcpt_to,
        received_at: 1_000,
        folder: None,
    }
}

fn delivered(events: &[QueueEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, QueueEvent::Delivered { .. }))
        .count()
}

#[tokio::test]
async fn accepted_message_reaches_maildir_with_delivery_headers() {
    let h = Harness::new();
    let spool = h.open();
    spool
        .enqueue(
            envelope("Q1", &["bob@local"]),
            b"Subject: x\r\n\r\nhi\r\n".to_vec(),
        )
        .await
        .unwrap();
    h.wait_for(|e| delivered(e) == 1);
    let files = h.files("bob");
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(
        text,
        "Return-Path: <a@remote>\r\nDelivered-To: bob@local\r\nSubject: x\r\n\r\nhi\r\n"
    );
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(h.journal()).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the spool is private");
    }
}

#[tokio::test]
async fn concurrent_enqueues_all_delivered_once() {
    let h = Harness::new();
    let spool = h.open();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let spool = spool.clone();
            tokio::spawn(async move {
                spool
                    .enqueue(
                        envelope(&format!("Q{i:04}"), &["bob@local"]),
                        vec![b'x'; 100],
                    )
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    h.wait_for(|e| delivered(e) == 200);
    assert_eq!(h.files("bob").len(), 200);
}

#[test]
fn unfinished_messages_are_redelivered_exactly_once_after_restart() {
    let h = Harness::new();
    std::fs::create_dir_all(h.journal()).unwrap();
    let mut bytes = Vec::new();
    journal::encode_message(
        &mut bytes,
        &envelope("Q1", &["bob@local", "carol@local"]),
        b"one\r\n",
    );
    journal::encode_message(&mut bytes, &envelope("Q2", &["bob@local"]), b"two\r\n");
    journal::encode_done(&mut bytes, "Q2");
    bytes.extend_from_slice(b"CLM1\x01torn"); // a record cut by the crash: never acknowledged
    std::fs::write(h.journal().join("0000000000000001.journal"), &bytes).unwrap();
    // Bob's copy of Q1 was written before the crash (and a reader moved it to cur/).
    let bob = Maildir::create(&h.dir.path().join("mail/bob")).unwrap();
    let prefix = "Return-Path: <a@remote>\r\nDelivered-To: bob@local\r\n";
    let name = calm_maildir::unique_name(1_000, "Q1", "bob@local", "h", (prefix.len() + 5) as u64);
    std::fs::write(bob.path().join("cur").join(format!("{name}:2,S")), b"x").unwrap();

    let _spool = h.open();
    h.wait_for(|e| delivered(e) == 1);
    let events = h.events.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| matches!(
            e,
            QueueEvent::Recovered {
                messages: 1,
                truncated_bytes: 9
            }
        )),
        "{events:?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, QueueEvent::DuplicateSuppressed { user, .. } if user == "bob@local")
        )
    );
    assert_eq!(h.files("carol").len(), 1);
    assert!(h.files("bob").is_empty(), "bob must not get a second copy");
}

use calm_maildir::Maildir;

#[tokio::test]
async fn finished_segments_are_deleted() {
    let h = Harness::new();
    let spool = h.open();
    for i in 0..3 {
        spool
            .enqueue(
                envelope(&format!("Q{i}"), &["bob@local"]),
                b"x\r\n".to_vec(),
            )
            .await
            .unwrap();
    }
    h.wait_for(|e| delivered(e) == 3);
    drop(spool);
    // A restart finds nothing to redeliver and starts a new segment; the old one is removed
    // once everything in it is done.
    let h2_events = h.events.clone();
    h2_events.lock().unwrap().clear();
    let _spool = h.open();
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !h.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, QueueEvent::Recovered { .. }))
    );
    let segments = std::fs::read_dir(h.journal()).unwrap().count();
    assert!(segments <= 2, "{segments} segments left");
}

#[tokio::test]
async fn remote_and_unroutable_recipients_go_to_the_outbound_queue() {
    let h = Harness::new();
    let spool = h.open();
    spool
        .enqueue(
            envelope("Q9", &["x@elsewhere", "gone@local", "bob@local"]),
            b"m\r\n".to_vec(),
        )
        .await
        .unwrap();
    h.wait_for(|e| e.iter().any(|e| matches!(e, QueueEvent::Unroutable { .. })));
    let outbound = outbound::Outbound::open(&h.dir.path().join("spool/outbound")).unwrap();
    let list = outbound.list().unwrap();
    assert_eq!(list.len(), 1);
    let message = list[0].as_ref().unwrap();
    assert_eq!(message.rcpt_to, vec!["x@elsewhere".to_string()]);
    assert_eq!(message.failed[0].reason, "no such user");
    assert_eq!(message.size, 3);
    h.wait_for(|e| delivered(e) == 1);
}

#[tokio::test]
async fn local_failure_is_retried_not_dropped() {
    let h = Harness::new();
    let spool = h.open();
    spool
        .enqueue(envelope("Q5", &["bad@local"]), b"m\r\n".to_vec())
        .await
        .unwrap();
    h.wait_for(|e| {
        e.iter().any(|e| {
            matches!(
                e,
                QueueEvent::DeliveryDeferred {
                    retry_in_secs: 1,
                    ..
                }
            )
        })
    });
    h.wait_for(|e| {
        e.iter().any(|e| {
            matches!(
                e,
                QueueEvent::DeliveryDeferred {
                    retry_in_secs: 2,
                    ..
                }
            )
        })
    });
    drop(spool);
    // Not done: a restart brings it back.
    h.events.lock().unwrap().clear();
    let _spool = h.open();
    h.wait_for(|e| {
        e.iter()
            .any(|e| matches!(e, QueueEvent::Recovered { messages: 1, .. }))
    });
}

#[test]
fn journal_decoding_stops_at_corruption() {
    let mut bytes = Vec::new();
    journal::encode_message(&mut bytes, &envelope("Q1", &["a@b"]), b"body");
    let good = bytes.len();
    journal::encode_done(&mut bytes, "Q1");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // bad checksum on the done record
    let (records, valid) = journal::decode_all(&bytes);
    assert_eq!(records.len(), 1);
    assert_eq!(valid, good);
    assert_eq!(journal::decode_all(b"").1, 0);
    assert_eq!(journal::decode_all(&[0xff; 40]).1, 0);
}

#[test]
fn spool_error_classifies_no_space() {
    let e = io::Error::from_raw_os_error(28);
    assert!(matches!(SpoolError::copy_of(&e), SpoolError::NoSpace(_)));
    assert!(matches!(
        SpoolError::copy_of(&io::Error::other("x")),
        SpoolError::Io(_)
    ));
    let _ = Path::new("");
}

#[test]
fn envelopes_without_a_folder_read_as_before() {
    // A journal record written before `folder` existed must still decode (or recovery would
    // take it for a torn tail).
    let old = r#"{"id":"Q1","mail_from":"a@remote","rcpt_to":["b@example.test"],"received_at":7}"#;
    let e: Envelope = serde_json::from_str(old).unwrap();
    assert_eq!(e.folder, None);
    assert!(!serde_json::to_string(&e).unwrap().contains("folder"));
    let mut filed = e.clone();
    filed.folder = Some("Junk".into());
    let text = serde_json::to_string(&filed).unwrap();
    assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap(), filed);
}
