//! [`Reply`] and [`EnhancedCode`]: what the server says (RFC 5321 §4.2, RFC 3463, RFC 2034).

use std::fmt;

/// An RFC 3463 enhanced status code `class.subject.detail`, e.g. `5.1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject (0-7 in RFC 3463: address, mailbox, system, network, protocol, content, policy).
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl EnhancedCode {
    /// Builds `class.subject.detail`.
    pub const fn new(class: u8, subject: u16, detail: u16) -> EnhancedCode {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    /// Parses `X.Y.Z` (RFC 3463 §2: class 2/4/5, up to three digits each for subject and detail).
    pub fn parse(s: &str) -> Option<EnhancedCode> {
        let mut it = s.split('.');
        let (Some(c), Some(sub), Some(det), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            return None;
        };
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit());
        if !(c == "2" || c == "4" || c == "5") || !digits(sub) || !digits(det) {
            return None;
        }
        Some(EnhancedCode::new(
            c.parse().ok()?,
            sub.parse().ok()?,
            det.parse().ok()?,
        ))
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A server reply: a three-digit code, an optional enhanced code and one or more text lines.
///
/// [`Reply::encode`] writes the RFC 5321 §4.2.1 form: every line but the last is `code-text`,
/// the last is `code text`, and each carries the enhanced code when there is one (RFC 2034 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The RFC 5321 reply code, 200-599.
    pub code: u16,
    /// The RFC 3463 enhanced status code, if any.
    pub enhanced: Option<EnhancedCode>,
    /// Text lines, without CRLF. Never empty once encoded (an empty list encodes as one line).
    pub lines: Vec<String>,
}

/// Shorthand for the enhanced codes below.
const fn ec(class: u8, subject: u16, detail: u16) -> Option<EnhancedCode> {
    Some(EnhancedCode::new(class, subject, detail))
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, enhanced: Option<EnhancedCode>, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced,
            lines: vec![text.into()],
        }
    }

    /// `250 2.0.0 Ok`.
    pub fn ok() -> Reply {
        Reply::new(250, ec(2, 0, 0), "Ok")
    }

    /// `220 <host> ESMTP calm`: the greeting (RFC 5321 §4.2; no enhanced code, RFC 2034 §3).
    pub fn greeting(hostname: &str) -> Reply {
        Reply::new(220, None, format!("{hostname} ESMTP calm"))
    }

    /// `221 2.0.0 Bye`: the answer to QUIT.
    pub fn closing() -> Reply {
        Reply::new(221, ec(2, 0, 0), "Bye")
    }

    /// `250 2.0.0 Ok: queued as <id>`: the message is durably stored.
    pub fn queued(id: &str) -> Reply {
        Reply::new(250, ec(2, 0, 0), format!("Ok: queued as {id}"))
    }

    /// `503 5.5.1 <text>`: command out of sequence (RFC 5321 §4.3.2).
    pub fn bad_sequence(text: &str) -> Reply {
        Reply::new(503, ec(5, 5, 1), text)
    }

    /// `501 5.5.4 <text>`: syntax error in parameters or arguments.
    pub fn bad_arguments(text: &str) -> Reply {
        Reply::new(501, ec(5, 5, 4), text)
    }

    /// `451 4.3.0 <text>`: local error, try again later (a spool fault is never a 5xx).
    pub fn local_error(text: &str) -> Reply {
        Reply::new(451, ec(4, 3, 0), text)
    }

    /// `452 4.3.1 <text>`: insufficient system storage.
    pub fn no_space(text: &str) -> Reply {
        Reply::new(452, ec(4, 3, 1), text)
    }

    /// `421 4.4.2 <host> Error: timeout exceeded` (RFC 5321 §4.5.3.2).
    pub fn timeout(hostname: &str) -> Reply {
        Reply::new(
            421,
            ec(4, 4, 2),
            format!("{hostname} Error: timeout exceeded"),
        )
    }

    /// `550 5.1.1 <text>`: no such user here.
    pub fn no_such_user(text: &str) -> Reply {
        Reply::new(550, ec(5, 1, 1), text)
    }

    /// `554 5.7.1 <text>`: relay denied / policy rejection of a recipient.
    pub fn relay_denied(text: &str) -> Reply {
        Reply::new(554, ec(5, 7, 1), text)
    }

    /// `553 5.7.1 <text>`: sender address not owned by the authenticated user.
    pub fn sender_not_owned(text: &str) -> Reply {
        Reply::new(553, ec(5, 7, 1), text)
    }

    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// 4xx: try again later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: do not retry.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// All lines joined by a space, for logs and events.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// The wire form, CRLF-terminated. CR, LF and other control characters in the text are
    /// replaced by spaces so no reply can ever inject a line of its own.
    pub fn encode(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Reply {
    /// Same bytes as [`Reply::encode`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let empty = [String::new()];
        let lines: &[String] = if self.lines.is_empty() {
            &empty
        } else {
            &self.lines
        };
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            write!(f, "{:03}{sep}", self.code.clamp(200, 599))?;
            if let Some(e) = self.enhanced {
                write!(f, "{e}")?;
                if !line.is_empty() {
                    f.write_str(" ")?;
                }
            }
            for c in line.chars() {
                fmt::Write::write_char(f, if c.is_control() { ' ' } else { c })?;
            }
            f.write_str("\r\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn single_line() {
        assert_eq!(Reply::ok().to_string(), "250 2.0.0 Ok\r\n");
        assert_eq!(
            Reply::greeting("mx.test").to_string(),
            "220 mx.test ESMTP calm\r\n"
        );
    }

    #[test]
    fn multi_line_uses_dash_then_space() {
        let r = Reply {
            code: 250,
            enhanced: None,
            lines: vec!["mx.test".into(), "PIPELINING".into(), "SIZE 10".into()],
        };
        assert_eq!(
            r.to_string(),
            "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 10\r\n"
        );
        let r = Reply {
            code: 550,
            enhanced: ec(5, 7, 1),
            lines: vec!["a".into(), "b".into()],
        };
        assert_eq!(r.to_string(), "550-5.7.1 a\r\n550 5.7.1 b\r\n");
    }

    #[test]
    fn empty_lines_still_encode_one_line() {
        let r = Reply {
            code: 334,
            enhanced: None,
            lines: vec![],
        };
        assert_eq!(r.to_string(), "334 \r\n");
        assert_eq!(
            Reply::new(235, ec(2, 7, 0), "").to_string(),
            "235 2.7.0\r\n"
        );
    }

    #[test]
    fn control_characters_cannot_inject_lines() {
        let r = Reply::new(550, ec(5, 1, 1), "no\r\n250 2.0.0 fake\0");
        assert_eq!(r.to_string(), "550 5.1.1 no  250 2.0.0 fake \r\n");
    }

    #[test]
    fn out_of_range_codes_are_clamped() {
        assert!(Reply::new(7, None, "x").to_string().starts_with("200 "));
        assert!(Reply::new(9999, None, "x").to_string().starts_with("599 "));
    }

    #[test]
    fn classes() {
        assert!(Reply::ok().is_positive());
        assert!(Reply::local_error("x").is_transient());
        assert!(Reply::no_such_user("x").is_permanent());
        assert!(!Reply::no_such_user("x").is_transient());
    }

    #[test]
    fn enhanced_code_parse() {
        assert_eq!(EnhancedCode::parse("5.7.1"), ec(5, 7, 1));
        assert_eq!(EnhancedCode::parse("4.123.999"), ec(4, 123, 999));
        for bad in ["", "5.7", "3.0.0", "5.7.1.1", "5..1", "5.1234.1", "5.+1.1"] {
            assert_eq!(EnhancedCode::parse(bad), None, "{bad}");
        }
    }

    /// Reads an encoded reply back: the client side of RFC 5321 §4.2.1.
    fn decode(wire: &str) -> Option<Reply> {
        let mut lines = Vec::new();
        let mut code = None;
        let mut enhanced = None;
        for line in wire.split_terminator("\r\n") {
            let c: u16 = line.get(..3)?.parse().ok()?;
            code = Some(c);
            let rest = line.get(4..)?;
            let (e, text) = match rest.split_once(' ') {
                Some((e, t)) if EnhancedCode::parse(e).is_some() => (EnhancedCode::parse(e), t),
                _ if EnhancedCode::parse(rest).is_some() => (EnhancedCode::parse(rest), ""),
                _ => (None, rest),
            };
            enhanced = e;
            lines.push(text.to_owned());
        }
        Some(Reply {
            code: code?,
            enhanced,
            lines,
        })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(
            code in 200u16..600,
            enhanced in proptest::option::of((prop_oneof![Just(2u8), Just(4), Just(5)], 0u16..8, 0u16..30)),
            lines in proptest::collection::vec("[a-zA-Z0-9][ -~]{0,40}", 1..5),
        ) {
            let r = Reply { code, enhanced: enhanced.map(|(c, s, d)| EnhancedCode::new(c, s, d)), lines };
            let wire = r.to_string();
            let n = r.lines.len();
            for (i, l) in wire.split_terminator("\r\n").enumerate() {
                let sep = if i + 1 == n { b' ' } else { b'-' };
                prop_assert_eq!(l.as_bytes().get(3), Some(&sep));
            }
            prop_assert_eq!(decode(&wire), Some(r));
        }

        #[test]
        fn any_text_encodes_to_exact_line_count(code in 0u16..1000, lines in proptest::collection::vec("\\PC*|[\r\n\0]*", 0..4)) {
            let r = Reply { code, enhanced: None, lines };
            let wire = r.to_string();
            prop_assert_eq!(wire.matches("\r\n").count(), r.lines.len().max(1));
            prop_assert_eq!(wire.matches('\n').count(), r.lines.len().max(1));
            prop_assert_eq!(wire.matches('\r').count(), r.lines.len().max(1));
        }
    }
}
