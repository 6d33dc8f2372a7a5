use calm_imap_proto::Flag;
use calm_mailstore::Flags;

use super::mailboxes::matches;
use super::{keywords_of, to_flags, uid_set, write_flag_list};

#[test]
fn uid_sets_are_compressed_in_order() {
    assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
    assert_eq!(uid_set(&[4]), "4");
    assert_eq!(uid_set(&[]), "");
    assert_eq!(uid_set(&[u32::MAX, 1]), "4294967295,1");
}

#[test]
fn list_wildcards() {
    assert!(matches("*", "a.b.c"));
    assert!(matches("%", "INBOX"));
    assert!(!matches("%", "a.b"));
    assert!(matches("a.%", "a.b"));
    assert!(!matches("a.%", "a.b.c"));
    assert!(matches("a*c", "a.b.c"));
    assert!(matches("inbox", "INBOX"));
    assert!(matches("Inbox.*", "INBOX.x"));
    assert!(!matches("inbox", "Inbox2"));
    assert!(!matches("sent", "Sent"));
    // Pathological patterns stay linear in time.
    let pattern = "*a".repeat(200);
    assert!(!matches(&pattern, &"a".repeat(150)));
}

#[test]
fn flags_map_both_ways() {
    let flags = to_flags(&[
        Flag::Seen,
        Flag::Deleted,
        Flag::Other("$forwarded".into()),
        Flag::Other("$Junk".into()),
        Flag::Recent,
    ]);
    assert_eq!(flags, Flags::SEEN | Flags::TRASHED | Flags::PASSED);
    let mut out = Vec::new();
    write_flag_list(&mut out, flags, &["$Junk"]);
    assert_eq!(out, b"(\\Deleted \\Seen $Forwarded $Junk)");
}

#[test]
fn keywords_are_the_atoms_without_backslash_and_forwarded_is_shown_once() {
    let flags = [
        Flag::Seen,
        Flag::Other("$Junk".into()),
        Flag::Other("$FORWARDED".into()),
        Flag::Other("\\Unknown".into()),
        Flag::Other("work".into()),
        Flag::Recent,
    ];
    assert_eq!(keywords_of(&flags), ["$Junk", "work"]);
    let mut out = Vec::new();
    write_flag_list(&mut out, Flags::PASSED, &["$forwarded", "x"]);
    assert_eq!(out, b"($Forwarded x)");
    out.clear();
    write_flag_list(&mut out, Flags::EMPTY, &["$forwarded"]);
    assert_eq!(out, b"($forwarded)");
}
