use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::Store;
use crate::uidlist;

struct Fixture {
    _tmp: tempfile::TempDir,
    store: Store,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("user")).unwrap();
    Fixture { _tmp: tmp, store }
}

impl Fixture {
    fn deliver(&self, name: &str, body: &[u8]) {
        fs::write(self.store.root().join("new").join(name), body).unwrap();
    }

    fn inbox(&self) -> Mailbox {
        self.store.inbox().unwrap()
    }
}

fn uids(m: &Mailbox) -> Vec<Uid> {
    m.messages().iter().map(|m| m.uid).collect()
}

#[test]
fn open_sees_delivered_messages_with_sizes_and_dates() {
    let f = fixture();
    f.deliver("1700000000.Qa.h,S=9", b"a\nbody\n");
    let inbox = f.inbox();
    let msg = &inbox.messages()[0];
    assert_eq!((msg.uid, msg.size, msg.rfc822_size), (1, 7, 9));
    assert_eq!(msg.base(), "1700000000.Qa.h,S=9");
    assert_eq!(msg.file_name(), "1700000000.Qa.h,S=9:2,");
    assert_eq!(msg.flags, Flags::EMPTY);
    assert!(msg.internal_date > UNIX_EPOCH);
    assert_eq!(
        (inbox.uid_next(), inbox.seq(1), inbox.seq(2)),
        (2, Some(1), None)
    );
    assert_eq!(inbox.read(1).unwrap(), b"a\nbody\n");
}

#[test]
fn sync_reports_new_expunged_and_flag_changes_by_others() {
    let f = fixture();
    for n in 1..=3 {
        f.deliver(&format!("{n}.m.h"), b"x");
    }
    let mut a = f.inbox();
    let mut b = f.inbox();
    assert!(a.sync().unwrap().is_empty());
    b.set_flags(&[2], FlagOp::Add, Flags::SEEN).unwrap();
    b.expunge(&[1]).unwrap();
    f.deliver("4.m.h", b"x");
    let changes = a.sync().unwrap();
    assert_eq!(changes.expunged, [Expunged { seq: 1, uid: 1 }]);
    assert_eq!(
        (changes.new.as_slice(), changes.flags.as_slice()),
        (&[4][..], &[2][..])
    );
    assert!(!changes.uid_validity_changed);
    assert_eq!(uids(&a), [2, 3, 4]);
    assert!(a.get(2).unwrap().flags.contains(Flags::SEEN));
    // b's own flag change is already in its view, so its sync does not report it again.
    let own = b.sync().unwrap();
    assert!(own.flags.is_empty(), "{own:?}");
    assert_eq!(own.expunged, [Expunged { seq: 1, uid: 1 }]);
}

#[test]
fn set_flags_merges_with_changes_made_by_another_session() {
    let f = fixture();
    f.deliver("1.m.h", b"x");
    let mut a = f.inbox();
    let mut b = f.inbox();
    a.set_flags(&[1], FlagOp::Add, Flags::SEEN).unwrap();
    // b's view still has no flags and the old file name; its change must keep \Seen.
    let result = b.set_flags(&[1], FlagOp::Add, Flags::FLAGGED).unwrap();
    assert_eq!(result, [(1, Flags::SEEN | Flags::FLAGGED)]);
    // Adding a flag b believes is set already still checks the disk.
    a.set_flags(&[1], FlagOp::Remove, Flags::FLAGGED).unwrap();
    let result = b.set_flags(&[1], FlagOp::Add, Flags::FLAGGED).unwrap();
    assert_eq!(result, [(1, Flags::SEEN | Flags::FLAGGED)]);
    let names: Vec<String> = scan::message_names(&f.store.root().join("cur")).unwrap();
    assert_eq!(names, ["1.m.h:2,FS"]);
}

#[test]
fn set_flags_keeps_keyword_letters_and_skips_unknown_or_gone_uids() {
    let f = fixture();
    fs::write(f.store.root().join("cur/1.m.h:2,Sab,XT=1"), b"x").unwrap();
    f.deliver("2.m.h", b"y");
    let mut a = f.inbox();
    let b = f.inbox();
    b.expunge(&[2]).unwrap();
    let result = a
        .set_flags(&[1, 2, 99], FlagOp::Replace, Flags::REPLIED)
        .unwrap();
    assert_eq!(result, [(1, Flags::REPLIED)]);
    assert_eq!(a.get(1).unwrap().keyword_letters(), "ab");
    assert_eq!(a.get(1).unwrap().file_name(), "1.m.h:2,Rab,XT=1");
}

#[test]
fn append_is_indexed_with_flags_and_internal_date() {
    let f = fixture();
    let inbox = f.inbox();
    let date = UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let uid = inbox
        .append(
            b"Subject: x\n\nbody\n",
            Flags::SEEN | Flags::DRAFT,
            Some(date),
        )
        .unwrap();
    assert_eq!(uid, 1);
    let mut inbox = inbox;
    assert_eq!(inbox.sync().unwrap().new, [1]);
    let msg = inbox.get(1).unwrap();
    assert_eq!(msg.flags, Flags::SEEN | Flags::DRAFT);
    assert_eq!(msg.internal_date, date);
    assert_eq!((msg.size, msg.rfc822_size), (17, 20));
    assert!(
        msg.file_name().ends_with(",S=17,W=20:2,DS"),
        "{}",
        msg.file_name()
    );
    assert!(
        fs::read_dir(f.store.root().join("tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn append_extends_the_index_and_expunge_drops_records_for_good() {
    let f = fixture();
    f.deliver("1.m.h", b"x");
    let mut inbox = f.inbox();
    let index = f.store.root().join(uidlist::FILE);
    let header = fs::read_to_string(&index).unwrap();
    let header = header.lines().next().unwrap().to_owned();
    assert_eq!(inbox.append(b"a", Flags::EMPTY, None).unwrap(), 2);
    assert_eq!(inbox.append(b"b", Flags::EMPTY, None).unwrap(), 3);
    let text = fs::read_to_string(&index).unwrap();
    assert!(
        text.starts_with(&format!("{header}\n")),
        "appended, not rewritten: {text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");
    inbox.sync().unwrap();
    let kept = inbox.get(1).unwrap().file_name().to_owned();
    let cur = f.store.root().join("cur");
    fs::copy(cur.join(&kept), f.store.root().join("saved")).unwrap();
    assert_eq!(inbox.expunge(&[3, 1, 1]).unwrap(), [1, 3]);
    assert_eq!(inbox.sync().unwrap().expunged.len(), 2);
    // A file restored under its old name is a new message: its record went with it.
    fs::rename(f.store.root().join("saved"), cur.join(&kept)).unwrap();
    // Done by hand, not by calm: seen by cur/'s mtime, which a change within the same clock
    // tick as calm's last one would not move (see `cache`), so move it on as a later one would.
    let later = SystemTime::now() + Duration::from_secs(2);
    fs::File::open(&cur).unwrap().set_modified(later).unwrap();
    assert_eq!(inbox.sync().unwrap().new, [4]);
    assert_eq!(uids(&inbox), [2, 4]);
    assert_eq!(inbox.append(b"c", Flags::EMPTY, None).unwrap(), 5);
}

#[test]
fn sessions_of_one_process_share_the_index_instead_of_rescanning() {
    let f = fixture();
    for n in 1..=3 {
        f.deliver(&format!("{n}.m.h"), b"x");
    }
    let mut a = f.inbox();
    let mut b = f.inbox();
    b.set_flags(&[1], FlagOp::Add, Flags::SEEN).unwrap();
    b.expunge(&[3]).unwrap();
    let uid = b.append(b"new", Flags::EMPTY, None).unwrap();
    // A file put into cur/ by hand, with cur/'s mtime put back: invisible to the stamp, so
    // a's sync, which takes b's changes from the shared index, does not list cur/.
    let cur = f.store.root().join("cur");
    let stamp = fs::metadata(&cur).unwrap().modified().unwrap();
    fs::write(cur.join("9.stray.h:2,"), b"x").unwrap();
    fs::File::open(&cur).unwrap().set_modified(stamp).unwrap();
    let changes = a.sync().unwrap();
    assert_eq!(changes.flags, [1]);
    assert_eq!(changes.expunged, [Expunged { seq: 3, uid: 3 }]);
    assert_eq!(changes.new, [uid]);
    // b's flag change renamed the file: a finds it under its new name.
    assert_eq!(a.read(1).unwrap(), b"x");
    // A later mtime, as any change in a later clock tick leaves, makes the next sync look.
    let later = SystemTime::now() + Duration::from_secs(2);
    fs::File::open(&cur).unwrap().set_modified(later).unwrap();
    assert_eq!(a.sync().unwrap().new, [uid + 1]);
    assert_eq!(a.get(uid + 1).unwrap().file_name(), "9.stray.h:2,");
}

#[test]
fn a_change_hidden_in_the_same_clock_tick_is_seen_once_cur_has_settled() {
    let f = fixture();
    f.deliver("1.m.h", b"x");
    let mut a = f.inbox();
    let mut b = f.inbox();
    b.set_flags(&[1], FlagOp::Add, Flags::SEEN).unwrap();
    // Another program adds a file within the tick of b's change: cur/'s mtime stays.
    let cur = f.store.root().join("cur");
    let stamp = fs::metadata(&cur).unwrap().modified().unwrap();
    fs::write(cur.join("9.stray.h:2,"), b"x").unwrap();
    fs::File::open(&cur).unwrap().set_modified(stamp).unwrap();
    assert!(
        a.sync().unwrap().new.is_empty(),
        "trusted while cur/ is fresh"
    );
    std::thread::sleep(crate::cache::SETTLE + Duration::from_millis(200));
    assert_eq!(a.sync().unwrap().new, [2], "read again once settled");
    assert!(a.sync().unwrap().is_empty());
}

#[test]
fn sessions_synced_to_one_state_share_one_view_until_one_changes_flags() {
    let f = fixture();
    f.deliver("1.m.h", b"x");
    f.deliver("2.m.h", b"y");
    let mut a = f.inbox();
    let mut b = f.inbox();
    let shared = |a: &Mailbox, b: &Mailbox| std::ptr::eq(a.messages(), b.messages());
    assert!(shared(&a, &b));
    a.set_flags(&[1], FlagOp::Add, Flags::SEEN).unwrap();
    assert!(!shared(&a, &b));
    assert!(a.get(1).unwrap().flags.contains(Flags::SEEN));
    assert!(
        !b.get(1).unwrap().flags.contains(Flags::SEEN),
        "b's view waits for its sync"
    );
    assert_eq!(b.sync().unwrap().flags, [1]);
    assert!(a.sync().unwrap().is_empty());
    assert!(shared(&a, &b));
}

#[test]
fn append_rebuilds_a_missing_index() {
    let f = fixture();
    f.deliver("1.m.h", b"x");
    let inbox = f.inbox();
    fs::remove_file(f.store.root().join(uidlist::FILE)).unwrap();
    let uid = inbox.append(b"new", Flags::EMPTY, None).unwrap();
    assert_eq!(uid, 2);
    let mut inbox = inbox;
    assert!(inbox.sync().unwrap().uid_validity_changed);
    assert_eq!(uids(&inbox), [1, 2]);
}

#[test]
fn copy_and_move_keep_flags_and_dates_and_return_uid_pairs() {
    let f = fixture();
    let inbox = f.inbox();
    let date = UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    inbox.append(b"one", Flags::FLAGGED, Some(date)).unwrap();
    inbox.append(b"two", Flags::EMPTY, None).unwrap();
    let mut inbox = f.inbox();
    let mut trash = f.store.mailbox("Trash").unwrap();
    assert_eq!(inbox.copy_to(&[1, 7], &trash).unwrap(), [(1, 1)]);
    assert_eq!(inbox.move_to(&[2], &trash).unwrap(), [(2, 2)]);
    trash.sync().unwrap();
    let copy = trash.get(1).unwrap();
    assert_eq!((copy.flags, copy.internal_date), (Flags::FLAGGED, date));
    assert_ne!(
        copy.base(),
        inbox.get(1).unwrap().base(),
        "a copy is a new message"
    );
    assert_eq!(trash.read(2).unwrap(), b"two");
    let changes = inbox.sync().unwrap();
    assert_eq!(changes.expunged, [Expunged { seq: 2, uid: 2 }]);
}

#[test]
fn copy_within_one_mailbox_does_not_deadlock() {
    let f = fixture();
    let inbox = f.inbox();
    inbox.append(b"one", Flags::EMPTY, None).unwrap();
    let mut inbox = f.inbox();
    let again = f.inbox();
    assert_eq!(inbox.copy_to(&[1], &again).unwrap(), [(1, 2)]);
    inbox.sync().unwrap();
    assert_eq!(inbox.read(2).unwrap(), b"one");
}

#[test]
fn reads_follow_renames_and_report_expunged_messages() {
    let f = fixture();
    f.deliver("1.m.h", b"body");
    let a = f.inbox();
    let mut b = f.inbox();
    b.set_flags(&[1], FlagOp::Add, Flags::SEEN).unwrap();
    assert_eq!(a.read(1).unwrap(), b"body");
    b.expunge(&[1]).unwrap();
    assert!(matches!(a.read(1), Err(Error::NoSuchMessage(1))));
    assert!(matches!(a.open_message(5), Err(Error::NoSuchMessage(5))));
    assert_eq!(a.expunge(&[1]).unwrap(), Vec::<Uid>::new());
}

#[test]
fn maildrop_lock_is_exclusive() {
    let f = fixture();
    let inbox = f.inbox();
    let held = inbox.lock_maildrop().unwrap();
    assert!(matches!(f.store.lock_maildrop(), Err(Error::InUse)));
    drop(held);
    f.store.lock_maildrop().unwrap();
}

fn keywords_of(m: &Mailbox, uid: Uid) -> Vec<&str> {
    m.message_keywords(m.get(uid).unwrap()).collect()
}

#[test]
fn store_flags_defines_keywords_dovecots_way_and_other_sessions_see_them() {
    let f = fixture();
    f.deliver("1.m.h", b"x");
    f.deliver("2.m.h", b"y");
    let mut a = f.inbox();
    let mut b = f.inbox();
    let changed = a
        .store_flags(&[1, 2], FlagOp::Add, Flags::SEEN, &["$Junk", "Work"])
        .unwrap();
    assert_eq!(changed.len(), 2);
    let text = fs::read_to_string(a.path().join("dovecot-keywords")).unwrap();
    assert_eq!(text, "0 $Junk\n1 Work\n");
    assert_eq!(a.get(1).unwrap().file_name(), "1.m.h:2,Sab");
    assert_eq!(keywords_of(&a, 1), ["$Junk", "Work"]);
    // Case-insensitive: the first spelling stays, no new letter.
    a.store_flags(&[1], FlagOp::Remove, Flags::EMPTY, &["WORK", "nosuch"])
        .unwrap();
    a.store_flags(&[2], FlagOp::Replace, Flags::EMPTY, &["$JUNK"])
        .unwrap();
    assert_eq!(a.keywords().collect::<Vec<_>>(), ["$Junk", "Work"]);
    let changes = b.sync().unwrap();
    assert!(changes.keywords, "{changes:?}");
    assert_eq!(changes.flags, [1, 2]);
    assert_eq!(keywords_of(&b, 1), ["$Junk"]);
    assert_eq!(b.get(2).unwrap().file_name(), "2.m.h:2,a");
    assert!(b.has_keyword(b.get(2).unwrap(), "$junk"));
    assert!(!b.has_keyword(b.get(2).unwrap(), "work"));
    // set_flags (POP3, \Seen on FETCH) leaves the keywords alone, even with Replace.
    b.set_flags(&[2], FlagOp::Replace, Flags::FLAGGED).unwrap();
    assert_eq!(keywords_of(&b, 2), ["$Junk"]);
    assert!(!a.sync().unwrap().keywords, "a defined them itself");
}

#[test]
fn a_27th_keyword_is_refused_and_nothing_changes() {
    let f = fixture();
    f.deliver("1.m.h", b"x");
    let mut inbox = f.inbox();
    let names: Vec<String> = (0..26).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    inbox
        .store_flags(&[1], FlagOp::Add, Flags::EMPTY, &refs)
        .unwrap();
    assert!(inbox.keywords_full());
    let before = inbox.get(1).unwrap().file_name().to_owned();
    let err = inbox
        .store_flags(&[1], FlagOp::Replace, Flags::SEEN, &["k0", "more"])
        .unwrap_err();
    assert!(
        matches!(err, Error::TooManyKeywords(ref k) if k == "more"),
        "{err}"
    );
    assert_eq!(inbox.get(1).unwrap().file_name(), before);
    let err = inbox
        .append_with_keywords(b"x", Flags::EMPTY, &["more"], None)
        .unwrap_err();
    assert!(matches!(err, Error::TooManyKeywords(_)));
    let err = inbox
        .store_flags(&[1], FlagOp::Add, Flags::EMPTY, &["bad word"])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidKeyword(_)));
    assert_eq!(fs::read_dir(inbox.path().join("tmp")).unwrap().count(), 0);
    assert_eq!(inbox.sync().unwrap().new, Vec::<Uid>::new());
}

#[test]
fn append_and_copy_carry_keywords_mapped_by_name() {
    let f = fixture();
    f.store.create("Archive").unwrap();
    let archive = f.store.mailbox("Archive").unwrap();
    fs::write(archive.path().join("dovecot-keywords"), "0 Other\n1 work\n").unwrap();
    let mut inbox = f.inbox();
    let uid = inbox
        .append_with_keywords(b"x", Flags::SEEN, &["Work", "$label1"], None)
        .unwrap();
    inbox.sync().unwrap();
    assert_eq!(keywords_of(&inbox, uid), ["Work", "$label1"]);
    let pairs = inbox.copy_to(&[uid], &archive).unwrap();
    let mut archive = f.store.mailbox("Archive").unwrap();
    let copy = pairs[0].1;
    // Archive's own letters: work is b there, $label1 new at c.
    assert_eq!(keywords_of(&archive, copy), ["work", "$label1"]);
    assert!(archive.get(copy).unwrap().file_name().ends_with(":2,Sbc"));
    assert!(archive.sync().unwrap().is_empty());
}

#[test]
fn copy_into_a_mailbox_full_of_keywords_keeps_the_message_and_the_known_ones() {
    let f = fixture();
    f.store.create("Full").unwrap();
    let full = f.store.mailbox("Full").unwrap();
    let names: String = (0..26).map(|i| format!("{i} k{i}\n")).collect();
    fs::write(full.path().join("dovecot-keywords"), names).unwrap();
    let mut inbox = f.inbox();
    let uid = inbox
        .append_with_keywords(b"x", Flags::EMPTY, &["new", "K3"], None)
        .unwrap();
    inbox.sync().unwrap();
    let copy = inbox.copy_to(&[uid], &full).unwrap()[0].1;
    let full = f.store.mailbox("Full").unwrap();
    assert_eq!(keywords_of(&full, copy), ["k3"]);
    assert!(full.keywords_full());
}
