//! A clamd client: the `INSTREAM` command over TCP or a Unix socket (clamd(8), "COMMANDS").
//!
//! The message is sent as `zINSTREAM\0`, then chunks each preceded by its length as a 4-byte
//! big-endian number, then a zero length; clamd answers `stream: OK\0` or
//! `stream: <signature> FOUND\0`. Every failure to get that answer in time (connection
//! refused, timeout, size limit, an answer we cannot read) is [`ScanResult::Unavailable`], so
//! the caller applies its fail-open or fail-closed choice in one place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpStream, UnixStream};

/// Bytes per INSTREAM chunk. clamd's default StreamMaxLength is 25 MiB overall; chunks are
/// independent of that.
const CHUNK: usize = 64 * 1024;
/// Longest answer read from clamd.
const MAX_REPLY: usize = 4096;

/// Where clamd listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `TCPSocket`/`TCPAddr`.
    Tcp(SocketAddr),
    /// `LocalSocket`.
    Unix(PathBuf),
}

/// The outcome of one scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanResult {
    /// No signature matched.
    Clean,
    /// A signature matched: its name (`Eicar-Test-Signature`).
    Infected(String),
    /// No verdict: clamd down, too slow, or it answered with an error. The reason.
    Unavailable(String),
}

/// A clamd client with a timeout for the whole exchange.
#[derive(Clone, Debug)]
pub struct Scanner {
    /// Where clamd listens.
    pub endpoint: Endpoint,
    /// Longest time one scan may take, connection included.
    pub timeout: Duration,
}

impl Scanner {
    /// A scanner for `endpoint` with a 30-second timeout.
    pub fn new(endpoint: Endpoint) -> Scanner {
        Scanner {
            endpoint,
            timeout: Duration::from_secs(30),
        }
    }

    /// The same scanner with another timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Scanner {
        self.timeout = timeout;
        self
    }

    /// Scans `message` (any bytes; clamd unpacks MIME itself).
    pub async fn scan(&self, message: &[u8]) -> ScanResult {
        match tokio::time::timeout(self.timeout, self.exchange(message)).await {
            Err(_) => {
                ScanResult::Unavailable(format!("clamd did not answer within {:?}", self.timeout))
            }
            Ok(Err(e)) => ScanResult::Unavailable(format!("clamd: {e}")),
            Ok(Ok(reply)) => parse_reply(&reply),
        }
    }

    /// Whether clamd answers `PING` with `PONG` within the timeout.
    pub async fn ping(&self) -> bool {
        let run = async {
            match &self.endpoint {
                Endpoint::Tcp(a) => ping_on(TcpStream::connect(a).await?).await,
                Endpoint::Unix(p) => ping_on(UnixStream::connect(p).await?).await,
            }
        };
        matches!(tokio::time::timeout(self.timeout, run).await, Ok(Ok(r)) if r == "PONG")
    }

    async fn exchange(&self, message: &[u8]) -> std::io::Result<String> {
        match &self.endpoint {
            Endpoint::Tcp(a) => instream(TcpStream::connect(a).await?, message).await,
            Endpoint::Unix(p) => instream(UnixStream::connect(p).await?, message).await,
        }
    }
}

async fn instream<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    message: &[u8],
) -> std::io::Result<String> {
    s.write_all(b"zINSTREAM\0").await?;
    for chunk in message.chunks(CHUNK) {
        let len = u32::try_from(chunk.len()).map_err(std::io::Error::other)?;
        s.write_all(&len.to_be_bytes()).await?;
        s.write_all(chunk).await?;
    }
    s.write_all(&0u32.to_be_bytes()).await?;
    s.flush().await?;
    read_reply(&mut s).await
}

async fn ping_on<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) -> std::io::Result<String> {
    s.write_all(b"zPING\0").await?;
    read_reply(&mut s).await
}

/// Reads up to the terminating NUL (the `z` command prefix) or end of stream.
async fn read_reply<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<String> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = s.read(&mut buf).await?;
        let got = buf.get(..n).unwrap_or_default();
        if let Some(end) = got.iter().position(|b| *b == 0) {
            reply.extend_from_slice(got.get(..end).unwrap_or_default());
            break;
        }
        reply.extend_from_slice(got);
        if n == 0 || reply.len() > MAX_REPLY {
            break;
        }
    }
    reply.truncate(MAX_REPLY);
    Ok(String::from_utf8_lossy(&reply).trim().to_owned())
}

/// `stream: OK`, `stream: NAME FOUND`, or anything else (an `ERROR`) as unavailable.
pub fn parse_reply(reply: &str) -> ScanResult {
    let body = reply.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => ScanResult::Clean,
        Some(b) if b.ends_with(" FOUND") => {
            let name = b.trim_end_matches(" FOUND").trim();
            let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
            ScanResult::Infected(name)
        }
        _ if reply.is_empty() => {
            ScanResult::Unavailable("clamd closed the connection without an answer".into())
        }
        _ => ScanResult::Unavailable(format!(
            "clamd answered {:?}",
            reply.chars().take(200).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse_reply("stream: OK"), ScanResult::Clean);
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature FOUND"),
            ScanResult::Infected("Eicar-Test-Signature".into())
        );
        assert!(matches!(
            parse_reply("INSTREAM size limit exceeded. ERROR"),
            ScanResult::Unavailable(_)
        ));
        assert!(matches!(parse_reply(""), ScanResult::Unavailable(_)));
        assert!(matches!(
            parse_reply("stream: "),
            ScanResult::Unavailable(_)
        ));
        // A signature name cannot smuggle control characters into a reply.
        assert_eq!(
            parse_reply("stream: Bad\r\n250 OK FOUND"),
            ScanResult::Infected("Bad250 OK".into())
        );
    }
}
