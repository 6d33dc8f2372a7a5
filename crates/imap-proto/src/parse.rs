//! The command parser: a complete framed command (see [`crate::Framer`]) in, a [`Command`]
//! or a [`ParseError`] out. It never panics and never indexes unchecked: every malformed
//! input becomes an error for a `BAD` reply.

use crate::command::{Command, CommandBody, Flag, ListCommand, SeqNum, SequenceSet, StatusItem};
use crate::date;
use crate::mutf7;

mod items;
mod quota;

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    /// The tag, if one could be read (`None`: answer with an untagged `* BAD`).
    pub tag: Option<String>,
    /// What was wrong, for the `BAD` text.
    pub reason: String,
    /// True for an unsupported SEARCH charset: answer `NO [BADCHARSET (UTF-8)]`, not `BAD`.
    pub bad_charset: bool,
}

/// A parse failure before the tag is attached.
type Res<T> = Result<T, String>;

/// True for characters allowed in a tag: `ASTRING-CHAR` except `+` (RFC 3501 §9).
pub fn is_tag_char(b: u8) -> bool {
    is_atom_char(b) && b != b'+'
}

/// RFC 3501 §9 `ATOM-CHAR`: any CHAR except atom-specials.
fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b)
}

/// A cursor over one command's bytes.
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
    /// Mailbox names are UTF-8 as sent (IMAP4rev2 enabled), not modified UTF-7.
    utf8_names: bool,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a [u8], utf8_names: bool) -> Self {
        Cursor {
            input,
            pos: 0,
            utf8_names,
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8) -> Res<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(format!("expected {:?}", char::from(b)))
        }
    }

    pub(crate) fn sp(&mut self) -> Res<()> {
        self.expect(b' ')
    }

    /// The bytes while `pred` holds (possibly none).
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.input.get(start..self.pos).unwrap_or_default()
    }

    /// At the final CRLF (or bare LF)?
    pub(crate) fn at_end(&self) -> bool {
        matches!(
            self.input.get(self.pos..),
            Some(b"\r\n") | Some(b"\n") | Some(b"")
        )
    }

    pub(crate) fn end(&self) -> Res<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err("unexpected characters at end of command".to_owned())
        }
    }

    /// An atom, as text.
    pub(crate) fn atom(&mut self) -> Res<&'a str> {
        let atom = self.take_while(is_atom_char);
        if atom.is_empty() {
            return Err("expected an atom".to_owned());
        }
        std::str::from_utf8(atom).map_err(|_| "atom is not ASCII".to_owned())
    }

    /// A number (RFC 3501 §9: fits in 32 bits).
    pub(crate) fn number(&mut self) -> Res<u32> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| "expected a number".to_owned())
    }

    /// A 63-bit number (RFC 9051 `number64`, SEARCH LARGER/SMALLER).
    pub(crate) fn number64(&mut self) -> Res<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| "expected a number".to_owned())
    }

    /// RFC 7162 §7 `mod-sequence-value` (1 to 2^63 - 1), or `mod-sequence-valzer` (0 too)
    /// with `zero`.
    pub(crate) fn mod_sequence(&mut self, zero: bool) -> Res<u64> {
        let n = self.number64()?;
        let least = u64::from(!zero);
        if n < least || n > i64::MAX as u64 {
            return Err("mod-sequence out of range".to_owned());
        }
        Ok(n)
    }

    fn quoted(&mut self) -> Res<Vec<u8>> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(c),
                        _ => return Err("bad escape in quoted string".to_owned()),
                    }
                }
                Some(b'\r' | b'\n') | None => return Err("unterminated quoted string".to_owned()),
                Some(c) => out.push(c),
            }
            self.pos += 1;
        }
    }

    /// `{n}` or `{n+}` (or `~{n}` literal8), CRLF, and n octets. The framer has made sure
    /// they are all here.
    pub(crate) fn literal(&mut self) -> Res<&'a [u8]> {
        self.eat(b'~');
        self.expect(b'{')?;
        let n = self.number()? as usize;
        self.eat(b'+');
        self.expect(b'}')?;
        self.eat(b'\r');
        self.expect(b'\n')?;
        let data = self
            .input
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or_else(|| "literal shorter than announced".to_owned())?;
        self.pos += n;
        Ok(data)
    }

    /// A quoted string or a literal.
    pub(crate) fn string(&mut self) -> Res<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{' | b'~') => self.literal().map(<[u8]>::to_vec),
            _ => Err("expected a string".to_owned()),
        }
    }

    /// RFC 3501 §9 `astring`: an atom (with `]` allowed) or a string.
    pub(crate) fn astring(&mut self) -> Res<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{' | b'~') => self.string(),
            _ => {
                let atom = self.take_while(|b| is_atom_char(b) || b == b']');
                if atom.is_empty() {
                    return Err("expected an astring".to_owned());
                }
                Ok(atom.to_vec())
            }
        }
    }

    /// An astring as UTF-8 text.
    pub(crate) fn astring_utf8(&mut self) -> Res<String> {
        String::from_utf8(self.astring()?).map_err(|_| "string is not UTF-8".to_owned())
    }

    /// A mailbox name: `INBOX` in any case is INBOX; modified UTF-7 (RFC 3501 §5.1.3) is
    /// decoded to UTF-8.
    pub(crate) fn mailbox(&mut self) -> Res<String> {
        let raw = self.astring_utf8()?;
        decode_mailbox(&raw, self.utf8_names)
    }

    /// RFC 3501 §9 `sequence-set`.
    pub(crate) fn sequence_set(&mut self) -> Res<SequenceSet> {
        if self.eat(b'$') {
            return Ok(SequenceSet::saved());
        }
        let mut ranges = Vec::new();
        loop {
            let a = self.seq_number()?;
            let b = if self.eat(b':') {
                self.seq_number()?
            } else {
                a
            };
            ranges.push((a, b));
            if !self.eat(b',') {
                return Ok(SequenceSet(ranges));
            }
        }
    }

    fn seq_number(&mut self) -> Res<SeqNum> {
        if self.eat(b'*') {
            return Ok(SeqNum::Largest);
        }
        match self.number()? {
            0 => Err("sequence numbers start at 1".to_owned()),
            n => Ok(SeqNum::Value(n)),
        }
    }

    /// A flag: `\Name` or a keyword atom.
    pub(crate) fn flag(&mut self) -> Res<Flag> {
        let backslash = self.eat(b'\\');
        let atom = self.atom()?;
        Ok(if backslash {
            Flag::from_atom(&format!("\\{atom}"))
        } else {
            Flag::Other(atom.to_owned())
        })
    }

    /// `"(" [flag *(SP flag)] ")"`.
    pub(crate) fn flag_list(&mut self) -> Res<Vec<Flag>> {
        self.expect(b'(')?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    /// RFC 3501 §9 `date`: `dd-Mon-yyyy`, optionally quoted; days since the epoch.
    pub(crate) fn date(&mut self) -> Res<i64> {
        let quoted = self.eat(b'"');
        let day = self.number()?;
        self.expect(b'-')?;
        let month = date::month_number(self.atom_until(b'-')?).ok_or("bad month")?;
        self.expect(b'-')?;
        let year = self.number()?;
        if quoted {
            self.expect(b'"')?;
        }
        if !(1..=31).contains(&day) {
            return Err("bad day".to_owned());
        }
        Ok(date::days_from_civil(i64::from(year), month, day))
    }

    fn atom_until(&mut self, stop: u8) -> Res<&'a str> {
        let text = self.take_while(|b| b != stop && is_atom_char(b));
        std::str::from_utf8(text).map_err(|_| "not ASCII".to_owned())
    }

    /// RFC 3501 §9 `date-time`: `"dd-Mon-yyyy hh:mm:ss +zzzz"`, as Unix seconds.
    pub(crate) fn date_time(&mut self) -> Res<i64> {
        self.expect(b'"')?;
        self.eat(b' ');
        let days = {
            let day = self.number()?;
            self.expect(b'-')?;
            let month = date::month_number(self.atom_until(b'-')?).ok_or("bad month")?;
            self.expect(b'-')?;
            let year = self.number()?;
            if !(1..=31).contains(&day) {
                return Err("bad day".to_owned());
            }
            date::days_from_civil(i64::from(year), month, day)
        };
        self.sp()?;
        let mut clock = [0i64; 3];
        for (i, part) in clock.iter_mut().enumerate() {
            if i > 0 {
                self.expect(b':')?;
            }
            *part = i64::from(self.number()?);
        }
        self.sp()?;
        let sign = if self.eat(b'-') {
            -1
        } else {
            self.expect(b'+')?;
            1
        };
        let zone = i64::from(self.number()?);
        self.expect(b'"')?;
        let [h, m, s] = clock;
        if h > 23 || m > 59 || s > 60 || zone % 100 > 59 || zone > 2400 {
            return Err("bad date-time".to_owned());
        }
        let offset = sign * (zone / 100 * 3600 + zone % 100 * 60);
        Ok(days * 86_400 + h * 3600 + m * 60 + s - offset)
    }
}

/// Decodes a client's mailbox name.
fn decode_mailbox(raw: &str, utf8: bool) -> Res<String> {
    if raw.eq_ignore_ascii_case("INBOX") {
        return Ok("INBOX".to_owned());
    }
    let name = if utf8 {
        raw.to_owned()
    } else {
        mutf7::decode(raw).ok_or_else(|| "bad modified UTF-7 mailbox name".to_owned())?
    };
    // RFC 3501 §5.1: INBOX is case-insensitive also as the first hierarchy level.
    match name.get(..6) {
        Some(head) if head.eq_ignore_ascii_case("INBOX.") => {
            Ok(format!("INBOX.{}", name.get(6..).unwrap_or_default()))
        }
        _ => Ok(name),
    }
}

/// Parses one framed command; mailbox names are modified UTF-7 (RFC 3501 §5.1.3).
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    parse_command_with(input, false)
}

/// Parses one framed command; with `utf8_names` (after `ENABLE IMAP4rev2`, RFC 9051 §5.1)
/// mailbox names are taken as UTF-8, not modified UTF-7.
pub fn parse_command_with(input: &[u8], utf8_names: bool) -> Result<Command, ParseError> {
    let mut c = Cursor::new(input, utf8_names);
    let tag = c.take_while(is_tag_char);
    if tag.is_empty() || c.peek() != Some(b' ') {
        return Err(ParseError {
            tag: None,
            reason: "missing or invalid tag".to_owned(),
            bad_charset: false,
        });
    }
    let tag = String::from_utf8_lossy(tag).into_owned();
    let fail = |reason: String| ParseError {
        tag: Some(tag.clone()),
        bad_charset: reason == items::BAD_CHARSET,
        reason,
    };
    c.pos += 1;
    let body = command_body(&mut c).map_err(fail)?;
    c.end().map_err(fail)?;
    Ok(Command { tag, body })
}

fn command_body(c: &mut Cursor<'_>) -> Res<CommandBody> {
    let name = c.atom()?.to_ascii_uppercase();
    let simple = match name.as_str() {
        "CAPABILITY" => Some(CommandBody::Capability),
        "NOOP" => Some(CommandBody::Noop),
        "LOGOUT" => Some(CommandBody::Logout),
        "STARTTLS" => Some(CommandBody::StartTls),
        "NAMESPACE" => Some(CommandBody::Namespace),
        "CHECK" => Some(CommandBody::Check),
        "CLOSE" => Some(CommandBody::Close),
        "UNSELECT" => Some(CommandBody::Unselect),
        "EXPUNGE" => Some(CommandBody::Expunge { uids: None }),
        "IDLE" => Some(CommandBody::Idle),
        _ => None,
    };
    if let Some(body) = simple {
        return Ok(body);
    }
    const WITH_ARGUMENTS: [&str; 24] = [
        "UID",
        "LOGIN",
        "AUTHENTICATE",
        "SELECT",
        "EXAMINE",
        "CREATE",
        "DELETE",
        "RENAME",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "LIST",
        "LSUB",
        "STATUS",
        "APPEND",
        "ENABLE",
        "ID",
        "FETCH",
        "STORE",
        "SEARCH",
        "COPY",
        "MOVE",
        "GETQUOTA",
        "GETQUOTAROOT",
        "SETQUOTA",
    ];
    if !WITH_ARGUMENTS.contains(&name.as_str()) {
        return Err(format!("unknown command {name}"));
    }
    if name == "UID" {
        c.sp()?;
        let name = c.atom()?.to_ascii_uppercase();
        c.sp()?;
        return items::message_command(c, &name, true);
    }
    c.sp()?;
    match name.as_str() {
        "LOGIN" => {
            let user = c.astring_utf8()?;
            c.sp()?;
            let password = c.astring_utf8()?;
            Ok(CommandBody::Login { user, password })
        }
        "AUTHENTICATE" => {
            let mechanism = c.atom()?.to_owned();
            let initial = if c.eat(b' ') {
                Some(c.atom()?.to_owned())
            } else {
                None
            };
            Ok(CommandBody::Authenticate { mechanism, initial })
        }
        "SELECT" | "EXAMINE" => select(c, name == "EXAMINE"),
        "CREATE" => Ok(CommandBody::Create {
            mailbox: c.mailbox()?,
        }),
        "DELETE" => Ok(CommandBody::Delete {
            mailbox: c.mailbox()?,
        }),
        "RENAME" => {
            let from = c.mailbox()?;
            c.sp()?;
            Ok(CommandBody::Rename {
                from,
                to: c.mailbox()?,
            })
        }
        "SUBSCRIBE" | "UNSUBSCRIBE" => Ok(CommandBody::Subscribe {
            mailbox: c.mailbox()?,
            subscribe: name == "SUBSCRIBE",
        }),
        "LIST" | "LSUB" => list(c, name == "LSUB"),
        "STATUS" => status(c),
        "APPEND" => append(c),
        "ENABLE" => enable(c),
        "ID" => id(c),
        "GETQUOTA" | "GETQUOTAROOT" | "SETQUOTA" => quota::command(c, &name),
        _ => items::message_command(c, &name, false),
    }
}

fn select(c: &mut Cursor<'_>, read_only: bool) -> Res<CommandBody> {
    let mailbox = c.mailbox()?;
    let mut condstore = false;
    // RFC 4466 select parameters: CONDSTORE (RFC 7162 §3.1.8) enables CONDSTORE; others are
    // accepted and ignored.
    if c.eat(b' ') {
        let start = c.pos;
        skip_parenthesized(c)?;
        let params = c.input.get(start..c.pos).unwrap_or_default();
        condstore = params
            .split(|b| b" ()".contains(b))
            .any(|word| word.eq_ignore_ascii_case(b"CONDSTORE"));
    }
    Ok(CommandBody::Select {
        mailbox,
        read_only,
        condstore,
    })
}

/// Skips a balanced parenthesised list of atoms, strings and lists.
fn skip_parenthesized(c: &mut Cursor<'_>) -> Res<()> {
    c.expect(b'(')?;
    let mut depth = 1u32;
    while depth > 0 {
        match c.peek() {
            Some(b'(') => {
                depth = depth.saturating_add(1);
                c.pos += 1;
            }
            Some(b')') => {
                depth -= 1;
                c.pos += 1;
            }
            Some(b' ') => c.pos += 1,
            Some(b'"' | b'{' | b'~') => {
                c.string()?;
            }
            Some(b'\r' | b'\n') | None => return Err("unbalanced parentheses".to_owned()),
            Some(_) => {
                c.take_while(|b| {
                    is_atom_char(b) || b == b']' || b == b'*' || b == b'%' || b == b'\\'
                });
                if c.peek().is_some_and(|b| !b" ()\r\n".contains(&b)) {
                    return Err("unexpected character".to_owned());
                }
            }
        }
    }
    Ok(())
}

fn list(c: &mut Cursor<'_>, lsub: bool) -> Res<CommandBody> {
    let mut cmd = ListCommand {
        lsub,
        ..ListCommand::default()
    };
    if !lsub && c.peek() == Some(b'(') {
        c.pos += 1;
        while !c.eat(b')') {
            c.eat(b' ');
            match c.atom()?.to_ascii_uppercase().as_str() {
                "SUBSCRIBED" => cmd.subscribed_only = true,
                "SPECIAL-USE" => cmd.special_use_only = true,
                // RFC 5258 §3.1: REMOTE and RECURSIVEMATCH do not change what calm lists.
                "REMOTE" | "RECURSIVEMATCH" => {}
                other => return Err(format!("unknown LIST selection option {other}")),
            }
        }
        c.sp()?;
    }
    cmd.reference = c.mailbox()?;
    c.sp()?;
    if !lsub && c.eat(b'(') {
        loop {
            cmd.patterns.push(list_pattern(c)?);
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    } else {
        cmd.patterns.push(list_pattern(c)?);
    }
    if !lsub && c.eat(b' ') {
        let word = c.atom()?;
        if !word.eq_ignore_ascii_case("RETURN") {
            return Err("expected RETURN".to_owned());
        }
        c.sp()?;
        c.expect(b'(')?;
        while !c.eat(b')') {
            c.eat(b' ');
            let option = c.atom()?.to_ascii_uppercase();
            match option.as_str() {
                "SUBSCRIBED" => cmd.return_subscribed = true,
                "CHILDREN" | "SPECIAL-USE" => {}
                "STATUS" => {
                    c.sp()?;
                    cmd.return_status = status_items(c)?;
                }
                _ => return Err(format!("unknown LIST return option {option}")),
            }
        }
    }
    Ok(CommandBody::List(cmd))
}

/// RFC 3501 §9 `list-mailbox`: an atom with `%`, `*` and `]` allowed, or a string.
fn list_pattern(c: &mut Cursor<'_>) -> Res<String> {
    let raw = match c.peek() {
        Some(b'"' | b'{' | b'~') => {
            String::from_utf8(c.string()?).map_err(|_| "pattern is not UTF-8".to_owned())?
        }
        _ => {
            let atom = c.take_while(|b| is_atom_char(b) || b"%*]".contains(&b));
            if atom.is_empty() {
                return Err("expected a mailbox pattern".to_owned());
            }
            String::from_utf8_lossy(atom).into_owned()
        }
    };
    if c.utf8_names {
        return Ok(raw);
    }
    mutf7::decode(&raw).ok_or_else(|| "bad modified UTF-7 pattern".to_owned())
}

fn status(c: &mut Cursor<'_>) -> Res<CommandBody> {
    let mailbox = c.mailbox()?;
    c.sp()?;
    let items = status_items(c)?;
    Ok(CommandBody::Status { mailbox, items })
}

fn status_items(c: &mut Cursor<'_>) -> Res<Vec<StatusItem>> {
    c.expect(b'(')?;
    let mut items = Vec::new();
    loop {
        let item = match c.atom()?.to_ascii_uppercase().as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            "SIZE" => StatusItem::Size,
            "DELETED" => StatusItem::Deleted,
            "HIGHESTMODSEQ" => StatusItem::HighestModseq,
            other => return Err(format!("unknown STATUS item {other}")),
        };
        items.push(item);
        if c.eat(b')') {
            return Ok(items);
        }
        c.sp()?;
    }
}

fn append(c: &mut Cursor<'_>) -> Res<CommandBody> {
    let mailbox = c.mailbox()?;
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        let flags = c.flag_list()?;
        c.sp()?;
        flags
    } else {
        Vec::new()
    };
    let date = if c.peek() == Some(b'"') {
        let date = c.date_time()?;
        c.sp()?;
        Some(date)
    } else {
        None
    };
    let message = c.literal()?.to_vec();
    Ok(CommandBody::Append {
        mailbox,
        flags,
        date,
        message,
    })
}

fn enable(c: &mut Cursor<'_>) -> Res<CommandBody> {
    let mut capabilities = vec![c.atom()?.to_ascii_uppercase()];
    while c.eat(b' ') {
        capabilities.push(c.atom()?.to_ascii_uppercase());
    }
    Ok(CommandBody::Enable { capabilities })
}

fn id(c: &mut Cursor<'_>) -> Res<CommandBody> {
    if c.peek() == Some(b'(') {
        skip_parenthesized(c)?;
    } else if !c.atom()?.eq_ignore_ascii_case("NIL") {
        return Err("expected a parameter list or NIL".to_owned());
    }
    Ok(CommandBody::Id)
}

#[cfg(test)]
mod tests;
