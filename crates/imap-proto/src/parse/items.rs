//! Parsing of the message commands: FETCH items and sections, STORE, SEARCH keys, COPY/MOVE.

use super::{Cursor, Res};
use crate::command::{
    CommandBody, DateCmp, FetchItem, Flag, SearchKey, SearchReturn, Section, SectionText, StoreOp,
};

/// The reason text that marks an unsupported charset.
pub(super) const BAD_CHARSET: &str = "unsupported charset";

/// Nesting limit for SEARCH parentheses, NOT and OR: hostile input must not overflow the
/// stack.
const MAX_DEPTH: u32 = 32;

/// FETCH, STORE, SEARCH, COPY, MOVE and (UID) EXPUNGE, after the command name and its SP.
pub(super) fn message_command(c: &mut Cursor<'_>, name: &str, uid: bool) -> Res<CommandBody> {
    match name {
        "FETCH" => {
            let set = c.sequence_set()?;
            c.sp()?;
            let items = fetch_items(c)?;
            Ok(CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since: modifier(c, "CHANGEDSINCE", false)?,
            })
        }
        "STORE" => store(c, uid),
        "SEARCH" => search(c, uid),
        "COPY" | "MOVE" => {
            let set = c.sequence_set()?;
            c.sp()?;
            Ok(CommandBody::Copy {
                uid,
                set,
                mailbox: c.mailbox()?,
                moving: name == "MOVE",
            })
        }
        "EXPUNGE" if uid => Ok(CommandBody::Expunge {
            uids: Some(c.sequence_set()?),
        }),
        _ if uid => Err(format!("UID {name} is not a command")),
        _ => Err(format!("unknown command {name}")),
    }
}

/// RFC 4466 fetch/store modifiers: ` (NAME n)` with the one modifier calm knows for the
/// command (RFC 7162 §3.1.3, §3.1.4), if present. `zero`: 0 is a valid value.
fn modifier(c: &mut Cursor<'_>, name: &str, zero: bool) -> Res<Option<u64>> {
    if c.peek() != Some(b' ') || c.input.get(c.pos + 1) != Some(&b'(') {
        return Ok(None);
    }
    c.pos += 2;
    let word = c.atom()?;
    if !word.eq_ignore_ascii_case(name) {
        return Err(format!("unknown modifier {word}"));
    }
    c.sp()?;
    let value = c.mod_sequence(zero)?;
    c.expect(b')')?;
    Ok(Some(value))
}

fn fetch_items(c: &mut Cursor<'_>) -> Res<Vec<FetchItem>> {
    if !c.eat(b'(') {
        return fetch_item(c, true);
    }
    let mut items = Vec::new();
    loop {
        items.extend(fetch_item(c, false)?);
        if c.eat(b')') {
            return Ok(items);
        }
        c.sp()?;
    }
}

/// One item; the macros ALL, FAST and FULL only outside a list.
fn fetch_item(c: &mut Cursor<'_>, macros: bool) -> Res<Vec<FetchItem>> {
    let name = c.take_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    let fast = [
        FetchItem::Flags,
        FetchItem::InternalDate,
        FetchItem::Rfc822Size,
    ];
    let item = match name.as_str() {
        "ALL" | "FAST" | "FULL" if macros => {
            let mut items = fast.to_vec();
            if name != "FAST" {
                items.push(FetchItem::Envelope);
            }
            if name == "FULL" {
                items.push(FetchItem::BodyStructure(false));
            }
            return Ok(items);
        }
        "FLAGS" => FetchItem::Flags,
        "UID" => FetchItem::Uid,
        "INTERNALDATE" => FetchItem::InternalDate,
        "RFC822.SIZE" => FetchItem::Rfc822Size,
        "ENVELOPE" => FetchItem::Envelope,
        "BODYSTRUCTURE" => FetchItem::BodyStructure(true),
        "RFC822" => FetchItem::Rfc822,
        "RFC822.HEADER" => FetchItem::Rfc822Header,
        "RFC822.TEXT" => FetchItem::Rfc822Text,
        "MODSEQ" => FetchItem::Modseq,
        "BODY" if c.peek() != Some(b'[') => FetchItem::BodyStructure(false),
        "BINARY" | "BINARY.PEEK" | "BINARY.SIZE" => {
            let section = section(c)?;
            if section.text.is_some() {
                return Err("BINARY takes part numbers only".to_owned());
            }
            if name == "BINARY.SIZE" {
                FetchItem::BinarySize(section.part)
            } else {
                FetchItem::Binary {
                    peek: name == "BINARY.PEEK",
                    part: section.part,
                    partial: partial(c)?,
                }
            }
        }
        "BODY" | "BODY.PEEK" => {
            let section = section(c)?;
            let partial = partial(c)?;
            FetchItem::Body {
                peek: name.ends_with(".PEEK"),
                section,
                partial,
            }
        }
        "" => return Err("expected a fetch item".to_owned()),
        other => return Err(format!("unknown fetch item {other}")),
    };
    Ok(vec![item])
}

/// RFC 3501 §9 `section`: `[` [part] [text] `]`.
fn section(c: &mut Cursor<'_>) -> Res<Section> {
    c.expect(b'[')?;
    let mut section = Section::default();
    while c.peek().is_some_and(|b| b.is_ascii_digit()) {
        match c.number()? {
            0 => return Err("section parts start at 1".to_owned()),
            n => section.part.push(n),
        }
        if section.part.len() > 64 {
            return Err("section nested too deeply".to_owned());
        }
        if !c.eat(b'.') {
            break;
        }
    }
    if c.eat(b']') {
        return Ok(section);
    }
    let word = c.take_while(|b| b.is_ascii_alphabetic() || b == b'.');
    let text = match String::from_utf8_lossy(word).to_ascii_uppercase().as_str() {
        "HEADER" => SectionText::Header,
        "TEXT" => SectionText::Text,
        "MIME" if !section.part.is_empty() => SectionText::Mime,
        "HEADER.FIELDS" => SectionText::HeaderFields(header_list(c)?),
        "HEADER.FIELDS.NOT" => SectionText::HeaderFieldsNot(header_list(c)?),
        _ => return Err("bad section".to_owned()),
    };
    section.text = Some(text);
    c.expect(b']')?;
    Ok(section)
}

fn header_list(c: &mut Cursor<'_>) -> Res<Vec<String>> {
    c.sp()?;
    c.expect(b'(')?;
    let mut names = Vec::new();
    loop {
        names.push(c.astring_utf8()?);
        if c.eat(b')') {
            return Ok(names);
        }
        c.sp()?;
    }
}

/// `<offset.length>`; RFC 9051 drops the length from responses but requests keep it.
fn partial(c: &mut Cursor<'_>) -> Res<Option<(u32, u32)>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let offset = c.number()?;
    c.expect(b'.')?;
    let length = c.number()?;
    c.expect(b'>')?;
    if length == 0 {
        return Err("partial length must be positive".to_owned());
    }
    Ok(Some((offset, length)))
}

fn store(c: &mut Cursor<'_>, uid: bool) -> Res<CommandBody> {
    let set = c.sequence_set()?;
    let unchanged_since = modifier(c, "UNCHANGEDSINCE", true)?;
    c.sp()?;
    let op = if c.eat(b'+') {
        StoreOp::Add
    } else if c.eat(b'-') {
        StoreOp::Remove
    } else {
        StoreOp::Replace
    };
    let name = c.atom()?.to_ascii_uppercase();
    let silent = match name.as_str() {
        "FLAGS" => false,
        "FLAGS.SILENT" => true,
        _ => return Err("expected FLAGS or FLAGS.SILENT".to_owned()),
    };
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        c.flag_list()?
    } else {
        let mut flags = vec![c.flag()?];
        while c.eat(b' ') {
            flags.push(c.flag()?);
        }
        flags
    };
    Ok(CommandBody::Store {
        uid,
        set,
        op,
        silent,
        flags,
        unchanged_since,
    })
}

/// `RETURN (options)` of an extended SEARCH (RFC 4731 §3.1), if present.
fn search_return(c: &mut Cursor<'_>) -> Res<Option<SearchReturn>> {
    let rest = c.input.get(c.pos..).unwrap_or_default();
    if rest.len() < 8
        || !rest
            .get(..8)
            .is_some_and(|r| r.eq_ignore_ascii_case(b"RETURN ("))
    {
        return Ok(None);
    }
    c.pos += 8;
    let mut ret = SearchReturn::default();
    while !c.eat(b')') {
        c.eat(b' ');
        match c.atom()?.to_ascii_uppercase().as_str() {
            "MIN" => ret.min = true,
            "MAX" => ret.max = true,
            "ALL" => ret.all = true,
            "COUNT" => ret.count = true,
            "SAVE" => ret.save = true,
            other => return Err(format!("unknown SEARCH return option {other}")),
        }
    }
    // RFC 4731 §3.1: RETURN () is RETURN (ALL).
    if !(ret.min || ret.max || ret.count || ret.save) {
        ret.all = true;
    }
    c.sp()?;
    Ok(Some(ret))
}

fn search(c: &mut Cursor<'_>, uid: bool) -> Res<CommandBody> {
    let ret = search_return(c)?;
    let mut keys = Vec::new();
    loop {
        let key = search_key(c, 0)?;
        let charset = matches!(&key, SearchKey::Header(h, _) if h == "CHARSET");
        match (key, charset && keys.is_empty()) {
            (SearchKey::Header(_, cs), true) => {
                // RFC 3501 §6.4.4: US-ASCII must be supported; RFC 9051 adds UTF-8.
                if !cs.eq_ignore_ascii_case("UTF-8") && !cs.eq_ignore_ascii_case("US-ASCII") {
                    return Err(BAD_CHARSET.to_owned());
                }
            }
            (key, _) => keys.push(key),
        }
        if !c.eat(b' ') {
            break;
        }
    }
    if keys.is_empty() {
        return Err("SEARCH needs a key".to_owned());
    }
    Ok(CommandBody::Search {
        uid,
        key: SearchKey::And(keys),
        ret,
    })
}

fn search_string(c: &mut Cursor<'_>) -> Res<String> {
    c.sp()?;
    c.astring_utf8()
}

fn search_key(c: &mut Cursor<'_>, depth: u32) -> Res<SearchKey> {
    if depth > MAX_DEPTH {
        return Err("search keys nested too deeply".to_owned());
    }
    match c.peek() {
        Some(b'(') => {
            c.eat(b'(');
            let mut keys = vec![search_key(c, depth + 1)?];
            while c.eat(b' ') {
                keys.push(search_key(c, depth + 1)?);
            }
            c.expect(b')')?;
            return Ok(SearchKey::And(keys));
        }
        Some(b'*' | b'$' | b'0'..=b'9') => return Ok(SearchKey::Seq(c.sequence_set()?)),
        _ => {}
    }
    let name = c.atom()?.to_ascii_uppercase();
    let not = |k: SearchKey| SearchKey::Not(Box::new(k));
    let header = |name: &str, c: &mut Cursor<'_>| -> Res<SearchKey> {
        Ok(SearchKey::Header(name.to_owned(), search_string(c)?))
    };
    Ok(match name.as_str() {
        "ALL" => SearchKey::All,
        "ANSWERED" => SearchKey::Flag(Flag::Answered),
        "DELETED" => SearchKey::Flag(Flag::Deleted),
        "DRAFT" => SearchKey::Flag(Flag::Draft),
        "FLAGGED" => SearchKey::Flag(Flag::Flagged),
        "SEEN" => SearchKey::Flag(Flag::Seen),
        "RECENT" => SearchKey::Flag(Flag::Recent),
        "UNANSWERED" => not(SearchKey::Flag(Flag::Answered)),
        "UNDELETED" => not(SearchKey::Flag(Flag::Deleted)),
        "UNDRAFT" => not(SearchKey::Flag(Flag::Draft)),
        "UNFLAGGED" => not(SearchKey::Flag(Flag::Flagged)),
        "UNSEEN" => not(SearchKey::Flag(Flag::Seen)),
        "NEW" => SearchKey::New,
        "OLD" => SearchKey::Old,
        "KEYWORD" => SearchKey::Flag(Flag::Other(search_string(c)?)),
        "UNKEYWORD" => not(SearchKey::Flag(Flag::Other(search_string(c)?))),
        "FROM" | "TO" | "CC" | "BCC" | "SUBJECT" => header(&name, c)?,
        // Pseudo-key, caught by `search` when it comes first.
        "CHARSET" => header("CHARSET", c)?,
        "HEADER" => {
            let field = search_string(c)?;
            SearchKey::Header(field.to_ascii_uppercase(), search_string(c)?)
        }
        "BODY" => SearchKey::Body(search_string(c)?),
        "TEXT" => SearchKey::Text(search_string(c)?),
        "LARGER" | "SMALLER" => {
            c.sp()?;
            let n = c.number64()?;
            if name == "LARGER" {
                SearchKey::Larger(n)
            } else {
                SearchKey::Smaller(n)
            }
        }
        "UID" => {
            c.sp()?;
            SearchKey::Uid(c.sequence_set()?)
        }
        "MODSEQ" => modseq_search_key(c)?,
        "NOT" => {
            c.sp()?;
            not(search_key(c, depth + 1)?)
        }
        "OR" => {
            c.sp()?;
            let a = search_key(c, depth + 1)?;
            c.sp()?;
            SearchKey::Or(Box::new(a), Box::new(search_key(c, depth + 1)?))
        }
        date_key => return date_search_key(c, date_key),
    })
}

/// RFC 7162 §3.1.5: `MODSEQ [entry-name SP entry-type-req] mod-sequence-valzer`.
fn modseq_search_key(c: &mut Cursor<'_>) -> Res<SearchKey> {
    c.sp()?;
    if matches!(c.peek(), Some(b'"' | b'{' | b'~')) {
        let entry = c.string()?;
        let flag = entry
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"/flags/"));
        if !flag || entry.len() == 7 {
            return Err("MODSEQ entry name must be /flags/<flag>".to_owned());
        }
        c.sp()?;
        let kind = c.atom()?.to_ascii_lowercase();
        if !matches!(kind.as_str(), "priv" | "shared" | "all") {
            return Err("MODSEQ entry type must be priv, shared or all".to_owned());
        }
        c.sp()?;
    }
    Ok(SearchKey::Modseq(c.mod_sequence(true)?))
}

fn date_search_key(c: &mut Cursor<'_>, name: &str) -> Res<SearchKey> {
    let (sent, rest) = match name.strip_prefix("SENT") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    let cmp = match rest {
        "BEFORE" => DateCmp::Before,
        "ON" => DateCmp::On,
        "SINCE" => DateCmp::Since,
        _ => return Err(format!("unknown search key {name}")),
    };
    c.sp()?;
    Ok(SearchKey::Date {
        cmp,
        day: c.date()?,
        sent,
    })
}
