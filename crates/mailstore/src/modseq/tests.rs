use super::*;
use crate::uidlist::Record;

fn list(validity: u32, records: &[(u32, &str)]) -> UidList {
    UidList {
        uid_validity: validity,
        next_uid: records.last().map_or(1, |r| r.0 + 1),
        header_extra: Vec::new(),
        records: records
            .iter()
            .map(|&(uid, file)| Record {
                uid,
                ext: Vec::new(),
                file: file.to_owned(),
            })
            .collect(),
    }
}

fn state(dir: &Path, validity: u32) -> State {
    let shared = for_dir(dir);
    let guard = current(&shared, dir, validity).unwrap();
    guard.clone().unwrap()
}

#[test]
fn a_missing_file_starts_above_the_clock_and_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let before = now_micros();
    let mut s = state(tmp.path(), 7);
    s.reconcile(tmp.path(), &list(7, &[(1, "a:2,S"), (2, "b:2,")]))
        .unwrap();
    let first = s.get(1).unwrap();
    assert!(first > before);
    assert_eq!(s.get(2), Some(first));
    assert_eq!(s.highest(), first);
    let again = state(tmp.path(), 7);
    assert_eq!(again.get(1), Some(first));
    assert_eq!(again.highest(), first);
}

#[test]
fn changes_append_and_raise_the_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut s = state(dir, 7);
    s.reconcile(dir, &list(7, &[(1, "a:2,"), (2, "b:2,")]))
        .unwrap();
    let base = s.highest();
    let size = fs::metadata(dir.join(FILE)).unwrap().len();
    assert_eq!(s.assign(dir, &[(2, "2,S")]).unwrap(), base + 1);
    assert!(
        fs::metadata(dir.join(FILE)).unwrap().len() > size,
        "appended"
    );
    // Renamed behind calm's back, one new message, one expunged: one new value.
    s.reconcile(dir, &list(7, &[(2, "b:2,S"), (3, "c:2,F"), (4, "d:2,")]))
        .unwrap();
    assert_eq!(s.get(2), Some(base + 1), "unchanged since assign");
    assert_eq!(s.get(3), Some(base + 2));
    assert_eq!(s.get(1), None);
    assert_eq!(s.highest(), base + 2);
    let read = state(dir, 7);
    assert_eq!(read.get(2), Some(base + 1));
    assert_eq!(read.get(4), Some(base + 2));
    assert_eq!(read.get(1), None);
    assert_eq!(read.highest(), base + 2);
}

#[test]
fn another_uidvalidity_starts_at_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut s = state(dir, 7);
    s.reconcile(dir, &list(7, &[(1, "a:2,")])).unwrap();
    let mut s = state(dir, 8);
    assert_eq!(s.get(1), None);
    s.reconcile(dir, &list(8, &[(1, "a:2,")])).unwrap();
    assert_eq!((s.get(1), s.highest()), (Some(1), 1));
}

#[test]
fn a_corrupt_or_torn_file_is_rebuilt_above_the_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join(FILE), "calm-modseq 1 V7 H5\n1 5 :2,\n2 6 :2,").unwrap();
    let before = now_micros();
    let mut s = state(dir, 7);
    assert_eq!(s.get(1), None);
    s.reconcile(dir, &list(7, &[(1, "a:2,")])).unwrap();
    assert!(s.get(1).unwrap() > before);
    fs::write(dir.join(FILE), "calm-modseq 1 V7 H0\n").unwrap();
    assert!(
        state(dir, 7).highest() > before,
        "0 is no mod-sequence-value"
    );
}

#[test]
fn another_process_writing_the_file_is_noticed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let shared = for_dir(dir);
    {
        let mut guard = current(&shared, dir, 7).unwrap();
        let s = guard.as_mut().unwrap();
        s.reconcile(dir, &list(7, &[(1, "a:2,")])).unwrap();
    }
    let mut text = fs::read_to_string(dir.join(FILE)).unwrap();
    text.push_str("1 99999999999999999 :2,S\n");
    fs::write(dir.join(FILE), text).unwrap();
    let guard = current(&shared, dir, 7).unwrap();
    assert_eq!(guard.as_ref().unwrap().get(1), Some(99_999_999_999_999_999));
}

#[test]
fn many_changes_compact_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut s = state(dir, 7);
    s.reconcile(dir, &list(7, &[(1, "a:2,")])).unwrap();
    for i in 0..600 {
        let info = if i % 2 == 0 { "2,S" } else { "2," };
        s.assign(dir, &[(1, info)]).unwrap();
    }
    let lines = fs::read_to_string(dir.join(FILE)).unwrap().lines().count();
    assert!(lines < 300, "{lines} lines");
    assert_eq!(state(dir, 7).get(1), Some(s.highest()));
}

#[test]
fn a_view_after_calms_own_flag_change_skips_the_walk_but_not_after_a_rescan() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let shared = for_dir(dir);
    let mut guard = current(&shared, dir, 7).unwrap();
    let s = guard.as_mut().unwrap();
    let two = list(7, &[(1, "a:2,"), (2, "b:2,")]);
    assert!(s.needs_reconcile(&two), "never reconciled");
    s.reconcile(dir, &two).unwrap();
    s.assign(dir, &[(1, "2,S")]).unwrap();
    assert!(!s.needs_reconcile(&list(7, &[(1, "a:2,S"), (2, "b:2,")])));
    assert!(s.needs_reconcile(&list(7, &[(1, "a:2,S")])), "expunged");
    assert!(s.needs_reconcile(&list(7, &[(1, "a:2,S"), (2, "b:2,"), (3, "c:2,")])));
    drop(guard);
    rescanned(&shared);
    assert!(
        current(&shared, dir, 7)
            .unwrap()
            .as_ref()
            .unwrap()
            .needs_reconcile(&two)
    );
}

#[test]
fn a_failed_write_forgets_what_it_could_not_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let shared = for_dir(dir);
    let mut guard = current(&shared, dir, 7).unwrap();
    let s = guard.as_mut().unwrap();
    s.reconcile(dir, &list(7, &[(1, "a:2,")])).unwrap();
    let stored = s.get(1);
    // A directory in the file's place stands for a disk that refuses the write.
    fs::remove_file(dir.join(FILE)).unwrap();
    fs::create_dir(dir.join(FILE)).unwrap();
    assert!(s.assign(dir, &[(1, "2,S")]).is_err());
    assert_eq!(s.stamp, Some(FORGOTTEN), "matches no file: read again");
    drop(guard);
    fs::remove_dir(dir.join(FILE)).unwrap();
    let guard = current(&shared, dir, 7).unwrap();
    let again = guard.as_ref().unwrap();
    assert_eq!(again.get(1), None, "read again: the file is gone");
    assert!(again.highest() > stored.unwrap());
}

#[test]
fn the_first_read_in_a_process_starts_above_the_clock_and_later_reads_keep_the_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // As a power failure may leave it: the last lines lost.
    fs::write(dir.join(FILE), "calm-modseq 1 V7 H5\n1 5 :2,\n").unwrap();
    let before = now_micros();
    let mut s = state(dir, 7);
    assert_eq!(s.get(1), Some(5));
    assert!(s.highest() >= before);
    s.reconcile(dir, &list(7, &[(1, "a:2,S")])).unwrap();
    let changed = s.get(1).unwrap();
    assert!(changed > before);
    let again = state(dir, 7);
    assert_eq!((again.get(1), again.highest()), (Some(changed), changed));
}
