use std::fs;

use crate::{FlagOp, Flags, Mailbox, Store};

struct Fixture {
    _tmp: tempfile::TempDir,
    store: Store,
}

fn fixture(messages: usize) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("user")).unwrap();
    for n in 1..=messages {
        fs::write(store.root().join("new").join(format!("{n}.m.h")), b"x").unwrap();
    }
    Fixture { _tmp: tmp, store }
}

impl Fixture {
    fn inbox(&self) -> Mailbox {
        self.store.inbox().unwrap()
    }
}

fn modseq(m: &Mailbox, uid: u32) -> u64 {
    m.get(uid).unwrap().modseq
}

#[test]
fn a_flag_change_gets_a_value_above_every_other_and_other_sessions_see_it() {
    let f = fixture(3);
    let mut a = f.inbox();
    let mut b = f.inbox();
    let before = a.highest_modseq();
    assert!(
        a.messages()
            .iter()
            .all(|m| m.modseq <= before && m.modseq > 0)
    );
    a.set_flags(&[2], FlagOp::Add, Flags::SEEN).unwrap();
    let changed = modseq(&a, 2);
    assert!(changed > before);
    assert_eq!(modseq(&a, 1), modseq(&b, 1));
    // Setting a flag already set changes nothing.
    a.set_flags(&[2], FlagOp::Add, Flags::SEEN).unwrap();
    assert_eq!(modseq(&a, 2), changed);
    b.sync().unwrap();
    assert_eq!(modseq(&b, 2), changed);
    assert_eq!(b.highest_modseq(), changed);
    a.sync().unwrap();
    assert_eq!(a.highest_modseq(), changed);
}

#[test]
fn unchanged_since_leaves_messages_changed_since_alone() {
    let f = fixture(3);
    let mut a = f.inbox();
    let mut b = f.inbox();
    let seen_by_b = b.highest_modseq();
    a.set_flags(&[1], FlagOp::Add, Flags::FLAGGED).unwrap();
    let (changed, modified) = b
        .store_flags_unchanged_since(&[1, 2], FlagOp::Add, Flags::TRASHED, &[], seen_by_b)
        .unwrap();
    assert_eq!(modified, [1]);
    assert_eq!(changed, [(2, Flags::TRASHED)]);
    assert!(modseq(&b, 2) > modseq(&a, 1));
    let (changed, modified) = b
        .store_flags_unchanged_since(&[3], FlagOp::Add, Flags::SEEN, &[], 0)
        .unwrap();
    assert_eq!((changed.len(), modified), (0, vec![3]));
    b.sync().unwrap();
    assert!(!b.get(1).unwrap().flags.contains(Flags::TRASHED));
    assert!(!b.get(3).unwrap().flags.contains(Flags::SEEN));
}

#[test]
fn changes_behind_calms_back_appends_and_expunges_raise_highestmodseq() {
    let f = fixture(2);
    let mut a = f.inbox();
    let start = a.highest_modseq();
    // Another Maildir client sets \Seen by renaming the file.
    let cur = a.path().join("cur");
    let file = a.get(1).unwrap().file_name().to_owned();
    let base = file.split(':').next().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::rename(cur.join(&file), cur.join(format!("{base}:2,S"))).unwrap();
    a.sync().unwrap();
    assert!(a.get(1).unwrap().flags.contains(Flags::SEEN));
    let renamed = modseq(&a, 1);
    assert!(renamed > start);
    assert_eq!(a.highest_modseq(), renamed);
    let uid = a
        .append(b"Subject: x\r\n\r\ny\r\n", Flags::EMPTY, None)
        .unwrap();
    a.sync().unwrap();
    assert!(modseq(&a, uid) > renamed);
    let appended = a.highest_modseq();
    a.expunge(&[2]).unwrap();
    a.sync().unwrap();
    assert!(a.highest_modseq() > appended);
    assert_eq!(modseq(&a, uid), appended);
}

#[test]
fn a_lost_modseq_file_restarts_above_every_value_handed_out() {
    let f = fixture(2);
    let mut a = f.inbox();
    a.set_flags(&[1], FlagOp::Add, Flags::SEEN).unwrap();
    let highest = a.highest_modseq().max(modseq(&a, 1));
    drop(a);
    fs::remove_file(f.store.root().join(crate::modseq::FILE)).unwrap();
    let b = f.inbox();
    assert!(b.highest_modseq() > highest);
    assert!(b.messages().iter().all(|m| m.modseq > highest));
}
