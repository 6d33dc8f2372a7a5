//! [`Framer`]: cuts the client's byte stream into whole commands, literals included.
//!
//! RFC 3501 §4.3 / RFC 9051 §4.3: a literal `{n}` at the end of a line is followed, after
//! CRLF, by exactly `n` octets, and the command continues after them. For a synchronizing
//! literal the server must first send a continuation request (`+ ...`); a non-synchronizing
//! literal `{n+}` (RFC 7888 LITERAL+) follows at once.

/// Limits on what one command may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line outside literals, CRLF included. RFC 7162 §4 asks clients to keep
    /// lines under 8192 octets, so servers should accept at least that.
    pub max_line: usize,
    /// The largest single literal (bounds APPEND message size).
    pub max_literal: usize,
    /// The largest whole command, literals included.
    pub max_command: usize,
}

impl Default for Limits {
    /// 64 KiB lines, 50 MiB literals and commands.
    fn default() -> Self {
        Limits {
            max_line: 64 * 1024,
            max_literal: 50 * 1024 * 1024,
            max_command: 50 * 1024 * 1024 + 64 * 1024,
        }
    }
}

/// What the framer found in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete command line with its literals, final CRLF included.
    Command(Vec<u8>),
    /// A synchronizing literal was announced: send a continuation request (`+ Ready`).
    Continue,
    /// A line exceeded [`Limits::max_line`]; its bytes up to the next LF are discarded.
    LineTooLong,
    /// A synchronizing literal (or the command) is over the limit; the command was discarded
    /// up to that point and the client will not send the literal. Answer `tag NO [TOOBIG]`.
    LiteralTooBig {
        /// The tag of the refused command, if readable.
        tag: String,
    },
    /// A non-synchronizing literal is over the limit. Its octets are already on their way, so
    /// the connection cannot continue (RFC 7888 §4: reject, then close).
    Fatal {
        /// The tag of the refused command, if readable.
        tag: String,
    },
}

/// The incremental command receiver.
#[derive(Debug, Default)]
pub struct Framer {
    limits: Limits,
    buf: Vec<u8>,
    /// Where scanning for the next line end starts (after the last literal).
    pos: usize,
    /// The end of a literal still arriving (an index into `buf`), or 0.
    literal_end: usize,
    /// Discarding an overlong line up to its LF.
    discarding: bool,
}

impl Framer {
    /// A framer with these limits.
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            ..Framer::default()
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Drops everything buffered: after STARTTLS, bytes the client sent in plaintext must not
    /// be taken as commands under TLS (RFC 3501 §6.2.1, the CVE-2011-0411 class of attack).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.literal_end = 0;
        self.discarding = false;
    }

    /// True if nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next frame, if the buffered bytes hold one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if self.discarding {
                let lf = self.buf.iter().position(|&b| b == b'\n');
                match lf {
                    Some(i) => {
                        self.buf.drain(..=i);
                        self.discarding = false;
                    }
                    None => {
                        self.buf.clear();
                        return None;
                    }
                }
            }
            if self.literal_end > 0 {
                if self.buf.len() < self.literal_end {
                    return None;
                }
                self.pos = self.literal_end;
                self.literal_end = 0;
            }
            let rest = self.buf.get(self.pos..).unwrap_or_default();
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > self.limits.max_line {
                    return Some(self.overlong());
                }
                return None;
            };
            if lf + 1 > self.limits.max_line {
                return Some(self.overlong());
            }
            let line_end = self.pos + lf + 1;
            let line = rest.get(..lf).unwrap_or_default();
            let Some((n, sync)) = literal_suffix(line) else {
                let command: Vec<u8> = self.buf.drain(..line_end).collect();
                self.pos = 0;
                self.release();
                return Some(Frame::Command(command));
            };
            let too_big =
                n > self.limits.max_literal || line_end.saturating_add(n) > self.limits.max_command;
            if too_big {
                let tag = self.tag();
                self.buf.drain(..line_end);
                self.pos = 0;
                return Some(if sync {
                    Frame::LiteralTooBig { tag }
                } else {
                    self.buf.clear();
                    Frame::Fatal { tag }
                });
            }
            self.literal_end = line_end + n;
            self.pos = line_end;
            if sync {
                return Some(Frame::Continue);
            }
        }
    }

    /// After a large command (an APPEND) the buffer keeps its capacity; give most of it back
    /// so an idle connection stays small.
    fn release(&mut self) {
        const KEEP: usize = 16 * 1024;
        if self.buf.capacity() > 4 * KEEP && self.buf.len() <= KEEP {
            self.buf.shrink_to(KEEP);
        }
    }

    fn overlong(&mut self) -> Frame {
        // Drop the partial command and the line so far; skip the rest of the line later.
        let lf_seen = self
            .buf
            .get(self.pos..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'));
        match lf_seen {
            Some(i) => {
                self.buf.drain(..self.pos + i + 1);
            }
            None => {
                self.buf.clear();
                self.discarding = true;
            }
        }
        self.pos = 0;
        Frame::LineTooLong
    }

    /// The first word of the buffered command, for error replies.
    fn tag(&self) -> String {
        let end = self
            .buf
            .iter()
            .position(|&b| b == b' ' || b == b'\r' || b == b'\n')
            .unwrap_or(self.buf.len())
            .min(64);
        let tag = self.buf.get(..end).unwrap_or_default();
        if tag.iter().all(|&b| crate::parse::is_tag_char(b)) && !tag.is_empty() {
            String::from_utf8_lossy(tag).into_owned()
        } else {
            "*".to_owned()
        }
    }
}

/// `{n}` or `{n+}` at the end of a line (CR already allowed for): the size and whether it is
/// synchronizing.
fn literal_suffix(line: &[u8]) -> Option<(usize, bool)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = inner.get(open + 1..)?;
    let (digits, sync) = match digits.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (digits, true),
    };
    // RFC 3501 §9: number = 1*DIGIT; at most 10 digits fit a u32, and we refuse more anyway.
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?;
    Some((usize::try_from(n).unwrap_or(usize::MAX), sync))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(f: &mut Framer) -> Vec<Frame> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    #[test]
    fn whole_and_split_lines() {
        let mut f = Framer::default();
        f.push(b"a NOOP\r\nb NO");
        assert_eq!(frames(&mut f), [Frame::Command(b"a NOOP\r\n".to_vec())]);
        f.push(b"OP\r\n");
        assert_eq!(frames(&mut f), [Frame::Command(b"b NOOP\r\n".to_vec())]);
    }

    #[test]
    fn synchronizing_literal_asks_to_continue() {
        let mut f = Framer::default();
        f.push(b"a LOGIN {3}\r\n");
        assert_eq!(frames(&mut f), [Frame::Continue]);
        f.push(b"bo");
        assert_eq!(frames(&mut f), []);
        f.push(b"b {2+}\r\npw\r\n");
        assert_eq!(
            frames(&mut f),
            [Frame::Command(
                b"a LOGIN {3}\r\nbob {2+}\r\npw\r\n".to_vec()
            )]
        );
        assert!(f.is_empty());
    }

    #[test]
    fn literal_may_contain_crlf_and_braces() {
        let mut f = Framer::default();
        f.push(b"a APPEND x {8+}\r\n{1}\r\n\r\n\r\n");
        assert_eq!(
            frames(&mut f),
            [Frame::Command(
                b"a APPEND x {8+}\r\n{1}\r\n\r\n\r\n".to_vec()
            )]
        );
    }

    #[test]
    fn oversized_literals() {
        let limits = Limits {
            max_line: 100,
            max_literal: 10,
            max_command: 200,
        };
        let mut f = Framer::new(limits);
        f.push(b"t1 APPEND x {11}\r\nt2 NOOP\r\n");
        assert_eq!(
            frames(&mut f),
            [
                Frame::LiteralTooBig { tag: "t1".into() },
                Frame::Command(b"t2 NOOP\r\n".to_vec())
            ]
        );
        // Too many digits to be a literal: a plain (malformed) line for the parser to refuse.
        f.push(b"t3 APPEND x {99999999999}\r\n");
        assert_eq!(
            frames(&mut f),
            [Frame::Command(b"t3 APPEND x {99999999999}\r\n".to_vec())]
        );
        f.push(b"t4 APPEND x {4294967296+}\r\nxxxx");
        assert_eq!(frames(&mut f), [Frame::Fatal { tag: "t4".into() }]);
    }

    proptest::proptest! {
        /// However the input is cut into reads, the same commands come out, in order.
        #[test]
        fn split_invariance(cuts in proptest::collection::vec(1usize..40, 1..30)) {
            let input: &[u8] = b"a LOGIN {3}\r\nbob {6+}\r\nsecret\r\nb NOOP\r\nc APPEND x {5}\r\nab\r\nc\r\n";
            let mut f = Framer::default();
            let mut got = Vec::new();
            let mut rest = input;
            for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (head, tail) = rest.split_at((*cut).min(rest.len()));
                f.push(head);
                rest = tail;
                got.extend(frames(&mut f));
            }
            let commands: Vec<Frame> = got.into_iter().filter(|x| *x != Frame::Continue).collect();
            proptest::prop_assert_eq!(commands, vec![
                Frame::Command(b"a LOGIN {3}\r\nbob {6+}\r\nsecret\r\n".to_vec()),
                Frame::Command(b"b NOOP\r\n".to_vec()),
                Frame::Command(b"c APPEND x {5}\r\nab\r\nc\r\n".to_vec()),
            ]);
        }

        /// Arbitrary bytes never panic the framer and never grow it past the limits.
        #[test]
        fn arbitrary_input(chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), 0..20)) {
            let limits = Limits { max_line: 50, max_literal: 30, max_command: 100 };
            let mut f = Framer::new(limits);
            for chunk in chunks {
                f.push(&chunk);
                while let Some(frame) = f.next_frame() {
                    if let Frame::Command(c) = frame {
                        proptest::prop_assert!(c.len() <= 100);
                    }
                }
                proptest::prop_assert!(f.buf.len() <= 64 + 100);
            }
        }
    }

    #[test]
    fn gives_memory_back_after_a_large_literal() {
        let mut f = Framer::default();
        f.push(b"a APPEND x {1000000+}\r\n");
        f.push(&vec![b'x'; 1_000_000]);
        f.push(b"\r\n");
        assert!(matches!(frames(&mut f)[..], [Frame::Command(_)]));
        assert!(f.buf.capacity() <= 16 * 1024, "{}", f.buf.capacity());
    }

    #[test]
    fn overlong_line_is_skipped() {
        let limits = Limits {
            max_line: 16,
            ..Limits::default()
        };
        let mut f = Framer::new(limits);
        f.push(&[b'x'; 40]);
        assert_eq!(frames(&mut f), [Frame::LineTooLong]);
        f.push(b"yyy\r\na NOOP\r\n");
        assert_eq!(frames(&mut f), [Frame::Command(b"a NOOP\r\n".to_vec())]);
        f.push(b"b 0123456789012345678\r\nc NOOP\r\n");
        assert_eq!(
            frames(&mut f),
            [Frame::LineTooLong, Frame::Command(b"c NOOP\r\n".to_vec())]
        );
    }
}
