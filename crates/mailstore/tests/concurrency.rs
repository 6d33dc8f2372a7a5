//! Delivery (calm_maildir::deliver_batch, no locking) in parallel with several sessions that
//! sync, change flags, append and expunge: no UID may be lost, duplicated or reused, and no
//! flag change may be lost.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use calm_maildir::{Item, Maildir, deliver_batch, unique_name};
use calm_mailstore::{FlagOp, Flags, Store, Uid};

const DELIVERERS: usize = 3;
const BATCHES: usize = 10;
const BATCH: usize = 5;
const SESSION_FLAGS: [Flags; 3] = [Flags::SEEN, Flags::FLAGGED, Flags::REPLIED];

/// base → UID as seen by every session; a conflict is a lost or duplicated UID.
type Seen = Arc<Mutex<HashMap<String, Uid>>>;

fn deliver(root: &Path, who: usize) -> Vec<String> {
    let maildir = Maildir::create(root).unwrap();
    let mut names = Vec::new();
    for batch in 0..BATCHES {
        let bodies: Vec<Vec<u8>> = (0..BATCH)
            .map(|i| format!("Subject: {who}-{batch}-{i}\r\n\r\nbody\r\n").into_bytes())
            .collect();
        let items: Vec<Item<'_>> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| Item {
                maildir: &maildir,
                name: unique_name(
                    1_700_000_000,
                    &format!("Q{who}x{batch}x{i}"),
                    "bob@example.test",
                    "mx",
                    body.len() as u64,
                ),
                prefix: b"",
                data: body,
                check_existing: false,
            })
            .collect();
        names.extend(items.iter().map(|i| i.name.clone()));
        for result in deliver_batch(&items) {
            result.unwrap();
        }
    }
    names
}

fn record(seen: &Seen, mailbox: &calm_mailstore::Mailbox) {
    let mut seen = seen.lock().unwrap();
    for msg in mailbox.messages() {
        let uid = *seen.entry(msg.base().to_owned()).or_insert(msg.uid);
        assert_eq!(uid, msg.uid, "message {} changed UID", msg.base());
    }
    let mut by_uid: HashMap<Uid, &str> = HashMap::new();
    for (base, uid) in seen.iter() {
        if let Some(other) = by_uid.insert(*uid, base) {
            panic!("UID {uid} given to both {other} and {base}");
        }
    }
}

/// Syncs, records, and sets its own flag on everything it sees until `stop`, then once more.
fn session(store: Store, n: usize, seen: Seen, stop: Arc<Mutex<bool>>) {
    let mut inbox = store.inbox().unwrap();
    let flag = SESSION_FLAGS[n];
    let mut appended = Vec::new();
    loop {
        let finished = *stop.lock().unwrap();
        inbox.sync().unwrap();
        record(&seen, &inbox);
        let uids: Vec<Uid> = inbox.messages().iter().map(|m| m.uid).collect();
        inbox.set_flags(&uids, FlagOp::Add, flag).unwrap();
        if n == 0 && appended.len() < 10 {
            // This session also appends, and expunges what it appended earlier.
            appended.push(inbox.append(b"appended\r\n", Flags::EMPTY, None).unwrap());
            if appended.len() % 3 == 0 {
                inbox
                    .expunge(&appended[appended.len() - 3..appended.len() - 1])
                    .unwrap();
            }
        }
        if finished && (n != 0 || appended.len() == 10) {
            break;
        }
    }
}

#[test]
fn delivery_sync_flags_append_and_expunge_in_parallel_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("bob");
    let store = Store::open(&root).unwrap();
    let seen: Seen = Arc::default();
    let stop = Arc::new(Mutex::new(false));
    let sessions: Vec<_> = (0..SESSION_FLAGS.len())
        .map(|n| {
            let (store, seen, stop) = (store.clone(), seen.clone(), stop.clone());
            thread::spawn(move || session(store, n, seen, stop))
        })
        .collect();
    let deliverers: Vec<_> = (0..DELIVERERS)
        .map(|who| {
            let root = root.clone();
            thread::spawn(move || deliver(&root, who))
        })
        .collect();
    let delivered: Vec<String> = deliverers
        .into_iter()
        .flat_map(|d| d.join().unwrap())
        .collect();
    *stop.lock().unwrap() = true;
    for s in sessions {
        s.join().unwrap();
    }

    let mut inbox = store.inbox().unwrap();
    record(&seen, &inbox);
    let bases: HashMap<&str, &calm_mailstore::Message> =
        inbox.messages().iter().map(|m| (m.base(), m)).collect();
    assert_eq!(delivered.len(), DELIVERERS * BATCHES * BATCH);
    for name in &delivered {
        let msg = bases
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{name} lost"));
        let all = SESSION_FLAGS.iter().fold(Flags::EMPTY, |a, f| a | *f);
        assert!(
            msg.flags.contains(all),
            "{name} lost a flag: {:?}",
            msg.flags
        );
    }
    // 10 appended, 3 × 2 of them expunged.
    assert_eq!(inbox.messages().len(), delivered.len() + 4);
    let max_seen = seen.lock().unwrap().values().copied().max().unwrap();
    assert!(
        inbox.uid_next() > max_seen,
        "UIDNEXT must stay above every UID ever given"
    );
    assert!(inbox.sync().unwrap().is_empty());
}

#[test]
fn many_sessions_assign_uids_in_parallel_without_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("bob");
    let store = Store::open(&root).unwrap();
    for i in 0..200 {
        std::fs::write(
            root.join("new")
                .join(format!("{}.m{i}.h", 1_700_000_000 + i)),
            b"x",
        )
        .unwrap();
    }
    let seen: Seen = Arc::default();
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (store, seen) = (store.clone(), seen.clone());
            thread::spawn(move || {
                let inbox = store.inbox().unwrap();
                record(&seen, &inbox);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 200);
    let mut uids: Vec<Uid> = seen.values().copied().collect();
    uids.sort_unstable();
    assert_eq!(
        uids,
        (1..=200).collect::<Vec<Uid>>(),
        "arrival order, no gaps"
    );
}
