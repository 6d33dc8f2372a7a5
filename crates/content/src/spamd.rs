//! A spamd client: SpamAssassin's SPAMC/1.5 protocol (spamd(1p), "PROTOCOL" in the
//! SpamAssassin sources), the `SYMBOLS` command over TCP or a Unix socket.
//!
//! The request is `SYMBOLS SPAMC/1.5`, a `Content-length` header, a blank line and the
//! message; spamd answers `SPAMD/1.1 0 EX_OK`, a `Spam: True ; 7.3 / 5.0` header and the names
//! of the rules that hit, comma-separated. Every failure to get that answer in time is
//! [`SpamdResult::Unavailable`], so the caller's fail-open or fail-closed choice lives in one
//! place (the policy's `spamd_unavailable` condition).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpStream, UnixStream};

use crate::Endpoint;

/// Messages above this size are not sent (spamc's own default limit is 500 KB: SpamAssassin
/// is slow on big messages, and spam is small).
pub const SPAMD_MAX_MESSAGE: usize = 512 * 1024;
/// Longest answer read from spamd (the symbols of every rule that hit fit easily).
const MAX_REPLY: usize = 64 * 1024;

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq)]
pub enum SpamdResult {
    /// spamd's score, its own threshold, and the rules that hit.
    Scored {
        /// SpamAssassin's score.
        score: f64,
        /// spamd's own `required_score`.
        threshold: f64,
        /// The names of the rules that hit.
        symbols: Vec<String>,
    },
    /// Not sent (too large): no opinion, and nothing wrong.
    Skipped(String),
    /// No answer: spamd down, too slow, or an error reply. The reason.
    Unavailable(String),
}

/// A spamd client with a timeout for the whole exchange.
#[derive(Clone, Debug)]
pub struct Spamd {
    /// Where spamd listens.
    pub endpoint: Endpoint,
    /// Longest time one check may take, connection included.
    pub timeout: Duration,
}

impl Spamd {
    /// A client for `endpoint` with a 30-second timeout.
    pub fn new(endpoint: Endpoint) -> Spamd {
        Spamd {
            endpoint,
            timeout: Duration::from_secs(30),
        }
    }

    /// The same client with another timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Spamd {
        self.timeout = timeout;
        self
    }

    /// Asks spamd about `message`.
    pub async fn check(&self, message: &[u8]) -> SpamdResult {
        if message.len() > SPAMD_MAX_MESSAGE {
            return SpamdResult::Skipped(format!(
                "{} bytes, over the {SPAMD_MAX_MESSAGE}-byte limit for spamd",
                message.len()
            ));
        }
        match tokio::time::timeout(self.timeout, self.exchange(message)).await {
            Err(_) => {
                SpamdResult::Unavailable(format!("spamd did not answer within {:?}", self.timeout))
            }
            Ok(Err(e)) => SpamdResult::Unavailable(format!("spamd: {e}")),
            Ok(Ok(reply)) => parse_spamd_reply(&reply),
        }
    }

    async fn exchange(&self, message: &[u8]) -> std::io::Result<Vec<u8>> {
        match &self.endpoint {
            Endpoint::Tcp(a) => symbols(TcpStream::connect(a).await?, message).await,
            Endpoint::Unix(p) => symbols(UnixStream::connect(p).await?, message).await,
        }
    }
}

async fn symbols<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    message: &[u8],
) -> std::io::Result<Vec<u8>> {
    let head = format!(
        "SYMBOLS SPAMC/1.5\r\nContent-length: {}\r\n\r\n",
        message.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(message).await?;
    s.flush().await?;
    let mut reply = Vec::new();
    (&mut s)
        .take(MAX_REPLY as u64)
        .read_to_end(&mut reply)
        .await?;
    Ok(reply)
}

/// Reads spamd's answer: status line, headers, and the symbols as the body.
pub fn parse_spamd_reply(reply: &[u8]) -> SpamdResult {
    let text = String::from_utf8_lossy(reply);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    let mut words = status.split_whitespace();
    let (Some(proto), Some(code)) = (words.next(), words.next()) else {
        return unavailable("spamd closed the connection without an answer", status);
    };
    if !proto.starts_with("SPAMD/") {
        return unavailable("spamd answered something that is not SPAMD", status);
    }
    if code != "0" {
        return unavailable("spamd answered with an error", status);
    }
    let spam = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("Spam").then_some(value)
    });
    let Some((score, threshold)) = spam.and_then(parse_spam_header) else {
        return unavailable("spamd's answer has no readable Spam header", status);
    };
    let symbols = body
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .take(100)
        .map(str::to_owned)
        .collect();
    SpamdResult::Scored {
        score,
        threshold,
        symbols,
    }
}

/// `True ; 7.3 / 5.0` → (7.3, 5.0).
fn parse_spam_header(value: &str) -> Option<(f64, f64)> {
    let (_, numbers) = value.split_once(';')?;
    let (score, threshold) = numbers.split_once('/')?;
    let score: f64 = score.trim().parse().ok()?;
    let threshold: f64 = threshold.trim().parse().ok()?;
    (score.is_finite() && threshold.is_finite()).then_some((score, threshold))
}

fn unavailable(why: &str, status: &str) -> SpamdResult {
    let status: String = status
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    SpamdResult::Unavailable(format!("{why}: {status:?}"))
}

#[cfg(test)]
mod tests {
    use super::{SpamdResult, parse_spamd_reply};

    #[test]
    fn a_scored_answer_gives_score_threshold_and_symbols() {
        let reply = b"SPAMD/1.1 0 EX_OK\r\nContent-length: 24\r\nSpam: True ; 1000.1 / 5.0\r\n\r\nGTUBE,MISSING_DATE,NO_RECEIVED";
        assert_eq!(
            parse_spamd_reply(reply),
            SpamdResult::Scored {
                score: 1000.1,
                threshold: 5.0,
                symbols: vec!["GTUBE".into(), "MISSING_DATE".into(), "NO_RECEIVED".into()],
            }
        );
        let ham = b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.2 / 5.0\r\n\r\n";
        assert!(matches!(
            parse_spamd_reply(ham),
            SpamdResult::Scored { score, symbols, .. } if score == -0.2 && symbols.is_empty()
        ));
    }

    #[test]
    fn errors_and_garbage_are_unavailable_not_clean() {
        for reply in [
            &b""[..],
            b"SPAMD/1.0 76 Bad header line: (EOF)\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"SPAMD/1.1 0 EX_OK\r\n\r\nGTUBE",
            b"SPAMD/1.1 0 EX_OK\r\nSpam: True ; lots / 5.0\r\n\r\n",
            b"SPAMD/1.1 0 EX_OK\r\nSpam: True ; NaN / 5.0\r\n\r\n",
            &[0xff; 100],
        ] {
            assert!(
                matches!(parse_spamd_reply(reply), SpamdResult::Unavailable(_)),
                "{:?}",
                String::from_utf8_lossy(reply)
            );
        }
    }
}
