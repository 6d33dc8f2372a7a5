//! Status lines: `+OK text` and `-ERR [CODE] text` (RFC 1939 §3, RFC 2449 §8 response codes).

/// RFC 2449 §8 / RFC 3206 extended response codes, sent in brackets after `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RespCode {
    /// `[IN-USE]`: the maildrop is locked by another session (RFC 2449 §8.1.1).
    InUse,
    /// `[SYS/TEMP]`: a temporary server problem (RFC 3206 §4).
    SysTemp,
    /// `[AUTH]`: the credentials, or the way they were sent, were refused (RFC 3206 §5).
    Auth,
}

impl RespCode {
    /// The code as written between the brackets.
    pub fn as_str(self) -> &'static str {
        match self {
            RespCode::InUse => "IN-USE",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::Auth => "AUTH",
        }
    }
}

/// `+OK text` CRLF.
pub(crate) fn ok(text: &str) -> Vec<u8> {
    if text.is_empty() {
        return b"+OK\r\n".to_vec();
    }
    format!("+OK {text}\r\n").into_bytes()
}

/// `-ERR [CODE] text` CRLF.
pub(crate) fn err(code: Option<RespCode>, text: &str) -> Vec<u8> {
    match code {
        Some(code) => format!("-ERR [{}] {text}\r\n", code.as_str()).into_bytes(),
        None => format!("-ERR {text}\r\n").into_bytes(),
    }
}

/// A multi-line response: the `+OK` line, the lines (byte-stuffed), and the terminator.
pub(crate) fn multiline<I, S>(status: &str, lines: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = ok(status);
    for line in lines {
        let line = line.as_ref();
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(ok(""), b"+OK\r\n");
        assert_eq!(ok("2 320"), b"+OK 2 320\r\n");
        assert_eq!(err(None, "No such message"), b"-ERR No such message\r\n");
        assert_eq!(
            err(Some(RespCode::InUse), "locked"),
            b"-ERR [IN-USE] locked\r\n"
        );
        assert_eq!(err(Some(RespCode::SysTemp), "x"), b"-ERR [SYS/TEMP] x\r\n");
    }

    #[test]
    fn multiline_is_stuffed_and_terminated() {
        assert_eq!(
            multiline("list", ["1 2", ".x"]),
            b"+OK list\r\n1 2\r\n..x\r\n.\r\n"
        );
        assert_eq!(multiline("", Vec::<String>::new()), b"+OK\r\n.\r\n");
    }
}
