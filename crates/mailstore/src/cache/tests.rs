use super::*;
use crate::lock::{self, INDEX_LOCK};

fn maildir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
    }
    dir
}

fn list(next_uid: u32) -> UidList {
    UidList {
        uid_validity: 7,
        next_uid,
        header_extra: Vec::new(),
        records: Vec::new(),
    }
}

#[test]
fn one_state_per_directory_while_held() {
    let dir = maildir();
    let a = for_dir(dir.path());
    let b = for_dir(dir.path());
    assert!(Arc::ptr_eq(&a, &b));
    let other = maildir();
    assert!(!Arc::ptr_eq(&a, &for_dir(other.path())));
    *get(&a) = Some(Known {
        stamp: Stamp {
            generation: 1,
            cur_mtime: SystemTime::UNIX_EPOCH,
            index: None,
        },
        settled: false,
        list: list(1),
        view: None,
    });
    drop((a, b));
    assert!(get(&for_dir(dir.path())).is_none(), "forgotten once unused");
}

#[test]
fn known_state_is_valid_until_the_disk_changes() {
    let dir = maildir();
    let held = lock::exclusive(&dir.path().join(INDEX_LOCK)).unwrap();
    let mut known = None;
    changed(dir.path(), &held, &mut known, Some(list(3))).unwrap();
    let now = Stamp::read(dir.path(), &held).unwrap();
    assert_eq!(valid(&mut known, &now).map(|l| l.next_uid), Some(3));
    // Another calm session or process: the generation moves.
    held.bump_generation().unwrap();
    let now = Stamp::read(dir.path(), &held).unwrap();
    assert!(valid(&mut known, &now).is_none());
    changed(dir.path(), &held, &mut known, Some(list(4))).unwrap();
    // Someone else: cur/ changes (a later mtime), or the index is replaced.
    let cur = dir.path().join("cur");
    let later = SystemTime::now() + std::time::Duration::from_secs(5);
    fs::File::open(&cur).unwrap().set_modified(later).unwrap();
    assert!(valid(&mut known, &Stamp::read(dir.path(), &held).unwrap()).is_none());
    changed(dir.path(), &held, &mut known, Some(list(5))).unwrap();
    fs::write(dir.path().join(uidlist::FILE), "3 V7 N5\n").unwrap();
    assert!(valid(&mut known, &Stamp::read(dir.path(), &held).unwrap()).is_none());
    // A change recorded without the resulting index forgets it.
    changed(dir.path(), &held, &mut known, None).unwrap();
    assert!(known.is_none());
}
