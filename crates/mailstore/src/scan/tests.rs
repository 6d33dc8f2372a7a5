use super::*;

struct Dir {
    _tmp: tempfile::TempDir,
    path: std::path::PathBuf,
    hint: std::path::PathBuf,
}

fn maildir() -> Dir {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("box");
    for sub in ["tmp", "new", "cur"] {
        fs::create_dir_all(path.join(sub)).unwrap();
    }
    let hint = tmp.path().join("hint");
    Dir {
        _tmp: tmp,
        path,
        hint,
    }
}

impl Dir {
    fn deliver(&self, name: &str, body: &[u8]) {
        fs::write(self.path.join("new").join(name), body).unwrap();
    }

    fn sync(&self) -> UidList {
        sync_locked(&self.path, &self.hint).unwrap()
    }

    fn cur_names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path.join("cur"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

fn uids(list: &UidList) -> Vec<(u32, &str)> {
    list.records.iter().map(|r| (r.uid, r.base())).collect()
}

#[test]
fn new_messages_move_to_cur_and_get_uids_in_arrival_order() {
    let d = maildir();
    d.deliver("1700000002.Qb.h,S=3", b"b\r\n");
    d.deliver("1700000001.Qa.h,S=3", b"a\r\n");
    d.deliver("999999999.Qz.h,S=3", b"z\r\n"); // an older, shorter timestamp sorts first
    let list = d.sync();
    assert_eq!(
        uids(&list),
        [
            (1, "999999999.Qz.h,S=3"),
            (2, "1700000001.Qa.h,S=3"),
            (3, "1700000002.Qb.h,S=3")
        ]
    );
    assert_eq!(list.next_uid, 4);
    assert!(fs::read_dir(d.path.join("new")).unwrap().next().is_none());
    assert_eq!(
        d.cur_names(),
        [
            "1700000001.Qa.h,S=3:2,",
            "1700000002.Qb.h,S=3:2,",
            "999999999.Qz.h,S=3:2,"
        ]
    );
    // Stable: a second sync changes nothing, on disk or in the index.
    let index_before = fs::read(d.path.join(uidlist::FILE)).unwrap();
    assert_eq!(d.sync(), list);
    assert_eq!(fs::read(d.path.join(uidlist::FILE)).unwrap(), index_before);
}

#[test]
fn expunged_files_drop_out_and_their_uids_are_never_reused() {
    let d = maildir();
    d.deliver("1.a.h", b"a");
    d.deliver("2.b.h", b"b");
    d.sync();
    fs::remove_file(d.path.join("cur/2.b.h:2,")).unwrap();
    d.deliver("3.c.h", b"c");
    let list = d.sync();
    assert_eq!(uids(&list), [(1, "1.a.h"), (3, "3.c.h")]);
    assert_eq!(list.next_uid, 4);
}

#[test]
fn deleted_index_is_rebuilt_with_a_larger_uidvalidity_even_within_one_second() {
    let d = maildir();
    d.deliver("1.a.h", b"a");
    let first = d.sync();
    fs::remove_file(d.path.join(uidlist::FILE)).unwrap();
    let second = d.sync();
    fs::remove_file(d.path.join(uidlist::FILE)).unwrap();
    let third = d.sync();
    assert!(
        first.uid_validity < second.uid_validity,
        "{first:?} {second:?}"
    );
    assert!(second.uid_validity < third.uid_validity);
    assert_eq!(uids(&third), [(1, "1.a.h")]);
}

#[test]
fn corrupt_index_is_rebuilt_never_fatal() {
    let d = maildir();
    d.deliver("1.a.h", b"a");
    d.deliver("2.b.h", b"b");
    let first = d.sync();
    for garbage in [
        &b"\xff\xfe\x00garbage"[..],
        b"",
        b"3 V1 N2\n5 :1.a.h\n4 :2.b.h\n",
        b"3 V9 N3\n1 :x\n1 :y\n",
    ] {
        fs::write(d.path.join(uidlist::FILE), garbage).unwrap();
        let rebuilt = d.sync();
        assert!(rebuilt.uid_validity > first.uid_validity);
        assert_eq!(uids(&rebuilt), [(1, "1.a.h"), (2, "2.b.h")]);
    }
}

#[test]
fn salvaged_uidvalidity_from_a_corrupt_header_is_exceeded() {
    let d = maildir();
    d.deliver("1.a.h", b"a");
    let far_future = u32::MAX - 10;
    fs::write(
        d.path.join(uidlist::FILE),
        format!("3 V{far_future} N5\nbad\n"),
    )
    .unwrap();
    assert_eq!(d.sync().uid_validity, far_future + 1);
}

#[test]
fn a_base_in_both_new_and_cur_becomes_two_messages() {
    let d = maildir();
    d.deliver("1.a.h", b"first");
    d.sync();
    d.deliver("1.a.h", b"second copy");
    let list = d.sync();
    assert_eq!(list.records.len(), 2);
    assert_eq!(list.records[0].base(), "1.a.h");
    assert_ne!(list.records[1].base(), "1.a.h");
    let contents: Vec<Vec<u8>> = d
        .cur_names()
        .iter()
        .map(|n| fs::read(d.path.join("cur").join(n)).unwrap())
        .collect();
    assert!(contents.contains(&b"first".to_vec()) && contents.contains(&b"second copy".to_vec()));
}

#[test]
fn two_cur_files_with_one_base_get_two_uids() {
    let d = maildir();
    fs::write(d.path.join("cur/1.a.h:2,S"), b"x").unwrap();
    fs::write(d.path.join("cur/1.a.h:2,F"), b"y").unwrap();
    let list = d.sync();
    assert_eq!(list.records.len(), 2);
    assert_ne!(list.records[0].base(), list.records[1].base());
}

#[test]
fn rfc822_size_counts_bare_lf_and_is_recorded_once() {
    let d = maildir();
    d.deliver("1.lf.h", b"a\nb\n");
    d.deliver("2.crlf.h", b"a\r\nb\r\n");
    d.deliver("3.named.h,S=4,W=99", b"a\nb\n");
    let list = d.sync();
    let sizes: Vec<Option<u64>> = list.records.iter().map(Record::vsize).collect();
    assert_eq!(sizes, [Some(6), Some(6), Some(99)]);
    let text = fs::read_to_string(d.path.join(uidlist::FILE)).unwrap();
    assert!(text.contains("1 W6 :1.lf.h:2,\n"), "{text}");
    assert!(text.contains("3 :3.named.h,S=4,W=99:2,\n"), "{text}");
}

#[test]
fn hidden_files_directories_and_flagged_new_names_are_handled() {
    let d = maildir();
    d.deliver(".hidden", b"x");
    fs::create_dir(d.path.join("new/subdir")).unwrap();
    d.deliver("1.a.h:2,S", b"x"); // a writer that put flags on a new/ name
    let list = d.sync();
    assert_eq!(uids(&list), [(1, "1.a.h")]);
    assert_eq!(list.records[0].file, "1.a.h:2,S");
    assert!(d.path.join("new/.hidden").exists());
}

#[test]
fn flag_renames_do_not_rewrite_the_index_but_are_reported() {
    let d = maildir();
    d.deliver("1.a.h", b"a");
    d.sync();
    let before = fs::read(d.path.join(uidlist::FILE)).unwrap();
    fs::rename(d.path.join("cur/1.a.h:2,"), d.path.join("cur/1.a.h:2,S")).unwrap();
    let list = d.sync();
    assert_eq!(list.records[0].file, "1.a.h:2,S");
    assert_eq!(fs::read(d.path.join(uidlist::FILE)).unwrap(), before);
}

#[test]
fn find_current_follows_renames() {
    let d = maildir();
    d.deliver("1.a.h", b"a");
    d.sync();
    fs::rename(d.path.join("cur/1.a.h:2,"), d.path.join("cur/1.a.h:2,RS")).unwrap();
    assert_eq!(
        find_current(&d.path, "1.a.h").unwrap().as_deref(),
        Some("1.a.h:2,RS")
    );
    assert_eq!(find_current(&d.path, "1.a").unwrap(), None);
}
