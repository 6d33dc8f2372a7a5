//! [`DataDecoder`]: the DATA phase (RFC 5321 §4.1.1.4, §4.5.2), strict about line endings.

/// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
pub const TEXT_LINE_LIMIT: usize = 1000;

/// Why message data was refused. Both variants mean the client and server may disagree on where
/// the message ends, so the server answers `521` and closes rather than guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A LF not preceded by CR (SMTP smuggling defence, CVE-2023-51764 class).
    #[error("bare LF in message data")]
    BareLf,
    /// A CR not followed by LF.
    #[error("bare CR in message data")]
    BareCr,
}

/// Progress of [`DataDecoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataStatus {
    /// All input was consumed; the end marker has not been seen yet.
    NeedMore,
    /// `CRLF.CRLF` was seen after `consumed` bytes of this input; the rest belongs to the next
    /// command (a pipelining client may send it right behind the message).
    Done {
        /// Bytes of the input that belonged to the message, end marker included.
        consumed: usize,
    },
}

/// Decodes message data: removes dot-stuffing and finds the end at `CRLF.CRLF` only.
///
/// Every bare CR or bare LF is an error, so `<LF>.<LF>`, `<LF>.<CR><LF>`, `<CR><LF>.<LF>` and
/// `<CR>.<CR>` can never end or split a message. The decoder also notes lines over 1000 octets
/// ([`DataDecoder::saw_long_line`]) without failing, so the message can be refused cleanly at
/// its end without losing sync. The DATA command's own CRLF counts as the start of the first
/// line, which is why a message consisting only of `.CRLF` is empty.
#[derive(Debug, Clone)]
pub struct DataDecoder {
    /// At the start of a line.
    line_start: bool,
    /// The current line began with a dot that has been removed.
    dot_line: bool,
    /// Octets on the current line so far (before removing a stuffing dot).
    line_len: usize,
    pending_cr: bool,
    long_line: bool,
    total: u64,
}

impl Default for DataDecoder {
    fn default() -> Self {
        DataDecoder::new()
    }
}

impl DataDecoder {
    /// A decoder positioned right after the `354` reply.
    pub fn new() -> DataDecoder {
        DataDecoder {
            line_start: true,
            dot_line: false,
            line_len: 0,
            pending_cr: false,
            long_line: false,
            total: 0,
        }
    }

    /// Decodes `input`, appending message bytes (CRLF line ends kept) to `out`.
    ///
    /// `out` may be `None` to count without storing: used once a message is over the size limit,
    /// so the rest is consumed and the client gets its `552` at the end (RFC 5321 §4.5.3.1.10).
    pub fn decode(
        &mut self,
        input: &[u8],
        mut out: Option<&mut Vec<u8>>,
    ) -> Result<DataStatus, DataError> {
        for (i, &b) in input.iter().enumerate() {
            if std::mem::take(&mut self.pending_cr) {
                if b != b'\n' {
                    return Err(DataError::BareCr);
                }
                if self.dot_line && self.line_len == 1 {
                    return Ok(DataStatus::Done { consumed: i + 1 });
                }
                self.emit(&mut out, b"\r\n");
                self.end_line();
                continue;
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => return Err(DataError::BareLf),
                // RFC 5321 §4.5.2: a leading dot is removed; the line "." alone ends the data.
                b'.' if self.line_start => {
                    self.dot_line = true;
                    self.line_start = false;
                    self.line_len = 1;
                }
                _ => {
                    self.line_start = false;
                    self.line_len += 1;
                    self.emit(&mut out, &[b]);
                }
            }
        }
        Ok(DataStatus::NeedMore)
    }

    fn emit(&mut self, out: &mut Option<&mut Vec<u8>>, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if let Some(out) = out {
            out.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self) {
        // line_len excludes CRLF; the limit includes it.
        if self.line_len + 2 > TEXT_LINE_LIMIT {
            self.long_line = true;
        }
        self.line_start = true;
        self.dot_line = false;
        self.line_len = 0;
    }

    /// True if some line was longer than RFC 5321 §4.5.3.1.6 allows.
    pub fn saw_long_line(&self) -> bool {
        self.long_line
    }

    /// Decoded octets so far (whether stored or not).
    pub fn size(&self) -> u64 {
        self.total
    }
}

/// Dot-stuffs `body` for sending (RFC 5321 §4.5.2) and appends the `.CRLF` end marker.
///
/// `body` must use CRLF line ends; a body not ending in CRLF gets one before the marker.
pub fn dot_stuff(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 64 + 5);
    let mut line_start = true;
    for &b in body {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests;
