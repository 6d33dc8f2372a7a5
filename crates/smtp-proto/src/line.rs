//! [`LineReader`]: CRLF-only line framing for command lines (RFC 5321 §2.3.8, §4.1.1).

/// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
pub const COMMAND_LINE_LIMIT: usize = 512;
/// The limit for lines that legitimately run longer: AUTH with an initial response, SASL
/// responses and MAIL/RCPT with ESMTP parameters (RFC 5321 §4.5.3.1.4 lets extensions raise it).
pub const LONG_LINE_LIMIT: usize = 4096;

/// Why a line could not be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// A LF not preceded by CR. RFC 5321 §2.3.8 allows only CRLF; accepting a bare LF is what
    /// makes SMTP smuggling (CVE-2023-51764 class) possible, so the connection is closed.
    #[error("bare LF in command line")]
    BareLf,
    /// A CR not followed by LF (same reasoning as [`LineError::BareLf`]).
    #[error("bare CR in command line")]
    BareCr,
    /// The line exceeded the limit; it has been discarded up to and including its CRLF.
    #[error("line too long")]
    TooLong,
}

/// Splits a byte stream into CRLF-terminated lines.
///
/// Feed bytes with [`LineReader::push`], take lines with [`LineReader::next_line`]. Memory stays
/// bounded by the limit: an overlong line is dropped as it arrives and reported once its CRLF is
/// seen, so the reader stays in step with the client.
#[derive(Debug, Clone)]
pub struct LineReader {
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    pos: usize,
    /// The current line so far: scanned, not yet returned.
    line: Vec<u8>,
    /// The last byte scanned was CR.
    pending_cr: bool,
    /// The current line went over the limit and is being discarded.
    discarding: bool,
    limit: usize,
}

impl Default for LineReader {
    fn default() -> Self {
        LineReader::new(LONG_LINE_LIMIT)
    }
}

impl LineReader {
    /// A reader that accepts lines of at most `limit` octets including CRLF.
    pub fn new(limit: usize) -> LineReader {
        LineReader {
            buf: Vec::new(),
            pos: 0,
            line: Vec::new(),
            pending_cr: false,
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

    /// The next complete line without its CRLF, an error, or `None` if more bytes are needed.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, LineError>> {
        while let Some(&b) = self.buf.get(self.pos) {
            self.pos += 1;
            if self.pending_cr {
                self.pending_cr = false;
                if b != b'\n' {
                    return Some(Err(LineError::BareCr));
                }
                let line = std::mem::take(&mut self.line);
                if std::mem::take(&mut self.discarding) {
                    return Some(Err(LineError::TooLong));
                }
                return Some(Ok(line));
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => return Some(Err(LineError::BareLf)),
                _ if self.discarding => {}
                // +2 for the CRLF still to come.
                _ if self.line.len() + 2 >= self.limit => {
                    self.discarding = true;
                    self.line = Vec::new();
                }
                _ => self.line.push(b),
            }
        }
        None
    }

    /// Removes and returns every byte not yet framed (for handing over to the DATA decoder).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.pos.min(self.buf.len()));
        self.clear();
        rest
    }

    /// Forgets every buffered byte and any partial line. After STARTTLS this is what stops
    /// plaintext sent behind the command from being executed inside TLS (CVE-2011-0411 class).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.line.clear();
        self.pending_cr = false;
        self.discarding = false;
    }

    /// True if bytes are buffered that have not been framed yet, or a line is partly read.
    pub fn has_buffered(&self) -> bool {
        self.pos < self.buf.len() || !self.line.is_empty() || self.pending_cr || self.discarding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(r: &mut LineReader) -> Vec<Result<Vec<u8>, LineError>> {
        std::iter::from_fn(|| r.next_line()).collect()
    }

    #[test]
    fn frames_crlf_lines_across_pushes() {
        let mut r = LineReader::default();
        r.push(b"EHLO a\r\nNO");
        assert_eq!(r.next_line(), Some(Ok(b"EHLO a".to_vec())));
        assert_eq!(r.next_line(), None);
        r.push(b"OP\r");
        assert_eq!(r.next_line(), None);
        r.push(b"\n\r\n");
        assert_eq!(lines(&mut r), vec![Ok(b"NOOP".to_vec()), Ok(vec![])]);
        assert!(!r.has_buffered());
    }

    #[test]
    fn bare_lf_and_bare_cr_are_errors() {
        let mut r = LineReader::default();
        r.push(b"NOOP\n");
        assert_eq!(r.next_line(), Some(Err(LineError::BareLf)));
        let mut r = LineReader::default();
        r.push(b"NO\rOP\r\n");
        assert_eq!(r.next_line(), Some(Err(LineError::BareCr)));
        let mut r = LineReader::default();
        r.push(b"NOOP\r");
        assert_eq!(r.next_line(), None);
        r.push(b"\r\n");
        assert_eq!(r.next_line(), Some(Err(LineError::BareCr)));
        let mut r = LineReader::default();
        r.push(b"\n");
        assert_eq!(r.next_line(), Some(Err(LineError::BareLf)));
    }

    #[test]
    fn overlong_line_is_discarded_then_reported_once() {
        let mut r = LineReader::new(16);
        r.push(&[b'x'; 14]);
        r.push(b"\r\n");
        assert_eq!(
            r.next_line(),
            Some(Ok(vec![b'x'; 14])),
            "exactly at the limit"
        );
        r.push(&[b'y'; 15]);
        r.push(&[b'y'; 10_000]);
        assert_eq!(r.next_line(), None);
        assert!(r.line.is_empty(), "discarded bytes are not kept");
        r.push(b"\r\nQUIT\r\n");
        assert_eq!(
            lines(&mut r),
            vec![Err(LineError::TooLong), Ok(b"QUIT".to_vec())]
        );
    }

    #[test]
    fn bare_lf_inside_discarded_line_still_errors() {
        let mut r = LineReader::new(8);
        r.push(b"0123456789\n");
        assert_eq!(r.next_line(), Some(Err(LineError::BareLf)));
    }

    #[test]
    fn take_buffered_and_clear() {
        let mut r = LineReader::default();
        r.push(b"DATA\r\nSubject: x\r\n");
        assert_eq!(r.next_line(), Some(Ok(b"DATA".to_vec())));
        assert_eq!(r.take_buffered(), b"Subject: x\r\n".to_vec());
        assert_eq!(r.next_line(), None);
        r.push(b"STARTTLS\r\nRSET\r\n");
        assert_eq!(r.next_line(), Some(Ok(b"STARTTLS".to_vec())));
        assert!(r.has_buffered());
        r.clear();
        assert!(!r.has_buffered());
        assert_eq!(r.next_line(), None);
    }
}
