//! Mailbox-level commands: CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST/LSUB, STATUS, APPEND.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use calm_imap_proto::{CommandBody, ListCommand, StatusItem, encode};
use calm_mailstore::{Flags, HIERARCHY_SEPARATOR, INBOX, Mailbox, SpecialUse};

use super::{Activity, Session, line, store_error, to_flags};

/// Patterns longer than this are refused (matching is O(pattern × name)).
const MAX_PATTERN: usize = 1024;

impl Session {
    pub(super) fn mailbox_command(
        &mut self,
        tag: &str,
        body: CommandBody,
        out: &mut Vec<u8>,
        tagged: &mut Vec<u8>,
    ) {
        let result = match body {
            CommandBody::Create { mailbox } => {
                // RFC 3501 §6.3.3: a trailing separator only says a child will follow.
                let name = mailbox.trim_end_matches(HIERARCHY_SEPARATOR);
                self.store.create(name).map(|()| "CREATE")
            }
            CommandBody::Delete { mailbox } => {
                if self.is_selected(&mailbox) {
                    self.selected = None;
                }
                self.store.delete(&mailbox).map(|()| "DELETE")
            }
            CommandBody::Rename { from, to } => self.store.rename(&from, &to).map(|()| "RENAME"),
            CommandBody::Subscribe {
                mailbox,
                subscribe: true,
            } => self.store.subscribe(&mailbox).map(|()| "SUBSCRIBE"),
            CommandBody::Subscribe { mailbox, .. } => {
                self.store.unsubscribe(&mailbox).map(|()| "UNSUBSCRIBE")
            }
            CommandBody::List(list) => self
                .list(&list, out)
                .map(|()| if list.lsub { "LSUB" } else { "LIST" }),
            CommandBody::Status { mailbox, items } => {
                self.status(&mailbox, &items, out).map(|()| "STATUS")
            }
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
            } => return self.append(tag, &mailbox, &flags, date, &message, tagged),
            _ => Ok("NOOP"),
        };
        match result {
            Ok(what) => line(tagged, &format!("{tag} OK {what} completed")),
            Err(e) => store_error(tagged, tag, &e),
        }
    }

    fn is_selected(&self, name: &str) -> bool {
        self.selected
            .as_ref()
            .is_some_and(|s| s.mailbox.name() == name)
    }

    fn list(&self, cmd: &ListCommand, out: &mut Vec<u8>) -> Result<(), calm_mailstore::Error> {
        let subscribed = self.store.subscriptions()?;
        // RFC 3501 §6.3.8: an empty pattern asks for the hierarchy delimiter.
        if cmd.patterns.iter().all(String::is_empty) {
            let verb = if cmd.lsub { "LSUB" } else { "LIST" };
            line(out, &format!("* {verb} (\\Noselect) \".\" \"\""));
            return Ok(());
        }
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for info in self.store.list()? {
            add_parents(&mut entries, &info.name);
            let entry = entries.entry(info.name.clone()).or_default();
            entry.exists = true;
            entry.special = info.special_use;
        }
        // RFC 5258 §3.1: subscriptions to mailboxes that no longer exist are still listed
        // for LSUB and LIST (SUBSCRIBED), as \NonExistent.
        for name in &subscribed {
            entries.entry(name.clone()).or_insert_with(|| Entry {
                gone: true,
                ..Entry::default()
            });
        }
        let names: Vec<String> = entries.keys().cloned().collect();
        for name in &names {
            let has_children = names.iter().any(|n| is_child(n, name));
            if let Some(e) = entries.get_mut(name) {
                e.children = has_children;
                e.subscribed = subscribed.iter().any(|s| s == name);
            }
        }
        for (name, entry) in &entries {
            let full: Vec<String> = cmd
                .patterns
                .iter()
                .map(|p| format!("{}{p}", cmd.reference))
                .collect();
            if !full.iter().any(|p| matches(p, name)) || !self.wanted(cmd, entry) {
                continue;
            }
            write_list_entry(out, cmd, name, entry, self.rev2);
            // RFC 5819 §2: a STATUS response right after each selectable mailbox's LIST.
            if !cmd.return_status.is_empty()
                && entry.exists
                && let Err(e) = self.status(name, &cmd.return_status, out)
            {
                tracing::warn!(mailbox = %name, error = %e, "imap: LIST-STATUS failed");
            }
        }
        Ok(())
    }

    fn wanted(&self, cmd: &ListCommand, entry: &Entry) -> bool {
        let subscribed_only = cmd.lsub || cmd.subscribed_only;
        if subscribed_only && !entry.subscribed {
            // RFC 3501 §6.3.9: LSUB shows a non-subscribed parent of subscribed children
            // only with %; calm keeps it simple and lists subscribed names only.
            return false;
        }
        if !subscribed_only && entry.gone && !entry.children {
            return false;
        }
        !(cmd.special_use_only && entry.special.is_none())
    }

    fn status(
        &self,
        name: &str,
        items: &[StatusItem],
        out: &mut Vec<u8>,
    ) -> Result<(), calm_mailstore::Error> {
        let mailbox = self.store.mailbox(name)?;
        let messages = mailbox.messages();
        let values: Vec<String> = items
            .iter()
            .map(|item| {
                let value = match item {
                    StatusItem::Messages => messages.len() as u64,
                    StatusItem::Recent => 0,
                    StatusItem::UidNext => u64::from(mailbox.uid_next()),
                    StatusItem::UidValidity => u64::from(mailbox.uid_validity()),
                    StatusItem::Unseen => messages
                        .iter()
                        .filter(|m| !m.flags.contains(Flags::SEEN))
                        .count() as u64,
                    StatusItem::Size => messages.iter().map(|m| m.rfc822_size).sum(),
                    StatusItem::Deleted => messages
                        .iter()
                        .filter(|m| m.flags.contains(Flags::TRASHED))
                        .count() as u64,
                    StatusItem::HighestModseq => mailbox.highest_modseq(),
                };
                format!("{} {value}", item.name())
            })
            .collect();
        out.extend_from_slice(b"* STATUS ");
        encode::mailbox(out, mailbox.name(), self.rev2);
        line(out, &format!(" ({})", values.join(" ")));
        Ok(())
    }

    fn append(
        &mut self,
        tag: &str,
        name: &str,
        flags: &[calm_imap_proto::Flag],
        date: Option<i64>,
        message: &[u8],
        tagged: &mut Vec<u8>,
    ) {
        // Appending needs no view: the selected mailbox saves opening (and listing) it again.
        let selected = self.selected.as_ref().map(|s| &s.mailbox);
        let opened;
        let still_there = |m: &&Mailbox| m.path().join("cur").is_dir();
        let mailbox =
            match selected.filter(|m| super::same_mailbox(m.name(), name) && still_there(m)) {
                Some(mailbox) => mailbox,
                None => match self.store.mailbox(name) {
                    Ok(mailbox) => {
                        opened = mailbox;
                        &opened
                    }
                    // RFC 3501 §6.3.11: TRYCREATE tells the client CREATE may help.
                    Err(calm_mailstore::Error::NoSuchMailbox(_)) => {
                        return line(tagged, &format!("{tag} NO [TRYCREATE] No such mailbox"));
                    }
                    Err(e) => return store_error(tagged, tag, &e),
                },
            };
        if message.is_empty() {
            return line(tagged, &format!("{tag} NO Empty message"));
        }
        if super::quota::over_quota(&self.quota, message.len() as u64) {
            return line(tagged, &format!("{tag} NO [OVERQUOTA] Quota exceeded"));
        }
        let date = date.map(|secs| match u64::try_from(secs) {
            Ok(secs) => SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            Err(_) => SystemTime::UNIX_EPOCH,
        });
        let keywords = super::keywords_of(flags);
        match mailbox.append_with_keywords(message, to_flags(flags), &keywords, date) {
            // RFC 4315 §3: APPENDUID uidvalidity uid.
            Ok(uid) => {
                self.activity.push(Activity::Append {
                    mailbox: mailbox.name().to_owned(),
                    uid,
                    octets: message.len() as u64,
                });
                let validity = mailbox.uid_validity();
                line(
                    tagged,
                    &format!("{tag} OK [APPENDUID {validity} {uid}] APPEND completed"),
                );
            }
            Err(e) => store_error(tagged, tag, &e),
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    exists: bool,
    /// Only known from the subscriptions file.
    gone: bool,
    children: bool,
    subscribed: bool,
    special: Option<SpecialUse>,
}

/// Maildir++ has no directories for parents of `a.b` that were never created; they list as
/// `\Noselect` (as Dovecot does).
fn add_parents(entries: &mut BTreeMap<String, Entry>, name: &str) {
    let mut end = 0;
    while let Some(i) = name.get(end..).and_then(|r| r.find(HIERARCHY_SEPARATOR)) {
        end += i;
        if let Some(parent) = name.get(..end) {
            entries.entry(parent.to_owned()).or_default();
        }
        end += 1;
    }
}

fn is_child(name: &str, parent: &str) -> bool {
    name.len() > parent.len() + 1
        && name.starts_with(parent)
        && name
            .get(parent.len()..)
            .is_some_and(|r| r.starts_with(HIERARCHY_SEPARATOR))
}

fn write_list_entry(out: &mut Vec<u8>, cmd: &ListCommand, name: &str, entry: &Entry, utf8: bool) {
    let mut attrs: Vec<&str> = Vec::new();
    if entry.gone && !entry.children && !cmd.lsub {
        attrs.push("\\NonExistent");
    } else if !entry.exists {
        attrs.push("\\Noselect");
    }
    attrs.push(if entry.children {
        "\\HasChildren"
    } else {
        "\\HasNoChildren"
    });
    if let Some(special) = entry.special {
        attrs.push(special.attribute());
    }
    // RFC 5258 §3.1: the SUBSCRIBED selection option implies RETURN (SUBSCRIBED).
    if entry.subscribed && (cmd.return_subscribed || cmd.subscribed_only) {
        attrs.push("\\Subscribed");
    }
    let verb = if cmd.lsub { "LSUB" } else { "LIST" };
    out.extend_from_slice(format!("* {verb} ({}) \".\" ", attrs.join(" ")).as_bytes());
    encode::mailbox(out, name, utf8);
    out.extend_from_slice(b"\r\n");
}

/// LIST wildcard matching (RFC 3501 §6.3.8): `*` matches anything, `%` anything but the
/// separator. INBOX matches case-insensitively. Dynamic programming, so no pattern can
/// make it exponential.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    if pattern.len() > MAX_PATTERN {
        return false;
    }
    let pattern = inbox_case(pattern, name);
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // reach[j]: the first i pattern characters can match the first j name characters.
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' | '%' => {
                let mut on = false;
                for j in 0..=n.len() {
                    on = on || reach[j];
                    next[j] = on;
                    if pc == '%' && n.get(j) == Some(&HIERARCHY_SEPARATOR) {
                        on = false;
                    }
                }
            }
            c => {
                for j in 0..n.len() {
                    next[j + 1] = reach[j] && n[j] == c;
                }
            }
        }
        reach = next;
    }
    reach[n.len()]
}

/// A pattern starting with any-case `INBOX` is compared as `INBOX` against INBOX names.
fn inbox_case(pattern: &str, name: &str) -> String {
    let is_inbox = name == INBOX || name.starts_with("INBOX.");
    match pattern.get(..5) {
        Some(head) if is_inbox && head.eq_ignore_ascii_case(INBOX) => {
            format!("{INBOX}{}", pattern.get(5..).unwrap_or_default())
        }
        _ => pattern.to_owned(),
    }
}
