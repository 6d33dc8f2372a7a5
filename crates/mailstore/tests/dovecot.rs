//! Interoperability with Dovecot in both directions, through `doveadm` (Debian package
//! `dovecot-core`). The test fails if doveadm is missing: it is not skipped silently.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use calm_mailstore::{FlagOp, Flags, Mailbox, Store};

struct Dovecot {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    /// `Some` when running as root: Dovecot refuses root for mail access, so it runs as this
    /// uid and the Maildir is handed over to it before each call.
    owner: Option<&'static str>,
}

fn running_as_root() -> bool {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .expect("id(1) must exist");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn dovecot() -> Dovecot {
    let tmp = tempfile::tempdir().unwrap();
    let owner = running_as_root().then_some("nobody");
    if owner.is_some() {
        // Let the unprivileged Dovecot process reach the Maildir.
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    let config = tmp.path().join("dovecot.conf");
    let base = tmp.path().join("run");
    std::fs::create_dir(&base).unwrap();
    std::fs::write(
        &config,
        format!(
            "protocols =\nssl = no\nbase_dir = {}\nlog_path = /dev/stderr\nfirst_valid_uid = 0\n\
             first_valid_gid = 0\nnamespace inbox {{\n  inbox = yes\n  separator = .\n}}\n",
            base.display()
        ),
    )
    .unwrap();
    let root = tmp.path().join("bob");
    Dovecot {
        root,
        config,
        owner,
        _tmp: tmp,
    }
}

impl Dovecot {
    /// Runs doveadm on the Maildir and returns its standard output.
    fn doveadm(&self, args: &[&str], stdin: Option<&[u8]>) -> String {
        let (uid, gid) = match self.owner {
            Some(user) => {
                let status = Command::new("chown")
                    .args(["-R", user])
                    .arg(&self.root)
                    .status()
                    .unwrap();
                assert!(status.success());
                (user.to_owned(), "nogroup".to_owned())
            }
            None => (id("-u"), id("-g")),
        };
        let mut cmd = Command::new("doveadm");
        cmd.arg("-c")
            .arg(&self.config)
            .arg("-o")
            .arg(format!("mail_location=maildir:{}", self.root.display()))
            .args([
                "-o",
                &format!("mail_uid={uid}"),
                "-o",
                &format!("mail_gid={gid}"),
            ])
            .args(args)
            .env("USER", "bob")
            .env("HOME", &self.root)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd
            .spawn()
            .expect("doveadm (Debian package dovecot-core) must be installed");
        if let Some(input) = stdin {
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), input).unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "doveadm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `doveadm fetch` output as one map per message.
    fn fetch(&self, mailbox: &str, fields: &str) -> Vec<Vec<(String, String)>> {
        let text = self.doveadm(&["fetch", fields, "mailbox", mailbox, "all"], None);
        let mut messages = Vec::new();
        for line in text.lines() {
            let Some((key, value)) = line.trim_start_matches('\u{c}').split_once(": ") else {
                continue;
            };
            if key == "uid" {
                messages.push(Vec::new());
            }
            messages
                .last_mut()
                .unwrap()
                .push((key.to_owned(), value.to_owned()));
        }
        messages
    }
}

fn id(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn field<'a>(message: &'a [(String, String)], key: &str) -> &'a str {
    message
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn deliver(root: &Path, name: &str, body: &[u8]) {
    std::fs::write(root.join("new").join(name), body).unwrap();
}

#[test]
fn dovecot_reads_what_calm_wrote_and_calm_reads_what_dovecot_wrote() {
    let d = dovecot();
    let store = Store::open(&d.root).unwrap();
    let mut inbox = write_with_calm(&d, &store);
    dovecot_reads_calm(&d, &inbox);
    change_with_dovecot(&d);
    calm_reads_dovecot(&store, &mut inbox);
    // And back: calm's flag change keeps Dovecot's keyword letters for Dovecot to read.
    inbox
        .set_flags(&[3], FlagOp::Remove, Flags::FLAGGED)
        .unwrap();
    let fetched = d.fetch("INBOX", "uid flags");
    // \Recent is Dovecot's session state, not stored in the Maildir.
    let flags: Vec<String> = fetched
        .iter()
        .map(|m| {
            field(m, "flags")
                .split(' ')
                .filter(|f| *f != "\\Recent")
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(flags, ["", "\\Answered \\Seen Work $Junk", ""]);
}

/// The appends come last, so Dovecot reads records appended to the index (its header's next
/// UID lagging behind), not only a rewritten one.
fn write_with_calm(d: &Dovecot, store: &Store) -> Mailbox {
    deliver(
        &d.root,
        "1700000000.Qdelivered.mx,S=19",
        b"Subject: three\n\nlf\n",
    );
    let mut inbox = store.inbox().unwrap();
    inbox.set_flags(&[1], FlagOp::Add, Flags::TRASHED).unwrap();
    let date = UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    inbox
        .append(b"Subject: one\r\n\r\nfirst\r\n", Flags::SEEN, Some(date))
        .unwrap();
    inbox
        .append_with_keywords(
            b"Subject: two\r\n\r\nsecond\r\n",
            Flags::FLAGGED | Flags::REPLIED,
            &["Work"],
            Some(date),
        )
        .unwrap();
    let index = std::fs::read_to_string(d.root.join("dovecot-uidlist")).unwrap();
    assert!(
        index.starts_with("3 V") && index.contains(" N2 "),
        "{index}"
    );
    inbox.sync().unwrap();
    inbox
        .store_flags(&[2], FlagOp::Add, Flags::EMPTY, &["$NotJunk"])
        .unwrap();
    store.create("Entw\u{fc}rfe").unwrap();
    store.subscribe("Entw\u{fc}rfe").unwrap();
    inbox
}

/// calm → Dovecot: UIDs, UIDVALIDITY, flags and keywords, INTERNALDATE, RFC822.SIZE, folders.
fn dovecot_reads_calm(d: &Dovecot, inbox: &Mailbox) {
    let fetched = d.fetch("INBOX", "uid flags date.received size.virtual hdr.subject");
    let summary: Vec<(&str, &str, &str, &str)> = fetched
        .iter()
        .map(|m| {
            (
                field(m, "uid"),
                field(m, "flags"),
                field(m, "size.virtual"),
                field(m, "hdr.subject"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("1", "\\Deleted", "22", "three"),
            ("2", "\\Seen $NotJunk", "23", "one"),
            ("3", "\\Answered \\Flagged Work", "24", "two")
        ]
    );
    assert_eq!(field(&fetched[1], "date.received"), "2020-09-13 12:26:40");
    let status = d.doveadm(&["mailbox", "status", "uidvalidity uidnext", "INBOX"], None);
    assert_eq!(
        status.trim(),
        format!("INBOX uidnext=4 uidvalidity={}", inbox.uid_validity())
    );
    let subscribed = d.doveadm(&["mailbox", "list", "-s"], None);
    assert!(
        subscribed.lines().any(|l| l == "Entw\u{fc}rfe"),
        "{subscribed}"
    );
}

fn change_with_dovecot(d: &Dovecot) {
    d.doveadm(
        &["save", "-m", "INBOX"],
        Some(b"Subject: from dovecot\n\nhello\n"),
    );
    d.doveadm(
        &[
            "flags",
            "add",
            "\\Seen $Junk",
            "mailbox",
            "INBOX",
            "uid",
            "3",
        ],
        None,
    );
    d.doveadm(
        &[
            "flags",
            "remove",
            "\\Seen $NotJunk",
            "mailbox",
            "INBOX",
            "uid",
            "2",
        ],
        None,
    );
    d.doveadm(&["expunge", "mailbox", "INBOX", "uid", "1"], None);
    d.doveadm(&["mailbox", "create", "\u{c4}rger.Sub"], None);
}

/// Dovecot → calm: a saved message keeps Dovecot's UID, flags and keywords survive (a keyword
/// Dovecot added is named, one it removed is gone), an expunge is seen, a new folder is listed.
fn calm_reads_dovecot(store: &Store, inbox: &mut Mailbox) {
    let changes = inbox.sync().unwrap();
    assert!(!changes.uid_validity_changed);
    assert_eq!(
        changes.expunged.iter().map(|e| e.uid).collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(changes.new, [4]);
    let m3 = inbox.get(3).unwrap();
    assert_eq!(m3.flags, Flags::SEEN | Flags::FLAGGED | Flags::REPLIED);
    assert_eq!(
        m3.keyword_letters(),
        "ac",
        "Work is calm's keyword 0, $Junk Dovecot's 2"
    );
    let keywords: Vec<&str> = inbox.message_keywords(m3).collect();
    assert_eq!(keywords, ["Work", "$Junk"]);
    assert!(inbox.has_keyword(m3, "$junk"));
    let m2 = inbox.get(2).unwrap();
    assert_eq!(m2.flags, Flags::EMPTY);
    assert_eq!(inbox.message_keywords(m2).count(), 0);
    assert!(inbox.read(4).unwrap().starts_with(b"Subject: from dovecot"));
    let names: Vec<String> = store.list().unwrap().into_iter().map(|m| m.name).collect();
    assert!(names.contains(&"\u{c4}rger.Sub".to_owned()), "{names:?}");
}
