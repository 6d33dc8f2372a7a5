//! SEARCH (RFC 3501 §6.4.4): every key, evaluated message by message; the file is read only
//! for keys that look inside it.

use std::io::{ErrorKind, Read};
use std::time::SystemTime;

use calm_imap_proto::{DateCmp, Flag, SearchKey, SearchReturn, message};
use calm_mailstore::{Mailbox, Message, Uid};
use mail_parser::MessageParser;

use super::{line, to_flags, uid_set};

/// One message being tested; its content is loaded on first need.
struct Candidate<'a> {
    mailbox: &'a Mailbox,
    msg: &'a Message,
    seq: u32,
    largest_seq: u32,
    largest_uid: u32,
    saved: &'a [Uid],
    data: Option<Vec<u8>>,
    /// The start of the file, through the end of the header at least.
    head: Option<Vec<u8>>,
}

impl Candidate<'_> {
    fn data(&mut self) -> &[u8] {
        if self.data.is_none() {
            self.data = Some(self.mailbox.read(self.msg.uid).unwrap_or_default());
        }
        self.data.as_deref().unwrap_or_default()
    }

    /// The message or, unless it is loaded already, only its start through the header: a
    /// header key need not read a large message whole.
    fn head(&mut self) -> &[u8] {
        if self.data.is_none() && self.head.is_none() {
            self.head = Some(read_head(self.mailbox, self.msg.uid));
        }
        self.data
            .as_deref()
            .or(self.head.as_deref())
            .unwrap_or_default()
    }
}

/// Reads a message up to the chunk holding its first empty line (or whole); empty if it
/// cannot be read, as [`Candidate::data`] is.
fn read_head(mailbox: &Mailbox, uid: Uid) -> Vec<u8> {
    let Ok(mut file) = mailbox.open_message(uid) else {
        return Vec::new();
    };
    let mut head = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => return head,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Vec::new(),
        };
        let from = head.len().saturating_sub(2);
        head.extend_from_slice(chunk.get(..n).unwrap_or_default());
        let tail = head.get(from..).unwrap_or_default();
        if tail.windows(2).any(|w| w == b"\n\n") || tail.windows(3).any(|w| w == b"\n\r\n") {
            return head;
        }
    }
}

/// The matching messages as (sequence number, UID), in mailbox order. `saved` is the
/// RFC 5182 search result that `$` stands for.
pub(super) fn search(mailbox: &Mailbox, key: &SearchKey, saved: &[Uid]) -> Vec<(u32, Uid)> {
    let messages = mailbox.messages();
    let largest_seq = u32::try_from(messages.len()).unwrap_or(u32::MAX);
    let largest_uid = messages.last().map_or(0, |m| m.uid);
    let mut hits = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let mut c = Candidate {
            mailbox,
            msg,
            seq,
            largest_seq,
            largest_uid,
            saved,
            data: None,
            head: None,
        };
        if matches(&mut c, key) {
            hits.push((seq, msg.uid));
        }
    }
    hits
}

/// How to answer a SEARCH: `* SEARCH` (IMAP4rev1) or `* ESEARCH` (RFC 4731, and always
/// under IMAP4rev2, RFC 9051 §6.4.4).
pub(super) struct Esearch<'a> {
    pub tag: &'a str,
    pub by_uid: bool,
    pub ret: Option<SearchReturn>,
    pub rev2: bool,
    /// The search used MODSEQ: the response names the highest MODSEQ of the messages it
    /// returns (RFC 7162 §3.1.5), read from this mailbox.
    pub modseq: Option<&'a Mailbox>,
}

impl Esearch<'_> {
    /// Writes the response and updates the saved result if SAVE was asked for.
    pub(super) fn write(&self, hits: &[(u32, Uid)], saved: &mut Vec<Uid>, out: &mut Vec<u8>) {
        let pick = |&(seq, uid): &(u32, Uid)| if self.by_uid { uid } else { seq };
        let ret = match (self.ret, self.rev2) {
            (Some(ret), _) => ret,
            (None, true) => SearchReturn {
                all: true,
                ..SearchReturn::default()
            },
            (None, false) => {
                let mut text = String::from("* SEARCH");
                for hit in hits {
                    text.push_str(&format!(" {}", pick(hit)));
                }
                if let Some(modseq) = self.highest_of(hits) {
                    text.push_str(&format!(" (MODSEQ {modseq})"));
                }
                return line(out, &text);
            }
        };
        let (first, last) = (hits.first(), hits.last());
        if ret.save {
            // RFC 5182 §2.4: with only MIN and/or MAX beside SAVE, only those are saved.
            *saved = if (ret.min || ret.max) && !(ret.all || ret.count) {
                let mut v: Vec<Uid> = [ret.min.then_some(first), ret.max.then_some(last)]
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|&(_, uid)| uid)
                    .collect();
                v.dedup();
                v
            } else {
                hits.iter().map(|&(_, uid)| uid).collect()
            };
            // RFC 5182 §2.4: SAVE alone produces no ESEARCH response.
            if !(ret.min || ret.max || ret.all || ret.count) {
                return;
            }
        }
        let mut text = format!("* ESEARCH (TAG \"{}\")", self.tag);
        if self.by_uid {
            text.push_str(" UID");
        }
        if let (true, Some(hit)) = (ret.min, first) {
            text.push_str(&format!(" MIN {}", pick(hit)));
        }
        if let (true, Some(hit)) = (ret.max, last) {
            text.push_str(&format!(" MAX {}", pick(hit)));
        }
        if ret.all && !hits.is_empty() {
            let mut numbers: Vec<u32> = hits.iter().map(pick).collect();
            numbers.sort_unstable();
            text.push_str(&format!(" ALL {}", uid_set(&numbers)));
        }
        if ret.count {
            text.push_str(&format!(" COUNT {}", hits.len()));
        }
        // RFC 7162 §3.1.5: with only MIN and/or MAX, the MODSEQ of the messages returned.
        let ends: Vec<(u32, Uid)> = [first.filter(|_| ret.min), last.filter(|_| ret.max)]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        let returned = if ret.all || ret.count { hits } else { &ends };
        if let Some(modseq) = self.highest_of(returned) {
            text.push_str(&format!(" MODSEQ {modseq}"));
        }
        line(out, &text);
    }

    /// The highest MODSEQ of `hits`, if the search used MODSEQ and found something.
    fn highest_of(&self, hits: &[(u32, Uid)]) -> Option<u64> {
        let mailbox = self.modseq?;
        hits.iter()
            .filter_map(|&(_, uid)| mailbox.get(uid))
            .map(|m| m.modseq)
            .max()
    }
}

fn matches(c: &mut Candidate<'_>, key: &SearchKey) -> bool {
    match key {
        SearchKey::And(keys) => keys.iter().all(|k| matches(c, k)),
        SearchKey::Or(a, b) => matches(c, a) || matches(c, b),
        SearchKey::Not(k) => !matches(c, k),
        SearchKey::All => true,
        // RFC 7162 §3.1.5: MODSEQ at least n.
        SearchKey::Modseq(n) => c.msg.modseq >= *n,
        // calm keeps no \Recent (RFC 9051 drops it): nothing is recent, everything is old.
        SearchKey::Flag(Flag::Recent) | SearchKey::New => false,
        SearchKey::Old => true,
        SearchKey::Flag(flag) => {
            let wanted = to_flags(std::slice::from_ref(flag));
            // KEYWORD/UNKEYWORD (RFC 3501 §6.4.4), compared without regard to case.
            let keyword = matches!(flag, Flag::Other(k) if c.mailbox.has_keyword(c.msg, k));
            (!wanted.is_empty() && c.msg.flags.contains(wanted)) || keyword
        }
        SearchKey::Header(name, needle) => header_matches(c.head(), name, needle),
        SearchKey::Body(needle) => {
            let (_, body) = message::split(c.data());
            message::contains_ci(body, needle.as_bytes()) || decoded_text_contains(c.data(), needle)
        }
        SearchKey::Text(needle) => {
            let data = c.data();
            message::contains_ci(data, needle.as_bytes())
                || decoded_text_contains(data, needle)
                || header_matches_any(data, needle)
        }
        SearchKey::Date { cmp, day, sent } => {
            let Some(msg_day) = (if *sent {
                sent_day(c.head())
            } else {
                internal_day(c.msg)
            }) else {
                return false;
            };
            match cmp {
                DateCmp::Before => msg_day < *day,
                DateCmp::On => msg_day == *day,
                DateCmp::Since => msg_day >= *day,
            }
        }
        SearchKey::Larger(n) => c.msg.rfc822_size > *n,
        SearchKey::Smaller(n) => c.msg.rfc822_size < *n,
        SearchKey::Seq(set) | SearchKey::Uid(set) if set.is_saved() => {
            c.saved.binary_search(&c.msg.uid).is_ok()
        }
        SearchKey::Uid(set) => set.contains(c.msg.uid, c.largest_uid),
        SearchKey::Seq(set) => set.contains(c.seq, c.largest_seq),
    }
}

/// Header search on the raw field value, and on its decoded form (RFC 2047 words) too.
fn header_matches(data: &[u8], name: &str, needle: &str) -> bool {
    let (header, _) = message::split(data);
    let values = message::header_values(header, name);
    // RFC 3501 §6.4.4: HEADER with an empty string matches every message with the field.
    if needle.is_empty() {
        return !values.is_empty();
    }
    if values
        .iter()
        .any(|v| message::contains_ci(v.as_bytes(), needle.as_bytes()))
    {
        return true;
    }
    // Only RFC 2047 encoded words decode to other text than the raw value.
    if !values.iter().any(|v| v.contains("=?")) {
        return false;
    }
    let Some(parsed) = MessageParser::default().parse_headers(header) else {
        return false;
    };
    parsed.headers().iter().any(|h| {
        h.name().eq_ignore_ascii_case(name)
            && h.value()
                .as_text()
                .is_some_and(|t| message::contains_ci(t.as_bytes(), needle.as_bytes()))
    })
}

/// RFC 3501 §6.4.4 searches the text, not its transfer encoding: look in the decoded text
/// parts (quoted-printable, base64, any charset) too, case-insensitively beyond ASCII.
fn decoded_text_contains(data: &[u8], needle: &str) -> bool {
    let Some(parsed) = MessageParser::default().parse(data) else {
        return false;
    };
    let needle = needle.to_lowercase();
    (0..parsed.text_body_count()).any(|i| {
        parsed
            .body_text(i)
            .is_some_and(|text| text.to_lowercase().contains(&needle))
    })
}

/// TEXT also covers the header, decoded (RFC 2047 encoded words).
fn header_matches_any(data: &[u8], needle: &str) -> bool {
    let (header, _) = message::split(data);
    let Some(parsed) = MessageParser::default().parse_headers(header) else {
        return false;
    };
    let needle = needle.to_lowercase();
    parsed.headers().iter().any(|h| {
        h.value()
            .as_text()
            .is_some_and(|t| t.to_lowercase().contains(&needle))
    })
}

/// The day (since the epoch) of the internal date, in UTC.
fn internal_day(msg: &Message) -> Option<i64> {
    let secs = msg
        .internal_date
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?;
    Some(i64::try_from(secs.as_secs()).ok()? / 86_400)
}

/// The day of the Date header, in its own time zone (RFC 3501 §6.4.4 disregards time and
/// zone).
fn sent_day(data: &[u8]) -> Option<i64> {
    let parsed = MessageParser::default().parse_headers(data)?;
    let d = parsed.date()?;
    Some(calm_imap_proto::date::days_from_civil(
        i64::from(d.year),
        u32::from(d.month),
        u32::from(d.day),
    ))
}
