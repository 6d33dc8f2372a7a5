//! ENVELOPE and BODYSTRUCTURE (RFC 3501 §7.4.2), built with mail-parser.

use mail_parser::{Address, ContentType, MessageParser, MessagePart, MimeHeaders, PartType};

use super::{header_values, split};
use crate::encode::{nstring, string};

/// Nested message/rfc822 and multipart levels beyond this are cut off (hostile messages).
const MAX_DEPTH: u32 = 16;

/// Writes the ENVELOPE of a message: date, subject, from, sender, reply-to, to, cc, bcc,
/// in-reply-to, message-id. Unstructured fields are sent raw (as sent, RFC 2047 words
/// undecoded); addresses as mail-parser reads them.
pub fn envelope(out: &mut Vec<u8>, msg: &[u8]) {
    let (header, _) = split(msg);
    let raw = |name: &str| header_values(header, name).into_iter().next();
    let parsed = MessageParser::default().parse_headers(header);
    out.push(b'(');
    nstring(out, raw("Date").as_deref().map(str::as_bytes));
    out.push(b' ');
    nstring(out, raw("Subject").as_deref().map(str::as_bytes));
    let from = parsed.as_ref().and_then(|p| p.from());
    let field = |p: Option<&Address<'_>>, out: &mut Vec<u8>| {
        out.push(b' ');
        addresses(out, p);
    };
    field(from, out);
    // RFC 3501 §7.4.2: sender and reply-to default to from.
    field(parsed.as_ref().and_then(|p| p.sender()).or(from), out);
    field(parsed.as_ref().and_then(|p| p.reply_to()).or(from), out);
    field(parsed.as_ref().and_then(|p| p.to()), out);
    field(parsed.as_ref().and_then(|p| p.cc()), out);
    field(parsed.as_ref().and_then(|p| p.bcc()), out);
    out.push(b' ');
    nstring(out, raw("In-Reply-To").as_deref().map(str::as_bytes));
    out.push(b' ');
    nstring(out, raw("Message-ID").as_deref().map(str::as_bytes));
    out.push(b')');
}

fn addresses(out: &mut Vec<u8>, address: Option<&Address<'_>>) {
    let Some(address) = address else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    match address {
        Address::List(list) => {
            for addr in list {
                one_address(out, addr.name.as_deref(), addr.address.as_deref());
            }
        }
        Address::Group(groups) => {
            for group in groups {
                // RFC 3501 §7.4.2: a group starts with (NIL NIL "name" NIL), ends with all NIL.
                out.extend_from_slice(b"(NIL NIL ");
                nstring(out, group.name.as_deref().map(str::as_bytes));
                out.extend_from_slice(b" NIL)");
                for addr in &group.addresses {
                    one_address(out, addr.name.as_deref(), addr.address.as_deref());
                }
                out.extend_from_slice(b"(NIL NIL NIL NIL)");
            }
        }
    }
    out.push(b')');
}

fn one_address(out: &mut Vec<u8>, name: Option<&str>, address: Option<&str>) {
    let (mailbox, host) = match address.and_then(|a| a.rsplit_once('@')) {
        Some((m, h)) => (Some(m), Some(h)),
        None => (address, None),
    };
    out.push(b'(');
    // mail-parser hands back decoded names; IMAP4rev1 clients expect the header's 7-bit
    // form, so non-ASCII names go out as one RFC 2047 encoded word again.
    let encoded = name.filter(|n| !n.is_ascii()).map(encoded_word);
    nstring(out, encoded.as_deref().or(name).map(str::as_bytes));
    out.extend_from_slice(b" NIL ");
    nstring(out, mailbox.map(str::as_bytes));
    out.push(b' ');
    nstring(out, host.map(str::as_bytes));
    out.push(b')');
}

/// `=?utf-8?b?...?=` (RFC 2047 §4.1).
fn encoded_word(text: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("=?utf-8?b?{b64}?=")
}

/// Writes BODYSTRUCTURE (`ext: true`) or BODY (`false`) of a message.
pub fn body_structure(out: &mut Vec<u8>, msg: &[u8], ext: bool) {
    match MessageParser::default().parse(msg) {
        Some(parsed) => write_part(out, &parsed, 0, ext, 0),
        None => out.extend_from_slice(
            b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
        ),
    }
}

fn write_part(
    out: &mut Vec<u8>,
    msg: &mail_parser::Message<'_>,
    index: usize,
    ext: bool,
    depth: u32,
) {
    let Some(part) = msg.parts.get(index) else {
        out.extend_from_slice(b"NIL");
        return;
    };
    let ctype = part.content_type();
    if let PartType::Multipart(ids) = &part.body {
        out.push(b'(');
        for &id in ids
            .iter()
            .take(if depth < MAX_DEPTH { usize::MAX } else { 0 })
        {
            write_part(
                out,
                msg,
                usize::try_from(id).unwrap_or(usize::MAX),
                ext,
                depth + 1,
            );
        }
        if ids.is_empty() || depth >= MAX_DEPTH {
            // A multipart needs at least one part in the grammar.
            out.extend_from_slice(b"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
        }
        out.push(b' ');
        let subtype = ctype
            .and_then(|c| c.c_subtype.as_deref())
            .unwrap_or("mixed");
        string(out, subtype.as_bytes());
        if ext {
            out.push(b' ');
            params(out, ctype);
            out.push(b' ');
            disposition(out, part);
            out.extend_from_slice(b" NIL NIL");
        }
        out.push(b')');
        return;
    }
    single_part(out, msg, part, ext, depth);
}

fn single_part(
    out: &mut Vec<u8>,
    msg: &mail_parser::Message<'_>,
    part: &MessagePart<'_>,
    ext: bool,
    depth: u32,
) {
    let ctype = part.content_type();
    let (ty, subtype) = match ctype {
        Some(c) => (c.c_type.as_ref(), c.c_subtype.as_deref().unwrap_or("plain")),
        None => ("text", "plain"),
    };
    let raw = msg.raw_message();
    let body = raw
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    let lines = body.iter().filter(|&&b| b == b'\n').count();
    out.push(b'(');
    string(out, ty.as_bytes());
    out.push(b' ');
    string(out, subtype.as_bytes());
    out.push(b' ');
    match ctype {
        Some(_) => params(out, ctype),
        None => out.extend_from_slice(b"(\"charset\" \"us-ascii\")"),
    }
    out.push(b' ');
    nstring(out, part.content_id().map(str::as_bytes));
    out.push(b' ');
    nstring(out, part.content_description().map(str::as_bytes));
    out.push(b' ');
    let encoding = part.content_transfer_encoding().unwrap_or("7bit");
    string(out, encoding.as_bytes());
    out.extend_from_slice(format!(" {}", body.len()).as_bytes());
    match &part.body {
        PartType::Message(inner) if depth < MAX_DEPTH => {
            out.push(b' ');
            envelope(out, inner.raw_message());
            out.push(b' ');
            write_part(out, inner, 0, ext, depth + 1);
            out.extend_from_slice(format!(" {lines}").as_bytes());
        }
        _ if ty.eq_ignore_ascii_case("text") => {
            out.extend_from_slice(format!(" {lines}").as_bytes())
        }
        _ => {}
    }
    if ext {
        out.extend_from_slice(b" NIL ");
        disposition(out, part);
        out.extend_from_slice(b" NIL NIL");
    }
    out.push(b')');
}

fn params(out: &mut Vec<u8>, ctype: Option<&ContentType<'_>>) {
    let attrs = ctype.and_then(|c| c.attributes.as_ref());
    match attrs {
        Some(attrs) if !attrs.is_empty() => {
            out.push(b'(');
            for (i, attr) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, attr.name.as_bytes());
                out.push(b' ');
                string(out, attr.value.as_bytes());
            }
            out.push(b')');
        }
        _ => out.extend_from_slice(b"NIL"),
    }
}

fn disposition(out: &mut Vec<u8>, part: &MessagePart<'_>) {
    match part.content_disposition() {
        Some(d) => {
            out.push(b'(');
            string(out, d.c_type.as_bytes());
            out.push(b' ');
            params(out, Some(d));
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn envelope_of_simple_message() {
        let msg = b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.example\r\nMessage-Id: <B27397-0100000@Blurdybloop.example>\r\n\r\nHello\r\n";
        assert_eq!(
            text(|o| envelope(o, msg)),
            "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"afternoon meeting\" ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((NIL NIL \"mooch\" \"owatagu.example\")) NIL NIL NIL \"<B27397-0100000@Blurdybloop.example>\")"
        );
        let encoded = b"From: =?iso-8859-1?q?J=F6rg?= <j@example.test>\r\n\r\n";
        assert!(
            text(|o| envelope(o, encoded))
                .contains("((\"=?utf-8?b?SsO2cmc=?=\" NIL \"j\" \"example.test\"))")
        );
        assert_eq!(
            text(|o| envelope(o, b"garbage")),
            "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
        );
    }

    #[test]
    fn body_structure_of_text_and_multipart() {
        let msg = b"Content-Type: text/plain; charset=utf-8\r\n\r\nline 1\r\nline 2\r\n";
        assert_eq!(
            text(|o| body_structure(o, msg, false)),
            "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 16 2)"
        );
        let multi = b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--xx\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=a.png\r\n\r\nAAAA\r\n--xx--\r\n";
        let bs = text(|o| body_structure(o, multi, true));
        assert!(bs.starts_with("((\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL)(\"image\" \"png\" NIL NIL NIL \"base64\" 4 NIL (\"attachment\" (\"filename\" \"a.png\")) NIL NIL) \"mixed\""), "{bs}");
    }
}
