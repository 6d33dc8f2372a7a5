//! Cutting a message into the pieces FETCH returns (RFC 3501 §6.4.5 `BODY[section]`) and
//! looking inside it for SEARCH. ENVELOPE and BODYSTRUCTURE live in [`structure`].

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

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

/// The part at a path of part numbers.
fn find_part<'a>(parsed: &'a Message<'a>, path: &[u32]) -> Option<&'a MessagePart<'a>> {
    let mut current = parsed.parts.first()?;
    let mut top = true;
    for &n in path {
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
    Some(current)
}

/// A part's content-transfer-encoding is not one calm can undo (RFC 3516 §4.3
/// `[UNKNOWN-CTE]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown content-transfer-encoding")]
pub struct UnknownCte;

/// `BINARY[part]` (RFC 3516): the part's content with its content-transfer-encoding undone;
/// the whole message for an empty path. `Ok(None)` if there is no such part.
pub fn binary(msg: &[u8], path: &[u32]) -> Result<Option<Vec<u8>>, UnknownCte> {
    if path.is_empty() {
        return Ok(Some(msg.to_vec()));
    }
    let Some(parsed) = MessageParser::default().parse(msg) else {
        return Ok(None);
    };
    let Some(part) = find_part(&parsed, path) else {
        return Ok(None);
    };
    if matches!(part.body, PartType::Multipart(_)) {
        return Ok(None);
    }
    let raw = parsed
        .raw_message()
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    let cte = part
        .content_transfer_encoding()
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    match cte.as_str() {
        "7bit" | "8bit" | "binary" => Ok(Some(raw.to_vec())),
        "base64" => Ok(Some(decode_base64(raw))),
        "quoted-printable" => Ok(Some(decode_qp(raw))),
        _ => Err(UnknownCte),
    }
}

/// Lenient base64: line breaks and other characters outside the alphabet are skipped
/// (RFC 2045 §6.8), and a damaged final quantum is dropped rather than failing the part.
fn decode_base64(raw: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const B64: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let clean: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .collect();
    // A lone final character cannot encode anything.
    let usable = if clean.len() % 4 == 1 {
        clean.len() - 1
    } else {
        clean.len()
    };
    B64.decode(clean.get(..usable).unwrap_or_default())
        .unwrap_or_default()
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` octets and `=` soft line breaks.
fn decode_qp(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    let hex = |c: Option<&u8>| c.and_then(|c| char::from(*c).to_digit(16));
    while let Some(&b) = raw.get(i) {
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        match (raw.get(i + 1), raw.get(i + 2)) {
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(b'\n'), _) => i += 2,
            (h, l) => match (hex(h), hex(l)) {
                (Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            },
        }
    }
    out
}

/// A numbered part, found through mail-parser's part offsets.
fn part_section(msg: &[u8], section: &Section) -> Option<Vec<u8>> {
    let parsed = MessageParser::default().parse(msg)?;
    let current = find_part(&parsed, &section.part)?;
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
