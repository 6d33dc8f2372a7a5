//! [`SmtpEvent`]: what the server reports for the event log.

use std::net::IpAddr;

use calm_smtp_proto::Role;

/// One event, serialised as a JSON object with an `"event"` field (`"connect"`, `"reject"`, …).
/// Passwords never appear in any event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SmtpEvent {
    /// A client connected.
    Connect {
        /// Listener name.
        listener: String,
        /// Listener role.
        role: Role,
        /// Client address.
        client_ip: IpAddr,
        /// TLS from the start (submissions).
        tls: bool,
    },
    /// The server answered 4xx or 5xx.
    Reject {
        /// The command being answered (`MAIL`, `RCPT`, `DATA`, `AUTH`, `LINE`, `TIMEOUT`, …).
        stage: String,
        /// Reply code.
        code: u16,
        /// Enhanced status code, e.g. `5.7.1`.
        enhanced: Option<String>,
        /// Reply text.
        text: String,
        /// Client address.
        client_ip: IpAddr,
    },
    /// Credentials were refused.
    AuthFailure {
        /// The user name the client tried.
        user: String,
        /// Client address.
        client_ip: IpAddr,
        /// `PLAIN` or `LOGIN`.
        mechanism: String,
    },
    /// A client authenticated.
    AuthSuccess {
        /// The canonical user name.
        user: String,
        /// Client address.
        client_ip: IpAddr,
    },
    /// A message was durably queued and `250` sent.
    Accepted {
        /// Its queue id.
        queue_id: String,
        /// Octets stored, `Received:` header included.
        size: u64,
        /// `MAIL FROM` (`<>` for the null sender).
        from: String,
        /// Recipients.
        rcpt: Vec<String>,
        /// Client address.
        client_ip: IpAddr,
        /// The authenticated user, if any.
        auth_user: Option<String>,
        /// Received over TLS.
        tls: bool,
    },
    /// The connection ended.
    Disconnect {
        /// Client address.
        client_ip: IpAddr,
        /// Why: `quit`, `timeout`, `too_many_errors`, `client closed connection`, …
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_event_tag() {
        let ev = SmtpEvent::AuthFailure {
            user: "bob".into(),
            client_ip: "192.0.2.1".parse().unwrap(),
            mechanism: "PLAIN".into(),
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"event":"auth_failure","user":"bob","client_ip":"192.0.2.1","mechanism":"PLAIN"}"#
        );
        let ev = SmtpEvent::Connect {
            listener: "mx".into(),
            role: Role::Submissions,
            client_ip: "::1".parse().unwrap(),
            tls: true,
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"event":"connect","listener":"mx","role":"submissions","client_ip":"::1","tls":true}"#
        );
    }
}
