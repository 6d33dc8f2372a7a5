//! [`forwarded_original`]: the message a user forwarded to a spam report address.
//!
//! Mail clients forward in three ways: as an attachment (`message/rfc822`, which keeps the
//! original byte for byte), inline with the full headers pasted into the body ("show
//! original", then forward), or redirected (the original re-sent with `Resent-*` fields
//! prepended). The report is only useful with the headers calm added on arrival
//! (`X-Spam-Report`, `X-Calm-Policy`), which name the rules to blame.

use mail_parser::MessageParser;

/// Header fields a full header block pasted inline begins with: trace fields come first in a
/// delivered message (RFC 5321 §4.4), and calm's mailboxes add `Return-Path` and
/// `Delivered-To` above them.
const FIRST_FIELDS: [&str; 3] = ["return-path:", "delivered-to:", "received:"];

/// The original message inside a report: the first attached `message/rfc822` part, else a
/// full header block pasted inline (from its first trace field to the end of that text part,
/// with CRLF line ends), else the report itself (a redirect).
pub fn forwarded_original(report: &[u8]) -> Vec<u8> {
    let Some(msg) = MessageParser::default().parse(report) else {
        return report.to_vec();
    };
    if let Some(inner) = msg.attachments().find_map(|part| part.message()) {
        return inner.raw_message().to_vec();
    }
    for i in 0..msg.text_body_count() {
        if let Some(text) = msg.body_text(i)
            && let Some(inline) = pasted_headers(&text)
        {
            return inline;
        }
    }
    report.to_vec()
}

/// The text from the first line that starts a header block to the end, with CRLF line ends.
fn pasted_headers(text: &str) -> Option<Vec<u8>> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let lower = line
            .trim_start_matches('>')
            .trim_start()
            .to_ascii_lowercase();
        if FIRST_FIELDS.iter().any(|f| lower.starts_with(f)) {
            let rest = &text[offset..];
            let crlf = rest.replace("\r\n", "\n").replace('\n', "\r\n");
            return Some(crlf.into_bytes());
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::forwarded_original;

    const ORIGINAL: &str = "Return-Path: <a@example.org>\r\nReceived: from x by y\r\n\
        X-Spam-Report: \r\n\t*  3.0 PRIZE prize talk\r\nSubject: prize\r\n\r\nYou won.\r\n";

    #[test]
    fn an_attached_message_comes_out_whole() {
        let report = format!(
            "From: bob@example.test\r\nSubject: Fwd: prize\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nnot spam!\r\n--b\r\n\
             Content-Type: message/rfc822\r\n\r\n{ORIGINAL}\r\n--b--\r\n"
        );
        let out = String::from_utf8(forwarded_original(report.as_bytes())).unwrap();
        assert!(out.starts_with("Return-Path: <a@example.org>\r\n"), "{out}");
        assert!(out.contains("PRIZE") && !out.contains("not spam!"), "{out}");
    }

    #[test]
    fn pasted_headers_are_found_in_the_text() {
        let report = format!(
            "From: bob@example.test\r\nSubject: Fwd: prize\r\n\r\nThis is fine.\r\n\r\n{}",
            ORIGINAL.replace("\r\n", "\n")
        );
        let out = String::from_utf8(forwarded_original(report.as_bytes())).unwrap();
        assert!(
            out.starts_with("Return-Path:") && out.contains("\r\n\t*  3.0 PRIZE"),
            "{out}"
        );
    }

    #[test]
    fn a_redirect_is_the_original_itself() {
        let report = format!("Resent-From: bob@example.test\r\n{ORIGINAL}");
        assert_eq!(forwarded_original(report.as_bytes()), report.as_bytes());
        assert_eq!(forwarded_original(b""), b"");
    }
}
