//! [`Stage`]: the five SMTP decision points, in the order a session meets them.

use std::fmt;

/// A decision point of an SMTP session. Each has its own ordered list of rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// The client has connected, before the greeting (Postfix `smtpd_client_restrictions`).
    Connect,
    /// `HELO`/`EHLO` (Postfix `smtpd_helo_restrictions`).
    Helo,
    /// `MAIL FROM` (Postfix `smtpd_sender_restrictions`).
    Mail,
    /// Each `RCPT TO` (Postfix `smtpd_recipient_restrictions`).
    Rcpt,
    /// The end of `DATA`: the whole message is known (Postfix `smtpd_end_of_data_restrictions`).
    Data,
}

impl Stage {
    /// Every stage, in session order.
    pub const ALL: [Stage; 5] = [
        Stage::Connect,
        Stage::Helo,
        Stage::Mail,
        Stage::Rcpt,
        Stage::Data,
    ];

    /// The name used in policy and case files.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Helo => "helo",
            Stage::Mail => "mail",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
        }
    }

    /// The stage called `name` in a policy or case file.
    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Position in [`Stage::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point in time, in milliseconds since an epoch the caller chooses (process start, the Unix
/// epoch, or a fixed value in tests). The engine never reads a clock: time is an input, so
/// simulation is deterministic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Timestamp {
        Timestamp(ms)
    }

    /// `s` seconds after the epoch.
    pub const fn from_secs(s: u64) -> Timestamp {
        Timestamp(s.saturating_mul(1000))
    }

    /// Milliseconds after the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This time minus `window` (never before the epoch).
    pub(crate) fn before(self, window: std::time::Duration) -> u64 {
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        self.0.saturating_sub(ms)
    }
}
