//! [`BodyEncoder`]: a message as a POP3 multi-line response body, streamed chunk by chunk.
//!
//! RFC 1939 §3: each line ends in CRLF; a line that starts with `.` gets one more `.`
//! ("byte-stuffing"); the response ends with `.` CRLF. Maildir files may hold bare LF line
//! ends (Dovecot stores LF), so bare LFs become CRLF here, which is also how
//! [`crate::Listing::octets`] must be counted (RFC822.SIZE).

/// Encodes one message (RETR) or its header and first lines (TOP, RFC 1939 §7).
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    /// For TOP: body lines still to send; `None` for RETR.
    lines_left: Option<u32>,
    in_header: bool,
    at_line_start: bool,
    line_has_content: bool,
    prev_cr: bool,
    done: bool,
}

impl BodyEncoder {
    /// RETR: the whole message.
    pub fn full() -> BodyEncoder {
        BodyEncoder::new(None)
    }

    /// TOP: the header, the blank line, then at most `lines` body lines.
    pub fn top(lines: u32) -> BodyEncoder {
        BodyEncoder::new(Some(lines))
    }

    fn new(lines_left: Option<u32>) -> BodyEncoder {
        BodyEncoder {
            lines_left,
            in_header: true,
            at_line_start: true,
            line_has_content: false,
            prev_cr: false,
            done: false,
        }
    }

    /// True once TOP has all it needs: the caller may stop reading the file.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Encodes the next chunk of the file into `out`. Input after [`BodyEncoder::is_done`] is
    /// ignored.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len() + chunk.len() / 32);
        for &b in chunk {
            if self.done {
                return;
            }
            if b == b'\n' {
                if !self.prev_cr {
                    out.push(b'\r');
                }
                out.push(b'\n');
                self.end_line();
            } else {
                if self.at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                self.at_line_start = false;
                self.line_has_content |= b != b'\r';
            }
            self.prev_cr = b == b'\r';
        }
    }

    fn end_line(&mut self) {
        let empty = !self.line_has_content;
        self.at_line_start = true;
        self.line_has_content = false;
        if self.in_header {
            // RFC 5322 §2.1: the header ends at the first empty line.
            if empty {
                self.in_header = false;
                self.done = self.lines_left == Some(0);
            }
            return;
        }
        if let Some(left) = self.lines_left.as_mut() {
            *left = left.saturating_sub(1);
            self.done = *left == 0;
        }
    }

    /// Ends the response: completes a last line without line end, then `.` CRLF.
    pub fn finish(self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// Encodes a whole message at once (tests, small messages).
pub fn encode_message(message: &[u8], top: Option<u32>) -> Vec<u8> {
    let mut encoder = BodyEncoder::new(top);
    let mut out = Vec::with_capacity(message.len() + 16);
    encoder.push(message, &mut out);
    encoder.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(message: &[u8], top: Option<u32>) -> String {
        String::from_utf8(encode_message(message, top)).unwrap()
    }

    #[test]
    fn byte_stuffs_lines_starting_with_a_dot() {
        assert_eq!(
            enc(b"Subject: x\r\n\r\n.\r\n..two\r\n.\r\nend.\r\n", None),
            "Subject: x\r\n\r\n..\r\n...two\r\n..\r\nend.\r\n.\r\n"
        );
        assert_eq!(enc(b".starts", None), "..starts\r\n.\r\n");
    }

    #[test]
    fn bare_lf_becomes_crlf_and_a_missing_last_line_end_is_added() {
        assert_eq!(
            enc(b"A: 1\n\nbody\n.x", None),
            "A: 1\r\n\r\nbody\r\n..x\r\n.\r\n"
        );
        assert_eq!(enc(b"", None), ".\r\n");
    }

    #[test]
    fn top_sends_header_blank_line_and_n_lines() {
        let msg = b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";
        assert_eq!(enc(msg, Some(0)), "A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(enc(msg, Some(2)), "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
        assert_eq!(enc(msg, Some(99)), enc(msg, None));
        // No blank line at all: the whole message is header.
        assert_eq!(enc(b"A: 1\nB: 2\n", Some(0)), "A: 1\r\nB: 2\r\n.\r\n");
        // A blank line made of LF only, or CRLF, both end the header.
        assert_eq!(enc(b"A: 1\n\nl1\nl2\n", Some(1)), "A: 1\r\n\r\nl1\r\n.\r\n");
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let msg = b"A: 1\r\n\r\n.a\r\n.\r\nb\nc\r\n";
        let whole = encode_message(msg, None);
        for split in 0..msg.len() {
            for top in [None, Some(1)] {
                let mut e = BodyEncoder::new(top);
                let mut out = Vec::new();
                e.push(&msg[..split], &mut out);
                e.push(&msg[split..], &mut out);
                e.finish(&mut out);
                let expected = if top.is_none() {
                    whole.clone()
                } else {
                    encode_message(msg, top)
                };
                assert_eq!(out, expected, "split at {split}");
            }
        }
    }

    #[test]
    fn is_done_stops_top_early() {
        let mut e = BodyEncoder::top(1);
        let mut out = Vec::new();
        e.push(b"A: 1\r\n\r\nfirst\r\n", &mut out);
        assert!(e.is_done());
        e.push(b"second\r\n", &mut out);
        assert!(!String::from_utf8(out).unwrap().contains("second"));
    }

    proptest::proptest! {
        /// Whatever the file holds, the response has no line starting with a lone `.` before
        /// the terminator, and unstuffing gives back the CRLF-normalised message.
        #[test]
        fn output_is_well_framed(msg in proptest::collection::vec(proptest::sample::select(vec![b'.', b'\r', b'\n', b'a']), 0..64)) {
            let out = encode_message(&msg, None);
            proptest::prop_assert!(out.ends_with(b".\r\n"));
            let body = &out[..out.len() - 3];
            let text = String::from_utf8_lossy(body).into_owned();
            let mut unstuffed = Vec::new();
            for line in text.split_inclusive("\r\n") {
                proptest::prop_assert!(line != ".\r\n", "early terminator in {text:?}");
                unstuffed.extend_from_slice(line.strip_prefix('.').unwrap_or(line).as_bytes());
            }
            let mut normal = Vec::new();
            let mut prev = 0u8;
            for &b in &msg {
                if b == b'\n' && prev != b'\r' { normal.push(b'\r'); }
                normal.push(b);
                prev = b;
            }
            if !normal.is_empty() && !normal.ends_with(b"\n") { normal.extend_from_slice(b"\r\n"); }
            proptest::prop_assert_eq!(unstuffed, normal);
        }
    }
}
