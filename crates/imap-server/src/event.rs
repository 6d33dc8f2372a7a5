//! [`ImapEvent`]: what the server reports for the event log.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::server::Role;

/// At most this many message paths are listed in one [`ImapEvent::Transferred`].
pub const MAX_TRANSFER_PATHS: usize = 100;

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
    /// Messages were copied or moved between mailboxes by COPY, MOVE, UID COPY or UID MOVE:
    /// one event per command that transferred at least one message. calm trains its spam
    /// classifier from these (into `Junk`: spam; out of `Junk`, except to `Trash`: ham).
    /// APPEND is not a transfer and never produces this event.
    Transferred {
        /// The user.
        user: String,
        /// Client address.
        client_ip: IpAddr,
        /// The source mailbox name (UTF-8, `.` as separator, `INBOX` for the root).
        from: String,
        /// The target mailbox name.
        to: String,
        /// MOVE (the sources are gone) rather than COPY.
        moved: bool,
        /// How many messages were transferred (may exceed `messages.len()`).
        count: usize,
        /// The transferred messages' files in the target mailbox's `cur/`, existing when the
        /// event is emitted (a later flag change renames them). Only the first
        /// [`MAX_TRANSFER_PATHS`] are listed, to keep events small.
        messages: Vec<PathBuf>,
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

    #[test]
    fn transferred_serialises_with_paths() {
        let ev = ImapEvent::Transferred {
            user: "bob@example.test".into(),
            client_ip: "127.0.0.1".parse().unwrap(),
            from: "INBOX".into(),
            to: "Junk".into(),
            moved: true,
            count: 1,
            messages: vec![PathBuf::from("m/.Junk/cur/1.x:2,S")],
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"event":"transferred","user":"bob@example.test","client_ip":"127.0.0.1","from":"INBOX","to":"Junk","moved":true,"count":1,"messages":["m/.Junk/cur/1.x:2,S"]}"#
        );
    }
}
