//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3), used by IMAP4rev1 clients that have not
//! enabled UTF-8 (RFC 9051 §5.1 and RFC 6855 let them send UTF-8 instead).

use base64::Engine as _;
use base64::engine::{GeneralPurpose, general_purpose::NO_PAD};

const B64: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::IMAP_MUTF7, NO_PAD);

/// Decodes a name; `None` if it is not valid modified UTF-7. Non-ASCII UTF-8 input is
/// accepted as is (a UTF-8 client).
pub fn decode(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp)?);
        let after = rest.get(amp + 1..)?;
        let dash = after.find('-')?;
        let encoded = after.get(..dash)?;
        if encoded.is_empty() {
            out.push('&');
        } else {
            let bytes = B64.decode(encoded).ok()?;
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            let decoded = char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()?;
            // RFC 3501 §5.1.3: printable ASCII must not be encoded.
            if decoded.chars().any(|ch| (' '..='~').contains(&ch)) {
                return None;
            }
            out.push_str(&decoded);
        }
        rest = after.get(dash + 1..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// Encodes a UTF-8 name for a client that has not enabled UTF-8.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if !run.is_empty() {
            let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&B64.encode(bytes));
            out.push('-');
            run.clear();
        }
    };
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut run, &mut out);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3501_example() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語"
        let utf8 = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        let wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(encode(utf8), wire);
        assert_eq!(decode(wire).as_deref(), Some(utf8));
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(decode("A&-B").as_deref(), Some("A&B"));
    }

    #[test]
    fn refuses_malformed() {
        for bad in ["&", "&Jjo", "&AGE-", "&U,B-", "&////-"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
