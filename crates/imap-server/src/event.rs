//! [`ImapEvent`]: what the server reports for the event log.

use std::net::IpAddr;

use crate::server::Role;

/// One event, serialised as a JSON object with an `"event"` field (`"connect"`, …).
/// Passwords never appear in any event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImapEvent {
    /// A client connected.
    Connect {
        /// Listener name.
        listener: String,
        /// Listener role.
        role: Role,
        /// Client address.
        client_ip: IpAddr,
        /// TLS from the start (imaps).
        tls: bool,
    },
    /// A client authenticated and its store was opened.
    AuthSuccess {
        /// The canonical user name.
        user: String,
        /// Client address.
        client_ip: IpAddr,
        /// `LOGIN` or the SASL mechanism (`PLAIN`).
        mechanism: String,
    },
    /// Credentials were refused.
    AuthFailure {
        /// The user name the client tried.
        user: String,
        /// Client address.
        client_ip: IpAddr,
        /// `LOGIN` or the SASL mechanism.
        mechanism: String,
    },
    /// A message was added by APPEND.
    Append {
        /// The user.
        user: String,
        /// Client address.
        client_ip: IpAddr,
        /// The mailbox.
        mailbox: String,
        /// Its UID there.
        uid: u32,
        /// Its size in octets.
        octets: u64,
    },
    /// Messages were removed by EXPUNGE, UID EXPUNGE or CLOSE (not by MOVE, which keeps them).
    Expunge {
        /// The user.
        user: String,
        /// Client address.
        client_ip: IpAddr,
        /// The mailbox.
        mailbox: String,
        /// How many messages were removed.
        count: usize,
    },
    /// The session ended.
    Disconnect {
        /// The user, if one logged in.
        user: Option<String>,
        /// Client address.
        client_ip: IpAddr,
        /// Why: `logout`, `timeout`, `too many errors`, `client closed connection`, …
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_event_tag() {
        let ev = ImapEvent::Connect {
            listener: "imaps".into(),
            role: Role::Imaps,
            client_ip: "::1".parse().unwrap(),
            tls: true,
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"event":"connect","listener":"imaps","role":"imaps","client_ip":"::1","tls":true}"#
        );
    }
}
