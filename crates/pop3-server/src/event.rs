//! [`Pop3Event`]: what the server reports for the event log.

use std::net::IpAddr;

use calm_pop3_proto::Role;

/// One event, serialised as a JSON object with an `"event"` field (`"connect"`, `"retr"`, …).
/// Passwords never appear in any event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Pop3Event {
    /// A client connected.
    Connect {
        /// Listener name.
        listener: String,
        /// Listener role.
        role: Role,
        /// Client address.
        client_ip: IpAddr,
        /// TLS from the start (pop3s).
        tls: bool,
    },
    /// A client authenticated and its maildrop was opened.
    AuthSuccess {
        /// The canonical user name.
        user: String,
        /// Client address.
        client_ip: IpAddr,
        /// `USER`, `PLAIN` or `LOGIN`.
        mechanism: String,
    },
    /// Credentials were refused.
    AuthFailure {
        /// The user name the client tried.
        user: String,
        /// Client address.
        client_ip: IpAddr,
        /// `USER`, `PLAIN` or `LOGIN`.
        mechanism: String,
    },
    /// A message (RETR) or its top (TOP) was sent in full.
    Retr {
        /// The user.
        user: String,
        /// The message's UIDL.
        uidl: String,
        /// Its size (RFC822.SIZE).
        octets: u64,
        /// For TOP, the number of body lines asked for.
        top: Option<u32>,
        /// Client address.
        client_ip: IpAddr,
    },
    /// A message marked with DELE was removed at QUIT (the UPDATE state).
    Dele {
        /// The user.
        user: String,
        /// The message's UIDL.
        uidl: String,
        /// Client address.
        client_ip: IpAddr,
    },
    /// The session ended, by QUIT or otherwise.
    Quit {
        /// The user, if one logged in.
        user: Option<String>,
        /// Client address.
        client_ip: IpAddr,
        /// Why: `quit`, `timeout`, `too_many_errors`, `too_many_auth_failures`,
        /// `client closed connection`, `tls handshake failed: …`, …
        reason: String,
        /// Messages removed at QUIT.
        deleted: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_event_tag() {
        let ev = Pop3Event::AuthFailure {
            user: "bob".into(),
            client_ip: "192.0.2.1".parse().unwrap(),
            mechanism: "USER".into(),
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"event":"auth_failure","user":"bob","client_ip":"192.0.2.1","mechanism":"USER"}"#
        );
        let ev = Pop3Event::Connect {
            listener: "pop3s".into(),
            role: Role::Pop3s,
            client_ip: "::1".parse().unwrap(),
            tls: true,
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"event":"connect","listener":"pop3s","role":"pop3s","client_ip":"::1","tls":true}"#
        );
    }
}
