//! Modified UTF-7 (RFC 3501 §5.1.3), the encoding Dovecot uses for folder directory names in
//! Maildir++ (unless configured for UTF-8). calm's API takes UTF-8 names and stores them in
//! this form so both servers see the same folder.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// RFC 3501 §5.1.3: base64 with `,` instead of `/`, and no padding.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::IMAP_MUTF7,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Encodes a UTF-8 name: printable ASCII stays as is (`&` becomes `&-`), every other run of
/// characters becomes `&` + modified base64 of its UTF-16BE form + `-`.
pub(crate) fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut run);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut out, &mut run);
    out
}

fn flush(out: &mut String, run: &mut Vec<u16>) {
    if run.is_empty() {
        return;
    }
    let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    out.push_str(&ENGINE.encode(bytes));
    out.push('-');
    run.clear();
}

/// Decodes a modified UTF-7 name; `None` if it is not valid (RFC 3501 §5.1.3 forbids encoding
/// printable ASCII, so `&AGE-` for "a" is invalid too: a name has exactly one encoding).
pub(crate) fn decode(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        let (plain, tail) = rest.split_at(pos);
        push_plain(&mut out, plain)?;
        let tail = tail.get(1..)?;
        let end = tail.find('-')?;
        let (b64, after) = tail.split_at(end);
        if b64.is_empty() {
            out.push('&');
        } else {
            out.push_str(&decode_run(b64)?);
        }
        rest = after.get(1..)?;
    }
    push_plain(&mut out, rest)?;
    Some(out)
}

fn push_plain(out: &mut String, plain: &str) -> Option<()> {
    if !plain.chars().all(|c| (' '..='~').contains(&c)) {
        return None;
    }
    out.push_str(plain);
    Some(())
}

fn decode_run(b64: &str) -> Option<String> {
    let bytes = ENGINE.decode(b64).ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    let text = String::from_utf16(&units).ok()?;
    // Printable ASCII must not be encoded; a run that does is not canonical.
    if text.chars().any(|c| (' '..='~').contains(&c)) {
        return None;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_3501_examples() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語".
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        assert_eq!(encode(name), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(
            decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some(name)
        );
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(decode("A&-B").as_deref(), Some("A&B"));
        assert_eq!(encode("Entw\u{fc}rfe"), "Entw&APw-rfe");
    }

    #[test]
    fn rejects_invalid_encodings() {
        for bad in [
            "&",
            "&U,BTFw",
            "&AGE-",
            "&A-",
            "caf\u{e9}",
            "&Jjo!-",
            "&2D3e-",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(name in "\\PC{0,20}") {
            prop_assert_eq!(decode(&encode(&name)), Some(name));
        }

        #[test]
        fn decode_never_panics(text in "\\PC{0,30}") {
            let _ = decode(&text);
        }
    }
}
