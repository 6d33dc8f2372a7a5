//! Message commands in the selected state: FETCH, STORE, COPY/MOVE, EXPUNGE, SEARCH.

use std::path::PathBuf;
use std::time::SystemTime;

use calm_imap_proto::{
    CommandBody, FetchItem, Flag, Section, SectionText, SequenceSet, StoreOp, date, encode, message,
};
use calm_mailstore::{FlagOp, Flags, Mailbox, Message, Uid};

use super::{
    Activity, Session, deleted_uids, keywords_of, line, store_error, to_flags, uid_set,
    write_flag_list, write_flag_lists, write_flags,
};

impl Session {
    pub(super) fn message_command(
        &mut self,
        tag: &str,
        body: CommandBody,
        out: &mut Vec<u8>,
        tagged: &mut Vec<u8>,
    ) {
        let read_only = self.selected.as_ref().is_some_and(|s| s.read_only);
        let writes = matches!(
            body,
            CommandBody::Store { .. }
                | CommandBody::Expunge { .. }
                | CommandBody::Copy { moving: true, .. }
        );
        if read_only && writes {
            let text = format!("{tag} NO [READ-ONLY] Mailbox is read-only");
            return line(tagged, &text);
        }
        let verb = verb_of(&body);
        match self.run_message_command(tag, body, out) {
            Ok(code) => line(tagged, &format!("{tag} OK {code}{verb} completed")),
            Err(Failure::Bad(text)) => line(tagged, &format!("{tag} BAD {text}")),
            Err(Failure::No(text)) => line(tagged, &format!("{tag} NO {text}")),
            Err(Failure::Store(e)) => store_error(tagged, tag, &e),
        }
    }

    /// Runs the command; `Ok` holds a response code for the tagged OK (with its space).
    fn run_message_command(
        &mut self,
        tag: &str,
        body: CommandBody,
        out: &mut Vec<u8>,
    ) -> Result<String, Failure> {
        let Some(selected) = self.selected.as_mut() else {
            return Err(Failure::Bad("No mailbox selected".to_owned()));
        };
        let read_only = selected.read_only;
        let mailbox = &mut selected.mailbox;
        let saved = &mut self.saved;
        match body {
            CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since,
            } => {
                let mut uids = resolve(mailbox, &set, uid, saved)?;
                if let Some(since) = changed_since {
                    // RFC 7162 §3.1.4.1: only messages changed since.
                    uids.retain(|&u| mailbox.get(u).is_some_and(|m| m.modseq > since));
                }
                let how = FetchHow {
                    by_uid: uid,
                    read_only,
                    sink: self.sink.as_ref(),
                    modseq: changed_since.is_some(),
                    condstore: self.condstore,
                };
                fetch(mailbox, &uids, &items, &how, out)
            }
            CommandBody::Store {
                uid,
                set,
                op,
                silent,
                flags,
                unchanged_since,
            } => {
                let uids = resolve(mailbox, &set, uid, saved)?;
                let how = StoreHow {
                    op,
                    silent,
                    by_uid: uid,
                    unchanged_since,
                    condstore: self.condstore,
                };
                store(mailbox, &uids, &flags, &how, out)
            }
            CommandBody::Search { uid, key, ret } => {
                let hits = super::search::search(mailbox, &key, saved);
                let esearch = super::search::Esearch {
                    tag,
                    by_uid: uid,
                    ret,
                    rev2: self.rev2,
                    modseq: super::condstore::has_modseq(&key).then_some(&*mailbox),
                };
                esearch.write(&hits, saved, out);
                Ok(String::new())
            }
            CommandBody::Copy {
                uid,
                set,
                mailbox: dest,
                moving,
            } => {
                let uids = resolve(mailbox, &set, uid, saved)?;
                if !moving {
                    let octets: u64 = mailbox
                        .messages()
                        .iter()
                        .filter(|m| uids.binary_search(&m.uid).is_ok())
                        .map(|m| m.size)
                        .sum();
                    if super::quota::over_quota(&self.quota, octets) {
                        return Err(Failure::No("[OVERQUOTA] Quota exceeded".to_owned()));
                    }
                }
                let how = Transfer {
                    dest: &dest,
                    moving,
                };
                self_copy(&self.store, mailbox, &uids, how, &mut self.activity, out)
            }
            CommandBody::Expunge { uids } => {
                let mut deleted = deleted_uids(mailbox, None);
                if let Some(set) = uids {
                    let within = resolve(mailbox, &set, true, saved)?;
                    deleted.retain(|u| within.contains(u));
                }
                let removed = mailbox.expunge(&deleted).map_err(Failure::Store)?;
                let name = mailbox.name().to_owned();
                self.expunged(&name, removed.len());
                Ok(String::new())
            }
            _ => Ok(String::new()),
        }
    }
}

/// The command's name for the tagged reply.
fn verb_of(body: &CommandBody) -> String {
    match body {
        CommandBody::Fetch { uid, .. } => prefixed(*uid, "FETCH"),
        CommandBody::Store { uid, .. } => prefixed(*uid, "STORE"),
        CommandBody::Search { uid, .. } => prefixed(*uid, "SEARCH"),
        CommandBody::Copy { uid, moving, .. } => {
            prefixed(*uid, if *moving { "MOVE" } else { "COPY" })
        }
        CommandBody::Expunge { uids: Some(_) } => "UID EXPUNGE".to_owned(),
        _ => "EXPUNGE".to_owned(),
    }
}

/// Why a message command failed.
enum Failure {
    Bad(String),
    No(String),
    Store(calm_mailstore::Error),
}

fn prefixed(uid: bool, verb: &str) -> String {
    if uid {
        format!("UID {verb}")
    } else {
        verb.to_owned()
    }
}

/// The UIDs a set names, in mailbox order. RFC 3501 §9: a sequence number beyond the
/// mailbox is an error; UIDs that do not exist are simply ignored.
fn resolve(
    mailbox: &Mailbox,
    set: &SequenceSet,
    uid: bool,
    saved: &[Uid],
) -> Result<Vec<Uid>, Failure> {
    let messages = mailbox.messages();
    if set.is_saved() {
        // RFC 5182 §2.1: `$` names the saved messages that still exist, whether the command
        // is by UID or by sequence number.
        return Ok(messages
            .iter()
            .filter(|m| saved.binary_search(&m.uid).is_ok())
            .map(|m| m.uid)
            .collect());
    }
    if uid {
        let largest = messages.last().map_or(0, |m| m.uid);
        return Ok(messages
            .iter()
            .filter(|m| set.contains(m.uid, largest))
            .map(|m| m.uid)
            .collect());
    }
    let count = u32::try_from(messages.len()).unwrap_or(u32::MAX);
    let beyond = set.0.iter().any(|&(a, b)| {
        [a, b]
            .iter()
            .any(|n| matches!(n, calm_imap_proto::SeqNum::Value(v) if *v > count))
    });
    if beyond {
        return Err(Failure::Bad("Invalid message sequence number".to_owned()));
    }
    Ok(messages
        .iter()
        .enumerate()
        .filter(|(i, _)| set.contains(u32::try_from(i + 1).unwrap_or(u32::MAX), count))
        .map(|(_, m)| m.uid)
        .collect())
}

/// Sets \\Seen on the messages a non-peek body fetch returns (RFC 3501 §6.4.5); returns
/// the UIDs whose flags changed, whose FETCH responses must then include FLAGS.
fn mark_seen(
    mailbox: &mut Mailbox,
    uids: &[Uid],
    items: &[FetchItem],
    read_only: bool,
) -> Result<Vec<Uid>, Failure> {
    let sets_seen = !read_only
        && items.iter().any(|i| {
            matches!(
                i,
                FetchItem::Rfc822
                    | FetchItem::Rfc822Text
                    | FetchItem::Body { peek: false, .. }
                    | FetchItem::Binary { peek: false, .. }
            )
        });
    if !sets_seen {
        return Ok(Vec::new());
    }
    let unseen: Vec<Uid> = uids
        .iter()
        .copied()
        .filter(|&u| {
            mailbox
                .get(u)
                .is_some_and(|m| !m.flags.contains(Flags::SEEN))
        })
        .collect();
    Ok(mailbox
        .set_flags(&unseen, FlagOp::Add, Flags::SEEN)
        .map_err(Failure::Store)?
        .into_iter()
        .map(|(u, _)| u)
        .collect())
}

/// Output beyond this is handed to the connection before the FETCH goes on.
const SPILL_AT: usize = 256 * 1024;

/// How a FETCH runs.
struct FetchHow<'a> {
    by_uid: bool,
    read_only: bool,
    /// Where to send output early (see [`SPILL_AT`]).
    sink: Option<&'a tokio::sync::mpsc::Sender<Vec<u8>>>,
    /// CHANGEDSINCE was given: every response carries MODSEQ (RFC 7162 §3.1.4.1).
    modseq: bool,
    /// CONDSTORE is enabled: a FETCH that sets \Seen reports the new MODSEQ with FLAGS.
    condstore: bool,
}

fn fetch(
    mailbox: &mut Mailbox,
    uids: &[Uid],
    items: &[FetchItem],
    how: &FetchHow<'_>,
    out: &mut Vec<u8>,
) -> Result<String, Failure> {
    let flags_changed = mark_seen(mailbox, uids, items, how.read_only)?;
    let needs_body = items.iter().any(|i| {
        !matches!(
            i,
            FetchItem::Flags | FetchItem::Uid | FetchItem::InternalDate | FetchItem::Rfc822Size
        )
    });
    let mut vanished = false;
    for &uid in uids {
        let (Some(seq), Some(msg)) = (mailbox.seq(uid), mailbox.get(uid)) else {
            continue;
        };
        let data = if needs_body {
            match mailbox.read(uid) {
                Ok(data) => Some(data),
                Err(calm_mailstore::Error::NoSuchMessage(_)) => {
                    vanished = true;
                    continue;
                }
                Err(e) => return Err(Failure::Store(e)),
            }
        } else {
            None
        };
        let set_seen = flags_changed.contains(&uid);
        let with_flags = set_seen && !items.contains(&FetchItem::Flags);
        let shown = Shown {
            msg,
            keywords: mailbox.message_keywords(msg).collect(),
            modseq: (how.modseq || (how.condstore && set_seen))
                && !items.contains(&FetchItem::Modseq),
        };
        write_fetch(
            out,
            seq,
            &shown,
            items,
            how.by_uid,
            with_flags,
            data.as_deref(),
        )
        .map_err(|e| Failure::No(format!("[UNKNOWN-CTE] {e}")))?;
        if let (Some(sink), true) = (how.sink, out.len() >= SPILL_AT) {
            // The connection is gone if the channel is closed: stop reading messages.
            if sink.blocking_send(std::mem::take(out)).is_err() {
                return Err(Failure::No("Connection closed".to_owned()));
            }
        }
    }
    if vanished {
        // RFC 5530 §3: some messages were expunged by another session meanwhile.
        return Ok("[EXPUNGEISSUED] ".to_owned());
    }
    Ok(String::new())
}

/// A message with its keyword names, as FETCH shows it.
struct Shown<'a> {
    msg: &'a Message,
    keywords: Vec<&'a str>,
    /// Add MODSEQ, not asked for (CHANGEDSINCE, or \Seen set with CONDSTORE enabled).
    modseq: bool,
}

fn write_fetch(
    out: &mut Vec<u8>,
    seq: usize,
    shown: &Shown<'_>,
    items: &[FetchItem],
    by_uid: bool,
    with_flags: bool,
    data: Option<&[u8]>,
) -> Result<(), message::UnknownCte> {
    let msg = shown.msg;
    let mut parts: Vec<Vec<u8>> = Vec::new();
    // RFC 3501 §6.4.8: UID FETCH always includes UID.
    if by_uid && !items.contains(&FetchItem::Uid) {
        parts.push(format!("UID {}", msg.uid).into_bytes());
    }
    for item in items {
        parts.push(fetch_item(shown, item, data)?);
    }
    if with_flags {
        let mut f = b"FLAGS ".to_vec();
        write_flag_list(&mut f, msg.flags, &shown.keywords);
        parts.push(f);
    }
    if shown.modseq {
        parts.push(format!("MODSEQ ({})", msg.modseq).into_bytes());
    }
    out.extend_from_slice(format!("* {seq} FETCH (").as_bytes());
    out.extend_from_slice(&parts.join(&b' '));
    out.extend_from_slice(b")\r\n");
    Ok(())
}

fn fetch_item(
    shown: &Shown<'_>,
    item: &FetchItem,
    data: Option<&[u8]>,
) -> Result<Vec<u8>, message::UnknownCte> {
    let msg = shown.msg;
    let mut out = Vec::new();
    let data = data.unwrap_or_default();
    match item {
        FetchItem::Binary { part, partial, .. } => binary_item(&mut out, data, part, *partial)?,
        FetchItem::BinarySize(part) => {
            let size = message::binary(data, part)?.map_or(0, |b| b.len());
            out.extend_from_slice(format!("BINARY.SIZE[{}] {size}", part_path(part)).as_bytes());
        }
        FetchItem::Flags => {
            out.extend_from_slice(b"FLAGS ");
            write_flag_list(&mut out, msg.flags, &shown.keywords);
        }
        FetchItem::Uid => out.extend_from_slice(format!("UID {}", msg.uid).as_bytes()),
        // RFC 7162 §3.1.4.1: `MODSEQ (n)`.
        FetchItem::Modseq => out.extend_from_slice(format!("MODSEQ ({})", msg.modseq).as_bytes()),
        FetchItem::InternalDate => {
            let secs = msg
                .internal_date
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
            out.extend_from_slice(
                format!("INTERNALDATE \"{}\"", date::format_date_time(secs)).as_bytes(),
            );
        }
        FetchItem::Rfc822Size => {
            out.extend_from_slice(format!("RFC822.SIZE {}", msg.rfc822_size).as_bytes())
        }
        FetchItem::Envelope => {
            out.extend_from_slice(b"ENVELOPE ");
            message::structure::envelope(&mut out, data);
        }
        FetchItem::BodyStructure(ext) => {
            out.extend_from_slice(if *ext { b"BODYSTRUCTURE " } else { b"BODY " });
            message::structure::body_structure(&mut out, data, *ext);
        }
        FetchItem::Rfc822 => section_item(&mut out, "RFC822", data, None, &Section::default()),
        FetchItem::Rfc822Header => {
            let header = Section {
                part: Vec::new(),
                text: Some(SectionText::Header),
            };
            section_item(&mut out, "RFC822.HEADER", data, None, &header);
        }
        FetchItem::Rfc822Text => {
            let text = Section {
                part: Vec::new(),
                text: Some(SectionText::Text),
            };
            section_item(&mut out, "RFC822.TEXT", data, None, &text);
        }
        FetchItem::Body {
            section, partial, ..
        } => {
            let name = format!("BODY[{}]", section_name(section));
            section_item(&mut out, &name, data, *partial, section);
        }
    }
    Ok(out)
}

fn section_item(
    out: &mut Vec<u8>,
    name: &str,
    data: &[u8],
    partial: Option<(u32, u32)>,
    section: &Section,
) {
    let bytes = message::section(data, section).unwrap_or_default();
    match partial {
        Some((offset, length)) => {
            // RFC 3501 §7.4.2: the response names the origin octet only.
            out.extend_from_slice(format!("{name}<{offset}> ").as_bytes());
            encode::literal(out, message::partial(&bytes, offset, length));
        }
        None => {
            out.extend_from_slice(format!("{name} ").as_bytes());
            encode::literal(out, &bytes);
        }
    }
}

/// `BINARY[part]<partial>` (RFC 3516 §4.2): literal8 when the content may hold NUL.
fn binary_item(
    out: &mut Vec<u8>,
    data: &[u8],
    part: &[u32],
    partial: Option<(u32, u32)>,
) -> Result<(), message::UnknownCte> {
    let bytes = message::binary(data, part)?.unwrap_or_default();
    let name = format!("BINARY[{}]", part_path(part));
    let bytes = match partial {
        Some((offset, length)) => {
            out.extend_from_slice(format!("{name}<{offset}> ").as_bytes());
            message::partial(&bytes, offset, length)
        }
        None => {
            out.extend_from_slice(format!("{name} ").as_bytes());
            &bytes
        }
    };
    if bytes.contains(&0) {
        out.push(b'~');
    }
    encode::literal(out, bytes);
    Ok(())
}

fn part_path(part: &[u32]) -> String {
    let parts: Vec<String> = part.iter().map(u32::to_string).collect();
    parts.join(".")
}

/// The section spec as the response repeats it.
fn section_name(section: &Section) -> String {
    let mut parts: Vec<String> = section.part.iter().map(u32::to_string).collect();
    let text = match &section.text {
        None => None,
        Some(SectionText::Header) => Some("HEADER".to_owned()),
        Some(SectionText::Text) => Some("TEXT".to_owned()),
        Some(SectionText::Mime) => Some("MIME".to_owned()),
        Some(SectionText::HeaderFields(names)) => {
            Some(format!("HEADER.FIELDS ({})", quote_names(names)))
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            Some(format!("HEADER.FIELDS.NOT ({})", quote_names(names)))
        }
    };
    parts.extend(text);
    parts.join(".")
}

fn quote_names(names: &[String]) -> String {
    let quoted: Vec<String> = names
        .iter()
        .map(|n| {
            let mut out = Vec::new();
            encode::string(&mut out, n.as_bytes());
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect();
    quoted.join(" ")
}

/// How a STORE runs.
struct StoreHow {
    op: StoreOp,
    silent: bool,
    by_uid: bool,
    /// RFC 7162 §3.1.3 UNCHANGEDSINCE.
    unchanged_since: Option<u64>,
    /// CONDSTORE is enabled: the FETCH responses carry MODSEQ, even for `.SILENT`.
    condstore: bool,
}

fn store(
    mailbox: &mut Mailbox,
    uids: &[Uid],
    flags: &[Flag],
    how: &StoreHow,
    out: &mut Vec<u8>,
) -> Result<String, Failure> {
    let wanted = to_flags(flags);
    let mut keywords = keywords_of(flags);
    let op = match how.op {
        StoreOp::Add => FlagOp::Add,
        StoreOp::Remove => FlagOp::Remove,
        StoreOp::Replace => FlagOp::Replace,
    };
    if op == FlagOp::Remove && wanted.contains(Flags::PASSED) {
        // A keyword letter named $Forwarded (from Dovecot) goes with the P flag.
        keywords.push("$Forwarded");
    }
    let known = mailbox.keywords().count();
    let (changed, modified) = match how.unchanged_since {
        Some(since) => mailbox.store_flags_unchanged_since(uids, op, wanted, &keywords, since),
        None => mailbox
            .store_flags(uids, op, wanted, &keywords)
            .map(|changed| (changed, Vec::new())),
    }
    .map_err(Failure::Store)?;
    if mailbox.keywords().count() != known {
        // A new keyword: the client learns the new FLAGS before it sees the keyword set.
        write_flag_lists(out, mailbox, false);
    }
    if !how.silent || how.condstore {
        for (uid, _) in changed {
            write_stored(out, mailbox, uid, how);
        }
    }
    Ok(modified_code(mailbox, &modified, how.by_uid))
}

/// The FETCH response for a stored message: FLAGS unless `.SILENT`, MODSEQ once CONDSTORE
/// is enabled (RFC 7162 §3.1.3 sends `* 5 FETCH (MODSEQ (320162350))` for `.SILENT`).
fn write_stored(out: &mut Vec<u8>, mailbox: &Mailbox, uid: Uid, how: &StoreHow) {
    let (Some(seq), Some(msg)) = (mailbox.seq(uid), mailbox.get(uid)) else {
        return;
    };
    let mut parts = Vec::new();
    if how.by_uid {
        parts.push(format!("UID {uid}").into_bytes());
    }
    if !how.silent {
        let mut f = b"FLAGS ".to_vec();
        write_flags(&mut f, mailbox, msg);
        parts.push(f);
    }
    if how.condstore {
        parts.push(format!("MODSEQ ({})", msg.modseq).into_bytes());
    }
    out.extend_from_slice(format!("* {seq} FETCH (").as_bytes());
    out.extend_from_slice(&parts.join(&b' '));
    out.extend_from_slice(b")\r\n");
}

/// `[MODIFIED set] ` for the messages UNCHANGEDSINCE left alone (RFC 7162 §3.1.3): UIDs for
/// UID STORE, else sequence numbers; empty if there are none.
fn modified_code(mailbox: &Mailbox, modified: &[Uid], by_uid: bool) -> String {
    let mut numbers: Vec<u32> = if by_uid {
        modified.to_vec()
    } else {
        modified
            .iter()
            .filter_map(|&uid| mailbox.seq(uid))
            .map(|seq| u32::try_from(seq).unwrap_or(u32::MAX))
            .collect()
    };
    if numbers.is_empty() {
        return String::new();
    }
    numbers.sort_unstable();
    format!("[MODIFIED {}] ", uid_set(&numbers))
}

/// Where a COPY or MOVE goes.
struct Transfer<'a> {
    dest: &'a str,
    moving: bool,
}

/// COPY or MOVE; the COPYUID code (RFC 4315 §3) goes on the tagged OK for COPY and on an
/// untagged OK before the EXPUNGEs for MOVE (RFC 6851 §4.3). A transfer of at least one
/// message is recorded in `activity` for the event log (spam training follows it).
fn self_copy(
    store: &calm_mailstore::Store,
    mailbox: &Mailbox,
    uids: &[Uid],
    how: Transfer<'_>,
    activity: &mut Vec<Activity>,
    out: &mut Vec<u8>,
) -> Result<String, Failure> {
    let mut target = match store.mailbox(how.dest) {
        Ok(target) => target,
        Err(calm_mailstore::Error::NoSuchMailbox(_)) => {
            return Err(Failure::No("[TRYCREATE] No such mailbox".to_owned()));
        }
        Err(e) => return Err(Failure::Store(e)),
    };
    let pairs = if how.moving {
        mailbox.move_to(uids, &target)
    } else {
        mailbox.copy_to(uids, &target)
    }
    .map_err(Failure::Store)?;
    if pairs.is_empty() {
        return Ok(String::new());
    }
    let (src, dst): (Vec<Uid>, Vec<Uid>) = pairs.into_iter().unzip();
    // The UIDs were assigned under this UIDVALIDITY; take it before the sync below.
    let code = format!(
        "[COPYUID {} {} {}] ",
        target.uid_validity(),
        uid_set(&src),
        uid_set(&dst)
    );
    activity.push(Activity::Transfer {
        from: mailbox.name().to_owned(),
        to: target.name().to_owned(),
        moved: how.moving,
        count: dst.len(),
        messages: target_paths(&mut target, &dst),
    });
    if how.moving {
        line(out, &format!("* OK {code}Moved"));
        return Ok(String::new());
    }
    Ok(code)
}

/// The files of the first `MAX_TRANSFER_PATHS` new UIDs in `target`'s `cur/`. The target
/// was opened before the copy, so it is synced to see them; a failed sync (the copy itself
/// succeeded) only leaves the list empty: the event still reports the transfer.
fn target_paths(target: &mut Mailbox, new_uids: &[Uid]) -> Vec<PathBuf> {
    if let Err(e) = target.sync() {
        tracing::warn!(mailbox = %target.name(), error = %e, "imap: sync after COPY failed");
        return Vec::new();
    }
    let cur = target.path().join("cur");
    new_uids
        .iter()
        .take(crate::event::MAX_TRANSFER_PATHS)
        .filter_map(|&uid| target.get(uid))
        .map(|msg| cur.join(msg.file_name()))
        .collect()
}
