use super::*;
use crate::resolve::{MAX_DEPTH, MAX_TARGETS};

const USERS: &str = "bob@example.test:{PLAIN}bob-pw\n\
                     alice@example.test:{PLAIN}alice-pw\n\
                     carol@example.test:{PLAIN}carol-pw\n\
                     catch@example.test:{PLAIN}x\n\
                     info@example.test:{PLAIN}x\n\
                     vbob@virtual.test:{PLAIN}x\n\
                     stranger@elsewhere.test:{PLAIN}x\n";

fn build(aliases: &str, virtual_map: &str, catch_all: &[(&str, &str)]) -> Directory {
    try_build(aliases, virtual_map, catch_all).unwrap()
}

fn try_build(
    aliases: &str,
    virtual_map: &str,
    catch_all: &[(&str, &str)],
) -> Result<Directory, AccountsError> {
    let users = Users::from_bytes(Path::new("users"), USERS.as_bytes())?;
    let aliases = Aliases::from_bytes(Path::new("aliases"), aliases.as_bytes())?;
    let virtual_map = VirtualMap::from_bytes(Path::new("virtual"), virtual_map.as_bytes())?;
    let settings = DirectorySettings {
        local_domains: vec!["Example.TEST".into(), "second.test".into()],
        subaddress_separator: Some('+'),
        catch_all: catch_all
            .iter()
            .map(|&(d, t)| (d.to_owned(), t.to_owned()))
            .collect(),
    };
    Directory::new(users, aliases, virtual_map, settings)
}

fn mailbox(a: &str) -> Target {
    Target::Mailbox(a.to_owned())
}

fn forward(a: &str) -> Target {
    Target::Forward(a.to_owned())
}

fn deliver(targets: &[Target]) -> Resolution {
    Resolution::Deliver(targets.to_vec())
}

#[test]
fn users_resolve_to_their_mailbox_case_insensitively() {
    let dir = build("", "", &[]);
    assert_eq!(
        dir.resolve("bob@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(
        dir.resolve("BOB@Example.Test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(dir.resolve("nobody@example.test"), Resolution::Unknown);
    assert_eq!(dir.resolve("bob@remote.test"), Resolution::NotLocal);
}

#[test]
fn aliases_do_not_apply_to_virtual_only_domains() {
    let dir = build(
        "postmaster: bob@example.test\n",
        "@virtual.test catch@example.test\n",
        &[],
    );
    assert_eq!(
        dir.resolve("postmaster@virtual.test"),
        deliver(&[mailbox("catch@example.test")])
    );
    assert_eq!(
        dir.resolve("vbob@virtual.test"),
        deliver(&[mailbox("vbob@virtual.test")])
    );
    let dir = build(
        "postmaster: bob@example.test\n",
        "x@virtual.test bob@example.test\n",
        &[],
    );
    assert_eq!(dir.resolve("postmaster@virtual.test"), Resolution::Unknown);
}

#[test]
fn local_domains_include_virtual_domains_but_not_user_domains() {
    let dir = build(
        "",
        "@virtual.test catch@example.test\ndeclared.test x\n",
        &[],
    );
    assert!(dir.is_local_domain("example.test"));
    assert!(dir.is_local_domain("EXAMPLE.test"));
    assert!(dir.is_local_domain("virtual.test"));
    assert!(dir.is_local_domain("declared.test"));
    assert!(!dir.is_local_domain("elsewhere.test"));
    assert_eq!(dir.resolve("stranger@elsewhere.test"), Resolution::NotLocal);
    assert_eq!(dir.resolve("anyone@declared.test"), Resolution::Unknown);
}

#[test]
fn exact_virtual_key_beats_user_and_alias() {
    let dir = build(
        "bob: alice@example.test\n",
        "bob@example.test carol@example.test\n",
        &[],
    );
    assert_eq!(
        dir.resolve("bob@example.test"),
        deliver(&[mailbox("carol@example.test")])
    );
    // The alias still applies in the other local domain, where no virtual key exists.
    assert_eq!(
        dir.resolve("bob@second.test"),
        deliver(&[mailbox("alice@example.test")])
    );
}

#[test]
fn user_beats_alias() {
    let dir = build("bob: alice\n", "", &[]);
    assert_eq!(
        dir.resolve("bob@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
}

#[test]
fn aliases_apply_to_every_local_domain_and_qualify_with_it() {
    let dir = build(
        "postmaster: bob\nhelp: alice@example.test, ext@remote.test\n",
        "",
        &[],
    );
    assert_eq!(
        dir.resolve("postmaster@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    // bob@second.test is nobody: a dead end is a configuration fault, not "unknown".
    assert_eq!(
        dir.resolve("postmaster@second.test"),
        Resolution::Failed(ResolveError::UnknownTarget {
            address: "postmaster@second.test".into(),
            target: "bob@second.test".into(),
        })
    );
    assert_eq!(
        dir.resolve("help@second.test"),
        deliver(&[mailbox("alice@example.test"), forward("ext@remote.test")])
    );
    assert_eq!(dir.resolve("postmaster@remote.test"), Resolution::NotLocal);
}

#[test]
fn subaddress_is_stripped_after_exact_matches() {
    let dir = build(
        "team: alice, carol\nbob+special: carol\n",
        "info+sales@example.test alice@example.test\n",
        &[],
    );
    assert_eq!(
        dir.resolve("bob+lists@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(
        dir.resolve("bob+a+b@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(
        dir.resolve("team+x@example.test"),
        deliver(&[mailbox("alice@example.test"), mailbox("carol@example.test")])
    );
    // An alias or virtual key for the full sub-address wins over stripping.
    assert_eq!(
        dir.resolve("bob+special@example.test"),
        deliver(&[mailbox("carol@example.test")])
    );
    assert_eq!(
        dir.resolve("info+sales@example.test"),
        deliver(&[mailbox("alice@example.test")])
    );
    assert_eq!(
        dir.resolve("info+other@example.test"),
        deliver(&[mailbox("info@example.test")])
    );
    assert_eq!(dir.resolve("+tag@example.test"), Resolution::Unknown);
    assert_eq!(dir.resolve("nobody+tag@example.test"), Resolution::Unknown);
}

#[test]
fn subaddressing_can_be_turned_off() {
    let users = Users::from_bytes(Path::new("u"), USERS.as_bytes()).unwrap();
    let settings = DirectorySettings {
        local_domains: vec!["example.test".into()],
        ..Default::default()
    };
    let dir = Directory::new(users, Aliases::default(), VirtualMap::default(), settings).unwrap();
    assert_eq!(dir.resolve("bob+lists@example.test"), Resolution::Unknown);
}

#[test]
fn other_separators_work() {
    let users = Users::from_bytes(Path::new("u"), USERS.as_bytes()).unwrap();
    let settings = DirectorySettings {
        local_domains: vec!["example.test".into()],
        subaddress_separator: Some('-'),
        ..Default::default()
    };
    let dir = Directory::new(users, Aliases::default(), VirtualMap::default(), settings).unwrap();
    assert_eq!(
        dir.resolve("bob-lists@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(dir.resolve("bob+lists@example.test"), Resolution::Unknown);
}

#[test]
fn catch_alls_come_last_virtual_before_settings() {
    let virtual_map = "@example.test catch@example.test\n";
    let dir = build(
        "postmaster: bob\n",
        virtual_map,
        &[
            ("example.test", "alice"),
            ("second.test", "carol@example.test"),
        ],
    );
    assert_eq!(
        dir.resolve("random@example.test"),
        deliver(&[mailbox("catch@example.test")])
    );
    assert_eq!(
        dir.resolve("bob+tag@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(
        dir.resolve("postmaster@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(
        dir.resolve("random@second.test"),
        deliver(&[mailbox("carol@example.test")])
    );
    assert_eq!(dir.resolve("random@remote.test"), Resolution::NotLocal);
}

#[test]
fn settings_catch_all_with_a_bare_name_uses_its_domain() {
    let dir = build("", "", &[("EXAMPLE.test", "Alice")]);
    assert_eq!(
        dir.resolve("random@example.test"),
        deliver(&[mailbox("alice@example.test")])
    );
}

#[test]
fn settings_catch_all_must_be_an_address() {
    let err = try_build("", "", &[("example.test", "|/bin/sh")]).unwrap_err();
    assert!(
        matches!(
            err,
            AccountsError::InvalidSetting {
                setting: "catch_all",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("pipe targets are not supported"),
        "{err}"
    );
}

#[test]
fn virtual_key_in_a_foreign_domain_rewrites_it() {
    let dir = build(
        "",
        "sales@partner.test alice@example.test, Boss@Partner2.test\n",
        &[],
    );
    // Having a key makes partner.test a virtual domain.
    assert!(dir.is_local_domain("partner.test"));
    assert_eq!(
        dir.resolve("SALES@partner.test"),
        deliver(&[mailbox("alice@example.test"), forward("Boss@partner2.test")])
    );
    assert_eq!(dir.resolve("other@partner.test"), Resolution::Unknown);
}

#[test]
fn domain_alias_keeps_the_local_part() {
    let dir = build("", "@old.test @example.test\n", &[]);
    assert_eq!(
        dir.resolve("bob@old.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(
        dir.resolve("bob+x@old.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert!(matches!(
        dir.resolve("nobody@old.test"),
        Resolution::Failed(ResolveError::UnknownTarget { .. })
    ));
}

#[test]
fn recursive_expansion_alias_to_alias_and_virtual_to_alias() {
    let dir = build(
        "mailer-daemon: postmaster\npostmaster: root\nroot: bob, admins\nadmins: alice, carol\n",
        "abuse@virtual.test postmaster@example.test\n",
        &[],
    );
    let want = deliver(&[
        mailbox("bob@example.test"),
        mailbox("alice@example.test"),
        mailbox("carol@example.test"),
    ]);
    assert_eq!(dir.resolve("mailer-daemon@example.test"), want);
    assert_eq!(dir.resolve("abuse@virtual.test"), want);
}

#[test]
fn targets_are_deduplicated_in_first_seen_order() {
    let dir = build(
        "all: team1, team2, bob, BOB@example.test\nteam1: alice, bob\nteam2: bob, carol, x@remote.test, X@remote.test\n",
        "",
        &[],
    );
    assert_eq!(
        dir.resolve("all@example.test"),
        deliver(&[
            mailbox("alice@example.test"),
            mailbox("bob@example.test"),
            mailbox("carol@example.test"),
            forward("x@remote.test"),
        ])
    );
}

#[test]
fn self_reference_delivers_instead_of_looping() {
    // The Postfix idiom: keep an address deliverable despite a catch-all, and keep a copy.
    let dir = build(
        "carol: \\carol, alice\n",
        "@example.test catch@example.test\nbob@example.test bob@example.test, alice@example.test\n",
        &[],
    );
    assert_eq!(
        dir.resolve("bob@example.test"),
        deliver(&[mailbox("bob@example.test"), mailbox("alice@example.test")])
    );
    assert_eq!(
        dir.resolve("carol@second.test"),
        Resolution::Failed(ResolveError::UnknownTarget {
            address: "carol@second.test".into(),
            target: "carol@second.test".into(),
        }),
        "\\carol in second.test is nobody"
    );
    let dir = build("alice: \\alice, bob\n", "", &[]);
    // alice is a user, so the alias is not consulted: users beat aliases.
    assert_eq!(
        dir.resolve("alice@example.test"),
        deliver(&[mailbox("alice@example.test")])
    );
    let dir = build("list: \\list, bob\n", "", &[]);
    assert!(matches!(
        dir.resolve("list@example.test"),
        Resolution::Failed(_)
    ));
}

#[test]
fn loops_are_failures_not_stack_overflows() {
    let dir = build("a: b\nb: c\nc: a\n", "", &[]);
    assert_eq!(
        dir.resolve("a@example.test"),
        Resolution::Failed(ResolveError::Loop {
            address: "a@example.test".into()
        })
    );
    // A loop in one branch fails the whole expansion: silently dropping a branch loses mail.
    let dir = build("a: bob, b\nb: a\n", "", &[]);
    assert!(matches!(
        dir.resolve("a@example.test"),
        Resolution::Failed(ResolveError::Loop { .. })
    ));
    // A loop between the virtual map and the aliases.
    let dir = build(
        "x: y@virtual.test\n",
        "y@virtual.test x@example.test\n",
        &[],
    );
    assert!(matches!(
        dir.resolve("x@example.test"),
        Resolution::Failed(ResolveError::Loop { .. })
    ));
    // A catch-all that points back into its own domain.
    let dir = build("", "@virtual.test @virtual.test\n", &[]);
    assert!(matches!(
        dir.resolve("z@virtual.test"),
        Resolution::Failed(ResolveError::UnknownTarget { .. })
    ));
    let dir = build(
        "",
        "@virtual.test @other.test\n@other.test @virtual.test\n",
        &[],
    );
    assert!(matches!(
        dir.resolve("z@virtual.test"),
        Resolution::Failed(ResolveError::Loop { .. })
    ));
}

#[test]
fn deep_chains_hit_the_depth_limit() {
    let chain: String = (0..MAX_DEPTH + 5)
        .map(|i| format!("a{i}: a{}\n", i + 1))
        .collect();
    let dir = build(
        &(chain.clone() + &format!("a{}: bob\n", MAX_DEPTH + 5)),
        "",
        &[],
    );
    assert!(matches!(
        dir.resolve("a0@example.test"),
        Resolution::Failed(ResolveError::TooDeep { .. })
    ));
    // A chain just inside the limit resolves.
    assert_eq!(
        dir.resolve(&format!("a{}@example.test", 6)),
        deliver(&[mailbox("bob@example.test")])
    );
}

#[test]
fn wide_expansions_hit_the_target_limit() {
    let wide: Vec<String> = (0..=MAX_TARGETS)
        .map(|i| format!("u{i}@remote.test"))
        .collect();
    let dir = build(&format!("everyone: {}\n", wide.join(", ")), "", &[]);
    assert_eq!(
        dir.resolve("everyone@example.test"),
        Resolution::Failed(ResolveError::TooManyTargets { limit: MAX_TARGETS })
    );
}

#[test]
fn diamond_shaped_aliases_resolve_quickly() {
    // Each level points twice at the next: 2^30 paths without memoisation.
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!("d{i}: d{n}, d{n}x\nd{i}x: d{n}\n", n = i + 1));
    }
    text.push_str("d30: bob\nd30x: bob\n");
    let dir = build(&text, "", &[]);
    let start = std::time::Instant::now();
    assert_eq!(
        dir.resolve("d0@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert!(start.elapsed().as_secs() < 2);
}

#[test]
fn garbage_addresses_are_unknown_or_not_local_never_a_panic() {
    let dir = build(
        "postmaster: bob\n",
        "@virtual.test catch@example.test\n",
        &[],
    );
    for addr in [
        "",
        "@",
        "bob",
        "bob@",
        "@example.test",
        "a@b@example.test",
        "\u{0}@example.test",
        "é@ü",
    ] {
        let r = dir.resolve(addr);
        assert!(
            matches!(
                r,
                Resolution::Unknown | Resolution::NotLocal | Resolution::Failed(_)
            ),
            "{addr:?}: {r:?}"
        );
    }
}

#[test]
fn authenticate_returns_the_canonical_user() {
    let dir = build("postmaster: bob\n", "", &[]);
    assert_eq!(
        dir.authenticate("Bob@Example.test", "bob-pw").as_deref(),
        Some("bob@example.test")
    );
    assert_eq!(dir.authenticate("bob@example.test", "alice-pw"), None);
    assert_eq!(
        dir.authenticate("postmaster@example.test", "bob-pw"),
        None,
        "aliases cannot log in"
    );
    assert_eq!(dir.authenticate("bob+tag@example.test", "bob-pw"), None);
}

#[test]
fn owns_own_address_subaddresses_and_aliases_that_reach_the_user() {
    let dir = build(
        "postmaster: bob\nteam: bob, alice\n",
        "sales@virtual.test bob@example.test\n@catchall.test carol@example.test\n",
        &[],
    );
    let bob = "bob@example.test";
    assert!(dir.owns(bob, "bob@example.test"));
    assert!(dir.owns(bob, "BOB@EXAMPLE.TEST"));
    assert!(dir.owns(bob, "bob+news@example.test"));
    assert!(dir.owns(bob, "postmaster@example.test"));
    assert!(
        !dir.owns(bob, "postmaster+x@second.test"),
        "bob@second.test is nobody"
    );
    assert!(dir.owns(bob, "sales@virtual.test"));
    assert!(
        dir.owns(bob, "team@example.test"),
        "documented: members own group aliases"
    );
    assert!(dir.owns("alice@example.test", "team@example.test"));
    assert!(
        dir.owns("carol@example.test", "anything@catchall.test"),
        "documented: catch-all owner"
    );
    assert!(!dir.owns(bob, "alice@example.test"));
    assert!(!dir.owns(bob, "alice+bob@example.test"));
    assert!(!dir.owns(bob, "bob@remote.test"));
    assert!(!dir.owns(bob, "anything@catchall.test"));
    assert!(!dir.owns(bob, "nobody@example.test"));
    assert!(!dir.owns(bob, ""));
}

#[test]
fn owns_is_false_for_failed_expansions() {
    let dir = build("loop: bob, loop2\nloop2: loop\n", "", &[]);
    assert!(!dir.owns("bob@example.test", "loop@example.test"));
}

#[test]
fn problems_lists_what_calm_check_should_warn_about() {
    let dir = build(
        "postmaster: bob\nbroken: nobody\n",
        "x@virtual.test y@virtual.test\n@virtual.test @virtual.test\n",
        &[
            ("example.test", "ghost"),
            ("unused.test", "bob@example.test"),
        ],
    );
    let problems = dir.problems().join("\n");
    for needle in [
        "user stranger@elsewhere.test: elsewhere.test is not a local domain",
        "user bob@example.test: password stored as clear text ({PLAIN})",
        "broken@second.test: broken@second.test expands to nobody@second.test",
        "postmaster@second.test: postmaster@second.test expands to bob@second.test",
        "x@virtual.test: x@virtual.test expands to y@virtual.test",
        "catch_all for example.test: *@example.test expands to ghost@example.test",
        "catch_all for unused.test is never used",
        "virtual @virtual.test:",
    ] {
        assert!(
            problems.contains(needle),
            "missing {needle:?} in:\n{problems}"
        );
    }
    assert!(!problems.contains("postmaster@example.test"), "{problems}");
    assert!(
        !problems.contains("postmaster@virtual.test"),
        "aliases skip virtual domains"
    );
}

#[test]
fn a_clean_directory_has_no_problems() {
    let users = Users::from_bytes(
        Path::new("u"),
        b"bob@example.test:$5$SehrxLfvgg.Nctp7$rwqNmJatSX5NCEzWO1HPnIFF3qKlzKJV2c13sko2FD6\n",
    )
    .unwrap();
    let aliases = Aliases::from_bytes(Path::new("a"), b"postmaster: bob@example.test\n").unwrap();
    let settings = DirectorySettings {
        local_domains: vec!["example.test".into()],
        ..Default::default()
    };
    let dir = Directory::new(users, aliases, VirtualMap::default(), settings).unwrap();
    assert_eq!(dir.problems(), Vec::<String>::new());
}

#[test]
fn load_reads_all_three_files_and_reports_the_failing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let users = tmp.path().join("users");
    let aliases = tmp.path().join("aliases");
    let virtual_map = tmp.path().join("virtual");
    std::fs::write(&users, USERS).unwrap();
    std::fs::write(&aliases, "postmaster: bob\n").unwrap();
    std::fs::write(&virtual_map, "hi@virtual.test alice@example.test\n").unwrap();
    let settings = DirectorySettings {
        local_domains: vec!["example.test".into()],
        ..Default::default()
    };
    let dir =
        Directory::load(&users, Some(&aliases), Some(&virtual_map), settings.clone()).unwrap();
    assert_eq!(
        dir.resolve("postmaster@example.test"),
        deliver(&[mailbox("bob@example.test")])
    );
    assert_eq!(
        dir.resolve("hi@virtual.test"),
        deliver(&[mailbox("alice@example.test")])
    );
    assert_eq!(dir.users().len(), 7);

    let dir = Directory::load(&users, None, None, settings.clone()).unwrap();
    assert_eq!(dir.resolve("postmaster@example.test"), Resolution::Unknown);

    std::fs::write(&aliases, "ok: bob\nbad: |/bin/true\n").unwrap();
    let err = Directory::load(&users, Some(&aliases), None, settings).unwrap_err();
    let want = format!("{}:2: pipe targets", aliases.display());
    assert!(err.to_string().starts_with(&want), "{err}");
}

#[test]
fn directory_is_cheap_to_share_across_threads() {
    let dir = build("", "", &[]);
    let clone = dir.clone();
    assert!(Arc::ptr_eq(&dir.inner, &clone.inner));
    let handle = std::thread::spawn(move || clone.authenticate("bob@example.test", "bob-pw"));
    assert_eq!(handle.join().unwrap().as_deref(), Some("bob@example.test"));
}
