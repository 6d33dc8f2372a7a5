use mail_parser::{MessageParser, MimeHeaders};

use super::*;

const ORIGINAL: &[u8] =
    b"From: a@sender.test\r\nSubject: quarterly numbers\r\nMessage-ID: <m1@sender.test>\r\n\r\nsecret body\r\n";

fn recipient(rcpt: &str, status: &str, diagnostic: &str) -> DsnRecipient {
    DsnRecipient {
        rcpt: rcpt.into(),
        status: status.into(),
        diagnostic: Some(diagnostic.into()),
        remote_reply: true,
        remote_mta: Some("mx.example.test".into()),
        last_attempt: Some(1_700_000_100),
    }
}

fn input<'a>(sender: &'a str, recipients: &'a [DsnRecipient], kind: DsnKind) -> DsnInput<'a> {
    DsnInput {
        reporting_mta: "calm.test",
        queue_id: "Q1",
        sender,
        received_at: 1_700_000_000,
        original: ORIGINAL,
        recipients,
        kind,
        retry_until: Some(1_700_432_000),
        now: 1_700_000_200,
    }
}

#[test]
fn a_failure_dsn_parses_back_as_an_rfc_3464_report() {
    let rcpts = [recipient(
        "gone@example.test",
        "5.1.1",
        "550 5.1.1 no such user",
    )];
    let dsn = build_dsn(&input("a@sender.test", &rcpts, DsnKind::Failure)).unwrap();
    assert_eq!(
        (dsn.mail_from.as_str(), dsn.rcpt_to.as_str()),
        ("", "a@sender.test")
    );
    let msg = MessageParser::default().parse(&dsn.data).unwrap();
    let ct = msg.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    assert_eq!(msg.subject(), Some("Undelivered Mail Returned to Sender"));
    assert_eq!(
        msg.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    let parts: Vec<String> = msg
        .parts
        .iter()
        .filter_map(|p| {
            p.content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        })
        .collect();
    assert_eq!(
        parts,
        [
            "multipart/report",
            "text/plain",
            "message/delivery-status",
            "text/rfc822-headers"
        ]
    );
    let status = String::from_utf8_lossy(msg.parts[2].contents()).into_owned();
    for want in [
        "Reporting-MTA: dns; calm.test",
        "Final-Recipient: rfc822; gone@example.test",
        "Action: failed",
        "Status: 5.1.1",
        "Remote-MTA: dns; mx.example.test",
        "Diagnostic-Code: smtp; 550 5.1.1 no such user",
    ] {
        assert!(status.contains(want), "{want} missing in\n{status}");
    }
    let headers = String::from_utf8_lossy(msg.parts[3].contents()).into_owned();
    assert!(headers.contains("Subject: quarterly numbers"));
    assert!(!headers.contains("secret body"), "only the headers go back");
}

#[test]
fn a_delay_dsn_says_delayed_and_until_when() {
    let rcpts = [recipient(
        "slow@example.test",
        "4.4.1",
        "connection refused",
    )];
    let dsn = build_dsn(&input("a@sender.test", &rcpts, DsnKind::Delay)).unwrap();
    let text = String::from_utf8_lossy(&dsn.data).into_owned();
    assert!(text.contains("Action: delayed\r\nStatus: 4.4.1"));
    assert!(text.contains("Will-Retry-Until: "));
    assert!(text.contains("Subject: Delayed Mail"));
}

#[test]
fn never_a_dsn_to_the_null_sender_or_about_nobody() {
    let rcpts = [recipient("x@example.test", "5.1.1", "550 no")];
    assert!(build_dsn(&input("", &rcpts, DsnKind::Failure)).is_none());
    assert!(build_dsn(&input("  ", &rcpts, DsnKind::Failure)).is_none());
    assert!(build_dsn(&input("a@sender.test", &[], DsnKind::Failure)).is_none());
}

#[test]
fn hostile_replies_and_addresses_cannot_add_headers_or_parts() {
    let evil =
        "550 no\r\nContent-Type: text/html\r\n\r\n--calm-dsn-0000000000000000--\r\nBcc: x@evil";
    let rcpts = [recipient("v@example.test\r\nBcc: y@evil", "5.1.1", evil)];
    let dsn = build_dsn(&input(
        "a@sender.test\r\nBcc: z@evil",
        &rcpts,
        DsnKind::Failure,
    ))
    .unwrap();
    let text = String::from_utf8_lossy(&dsn.data).into_owned();
    assert!(!text.contains("\r\nBcc:"), "{text}");
    assert!(!text.contains("\r\nContent-Type: text/html"));
    let msg = MessageParser::default().parse(&dsn.data).unwrap();
    assert_eq!(msg.parts.len(), 4);
    assert!(msg.header("Bcc").is_none());
    let non_ascii = [recipient("ü@example.test", "5.1.1", "550 ✗ nein")];
    let dsn = build_dsn(&input("a@sender.test", &non_ascii, DsnKind::Failure)).unwrap();
    assert!(
        dsn.data.is_ascii(),
        "message/delivery-status is 7-bit (RFC 3464 §2)"
    );
}

#[test]
fn attached_headers_are_bounded_and_end_on_a_line() {
    let mut huge = b"Subject: x\r\n".to_vec();
    for _ in 0..10_000 {
        huge.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let headers = original_headers(&huge);
    assert!(headers.len() <= MAX_ATTACHED_HEADERS);
    assert!(headers.ends_with(b"\r\n"));
    assert_eq!(original_headers(b"A: b\n\nbody"), b"A: b\n");
    assert_eq!(original_headers(b""), b"");
}
