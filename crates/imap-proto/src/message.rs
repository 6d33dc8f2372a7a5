//! Cutting a message into the pieces FETCH returns (RFC 3501 §6.4.5 `BODY[section]`) and
//! looking inside it for SEARCH. ENVELOPE and BODYSTRUCTURE live in [`structure`].

use mail_parser::{MessageParser, PartType};

use crate::command::{Section, SectionText};

pub mod structure;

/// Splits a message into its header (with the empty line that ends it) and its body. A
/// message without an empty line is all header (RFC 5322 §3.5: the body is optional).
pub fn split(msg: &[u8]) -> (&[u8], &[u8]) {
    let mut start = 0;
    while start < msg.len() {
        let line_end = msg
            .get(start..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
            .map_or(msg.len(), |i| start + i + 1);
        let line = msg.get(start..line_end).unwrap_or_default();
        if line == b"\r\n" || line == b"\n" {
            return (
                msg.get(..line_end).unwrap_or_default(),
                msg.get(line_end..).unwrap_or_default(),
            );
        }
        start = line_end;
    }
    (msg, &[])
}

/// The header fields of `header` (unfolded lines kept as they are), each with its name.
fn fields(header: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out: Vec<(&[u8], &[u8])> = Vec::new();
    let mut start = 0;
    let mut field_start = None;
    fn close<'a>(
        header: &'a [u8],
        from: Option<usize>,
        to: usize,
        out: &mut Vec<(&'a [u8], &'a [u8])>,
    ) {
        if let Some(from) = from {
            let raw = header.get(from..to).unwrap_or_default();
            let name_end = raw.iter().position(|&b| b == b':').unwrap_or(0);
            out.push((raw.get(..name_end).unwrap_or_default(), raw));
        }
    }
    while start < header.len() {
        let end = header
            .get(start..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
            .map_or(header.len(), |i| start + i + 1);
        let line = header.get(start..end).unwrap_or_default();
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            close(header, field_start, start, &mut out);
            let is_field = line.contains(&b':') && line != b"\r\n" && line != b"\n";
            field_start = is_field.then_some(start);
        }
        start = end;
    }
    close(header, field_start, header.len(), &mut out);
    out
}

/// `HEADER.FIELDS` (`keep: true`) or `HEADER.FIELDS.NOT` (`keep: false`): the matching
/// fields, then the empty line (RFC 3501 §6.4.5: "the blank line ... is included").
pub fn header_fields(header: &[u8], names: &[String], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, raw) in fields(header) {
        let trimmed = name.trim_ascii_end();
        let listed = names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(trimmed));
        if listed == keep {
            out.extend_from_slice(raw);
            if !raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The unfolded values of every field called `name` in `header`.
pub fn header_values(header: &[u8], name: &str) -> Vec<String> {
    fields(header)
        .into_iter()
        .filter(|(n, _)| n.trim_ascii_end().eq_ignore_ascii_case(name.as_bytes()))
        .map(|(n, raw)| {
            let value = raw.get(n.len() + 1..).unwrap_or_default();
            let text = String::from_utf8_lossy(value);
            text.split(['\r', '\n'])
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("")
                .trim()
                .to_owned()
        })
        .collect()
}

/// The bytes of a section, or `None` if the message has no such part (answered with an
/// empty string, as Dovecot does).
pub fn section(msg: &[u8], section: &Section) -> Option<Vec<u8>> {
    if section.part.is_empty() {
        let (header, body) = split(msg);
        return Some(match &section.text {
            None => msg.to_vec(),
            Some(SectionText::Header) => header.to_vec(),
            Some(SectionText::Text) => body.to_vec(),
            Some(SectionText::HeaderFields(names)) => header_fields(header, names, true),
            Some(SectionText::HeaderFieldsNot(names)) => header_fields(header, names, false),
            Some(SectionText::Mime) => return None,
        });
    }
    part_section(msg, section)
}

/// A numbered part, found through mail-parser's part offsets.
fn part_section(msg: &[u8], section: &Section) -> Option<Vec<u8>> {
    let parsed = MessageParser::default().parse(msg)?;
    let mut current = parsed.parts.first()?;
    let mut top = true;
    for &n in &section.part {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        current = match &current.body {
            PartType::Multipart(ids) => {
                parsed.parts.get(usize::try_from(*ids.get(index)?).ok()?)?
            }
            // RFC 3501 §6.4.5: a non-multipart message has part 1 (its body).
            _ if top && index == 0 => current,
            _ => return None,
        };
        top = false;
    }
    let raw = parsed.raw_message();
    let slice = |a: u32, b: u32| raw.get(a as usize..b as usize).map(<[u8]>::to_vec);
    match &section.text {
        None => slice(current.offset_body, current.offset_end),
        Some(SectionText::Mime) => slice(current.offset_header, current.offset_body),
        Some(SectionText::Header | SectionText::Text) => match &current.body {
            PartType::Message(inner) => {
                let sub = Section {
                    part: Vec::new(),
                    text: section.text.clone(),
                };
                self::section(inner.raw_message(), &sub)
            }
            _ => None,
        },
        Some(SectionText::HeaderFields(_) | SectionText::HeaderFieldsNot(_)) => None,
    }
}

/// `<offset.length>` applied to a section (RFC 3501 §6.4.5: past the end gives empty).
pub fn partial(data: &[u8], offset: u32, length: u32) -> &[u8] {
    let start = (offset as usize).min(data.len());
    let end = start.saturating_add(length as usize).min(data.len());
    data.get(start..end).unwrap_or_default()
}

/// True if `needle` occurs in `hay`, ASCII case-insensitively (RFC 3501 §6.4.4: "a
/// substring match ... case-insensitive").
pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests;
