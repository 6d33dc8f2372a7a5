//! [`Session`]: the authenticated and selected states (RFC 3501 §3.2, §3.3). It runs on a
//! blocking thread because the store does blocking file I/O, and writes its responses into
//! a buffer the connection sends.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use calm_imap_proto::{Command, CommandBody, Flag, SequenceSet};
use calm_mailstore::{Changes, Error, Flags, Mailbox, Message, Store, Uid};

mod condstore;
mod mailboxes;
mod messages;
mod quota;
mod search;

pub(crate) use quota::{Quota, UserQuota};

/// What the connection must do after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Go on reading commands.
    Continue,
    /// Close the connection (the BYE is already written).
    Close(String),
}

/// A change to the store worth an event (the connection adds user and address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Activity {
    /// APPEND stored a message.
    Append {
        mailbox: String,
        uid: Uid,
        octets: u64,
    },
    /// Messages were expunged.
    Expunge { mailbox: String, count: usize },
    /// COPY or MOVE transferred `count` messages; `messages` are (at most
    /// `MAX_TRANSFER_PATHS` of) their files in the target.
    Transfer {
        from: String,
        to: String,
        moved: bool,
        count: usize,
        messages: Vec<std::path::PathBuf>,
    },
}

/// The selected mailbox.
pub(crate) struct Selected {
    pub mailbox: Mailbox,
    /// EXAMINE: no flag changes, no expunges.
    pub read_only: bool,
}

/// One logged-in user's session.
pub(crate) struct Session {
    pub store: Store,
    pub selected: Option<Selected>,
    /// `ENABLE IMAP4rev2` was given (RFC 9051 §6.3.1): UTF-8 names, ESEARCH, no RECENT.
    pub rev2: bool,
    /// CONDSTORE is enabled (RFC 7162 §3.1): HIGHESTMODSEQ on SELECT, MODSEQ in every
    /// unsolicited FETCH and in STORE's.
    pub condstore: bool,
    /// The saved search result (RFC 5182) as ascending UIDs.
    pub saved: Vec<Uid>,
    /// Where a long response sends its output early, in chunks (set by the connection).
    pub sink: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
    /// Changes since the connection last looked, for the event log.
    pub activity: Vec<Activity>,
    /// The user's quota, if the connection set one up (see [`UserQuota`]).
    pub quota: Option<Box<dyn Quota>>,
    /// The directory modification times at the last IDLE poll.
    seen_stamp: Option<[SystemTime; 2]>,
}

/// The mtimes of a Maildir's `cur/` and `new/`.
fn dir_stamp(dir: &Path) -> Option<[SystemTime; 2]> {
    let mtime = |sub: &str| fs::metadata(dir.join(sub)).and_then(|m| m.modified()).ok();
    Some([mtime("cur")?, mtime("new")?])
}

/// True if either time is within the last two seconds: on file systems with coarse
/// timestamps a change in the same tick as our last look would not move the mtime, so such
/// fresh directories are always rescanned.
fn recent(stamp: Option<[SystemTime; 2]>) -> bool {
    let now = SystemTime::now();
    stamp.is_none_or(|times| {
        times.iter().any(|t| {
            now.duration_since(*t)
                .map_or(true, |d| d < Duration::from_secs(2))
        })
    })
}

/// The system flags calm stores (RFC 3501 §2.3.2), with `$Forwarded` for the Maildir `P`
/// flag; a mailbox's keywords follow them in FLAGS and PERMANENTFLAGS.
pub(crate) const FLAG_LIST: &str = "\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded";

/// `$Forwarded` is the Maildir `P` flag rather than a keyword letter (but a letter named so,
/// set by Dovecot, counts too).
const FORWARDED: &str = "$Forwarded";

/// Maps IMAP flags to Maildir system flags; keywords are [`keywords_of`] them.
pub(crate) fn to_flags(flags: &[Flag]) -> Flags {
    let mut out = Flags::EMPTY;
    for flag in flags {
        out |= match flag {
            Flag::Answered => Flags::REPLIED,
            Flag::Flagged => Flags::FLAGGED,
            Flag::Deleted => Flags::TRASHED,
            Flag::Seen => Flags::SEEN,
            Flag::Draft => Flags::DRAFT,
            Flag::Other(k) if k.eq_ignore_ascii_case("$Forwarded") => Flags::PASSED,
            Flag::Recent | Flag::Other(_) => Flags::EMPTY,
        };
    }
    out
}

/// The keywords among IMAP flags: the atoms without a backslash (RFC 3501 §2.3.2), except
/// `$Forwarded`. An unknown `\`-flag is neither a system flag nor a keyword and is ignored.
pub(crate) fn keywords_of(flags: &[Flag]) -> Vec<&str> {
    flags
        .iter()
        .filter_map(|flag| match flag {
            Flag::Other(k) if !k.starts_with('\\') && !k.eq_ignore_ascii_case(FORWARDED) => {
                Some(k.as_str())
            }
            _ => None,
        })
        .collect()
}

/// Writes a message's `(\Seen ... keyword ...)`.
pub(crate) fn write_flags(out: &mut Vec<u8>, mailbox: &Mailbox, msg: &Message) {
    let keywords: Vec<&str> = mailbox.message_keywords(msg).collect();
    write_flag_list(out, msg.flags, &keywords);
}

/// Writes `(\Seen ... keyword ...)`: the system flags, then the keywords.
pub(crate) fn write_flag_list(out: &mut Vec<u8>, flags: Flags, keywords: &[&str]) {
    const NAMES: [(Flags, &str); 6] = [
        (Flags::REPLIED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::TRASHED, "\\Deleted"),
        (Flags::SEEN, "\\Seen"),
        (Flags::DRAFT, "\\Draft"),
        (Flags::PASSED, "$Forwarded"),
    ];
    let mut names: Vec<&str> = NAMES
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    let forwarded = flags.contains(Flags::PASSED);
    names.extend(
        keywords
            .iter()
            .filter(|k| !(forwarded && k.eq_ignore_ascii_case(FORWARDED))),
    );
    out.extend_from_slice(format!("({})", names.join(" ")).as_bytes());
}

/// `* FLAGS` and `* OK [PERMANENTFLAGS]` for the mailbox (RFC 3501 §7.2.6, §7.1): the system
/// flags and the mailbox's keywords, and `\*` while a new keyword can be stored (fewer than
/// 26, the Maildir letters `a`–`z`). Sent at SELECT and again when the keywords change.
pub(crate) fn write_flag_lists(out: &mut Vec<u8>, mailbox: &Mailbox, read_only: bool) {
    let mut all = FLAG_LIST.to_owned();
    for keyword in mailbox.keywords() {
        if !keyword.eq_ignore_ascii_case(FORWARDED) {
            all.push(' ');
            all.push_str(keyword);
        }
    }
    line(out, &format!("* FLAGS ({all})"));
    let permanent = match (read_only, mailbox.keywords_full()) {
        (true, _) => String::new(),
        (false, true) => all,
        (false, false) => format!("{all} \\*"),
    };
    line(
        out,
        &format!("* OK [PERMANENTFLAGS ({permanent})] Flags permitted"),
    );
}

/// The tagged `NO` for a store error, with an RFC 5530 response code.
pub(crate) fn store_error(out: &mut Vec<u8>, tag: &str, e: &Error) {
    let code = match e {
        Error::NoSuchMailbox(_) => "NONEXISTENT",
        Error::AlreadyExists(_) => "ALREADYEXISTS",
        Error::InvalidName { .. } | Error::Inbox => "CANNOT",
        Error::HasChildren(_) | Error::InUse => "INUSE",
        Error::NoSuchMessage(_) => "EXPUNGEISSUED",
        // RFC 5530 §3: the 27th keyword of a mailbox cannot be stored in a Maildir.
        Error::TooManyKeywords(_) => "LIMIT",
        Error::InvalidKeyword(_) => "CANNOT",
        e if e.is_no_space() => "OVERQUOTA",
        _ => "SERVERBUG",
    };
    let text = match e {
        Error::Io { .. } => {
            tracing::error!(error = %e, "imap: store failure");
            "Internal error".to_owned()
        }
        other => other.to_string(),
    };
    line(out, &format!("{tag} NO [{code}] {text}"));
}

/// Appends one response line with CRLF.
pub(crate) fn line(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Formats UIDs as a compact `uid-set` (`1:3,7`), for UIDPLUS responses.
pub(crate) fn uid_set(uids: &[Uid]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&start) = uids.get(i) {
        let mut end = start;
        while uids.get(i + 1) == Some(&end.wrapping_add(1)) {
            end += 1;
            i += 1;
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

impl Session {
    pub(crate) fn new(store: Store) -> Session {
        Session {
            store,
            selected: None,
            rev2: false,
            condstore: false,
            saved: Vec::new(),
            sink: None,
            activity: Vec::new(),
            quota: None,
            seen_stamp: None,
        }
    }

    /// Executes one command of the authenticated or selected state.
    pub(crate) fn execute(&mut self, command: Command, out: &mut Vec<u8>) -> Outcome {
        let Command { tag, body } = command;
        // RFC 3501 §7.4.1: EXPUNGE may not be sent during FETCH, STORE or SEARCH by sequence
        // number (nor COPY/MOVE, whose set is by sequence number too).
        let may_sync = !matches!(
            body,
            CommandBody::Fetch { uid: false, .. }
                | CommandBody::Store { uid: false, .. }
                | CommandBody::Search { uid: false, .. }
                | CommandBody::Copy {
                    uid: false,
                    moving: false,
                    ..
                }
        );
        let mut tagged = Vec::new();
        let outcome = self.dispatch(&tag, body, out, &mut tagged);
        if outcome == Outcome::Continue
            && may_sync
            && self.selected.is_some()
            && let Outcome::Close(reason) = self.poll_if_changed(out)
        {
            return Outcome::Close(reason);
        }
        out.extend_from_slice(&tagged);
        outcome
    }

    /// Like [`Session::poll`], but skipped while the Maildir's `cur/` and `new/`
    /// directories are unchanged, so a thousand idle sessions do not rescan their mailboxes
    /// every second and a busy client does not rescan after every command. Every change by
    /// delivery, expunge or a flag change creates, renames or removes a file there, which
    /// updates the directory's mtime.
    pub(crate) fn poll_if_changed(&mut self, out: &mut Vec<u8>) -> Outcome {
        let Some(selected) = self.selected.as_ref() else {
            return Outcome::Continue;
        };
        let stamp = dir_stamp(selected.mailbox.path());
        if stamp.is_some() && stamp == self.seen_stamp && !recent(stamp) {
            return Outcome::Continue;
        }
        // Taken before the sync, so any later change moves the mtime past it. A stamp
        // that is itself fresh proves nothing on a coarse clock (a change in the same tick
        // leaves it equal), so it is not kept and the next poll scans again.
        self.seen_stamp = if recent(stamp) { None } else { stamp };
        self.poll(out)
    }

    /// Picks up changes by others and writes EXPUNGE/EXISTS/FETCH for them.
    pub(crate) fn poll(&mut self, out: &mut Vec<u8>) -> Outcome {
        let Some(selected) = self.selected.as_mut() else {
            return Outcome::Continue;
        };
        let before = selected.mailbox.messages().len();
        let changes = match selected.mailbox.sync() {
            Ok(changes) => changes,
            Err(e) => {
                tracing::warn!(error = %e, "imap: mailbox sync failed");
                return Outcome::Continue;
            }
        };
        write_changes(out, selected, &changes, before, self.condstore)
    }

    fn dispatch(
        &mut self,
        tag: &str,
        body: CommandBody,
        out: &mut Vec<u8>,
        tagged: &mut Vec<u8>,
    ) -> Outcome {
        let ok =
            |tagged: &mut Vec<u8>, what: &str| line(tagged, &format!("{tag} OK {what} completed"));
        if condstore::enables(&body) {
            // SELECT (CONDSTORE) reports the HIGHESTMODSEQ of the mailbox it selects.
            let selecting = matches!(body, CommandBody::Select { .. });
            self.enable_condstore(out, !selecting);
        }
        match body {
            CommandBody::Noop => ok(tagged, "NOOP"),
            CommandBody::Check => ok(tagged, "CHECK"),
            CommandBody::Enable { capabilities } => {
                // RFC 5161 §3.1: name only what this command newly enabled.
                let mut enabled = String::from("* ENABLED");
                if capabilities.iter().any(|c| c == "IMAP4REV2") && !self.rev2 {
                    self.rev2 = true;
                    enabled.push_str(" IMAP4rev2");
                }
                if capabilities.iter().any(|c| c == "CONDSTORE") && !self.condstore {
                    self.enable_condstore(out, true);
                    enabled.push_str(" CONDSTORE");
                }
                line(out, &enabled);
                ok(tagged, "ENABLE");
            }
            CommandBody::Namespace => {
                line(out, "* NAMESPACE ((\"\" \".\")) NIL NIL");
                ok(tagged, "NAMESPACE");
            }
            CommandBody::Select {
                mailbox, read_only, ..
            } => self.select(tag, &mailbox, read_only, out, tagged),
            CommandBody::Create { .. }
            | CommandBody::Delete { .. }
            | CommandBody::Rename { .. }
            | CommandBody::Subscribe { .. }
            | CommandBody::List(_)
            | CommandBody::Status { .. }
            | CommandBody::Append { .. } => self.mailbox_command(tag, body, out, tagged),
            CommandBody::GetQuota { .. }
            | CommandBody::GetQuotaRoot { .. }
            | CommandBody::SetQuota { .. } => self.quota_command(tag, body, out, tagged),
            _ if self.selected.is_none() => {
                line(tagged, &format!("{tag} BAD No mailbox selected"));
            }
            CommandBody::Close | CommandBody::Unselect => {
                let expunge = matches!(body, CommandBody::Close);
                if let Some(selected) = self.selected.take()
                    && expunge
                    && !selected.read_only
                {
                    let deleted = deleted_uids(&selected.mailbox, None);
                    // RFC 3501 §6.4.2: no untagged EXPUNGE responses for CLOSE.
                    match selected.mailbox.expunge(&deleted) {
                        Ok(removed) => self.expunged(selected.mailbox.name(), removed.len()),
                        Err(e) => {
                            store_error(tagged, tag, &e);
                            return Outcome::Continue;
                        }
                    }
                }
                ok(tagged, if expunge { "CLOSE" } else { "UNSELECT" });
            }
            body => self.message_command(tag, body, out, tagged),
        }
        Outcome::Continue
    }

    pub(crate) fn expunged(&mut self, mailbox: &str, count: usize) {
        if count > 0 {
            self.activity.push(Activity::Expunge {
                mailbox: mailbox.to_owned(),
                count,
            });
        }
    }

    fn select(
        &mut self,
        tag: &str,
        name: &str,
        read_only: bool,
        out: &mut Vec<u8>,
        tagged: &mut Vec<u8>,
    ) {
        // RFC 5182 §2.1: the saved result does not survive a new selection.
        self.saved.clear();
        self.seen_stamp = None;
        let previous = self.selected.take();
        if previous.is_some() {
            // RFC 7162 §3.2.11 / RFC 9051 §7.1: the previous mailbox is closed.
            line(out, "* OK [CLOSED] Previous mailbox closed");
        }
        let opened = match previous.filter(|p| same_mailbox(p.mailbox.name(), name)) {
            // Selecting the same mailbox again: a sync gives the view a fresh open would,
            // without reading the size and date of every message again.
            Some(Selected { mut mailbox, .. }) => mailbox.sync().map(|_| mailbox),
            None => self.store.mailbox(name),
        };
        let mailbox = match opened {
            Ok(mailbox) => mailbox,
            Err(e) => return store_error(tagged, tag, &e),
        };
        let messages = mailbox.messages();
        write_flag_lists(out, &mailbox, read_only);
        line(out, &format!("* {} EXISTS", messages.len()));
        if self.rev2 {
            // RFC 9051 §6.3.2: the mailbox's name as the server spells it.
            out.extend_from_slice(b"* LIST () \".\" ");
            calm_imap_proto::encode::mailbox(out, mailbox.name(), true);
            out.extend_from_slice(b"\r\n");
        } else {
            // RFC 9051 drops RECENT and the UNSEEN code; IMAP4rev1 clients expect them.
            line(out, "* 0 RECENT");
            if let Some(i) = messages.iter().position(|m| !m.flags.contains(Flags::SEEN)) {
                line(out, &format!("* OK [UNSEEN {}] First unseen", i + 1));
            }
        }
        line(
            out,
            &format!("* OK [UIDVALIDITY {}] UIDs valid", mailbox.uid_validity()),
        );
        line(
            out,
            &format!("* OK [UIDNEXT {}] Predicted next UID", mailbox.uid_next()),
        );
        if self.condstore {
            // RFC 7162 §3.1.2.1.
            condstore::write_highest(out, &mailbox);
        }
        let mode = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        let what = if read_only { "EXAMINE" } else { "SELECT" };
        line(tagged, &format!("{tag} OK [{mode}] {what} completed"));
        self.selected = Some(Selected { mailbox, read_only });
    }
}

/// True if `requested` surely names the mailbox whose (normalised) name is `current`; other
/// spellings of the same name only cost a fresh open.
pub(crate) fn same_mailbox(current: &str, requested: &str) -> bool {
    current == requested
        || (current == calm_mailstore::INBOX && requested.eq_ignore_ascii_case(current))
}

/// The UIDs of messages flagged \Deleted, optionally limited to a UID set.
pub(crate) fn deleted_uids(mailbox: &Mailbox, within: Option<&SequenceSet>) -> Vec<Uid> {
    let largest = mailbox.messages().last().map_or(0, |m| m.uid);
    mailbox
        .messages()
        .iter()
        .filter(|m| m.flags.contains(Flags::TRASHED))
        .filter(|m| within.is_none_or(|set| set.contains(m.uid, largest)))
        .map(|m| m.uid)
        .collect()
}

/// Untagged responses for what a sync found (RFC 3501 §7.3.1, §7.4.1).
fn write_changes(
    out: &mut Vec<u8>,
    selected: &Selected,
    changes: &Changes,
    before: usize,
    condstore: bool,
) -> Outcome {
    let mailbox = &selected.mailbox;
    if changes.uid_validity_changed {
        // RFC 3501 §2.3.1.1: every UID changed; the selection cannot go on.
        line(out, "* BYE Mailbox index was rebuilt; please reconnect");
        return Outcome::Close("uidvalidity changed".to_owned());
    }
    // Descending sequence numbers of the previous view need no renumbering.
    for gone in changes.expunged.iter().rev() {
        line(out, &format!("* {} EXPUNGE", gone.seq));
    }
    if changes.keywords {
        // RFC 3501 §7.2.6: the client must record an updated FLAGS; sent before FETCH
        // responses that may carry the new keywords.
        write_flag_lists(out, mailbox, selected.read_only);
    }
    let now = mailbox.messages().len();
    if !changes.new.is_empty() || (now != before && changes.expunged.is_empty()) {
        line(out, &format!("* {now} EXISTS"));
    }
    for &uid in &changes.flags {
        if let (Some(seq), Some(msg)) = (mailbox.seq(uid), mailbox.get(uid)) {
            out.extend_from_slice(format!("* {seq} FETCH (UID {uid} FLAGS ").as_bytes());
            write_flags(out, mailbox, msg);
            if condstore {
                // RFC 7162 §3.1: MODSEQ in every unsolicited FETCH once enabled.
                out.extend_from_slice(format!(" MODSEQ ({})", msg.modseq).as_bytes());
            }
            out.extend_from_slice(b")\r\n");
        }
    }
    Outcome::Continue
}

#[cfg(test)]
mod tests;
