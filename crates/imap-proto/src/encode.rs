//! Writing response syntax: strings, mailbox names, flags lists (RFC 3501 §9).

use crate::mutf7;

/// Strings longer than this are sent as literals even if they could be quoted.
const MAX_QUOTED: usize = 256;

/// Appends `s` as a quoted string if it can be one, otherwise as a literal.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() <= MAX_QUOTED && s.iter().all(|&b| (0x20..0x7f).contains(&b));
    if quotable {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal(out, s);
    }
}

/// Appends `s` as a literal `{n}CRLF...`.
pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// Appends `NIL` or the string.
pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Appends a mailbox name: UTF-8 if the client enabled it (RFC 6855, IMAP4rev2), modified
/// UTF-7 otherwise.
pub fn mailbox(out: &mut Vec<u8>, name: &str, utf8: bool) {
    if utf8 {
        string(out, name.as_bytes());
    } else {
        string(out, mutf7::encode(name).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_or_literals() {
        assert_eq!(enc(|o| string(o, b"a \"b\" \\")), r#""a \"b\" \\""#);
        assert_eq!(enc(|o| string(o, b"a\r\nb")), "{4}\r\na\r\nb");
        assert_eq!(enc(|o| nstring(o, None)), "NIL");
        assert_eq!(
            enc(|o| mailbox(o, "Entw\u{fc}rfe", false)),
            "\"Entw&APw-rfe\""
        );
        assert_eq!(
            enc(|o| mailbox(o, "Entw\u{fc}rfe", true)),
            "{9}\r\nEntw\u{fc}rfe"
        );
    }
}
