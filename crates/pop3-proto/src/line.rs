//! [`LineReader`]: splits the client's byte stream into command lines.

/// RFC 2449 §4: "Keywords and arguments ... a command line is limited to 255 octets,
/// including the terminating CRLF."
pub const COMMAND_LINE_LIMIT: usize = 255;
/// SASL response lines (RFC 5034 §4) carry base64 and are not bound by the 255-octet limit;
/// this bounds memory all the same.
pub const SASL_LINE_LIMIT: usize = 4096;

/// Why a line could not be returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Longer than the reader's limit; it was discarded up to its line end.
    #[error("line too long")]
    TooLong,
}

/// Splits bytes into lines ending in LF (an optional CR before it is removed).
///
/// RFC 1939 §3 asks for CRLF, but unlike SMTP no message data ever comes from a POP3 client,
/// so accepting a bare LF cannot smuggle anything and helps hand-typed sessions. Memory stays
/// bounded: an overlong line is dropped as it arrives and reported once at its end.
#[derive(Debug, Clone)]
pub struct LineReader {
    buf: Vec<u8>,
    pos: usize,
    line: Vec<u8>,
    discarding: bool,
    limit: usize,
}

impl Default for LineReader {
    fn default() -> Self {
        LineReader::new(SASL_LINE_LIMIT)
    }
}

impl LineReader {
    /// A reader for lines of at most `limit` octets including the line end.
    pub fn new(limit: usize) -> LineReader {
        LineReader {
            buf: Vec::new(),
            pos: 0,
            line: Vec::new(),
            discarding: false,
            limit: limit.max(2),
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next line without its line end, an error, or `None` if more bytes are needed.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, LineError>> {
        while let Some(&b) = self.buf.get(self.pos) {
            self.pos += 1;
            if b == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if std::mem::take(&mut self.discarding) {
                    return Some(Err(LineError::TooLong));
                }
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(Ok(line));
            }
            if self.discarding {
                continue;
            }
            // +1 for the LF still to come (the CR, if any, is already in `line`).
            if self.line.len() + 1 >= self.limit {
                self.discarding = true;
                self.line = Vec::new();
            } else {
                self.line.push(b);
            }
        }
        None
    }

    /// Forgets everything buffered. After STLS this is what keeps plaintext sent behind the
    /// command from being executed inside TLS (RFC 2595 §4, the CVE-2011-0411 class).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.line.clear();
        self.discarding = false;
    }

    /// True if unframed bytes are buffered or a line is partly read.
    pub fn has_buffered(&self) -> bool {
        self.pos < self.buf.len() || !self.line.is_empty() || self.discarding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(r: &mut LineReader) -> Vec<Result<Vec<u8>, LineError>> {
        std::iter::from_fn(|| r.next_line()).collect()
    }

    #[test]
    fn frames_crlf_and_lf_lines_across_pushes() {
        let mut r = LineReader::default();
        r.push(b"USER a\r\nST");
        assert_eq!(r.next_line(), Some(Ok(b"USER a".to_vec())));
        assert_eq!(r.next_line(), None);
        assert!(r.has_buffered());
        r.push(b"AT\nNOOP\r");
        assert_eq!(r.next_line(), Some(Ok(b"STAT".to_vec())));
        assert_eq!(r.next_line(), None);
        r.push(b"\n");
        assert_eq!(lines(&mut r), vec![Ok(b"NOOP".to_vec())]);
        assert!(!r.has_buffered());
    }

    #[test]
    fn overlong_lines_are_discarded_and_reported_once() {
        let mut r = LineReader::new(8);
        r.push(b"123456\r\n");
        assert_eq!(
            r.next_line(),
            Some(Ok(b"123456".to_vec())),
            "exactly 8 with CRLF"
        );
        r.push(&[b'x'; 100_000]);
        assert_eq!(r.next_line(), None);
        assert!(r.line.is_empty(), "memory stays bounded");
        r.push(b"\r\nQUIT\r\n");
        assert_eq!(
            lines(&mut r),
            vec![Err(LineError::TooLong), Ok(b"QUIT".to_vec())]
        );
    }

    #[test]
    fn clear_drops_pipelined_plaintext() {
        let mut r = LineReader::default();
        r.push(b"STLS\r\nUSER evil\r\nPA");
        assert_eq!(r.next_line(), Some(Ok(b"STLS".to_vec())));
        r.clear();
        assert!(!r.has_buffered());
        assert_eq!(r.next_line(), None);
    }
}
