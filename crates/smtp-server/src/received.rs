//! The `Received:` trace header (RFC 5321 §4.4, RFC 5322 §3.6.7).

use std::net::IpAddr;

use time::OffsetDateTime;
use time::macros::format_description;

/// What goes into one `Received:` header.
pub(crate) struct Trace<'a> {
    pub helo: &'a str,
    pub client_ip: IpAddr,
    pub hostname: &'a str,
    /// `ESMTP`, `ESMTPS`, `ESMTPSA`, … (RFC 3848).
    pub protocol: &'a str,
    pub id: &'a str,
    /// Named only when there is exactly one recipient, so a copy to several people does not
    /// reveal the others (RFC 5321 §7.2).
    pub single_rcpt: Option<String>,
    pub date: OffsetDateTime,
}

/// RFC 5321 §4.1.3 address literal form of the client's address.
fn literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("[{v4}]"),
            None => format!("[IPv6:{v6}]"),
        },
        IpAddr::V4(v4) => format!("[{v4}]"),
    }
}

/// RFC 5322 §3.3 date-time, e.g. `Sun, 29 Nov 2026 21:06:20 +0000`.
pub(crate) fn rfc5322_date(date: OffsetDateTime) -> String {
    let fmt = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    date.format(&fmt)
        .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".to_owned())
}

impl Trace<'_> {
    /// The header, folded, ending in CRLF.
    pub(crate) fn header(&self) -> String {
        // The HELO name is client-chosen: keep only printable characters that cannot close
        // the parenthesised comment or start a new header line.
        let helo: String = self
            .helo
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | '\\'))
            .collect();
        let mut h = format!(
            "Received: from {helo} ({})\r\n\tby {} (calm) with {} id {}",
            literal(self.client_ip),
            self.hostname,
            self.protocol,
            self.id
        );
        if let Some(rcpt) = &self.single_rcpt {
            h.push_str(&format!("\r\n\tfor <{rcpt}>"));
        }
        h.push_str(&format!("; {}\r\n", rfc5322_date(self.date)));
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_shape() {
        let t = Trace {
            helo: "client.test",
            client_ip: "192.0.2.7".parse().unwrap(),
            hostname: "mx.example.test",
            protocol: "ESMTPS",
            id: "ABC",
            single_rcpt: Some("bob@example.test".into()),
            date: OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
        };
        assert_eq!(
            t.header(),
            "Received: from client.test ([192.0.2.7])\r\n\tby mx.example.test (calm) with ESMTPS id ABC\r\n\
             \tfor <bob@example.test>; Wed, 18 Nov 2026 11:06:40 +0000\r\n"
        );
    }

    #[test]
    fn hostile_helo_and_ipv6() {
        let t = Trace {
            helo: "evil) (x\\",
            client_ip: "2001:db8::1".parse().unwrap(),
            hostname: "h",
            protocol: "ESMTP",
            id: "X",
            single_rcpt: None,
            date: OffsetDateTime::UNIX_EPOCH,
        };
        let h = t.header();
        assert!(
            h.starts_with("Received: from evil x ([IPv6:2001:db8::1])\r\n"),
            "{h}"
        );
        assert!(!h.contains("for <"));
        assert!(h.ends_with("; Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
        assert_eq!(literal("::ffff:192.0.2.1".parse().unwrap()), "[192.0.2.1]");
    }
}
