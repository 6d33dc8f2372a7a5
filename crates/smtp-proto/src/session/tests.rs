use super::*;
use proptest::prelude::*;

const HOST: &str = "mx.example.test";

/// A scripted backend: senders always ok, recipients ok in example.test, bob/secret valid,
/// deliveries queued as "ID". Returns replies as wire text and other actions as markers.
fn drive(s: &mut Session, input: &[u8]) -> Vec<String> {
    s.receive(input);
    let mut out = Vec::new();
    while let Some(action) = s.poll() {
        match action {
            Action::Reply(r) => out.push(r.to_string().trim_end().to_owned()),
            Action::StartTls => out.push("<starttls>".into()),
            Action::Close(reason) => out.push(format!("<close {reason:?}>")),
            Action::CheckHello(name) => {
                // A scripted policy: the name "refused.example" is refused, 421 closes.
                let verdict = match name.as_str() {
                    "refused.example" => Err(Reply::new(550, None, "helo refused")),
                    "closing.example" => Err(Reply::new(421, None, "go away")),
                    _ => Ok(()),
                };
                s.answer(Answer::Hello(verdict)).unwrap();
            }
            Action::CheckSender(_) => s.answer(Answer::Sender(Ok(()))).unwrap(),
            Action::CheckRecipient(a) => {
                let verdict = if a.domain() == "example.test" {
                    RcptVerdict::Accept
                } else {
                    RcptVerdict::Reject(Reply::relay_denied("Relay access denied"))
                };
                out.push(format!("<rcpt {a}>"));
                s.answer(Answer::Recipient(verdict)).unwrap();
            }
            Action::Authenticate {
                credentials,
                mechanism,
            } => {
                out.push(format!("<auth {mechanism} {}>", credentials.username));
                let ok = credentials.username == "bob" && credentials.password == "secret";
                s.answer(Answer::Auth(ok.then(|| "bob".to_owned())))
                    .unwrap();
            }
            Action::Deliver { envelope, body } => {
                out.push(format!(
                    "<deliver {} {:?} {:?}>",
                    envelope.mail_from,
                    envelope
                        .rcpt_to
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>(),
                    String::from_utf8_lossy(&body)
                ));
                s.answer(Answer::Delivery(Reply::queued("ID"))).unwrap();
            }
        }
    }
    out
}

fn session(role: Role) -> Session {
    let mut c = SessionConfig::new(HOST, role);
    c.max_message_size = 100;
    c.max_recipients = 2;
    c.max_errors = 5;
    let mut s = Session::new(c);
    s.greet();
    assert_eq!(codes(&drive(&mut s, b"")), ["220"]);
    s
}

/// A greeted session past EHLO, with the greeting and EHLO reply dropped.
fn ready(role: Role) -> Session {
    let mut s = session(role);
    drive(&mut s, b"EHLO client.test\r\n");
    s
}

/// A submission session after STARTTLS and EHLO.
fn tls_submission() -> Session {
    let mut s = ready(Role::Submission);
    assert_eq!(
        drive(&mut s, b"STARTTLS\r\n"),
        ["220 2.0.0 Ready to start TLS", "<starttls>"]
    );
    s.tls_established();
    drive(&mut s, b"EHLO client.test\r\n");
    s
}

fn codes(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|l| l.get(..3))
        .filter(|c| c.as_bytes()[0].is_ascii_digit())
        .collect()
}

#[test]
fn greeting_and_ehlo_on_mx() {
    let mut s = Session::new(SessionConfig::new(HOST, Role::Mx));
    s.greet();
    let out = drive(&mut s, b"EHLO client.test\r\n");
    assert_eq!(out[0], "220 mx.example.test ESMTP calm");
    assert_eq!(
        out[1],
        "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 26214400\r\n250-8BITMIME\r\n\
         250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS"
    );
    assert_eq!(s.helo(), Some("client.test"));
}

#[test]
fn ehlo_capabilities_per_role() {
    let ehlo = |s: &mut Session| drive(s, b"EHLO c\r\n").join("\n");
    let mut mx = session(Role::Mx);
    let caps = ehlo(&mut mx);
    assert!(caps.contains("STARTTLS") && !caps.contains("AUTH"));

    let mut sub = session(Role::Submission);
    let caps = ehlo(&mut sub);
    assert!(
        caps.contains("STARTTLS") && !caps.contains("AUTH"),
        "no AUTH before TLS"
    );
    let mut sub = tls_submission();
    let caps = ehlo(&mut sub);
    assert!(!caps.contains("STARTTLS") && caps.contains("AUTH PLAIN LOGIN"));

    let mut subs = session(Role::Submissions);
    assert!(subs.is_tls());
    let caps = ehlo(&mut subs);
    assert!(!caps.contains("STARTTLS") && caps.contains("AUTH PLAIN LOGIN"));
}

#[test]
fn helo_is_plain() {
    let mut s = session(Role::Mx);
    assert_eq!(drive(&mut s, b"HELO c\r\n"), ["250 mx.example.test"]);
    assert_eq!(s.protocol(false), "SMTP");
}

#[test]
fn early_talker_is_refused() {
    let mut s = Session::new(SessionConfig::new(HOST, Role::Mx));
    s.receive(b"EHLO x\r\n");
    s.greet();
    let out = drive(&mut s, b"");
    assert_eq!(
        out,
        [
            "554 5.5.0 mx.example.test Error: client sent data before greeting",
            "<close EarlyTalker>"
        ]
    );
    assert!(s.is_closed());
}

#[test]
fn pipelined_transaction_replies_in_order() {
    let mut s = ready(Role::Mx);
    let out = drive(
        &mut s,
        b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<x@evil.test>\r\nDATA\r\n",
    );
    assert_eq!(
        out,
        [
            "250 2.1.0 Ok",
            "<rcpt bob@example.test>",
            "250 2.1.5 Ok",
            "<rcpt x@evil.test>",
            "554 5.7.1 Relay access denied",
            "354 End data with <CR><LF>.<CR><LF>",
        ]
    );
    assert!(s.in_data());
    let out = drive(&mut s, b"Subject: t\r\n\r\n..hi\r\n.\r\nQUIT\r\n");
    assert_eq!(
        out,
        [
            "<deliver <a@remote.test> [\"bob@example.test\"] \"Subject: t\\r\\n\\r\\n.hi\\r\\n\">",
            "250 2.0.0 Ok: queued as ID",
            "221 2.0.0 Bye",
            "<close Quit>",
        ]
    );
}

#[test]
fn commands_out_of_order() {
    let mut s = session(Role::Mx);
    assert_eq!(codes(&drive(&mut s, b"MAIL FROM:<a@b.test>\r\n")), ["503"]);
    let mut s = ready(Role::Mx);
    assert_eq!(
        drive(&mut s, b"RCPT TO:<bob@example.test>\r\nDATA\r\n"),
        [
            "503 5.5.1 Error: need MAIL command",
            "503 5.5.1 Error: need MAIL command"
        ]
    );
    let out = drive(&mut s, b"MAIL FROM:<>\r\nMAIL FROM:<>\r\nDATA\r\n");
    assert_eq!(
        out,
        [
            "250 2.1.0 Ok",
            "503 5.5.1 Error: nested MAIL command",
            "554 5.5.1 Error: no valid recipients"
        ]
    );
    // RSET ends the transaction.
    let mut s = ready(Role::Mx);
    drive(&mut s, b"MAIL FROM:<>\r\n");
    assert_eq!(
        codes(&drive(&mut s, b"RSET\r\nRCPT TO:<bob@example.test>\r\n")),
        ["250", "503"]
    );
}

#[test]
fn bare_lf_and_cr_in_commands_close() {
    for input in [&b"NOOP\n"[..], b"NOOP\rNOOP\r\n", b"\n"] {
        let mut s = ready(Role::Mx);
        let out = drive(&mut s, input);
        assert_eq!(
            out,
            [
                "521 5.5.2 mx.example.test Error: bare CR or LF received",
                "<close BareLineEnding>"
            ],
            "{input:?}"
        );
        assert!(
            drive(&mut s, b"NOOP\r\n").is_empty(),
            "nothing read after close"
        );
    }
}

#[test]
fn smuggling_sequences_in_data_close_without_delivery() {
    for seq in [&b"\n.\n"[..], b"\n.\r\n", b"\r\n.\n", b"\r.\r"] {
        let mut s = ready(Role::Mx);
        drive(
            &mut s,
            b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
        );
        let mut input = b"Subject: x\r\n\r\nbody".to_vec();
        input.extend_from_slice(seq);
        input.extend_from_slice(b"MAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n");
        let out = drive(&mut s, &input);
        assert_eq!(
            out,
            [
                "521 5.5.2 mx.example.test Error: bare CR or LF in message data",
                "<close BareLineEnding>"
            ],
            "{seq:?}"
        );
    }
}

#[test]
fn overlong_command_lines() {
    let mut s = ready(Role::Mx);
    let mut line = b"NOOP ".to_vec();
    line.resize(600, b'x');
    line.extend_from_slice(b"\r\n");
    assert_eq!(drive(&mut s, &line), ["500 5.5.6 Line too long"]);
    let mut line = b"NOOP ".to_vec();
    line.resize(10_000, b'x');
    line.extend_from_slice(b"\r\nNOOP\r\n");
    assert_eq!(
        drive(&mut s, &line),
        ["500 5.5.6 Line too long", "250 2.0.0 Ok"]
    );
    // MAIL may run past 512 octets because of ESMTP parameters.
    let mut line = b"MAIL FROM:<a@remote.test> AUTH=".to_vec();
    line.resize(700, b'x');
    line.extend_from_slice(b"\r\n");
    assert_eq!(drive(&mut s, &line), ["250 2.1.0 Ok"]);
}

#[test]
fn too_many_recipients() {
    let mut s = ready(Role::Mx);
    let out = drive(
        &mut s,
        b"MAIL FROM:<>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n",
    );
    assert_eq!(codes(&out), ["250", "250", "250", "452"]);
    assert_eq!(
        out.last().map(String::as_str),
        Some("452 4.5.3 Error: too many recipients")
    );
}

#[test]
fn size_limits() {
    let mut s = ready(Role::Mx);
    assert_eq!(
        drive(&mut s, b"MAIL FROM:<> SIZE=101\r\n"),
        ["552 5.3.4 Message size exceeds fixed maximum message size"]
    );
    drive(
        &mut s,
        b"MAIL FROM:<> SIZE=100\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
    );
    let mut body = vec![b'a'; 60];
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(&body.clone());
    body.extend_from_slice(b".\r\nNOOP\r\n");
    let out = drive(&mut s, &body);
    assert_eq!(
        out,
        ["552 5.3.4 Message size exceeds fixed limit", "250 2.0.0 Ok"]
    );
}

#[test]
fn long_data_line_rejected_at_end() {
    let mut c = SessionConfig::new(HOST, Role::Mx);
    c.max_message_size = 10_000;
    let mut s = Session::new(c);
    s.greet();
    drive(
        &mut s,
        b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
    );
    let mut body = vec![b'a'; 1500];
    body.extend_from_slice(b"\r\n.\r\nNOOP\r\n");
    assert_eq!(
        drive(&mut s, &body),
        [
            "550 5.6.0 Message has lines longer than 1000 octets (RFC 5321 4.5.3.1.6)",
            "250 2.0.0 Ok"
        ]
    );
}

#[test]
fn starttls_discards_buffered_plaintext() {
    let mut s = ready(Role::Mx);
    let out = drive(&mut s, b"STARTTLS\r\nRSET\r\n");
    assert_eq!(out, ["220 2.0.0 Ready to start TLS", "<starttls>"]);
    // Plaintext arriving during the handshake is dropped too.
    s.receive(b"MAIL FROM:<x@y.test>\r\n");
    s.tls_established();
    assert_eq!(
        drive(&mut s, b""),
        Vec::<String>::new(),
        "RSET must not run after the handshake"
    );
    assert!(s.is_tls());
    assert_eq!(s.helo(), None, "RFC 3207 §4.2: EHLO is forgotten");
    assert_eq!(codes(&drive(&mut s, b"MAIL FROM:<a@b.test>\r\n")), ["503"]);
    let caps = drive(&mut s, b"EHLO c\r\n").join("\n");
    assert!(!caps.contains("STARTTLS"));
    assert_eq!(codes(&drive(&mut s, b"STARTTLS\r\n")), ["503"]);
}

#[test]
fn starttls_forgets_transaction() {
    let mut s = ready(Role::Mx);
    drive(&mut s, b"MAIL FROM:<a@b.test>\r\n");
    drive(&mut s, b"STARTTLS\r\n");
    s.tls_established();
    assert_eq!(
        codes(&drive(&mut s, b"EHLO c\r\nRCPT TO:<bob@example.test>\r\n")),
        ["250", "503"]
    );
}

#[test]
fn auth_rules_per_role() {
    let mut mx = ready(Role::Mx);
    assert_eq!(
        drive(&mut mx, b"AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n"),
        ["503 5.5.1 Error: authentication not enabled"]
    );

    let mut sub = ready(Role::Submission);
    assert_eq!(
        drive(
            &mut sub,
            b"AUTH PLAIN AGJvYgBzZWNyZXQ=\r\nMAIL FROM:<bob@example.test>\r\n"
        ),
        [
            "530 5.7.0 Must issue a STARTTLS command first",
            "530 5.7.0 Must issue a STARTTLS command first"
        ]
    );

    let mut sub = tls_submission();
    assert_eq!(
        drive(&mut sub, b"MAIL FROM:<bob@example.test>\r\n"),
        ["530 5.7.0 Authentication required"]
    );
    let mut subs = ready(Role::Submissions);
    assert_eq!(
        drive(&mut subs, b"MAIL FROM:<bob@example.test>\r\n"),
        ["530 5.7.0 Authentication required"]
    );
}

#[test]
fn auth_plain_success_then_mail() {
    let mut s = tls_submission();
    let out = drive(
        &mut s,
        b"AUTH PLAIN AGJvYgBzZWNyZXQ=\r\nMAIL FROM:<bob@example.test>\r\n",
    );
    assert_eq!(
        out,
        [
            "<auth PLAIN bob>",
            "235 2.7.0 Authentication successful",
            "250 2.1.0 Ok"
        ]
    );
    assert_eq!(s.auth_user(), Some("bob"));
    assert_eq!(s.protocol(false), "ESMTPSA");
    assert_eq!(s.protocol(true), "UTF8SMTPSA");
    assert_eq!(
        codes(&drive(&mut s, b"RSET\r\nAUTH PLAIN AGJvYgBzZWNyZXQ=\r\n")),
        ["250", "503"]
    );
}

#[test]
fn auth_plain_with_empty_challenge() {
    let mut s = tls_submission();
    assert_eq!(drive(&mut s, b"AUTH PLAIN\r\n"), ["334"]);
    assert_eq!(codes(&drive(&mut s, b"AGJvYgBzZWNyZXQ=\r\n")), ["235"]);
}

#[test]
fn auth_login_success_and_cancel() {
    let mut s = tls_submission();
    assert_eq!(drive(&mut s, b"AUTH LOGIN\r\n"), ["334 VXNlcm5hbWU6"]);
    assert_eq!(drive(&mut s, b"Ym9i\r\n"), ["334 UGFzc3dvcmQ6"]);
    assert_eq!(codes(&drive(&mut s, b"c2VjcmV0\r\n")), ["235"]);

    let mut s = tls_submission();
    assert_eq!(
        drive(&mut s, b"AUTH LOGIN\r\n*\r\n"),
        ["334 VXNlcm5hbWU6", "501 5.7.0 Authentication cancelled"]
    );
    assert_eq!(
        codes(&drive(&mut s, b"AUTH LOGIN Ym9i\r\n!!\r\n")),
        ["334", "501"]
    );
    assert_eq!(codes(&drive(&mut s, b"AUTH CRAM-MD5\r\n")), ["504"]);
}

#[test]
fn auth_failures_close_after_limit() {
    let mut s = tls_submission();
    let bad = b"AUTH PLAIN AGJvYgB3cm9uZw==\r\n"; // \0bob\0wrong
    assert_eq!(
        drive(&mut s, bad),
        [
            "<auth PLAIN bob>",
            "535 5.7.8 Authentication credentials invalid"
        ]
    );
    drive(&mut s, bad);
    let out = drive(&mut s, bad);
    assert_eq!(
        &out[1..],
        [
            "535 5.7.8 Authentication credentials invalid",
            "421 4.7.0 mx.example.test Error: too many authentication failures",
            "<close TooManyAuthFailures>",
        ]
    );
    // A foreign authzid counts as a failure without reaching the backend.
    let mut s = tls_submission();
    assert_eq!(
        codes(&drive(&mut s, b"AUTH PLAIN YWRtaW4AYm9iAHNlY3JldA==\r\n")),
        ["535"]
    );
}

#[test]
fn misc_commands() {
    let mut s = ready(Role::Mx);
    assert_eq!(
        drive(
            &mut s,
            b"VRFY bob\r\nEXPN staff\r\nBDAT 10 LAST\r\nNOOP\r\n"
        ),
        [
            "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery",
            "502 5.5.1 Error: command not implemented",
            "502 5.5.1 Error: command not implemented",
            "250 2.0.0 Ok",
        ]
    );
    assert_eq!(drive(&mut s, b"HELP\r\n")[0].matches("214").count(), 2);
    assert_eq!(
        drive(&mut s, b"XYZZY\r\n"),
        ["500 5.5.1 Error: command not recognized"]
    );
    assert_eq!(s.last_command(), "UNKNOWN");
    drive(&mut s, b"MAIL FROM:bad\r\n");
    assert_eq!(s.last_command(), "MAIL");
}

#[test]
fn too_many_errors_close() {
    let mut s = ready(Role::Mx);
    let out = drive(&mut s, b"X\r\nX\r\nX\r\nX\r\nX\r\nNOOP\r\n");
    assert_eq!(codes(&out), ["500", "500", "500", "500", "500", "421"]);
    assert_eq!(
        out.last().map(String::as_str),
        Some("<close TooManyErrors>")
    );
}

#[test]
fn timeout_closes() {
    let mut s = ready(Role::Mx);
    s.timeout();
    assert_eq!(
        drive(&mut s, b""),
        [
            "421 4.4.2 mx.example.test Error: timeout exceeded",
            "<close Timeout>"
        ]
    );
}

#[test]
fn smtputf8_addresses() {
    let mut s = ready(Role::Mx);
    assert_eq!(
        drive(&mut s, "MAIL FROM:<jürgen@remote.test>\r\n".as_bytes()),
        ["553 5.6.7 Non-ASCII address requires SMTPUTF8"]
    );
    assert_eq!(
        codes(&drive(
            &mut s,
            "MAIL FROM:<> \r\nRCPT TO:<jürgen@example.test>\r\n".as_bytes()
        )),
        ["250", "553"]
    );
    let mut s = ready(Role::Mx);
    let out = drive(
        &mut s,
        "MAIL FROM:<jürgen@remote.test> SMTPUTF8\r\nRCPT TO:<jürgen@example.test>\r\n".as_bytes(),
    );
    assert_eq!(codes(&out), ["250", "250"]);
}

#[test]
fn postmaster_without_domain_goes_to_our_host() {
    let mut s = ready(Role::Mx);
    let out = drive(&mut s, b"MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\n");
    assert_eq!(out[1], "<rcpt postmaster@mx.example.test>");
}

#[test]
fn answers_must_match_the_question() {
    let mut s = ready(Role::Mx);
    assert_eq!(
        s.answer(Answer::Auth(None)),
        Err(SessionError::UnexpectedAnswer)
    );
    s.receive(b"MAIL FROM:<>\r\n");
    assert!(matches!(
        s.poll(),
        Some(Action::CheckSender(ReversePath::Null))
    ));
    assert_eq!(s.poll(), None, "waits for the answer");
    assert_eq!(
        s.answer(Answer::Recipient(RcptVerdict::Accept)),
        Err(SessionError::UnexpectedAnswer)
    );
    assert_eq!(
        s.answer(Answer::Sender(Err(Reply::relay_denied("no")))),
        Ok(())
    );
    assert_eq!(s.poll(), Some(Action::Reply(Reply::relay_denied("no"))));
}

#[test]
fn delivery_failure_is_passed_through() {
    let mut s = ready(Role::Mx);
    s.receive(b"MAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nx\r\n.\r\n");
    let mut delivered = false;
    while let Some(a) = s.poll() {
        match a {
            Action::CheckSender(_) => s.answer(Answer::Sender(Ok(()))).unwrap(),
            Action::CheckRecipient(_) => s.answer(Answer::Recipient(RcptVerdict::Accept)).unwrap(),
            Action::Deliver { .. } => {
                delivered = true;
                s.answer(Answer::Delivery(Reply::local_error(
                    "Error: queue file write error",
                )))
                .unwrap()
            }
            Action::Reply(r) if delivered => assert_eq!(r.code, 451),
            _ => {}
        }
    }
    assert!(delivered);
    // The transaction is over: a new MAIL is accepted.
    assert_eq!(codes(&drive(&mut s, b"MAIL FROM:<>\r\n")), ["250"]);
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8), role in 0u8..3) {
        let role = [Role::Mx, Role::Submission, Role::Submissions][usize::from(role)];
        let mut s = session(role);
        for c in chunks {
            drive(&mut s, &c);
            if s.poll().is_none() && s.is_closed() { break; }
        }
    }

    #[test]
    fn arbitrary_commands_after_ehlo_never_panic(lines in proptest::collection::vec("(EHLO|MAIL FROM:|RCPT TO:|DATA|AUTH|STARTTLS|RSET|\\.)[ -~]{0,20}", 0..12)) {
        let mut s = tls_submission();
        for l in lines {
            let mut bytes = l.into_bytes();
            bytes.extend_from_slice(b"\r\n");
            drive(&mut s, &bytes);
            if s.in_data() { drive(&mut s, b".\r\n"); }
            if matches!(s.state, State::Tls) { s.tls_established(); }
        }
    }
}

#[test]
fn helo_goes_to_the_backend_and_a_refusal_keeps_the_session_unnamed() {
    let mut s = Session::new(SessionConfig::new(HOST.to_owned(), Role::Mx));
    s.greet();
    let _ = drive(&mut s, b"");
    let out = drive(
        &mut s,
        b"EHLO refused.example\r\nMAIL FROM:<a@b.example>\r\n",
    );
    assert_eq!(out[0], "550 helo refused");
    assert!(out[1].starts_with("503"), "{out:?}");
    assert!(s.helo().is_none());
    let out = drive(&mut s, b"HELO fine.example\r\n");
    assert_eq!(out, vec![format!("250 {HOST}")]);
    assert_eq!(s.helo(), Some("fine.example"));
}

#[test]
fn a_421_from_the_backend_closes_the_session() {
    let mut s = Session::new(SessionConfig::new(HOST.to_owned(), Role::Mx));
    s.greet();
    let _ = drive(&mut s, b"");
    let out = drive(&mut s, b"EHLO closing.example\r\nNOOP\r\n");
    assert_eq!(
        out,
        vec!["421 go away".to_owned(), "<close Refused>".to_owned()]
    );
}
