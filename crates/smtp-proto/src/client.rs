//! The client side, without I/O: reading server replies and EHLO capabilities.
//!
//! [`ReplyParser`] turns the bytes a server sends into [`Reply`] values (RFC 5321 §4.2,
//! multi-line aware, RFC 2034 enhanced codes split off), and [`Capabilities`] reads an EHLO
//! answer (RFC 5321 §4.1.1.1). The outbound engine in `calm-outbound` drives them over a socket.
//!
//! ```
//! use calm_smtp_proto::client::{Capabilities, ReplyParser};
//!
//! let mut p = ReplyParser::new();
//! p.feed(b"250-mx.example.org\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
//! let reply = p.next_reply().unwrap().unwrap();
//! assert!(Capabilities::from_ehlo(&reply).starttls);
//! ```

use crate::{EnhancedCode, Reply};

/// RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; servers exceed it in practice, so
/// calm accepts up to this much before calling the reply hostile.
pub const REPLY_LINE_LIMIT: usize = 4096;
/// At most this many lines in one reply (a bound on memory, far above any real EHLO list).
pub const REPLY_MAX_LINES: usize = 256;

/// Why the server's bytes are not a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line longer than [`REPLY_LINE_LIMIT`].
    #[error("reply line longer than {REPLY_LINE_LIMIT} octets")]
    LineTooLong,
    /// More than [`REPLY_MAX_LINES`] lines.
    #[error("reply has more than {REPLY_MAX_LINES} lines")]
    TooManyLines,
    /// A line that does not start with a 3-digit code 200-599 followed by ` `, `-` or the end.
    #[error("malformed reply line: {0:?}")]
    Malformed(String),
    /// The lines of one multi-line reply carry different codes (RFC 5321 §4.2.1).
    #[error("reply lines disagree on the code")]
    MixedCodes,
}

/// An incremental reply reader: feed bytes, take replies.
#[derive(Debug, Default)]
pub struct ReplyParser {
    buf: Vec<u8>,
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyParser {
    /// An empty parser.
    pub fn new() -> ReplyParser {
        ReplyParser::default()
    }

    /// Appends bytes received from the server.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// True when bytes of an unfinished reply are waiting.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.code.is_some()
    }

    /// The next complete reply, `Ok(None)` if more bytes are needed. After an error the
    /// connection should be dropped: the stream cannot be resynchronised.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, ReplyError> {
        loop {
            let Some(end) = self.buf.iter().position(|&b| b == b'\n') else {
                if self.buf.len() > REPLY_LINE_LIMIT {
                    return Err(ReplyError::LineTooLong);
                }
                return Ok(None);
            };
            if end > REPLY_LINE_LIMIT {
                return Err(ReplyError::LineTooLong);
            }
            let raw: Vec<u8> = self.buf.drain(..=end).collect();
            // CRLF is required of servers, but a bare LF is read too (robustness principle:
            // a lenient reader loses nothing here, since replies carry no message data).
            let line = raw.strip_suffix(b"\n").unwrap_or(&raw);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(reply) = self.take_line(&String::from_utf8_lossy(line))? {
                return Ok(Some(reply));
            }
        }
    }

    /// Adds one line; returns the reply when it was the last line.
    fn take_line(&mut self, line: &str) -> Result<Option<Reply>, ReplyError> {
        let (code, last, text) = split_line(line)?;
        if self.code.is_some_and(|c| c != code) {
            return Err(ReplyError::MixedCodes);
        }
        if self.lines.len() >= REPLY_MAX_LINES {
            return Err(ReplyError::TooManyLines);
        }
        self.code = Some(code);
        self.lines.push(text.to_owned());
        if !last {
            return Ok(None);
        }
        self.code = None;
        Ok(Some(build_reply(code, std::mem::take(&mut self.lines))))
    }
}

/// `250-text` → (250, false, "text"); `250 text` or `250` → (250, true, ...).
fn split_line(line: &str) -> Result<(u16, bool, &str), ReplyError> {
    let malformed = || ReplyError::Malformed(line.chars().take(80).collect());
    let digits = line.get(..3).ok_or_else(malformed)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let code: u16 = digits.parse().map_err(|_| malformed())?;
    if !(200..=599).contains(&code) {
        return Err(malformed());
    }
    match line.as_bytes().get(3) {
        None => Ok((code, true, "")),
        Some(b' ') => Ok((code, true, line.get(4..).unwrap_or(""))),
        Some(b'-') => Ok((code, false, line.get(4..).unwrap_or(""))),
        Some(_) => Err(malformed()),
    }
}

/// Splits an RFC 2034 enhanced code off the first line (and off the others, where it repeats).
fn build_reply(code: u16, mut lines: Vec<String>) -> Reply {
    let first = lines.first().map(String::as_str).unwrap_or("");
    let token = first.split(' ').next().unwrap_or("");
    // RFC 3463 §2: the class must match the reply's first digit to be meaningful.
    let enhanced = EnhancedCode::parse(token).filter(|e| u16::from(e.class) == code / 100);
    if let Some(e) = enhanced {
        let prefix = e.to_string();
        for line in &mut lines {
            if let Some(rest) = line.strip_prefix(prefix.as_str()) {
                *line = rest.trim_start_matches(' ').to_owned();
            }
        }
    }
    Reply {
        code,
        enhanced,
        lines,
    }
}

/// What a server offers in its EHLO reply (RFC 5321 §4.1.1.1: one keyword per line after the
/// first, which is the greeting).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// RFC 3207.
    pub starttls: bool,
    /// RFC 2920.
    pub pipelining: bool,
    /// RFC 1870: the announced limit (0 means no fixed limit); None when SIZE is absent.
    pub size: Option<u64>,
    /// RFC 6152.
    pub eight_bit_mime: bool,
    /// RFC 6531.
    pub smtputf8: bool,
    /// RFC 2034.
    pub enhanced_status_codes: bool,
    /// RFC 3030.
    pub chunking: bool,
    /// RFC 4954: the SASL mechanisms offered, upper case.
    pub auth: Vec<String>,
}

impl Capabilities {
    /// Reads the keywords of a positive EHLO reply; anything unknown is ignored.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "STARTTLS" => caps.starttls = true,
                "PIPELINING" => caps.pipelining = true,
                "SIZE" => caps.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                "CHUNKING" => caps.chunking = true,
                "AUTH" => caps.auth = words.map(|w| w.to_ascii_uppercase()).collect(),
                _ => {}
            }
        }
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let mut p = ReplyParser::new();
        p.feed(bytes);
        p.next_reply()
    }

    #[test]
    fn reads_single_and_multi_line_replies_with_enhanced_codes() {
        let r = one(b"550 5.1.1 <x@y>: no such user\r\n").unwrap().unwrap();
        assert_eq!(r.code, 550);
        assert_eq!(r.enhanced, Some(EnhancedCode::new(5, 1, 1)));
        assert_eq!(r.lines, ["<x@y>: no such user"]);
        let r = one(b"451-4.3.0 first\r\n451-4.3.0 second\r\n451 4.3.0 third\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.lines, ["first", "second", "third"]);
        assert_eq!(r.text(), "first second third");
    }

    #[test]
    fn bytes_may_arrive_in_any_pieces() {
        let wire = b"220 mx ESMTP\r\n250-mx\r\n250 SIZE 1000\r\n";
        let mut p = ReplyParser::new();
        let mut got = Vec::new();
        for b in wire {
            p.feed(&[*b]);
            while let Some(r) = p.next_reply().unwrap() {
                got.push(r.code);
            }
        }
        assert_eq!(got, [220, 250]);
        assert!(!p.has_partial());
    }

    #[test]
    fn an_enhanced_code_of_the_wrong_class_stays_text() {
        let r = one(b"250 5.1.1 odd\r\n").unwrap().unwrap();
        assert_eq!(r.enhanced, None);
        assert_eq!(r.lines, ["5.1.1 odd"]);
        let bare = one(b"354\n").unwrap().unwrap();
        assert_eq!((bare.code, bare.lines.len()), (354, 1));
    }

    #[test]
    fn hostile_replies_are_errors_not_panics() {
        assert!(matches!(one(b"25\r\n"), Err(ReplyError::Malformed(_))));
        assert!(matches!(one(b"abc ok\r\n"), Err(ReplyError::Malformed(_))));
        assert!(matches!(one(b"999 no\r\n"), Err(ReplyError::Malformed(_))));
        assert!(matches!(one(b"250x\r\n"), Err(ReplyError::Malformed(_))));
        assert!(matches!(
            one("2é0 x\r\n".as_bytes()),
            Err(ReplyError::Malformed(_))
        ));
        assert_eq!(one(b"250-a\r\n550 b\r\n"), Err(ReplyError::MixedCodes));
        let long = vec![b'2'; REPLY_LINE_LIMIT + 2];
        assert_eq!(one(&long), Err(ReplyError::LineTooLong));
        let many = b"250-x\r\n".repeat(REPLY_MAX_LINES + 1);
        assert_eq!(one(&many), Err(ReplyError::TooManyLines));
        let r = one(b"250 \xff\xfe\r\n").unwrap().unwrap();
        assert_eq!(r.code, 250);
    }

    #[test]
    fn ehlo_keywords_become_capabilities() {
        let r = one(
            b"250-mx.example.org hello\r\n250-pipelining\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n\
              250-AUTH PLAIN login\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n",
        )
        .unwrap()
        .unwrap();
        let caps = Capabilities::from_ehlo(&r);
        assert!(caps.pipelining && caps.starttls && caps.eight_bit_mime && caps.smtputf8);
        assert!(caps.enhanced_status_codes && !caps.chunking);
        assert_eq!(caps.size, Some(10_240_000));
        assert_eq!(caps.auth, ["PLAIN", "LOGIN"]);
        // The greeting line is not a keyword.
        let only = one(b"250 STARTTLS\r\n").unwrap().unwrap();
        assert!(!Capabilities::from_ehlo(&only).starttls);
    }
}
