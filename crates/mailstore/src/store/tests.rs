use super::*;
use crate::Flags;

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("u")).unwrap();
    (tmp, store)
}

fn names(store: &Store) -> Vec<String> {
    store.list().unwrap().into_iter().map(|m| m.name).collect()
}

#[test]
fn open_creates_inbox_and_subscribed_special_use_folders_in_maildir_plus_plus_layout() {
    let (_tmp, store) = store();
    let root = store.root();
    for dir in [
        "cur",
        "new",
        "tmp",
        ".Sent/cur",
        ".Drafts/new",
        ".Trash/tmp",
        ".Junk/cur",
    ] {
        assert!(root.join(dir).is_dir(), "{dir}");
    }
    assert!(root.join(".Sent/maildirfolder").is_file());
    assert_eq!(names(&store), ["INBOX", "Drafts", "Junk", "Sent", "Trash"]);
    let list = store.list().unwrap();
    assert_eq!(
        list[3].special_use.map(SpecialUse::attribute),
        Some("\\Sent")
    );
    assert_eq!(list[0].special_use, None);
    assert_eq!(
        store.subscriptions().unwrap(),
        ["Drafts", "Sent", "Junk", "Trash"]
    );
    // Deleting a special folder and unsubscribing sticks for subscriptions; the folder returns.
    store.unsubscribe("Junk").unwrap();
    store.delete("Junk").unwrap();
    let again = Store::open(root).unwrap();
    assert!(again.exists("Junk").unwrap());
    assert_eq!(
        again.subscriptions().unwrap(),
        ["Drafts", "Sent", "Trash", "Junk"]
    );
}

#[test]
fn create_delete_rename_with_children() {
    let (_tmp, store) = store();
    store.create("Work").unwrap();
    store.create("Work.Projects").unwrap();
    store.create("Work.Projects.calm").unwrap();
    assert!(
        matches!(store.create("work"), Ok(())),
        "names are case-sensitive below INBOX"
    );
    assert!(matches!(store.create("Work"), Err(Error::AlreadyExists(_))));
    assert!(matches!(
        store.create("inbox"),
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(store.delete("Work"), Err(Error::HasChildren(_))));
    assert!(matches!(store.delete("INBOX"), Err(Error::Inbox)));
    assert!(matches!(store.delete("Nope"), Err(Error::NoSuchMailbox(_))));
    store.rename("Work", "Archive.2024").unwrap();
    let all = names(&store);
    assert!(
        all.contains(&"Archive.2024.Projects.calm".to_owned()),
        "{all:?}"
    );
    assert!(!all.iter().any(|n| n.starts_with("Work")), "{all:?}");
    assert!(
        store
            .root()
            .join(".Archive.2024.Projects")
            .join("cur")
            .is_dir()
    );
    assert!(matches!(
        store.rename("Archive.2024", "Archive.2024.x"),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        store.rename("work", "Archive.2024"),
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(store.rename("work", "inbox"), Err(Error::Inbox)));
    store.delete("Archive.2024.Projects.calm").unwrap();
    store.delete("Archive.2024.Projects").unwrap();
    store.delete("Archive.2024").unwrap();
    assert_eq!(
        names(&store),
        ["INBOX", "Drafts", "Junk", "Sent", "Trash", "work"]
    );
    assert!(
        fs::read_dir(store.root()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".."))
    );
}

#[test]
fn rename_keeps_uids_and_uidvalidity() {
    let (_tmp, store) = store();
    store.create("A").unwrap();
    let a = store.mailbox("A").unwrap();
    a.append(b"x", Flags::EMPTY, None).unwrap();
    let validity = store.mailbox("A").unwrap().uid_validity();
    store.rename("A", "B").unwrap();
    let b = store.mailbox("B").unwrap();
    assert_eq!((b.uid_validity(), b.messages()[0].uid), (validity, 1));
    assert!(matches!(store.mailbox("A"), Err(Error::NoSuchMailbox(_))));
}

#[test]
fn recreated_mailbox_gets_a_new_uidvalidity() {
    let (_tmp, store) = store();
    store.create("A").unwrap();
    let first = store.mailbox("A").unwrap().uid_validity();
    store.delete("A").unwrap();
    store.create("A").unwrap();
    assert!(store.mailbox("A").unwrap().uid_validity() > first);
}

#[test]
fn non_ascii_names_are_stored_in_modified_utf7() {
    let (_tmp, store) = store();
    store.create("Entw\u{fc}rfe & Co").unwrap();
    assert!(
        store
            .root()
            .join(".Entw&APw-rfe &- Co")
            .join("cur")
            .is_dir()
    );
    assert!(names(&store).contains(&"Entw\u{fc}rfe & Co".to_owned()));
    store.subscribe("Entw\u{fc}rfe & Co").unwrap();
    let file = fs::read_to_string(store.root().join("subscriptions")).unwrap();
    assert!(file.ends_with("Entw&APw-rfe &- Co\n"), "{file:?}");
    assert!(
        store
            .subscriptions()
            .unwrap()
            .contains(&"Entw\u{fc}rfe & Co".to_owned())
    );
}

#[test]
fn listing_skips_foreign_and_invalid_directories() {
    let (_tmp, store) = store();
    let root = store.root();
    fs::create_dir_all(root.join("..DOVECOT-TRASHED/cur")).unwrap();
    fs::create_dir_all(root.join(".&AGE-/cur")).unwrap(); // non-canonical encoding
    fs::create_dir_all(root.join(".NoCur")).unwrap();
    fs::create_dir_all(root.join(".a..b/cur")).unwrap();
    fs::write(root.join(".file"), b"").unwrap();
    assert_eq!(names(&store), ["INBOX", "Drafts", "Junk", "Sent", "Trash"]);
}

#[test]
fn hostile_names_never_reach_the_file_system() {
    let (tmp, store) = store();
    for bad in ["../escape", "a/b", "..", "", "x\0y", "*"] {
        assert!(
            matches!(store.create(bad), Err(Error::InvalidName { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(store.mailbox(bad), Err(Error::InvalidName { .. })),
            "{bad:?}"
        );
    }
    assert!(!tmp.path().join("escape").exists());
}

#[test]
fn reads_dovecot_v2_subscriptions_and_keeps_the_version() {
    let (_tmp, store) = store();
    let path = store.root().join("subscriptions");
    fs::write(&path, "V\t2\n\nINBOX\nWork\tProjects\nTab\x01tName\n").unwrap();
    assert_eq!(
        store.subscriptions().unwrap(),
        ["INBOX", "Work.Projects"],
        "a TAB inside a name is invalid"
    );
    store.subscribe("Entw\u{fc}rfe.Neu").unwrap();
    store.unsubscribe("INBOX").unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text, "V\t2\n\nWork\tProjects\nEntw&APw-rfe\tNeu\n");
}

#[test]
fn reads_v1_subscriptions_leniently() {
    let (_tmp, store) = store();
    fs::write(
        store.root().join("subscriptions"),
        b"Sent\n\n\xff\xfe\nSent\nUTF8-\xc3\xa9\n../x\n",
    )
    .unwrap();
    // Undecodable bytes become U+FFFD (the line is kept, not fatal); `../x` is refused.
    assert_eq!(
        store.subscriptions().unwrap(),
        ["Sent", "\u{fffd}\u{fffd}", "UTF8-\u{e9}"]
    );
}

#[test]
fn renaming_inbox_moves_its_messages_and_leaves_it_empty() {
    let (_tmp, store) = store();
    let inbox = store.inbox().unwrap();
    inbox.append(b"one", Flags::SEEN, None).unwrap();
    inbox
        .append_with_keywords(b"two", Flags::FLAGGED, &["$label1"], None)
        .unwrap();
    // A delivered message still in new/.
    fs::write(
        store.root().join("new").join("1700000000.Q1.host"),
        b"three",
    )
    .unwrap();
    store.create("INBOX.Lists").unwrap();
    store
        .mailbox("INBOX.Lists")
        .unwrap()
        .append(b"list", Flags::EMPTY, None)
        .unwrap();
    let validity = store.inbox().unwrap().uid_validity();

    store.rename("inbox", "Old").unwrap();

    let old = store.mailbox("Old").unwrap();
    let labelled = old.messages().iter().find(|m| m.flags == Flags::FLAGGED);
    let keywords: Vec<&str> = old.message_keywords(labelled.unwrap()).collect();
    assert_eq!(
        keywords,
        ["$label1"],
        "keyword names move with their letters"
    );
    let mut bodies: Vec<(Flags, u64)> = old
        .messages()
        .iter()
        .map(|m| (m.flags, m.rfc822_size))
        .collect();
    bodies.sort_by_key(|b| b.1);
    assert_eq!(
        bodies,
        [(Flags::SEEN, 3), (Flags::FLAGGED, 3), (Flags::EMPTY, 5)],
        "every message moved, flags kept"
    );
    let mut inbox = store.inbox().unwrap();
    assert!(inbox.messages().is_empty(), "INBOX is left empty");
    assert_eq!(
        inbox.uid_validity(),
        validity,
        "INBOX itself is not recreated"
    );
    // INBOX's inferiors stay where they are (RFC 3501 §6.3.5).
    assert_eq!(store.mailbox("INBOX.Lists").unwrap().messages().len(), 1);
    assert!(!names(&store).contains(&"Old.Lists".to_owned()));
    // INBOX goes on receiving; its UIDs are not reused.
    let uid = inbox.append(b"four", Flags::EMPTY, None).unwrap();
    assert!(uid > 2, "{uid}");
    inbox.sync().unwrap();
    assert_eq!(inbox.messages().len(), 1);
    // Once more to an existing name: refused, nothing moves.
    assert!(matches!(
        store.rename("INBOX", "Old"),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(store.inbox().unwrap().messages().len(), 1);
    assert_eq!(store.mailbox("Old").unwrap().messages().len(), 3);
}

#[test]
fn renaming_inbox_waits_for_no_pop3_session() {
    let (_tmp, store) = store();
    store
        .inbox()
        .unwrap()
        .append(b"x", Flags::EMPTY, None)
        .unwrap();
    let pop3 = store.lock_maildrop().unwrap();
    assert!(matches!(store.rename("INBOX", "Old"), Err(Error::InUse)));
    assert!(!store.exists("Old").unwrap());
    drop(pop3);
    store.rename("INBOX", "Old").unwrap();
    assert_eq!(store.mailbox("Old").unwrap().messages().len(), 1);
}

#[test]
fn subscriptions_follow_a_renamed_mailbox_and_its_children() {
    let (_tmp, store) = store();
    for name in ["Work", "Work.Projects", "Workshop"] {
        store.create(name).unwrap();
        store.subscribe(name).unwrap();
    }
    store.subscribe("Archive").unwrap();
    store.rename("Work", "Archive").unwrap();
    let subscribed = store.subscriptions().unwrap();
    for name in ["Archive", "Archive.Projects", "Workshop", "Sent"] {
        assert!(
            subscribed.contains(&name.to_owned()),
            "{name}: {subscribed:?}"
        );
    }
    assert!(
        !subscribed
            .iter()
            .any(|n| n == "Work" || n == "Work.Projects"),
        "{subscribed:?}"
    );
    assert_eq!(
        subscribed.iter().filter(|n| *n == "Archive").count(),
        1,
        "{subscribed:?}"
    );
    // Renaming INBOX moves messages, not subscriptions.
    store.subscribe("INBOX").unwrap();
    store.rename("INBOX", "Old").unwrap();
    let subscribed = store.subscriptions().unwrap();
    assert!(subscribed.contains(&"INBOX".to_owned()) && !subscribed.contains(&"Old".to_owned()));
}

#[test]
fn delivery_dir_creates_and_subscribes_a_missing_folder() {
    let (_tmp, store) = store();
    assert_eq!(store.delivery_dir("INBOX").unwrap(), store.root());
    assert_eq!(
        store.delivery_dir("Junk").unwrap(),
        store.root().join(".Junk")
    );
    let dir = store.delivery_dir("Newsletters").unwrap();
    assert_eq!(dir, store.root().join(".Newsletters"));
    assert!(dir.join("new").is_dir() && dir.join("maildirfolder").is_file());
    assert!(names(&store).contains(&"Newsletters".to_string()));
    assert!(
        store
            .subscriptions()
            .unwrap()
            .contains(&"Newsletters".to_string())
    );
    assert!(store.delivery_dir("../x").is_err());
}
