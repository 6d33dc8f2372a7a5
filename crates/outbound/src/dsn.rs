//! Delivery status notifications: RFC 3464 reports in an RFC 6522 `multipart/report`.
//!
//! Built by hand rather than with a MIME builder: the format is small and fixed, and every
//! field that comes from outside (addresses, remote replies) must be reduced to one line of
//! printable ASCII so it can never add a header or a MIME part of its own.

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// The original headers attached to a DSN are cut at this size (RFC 3462 §2 allows returning
/// headers only; a DSN must not carry the whole message back).
const MAX_ATTACHED_HEADERS: usize = 64 * 1024;

/// Failure or delay report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnKind {
    /// Some recipients failed permanently (RFC 3464 `Action: failed`).
    Failure,
    /// Some recipients are still being retried after a long time (`Action: delayed`).
    Delay,
}

impl DsnKind {
    /// `failure` or `delay`, for events.
    pub fn name(self) -> &'static str {
        match self {
            DsnKind::Failure => "failure",
            DsnKind::Delay => "delay",
        }
    }
}

/// A DSN ready to enqueue: the envelope is always `MAIL FROM:<>` (RFC 5321 §4.5.5) to the
/// original sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// Queue id of the message it reports on.
    pub original_id: String,
    /// Always empty: DSNs are sent from the null reverse path so they can never loop.
    pub mail_from: String,
    /// The original sender.
    pub rcpt_to: String,
    /// The message (CRLF line ends).
    pub data: Vec<u8>,
    /// Failure or delay.
    pub kind: DsnKind,
}

/// Where DSNs go; the binary enqueues them through the spool (the sender may be local).
pub trait DsnSink: Send + Sync {
    /// Makes the DSN durable (e.g. `Spool::enqueue`). An error keeps the recipient's DSN owed,
    /// and it is tried again on the next pass.
    fn submit(&self, dsn: Dsn) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

impl DsnSink for tokio::sync::mpsc::UnboundedSender<Dsn> {
    fn submit(&self, dsn: Dsn) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        let sent = self.send(dsn).map_err(|_| "DSN receiver closed".to_owned());
        Box::pin(async move { sent })
    }
}

/// One recipient's line in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// The recipient address.
    pub rcpt: String,
    /// RFC 3463 status, e.g. `5.1.1`.
    pub status: String,
    /// The remote server's reply or the local reason.
    pub diagnostic: Option<String>,
    /// True when `diagnostic` is a reply from a remote SMTP server.
    pub remote_reply: bool,
    /// The host that answered, if any.
    pub remote_mta: Option<String>,
    /// Unix time of the last attempt.
    pub last_attempt: Option<u64>,
}

/// What a DSN reports on.
#[derive(Debug, Clone)]
pub struct DsnInput<'a> {
    /// Our host name (`Reporting-MTA`, the `From:` domain).
    pub reporting_mta: &'a str,
    /// Queue id of the original.
    pub queue_id: &'a str,
    /// The original sender; a DSN is never made for `<>`.
    pub sender: &'a str,
    /// Unix time the original was accepted.
    pub received_at: u64,
    /// The original message (its headers are attached).
    pub original: &'a [u8],
    /// The recipients reported.
    pub recipients: &'a [DsnRecipient],
    /// Failure or delay.
    pub kind: DsnKind,
    /// For a delay: until when delivery is retried.
    pub retry_until: Option<u64>,
    /// Now, Unix time.
    pub now: u64,
}

/// Builds the DSN, or `None` when none may be sent: the original came from the null sender
/// (RFC 3464 §2 / RFC 5321 §4.5.5: never answer a bounce), or there is nothing to report.
pub fn build_dsn(input: &DsnInput<'_>) -> Option<Dsn> {
    let sender = one_line(input.sender);
    if sender.is_empty() || input.recipients.is_empty() {
        return None;
    }
    // Random, so no line of the attached original headers can guess and close it.
    let boundary = format!("calm-dsn-{:016x}", rand::random::<u64>());
    let mut out = String::new();
    write_headers(&mut out, input, &sender, &boundary);
    let _ = write!(out, "--{boundary}\r\n");
    write_human_part(&mut out, input);
    let _ = write!(out, "--{boundary}\r\n");
    write_status_part(&mut out, input);
    let _ = write!(out, "--{boundary}\r\n");
    out.push_str("Content-Type: text/rfc822-headers\r\n\r\n");
    let mut data = out.into_bytes();
    data.extend_from_slice(&original_headers(input.original));
    data.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Some(Dsn {
        original_id: input.queue_id.to_owned(),
        mail_from: String::new(),
        rcpt_to: sender,
        data,
        kind: input.kind,
    })
}

fn write_headers(out: &mut String, input: &DsnInput<'_>, sender: &str, boundary: &str) {
    let host = one_line(input.reporting_mta);
    let subject = match input.kind {
        DsnKind::Failure => "Undelivered Mail Returned to Sender",
        DsnKind::Delay => "Delayed Mail (still being retried)",
    };
    let _ = write!(
        out,
        "From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n\
         To: <{sender}>\r\n\
         Subject: {subject}\r\n\
         Date: {}\r\n\
         Message-ID: <{}.{}.dsn@{host}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\n\
         \r\n\
         This is a MIME-encapsulated delivery status notification.\r\n\r\n",
        rfc2822(input.now),
        one_line(input.queue_id),
        input.now,
    );
}

fn write_human_part(out: &mut String, input: &DsnInput<'_>) {
    out.push_str("Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    let host = one_line(input.reporting_mta);
    match input.kind {
        DsnKind::Failure => {
            let _ = write!(
                out,
                "This is the mail system at {host}.\r\n\r\n\
                 Your message could not be delivered to one or more recipients.\r\n\
                 It is attached below (headers only).\r\n\r\n"
            );
        }
        DsnKind::Delay => {
            let until = input.retry_until.map(rfc2822).unwrap_or_default();
            let _ = write!(
                out,
                "This is the mail system at {host}.\r\n\r\n\
                 Your message has not been delivered yet to the recipients below.\r\n\
                 It will be retried until {until}; you do not need to resend it.\r\n\r\n"
            );
        }
    }
    for r in input.recipients {
        let why = r.diagnostic.as_deref().map(one_line).unwrap_or_default();
        let _ = write!(out, "<{}>: {why}\r\n", one_line(&r.rcpt));
    }
    out.push_str("\r\n");
}

/// The machine-readable part (RFC 3464 §2.2 per-message, §2.3 per-recipient fields).
fn write_status_part(out: &mut String, input: &DsnInput<'_>) {
    out.push_str("Content-Type: message/delivery-status\r\n\r\n");
    let _ = write!(
        out,
        "Reporting-MTA: dns; {}\r\nX-Calm-Queue-ID: {}\r\nArrival-Date: {}\r\n",
        one_line(input.reporting_mta),
        one_line(input.queue_id),
        rfc2822(input.received_at)
    );
    let action = match input.kind {
        DsnKind::Failure => "failed",
        DsnKind::Delay => "delayed",
    };
    for r in input.recipients {
        let _ = write!(
            out,
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: {action}\r\nStatus: {}\r\n",
            one_line(&r.rcpt),
            one_line(&r.status)
        );
        if let Some(mta) = &r.remote_mta {
            let _ = write!(out, "Remote-MTA: dns; {}\r\n", one_line(mta));
        }
        if let Some(diag) = &r.diagnostic {
            // RFC 3464 §2.3.6: "smtp" diagnostics quote the remote reply; others are ours.
            let kind = if r.remote_reply { "smtp" } else { "x-calm" };
            let _ = write!(out, "Diagnostic-Code: {kind}; {}\r\n", one_line(diag));
        }
        if let Some(at) = r.last_attempt {
            let _ = write!(out, "Last-Attempt-Date: {}\r\n", rfc2822(at));
        }
        if let (DsnKind::Delay, Some(until)) = (input.kind, input.retry_until) {
            let _ = write!(out, "Will-Retry-Until: {}\r\n", rfc2822(until));
        }
    }
    out.push_str("\r\n");
}

/// The header block of the original (up to the blank line), CRLF-terminated and bounded.
fn original_headers(message: &[u8]) -> Vec<u8> {
    let end = find(message, b"\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| find(message, b"\n\n").map(|i| i + 1))
        .unwrap_or(message.len());
    let mut headers = message
        .get(..end.min(MAX_ATTACHED_HEADERS))
        .unwrap_or(&[])
        .to_vec();
    // Cut at the last complete line so the part stays well-formed.
    if let Some(last) = headers.iter().rposition(|&b| b == b'\n') {
        headers.truncate(last + 1);
    }
    headers
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Printable ASCII on one line: controls become spaces and other bytes `?`, so text from a
/// remote server or an address can never start a header or a MIME part of its own.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_control() => ' ',
            _ => '?',
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn rfc2822(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&Rfc2822).ok())
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 +0000".to_owned())
}

#[cfg(test)]
mod tests;
