use super::*;
use proptest::prelude::*;

fn parse(s: &str) -> Result<Command, SyntaxError> {
    Command::parse(s.as_bytes())
}

fn code(s: &str) -> (u16, String) {
    let r = parse(s).unwrap_err().reply();
    (
        r.code,
        r.enhanced.map(|e| e.to_string()).unwrap_or_default(),
    )
}

fn mailbox(s: &str) -> Address {
    Address::parse(s, true).unwrap()
}

#[test]
fn simple_verbs_are_case_insensitive() {
    assert_eq!(
        parse("ehlo client.test"),
        Ok(Command::Ehlo("client.test".into()))
    );
    assert_eq!(parse("HeLo client"), Ok(Command::Helo("client".into())));
    assert_eq!(parse("data"), Ok(Command::Data));
    assert_eq!(parse("RSET"), Ok(Command::Rset));
    assert_eq!(parse("noop anything at all"), Ok(Command::Noop));
    assert_eq!(parse("QUIT "), Ok(Command::Quit));
    assert_eq!(parse("StartTLS"), Ok(Command::StartTls));
    assert_eq!(parse("VRFY bob"), Ok(Command::Vrfy("bob".into())));
    assert_eq!(parse("EXPN staff"), Ok(Command::Expn("staff".into())));
    assert_eq!(parse("HELP"), Ok(Command::Help(None)));
    assert_eq!(parse("HELP mail"), Ok(Command::Help(Some("mail".into()))));
}

#[test]
fn ehlo_takes_first_token_and_needs_one() {
    assert_eq!(
        parse("EHLO [192.0.2.1] extra"),
        Ok(Command::Ehlo("[192.0.2.1]".into()))
    );
    assert_eq!(code("EHLO"), (501, "5.5.4".into()));
    assert_eq!(code("HELO \u{1}x"), (501, "5.5.4".into()));
}

#[test]
fn commands_without_arguments_refuse_them() {
    for line in ["DATA x", "RSET x", "QUIT now", "STARTTLS x"] {
        assert_eq!(code(line), (501, "5.5.4".into()), "{line}");
    }
}

#[test]
fn mail_from_forms() {
    assert_eq!(
        parse("MAIL FROM:<a@b.test>"),
        Ok(Command::Mail {
            from: ReversePath::Mailbox(mailbox("a@b.test")),
            params: MailParams::default()
        })
    );
    assert_eq!(
        parse("mail from: <>"),
        Ok(Command::Mail {
            from: ReversePath::Null,
            params: MailParams::default()
        })
    );
    let Ok(Command::Mail { params, .. }) =
        parse("MAIL FROM:<a@b.test> size=1000 BODY=8bitmime SMTPUTF8 AUTH=<>")
    else {
        panic!("should parse")
    };
    assert_eq!(params.size, Some(1000));
    assert_eq!(params.body, Some(BodyType::EightBitMime));
    assert!(params.smtputf8);
}

#[test]
fn mail_from_syntax_errors() {
    assert_eq!(code("MAIL"), (501, "5.5.4".into()));
    assert_eq!(code("MAIL TO:<a@b>"), (501, "5.5.4".into()));
    assert_eq!(code("MAIL FROM:a@b.test"), (501, "5.5.4".into()));
    assert_eq!(code("MAIL FROM:<a@b.test"), (501, "5.5.4".into()));
    assert_eq!(code("MAIL FROM:<a@b.test>SIZE=1"), (501, "5.5.4".into()));
    assert_eq!(code("MAIL FROM:<a@b.test.>"), (501, "5.1.7".into()));
    assert_eq!(code("MAIL FROM:<no-domain>"), (501, "5.1.7".into()));
}

#[test]
fn mail_params_errors() {
    assert_eq!(code("MAIL FROM:<a@b.test> SIZE=abc"), (501, "5.5.4".into()));
    assert_eq!(code("MAIL FROM:<a@b.test> SIZE"), (501, "5.5.4".into()));
    assert_eq!(
        code("MAIL FROM:<a@b.test> SIZE=1 SIZE=2"),
        (501, "5.5.4".into())
    );
    assert_eq!(
        code("MAIL FROM:<a@b.test> SMTPUTF8=yes"),
        (501, "5.5.4".into())
    );
    assert_eq!(code("MAIL FROM:<a@b.test> =x"), (501, "5.5.4".into()));
    assert_eq!(code("MAIL FROM:<a@b.test> X=a=b"), (501, "5.5.4".into()));
    assert_eq!(
        code("MAIL FROM:<a@b.test> BODY=BINARYMIME"),
        (555, "5.5.4".into())
    );
    assert_eq!(code("MAIL FROM:<a@b.test> RET=HDRS"), (555, "5.5.4".into()));
    assert_eq!(code("MAIL FROM:<a@b.test> ENVID=x"), (555, "5.5.4".into()));
    assert_eq!(code("MAIL FROM:<a@b.test> XFOO"), (555, "5.5.4".into()));
    // Absurd sizes saturate rather than fail to parse; the session refuses them by size.
    let Ok(Command::Mail { params, .. }) = parse("MAIL FROM:<> SIZE=99999999999999999999") else {
        panic!("should parse")
    };
    assert_eq!(params.size, Some(u64::MAX));
    assert_eq!(
        code("MAIL FROM:<> SIZE=999999999999999999999"),
        (501, "5.5.4".into())
    );
}

#[test]
fn rcpt_to_forms() {
    assert_eq!(
        parse("RCPT TO:<bob@example.test>"),
        Ok(Command::Rcpt {
            to: ForwardPath::Mailbox(mailbox("bob@example.test")),
            params: RcptParams {}
        })
    );
    assert_eq!(
        parse("rcpt to:<POSTMASTER>"),
        Ok(Command::Rcpt {
            to: ForwardPath::Postmaster,
            params: RcptParams {}
        })
    );
    assert_eq!(
        code("RCPT TO:<bob@example.test> NOTIFY=NEVER"),
        (555, "5.5.4".into())
    );
    assert_eq!(
        code("RCPT TO:<bob@example.test> ORCPT=rfc822;x@y"),
        (555, "5.5.4".into())
    );
    assert_eq!(code("RCPT TO:<bob>"), (501, "5.1.3".into()));
    assert_eq!(code("RCPT TO:<bob@x.test.>"), (501, "5.1.3".into()));
    assert_eq!(code("RCPT FROM:<bob@x.test>"), (501, "5.5.4".into()));
}

#[test]
fn relay_tricks_parse_to_the_right_domain() {
    let to = |s: &str| match parse(s) {
        Ok(Command::Rcpt {
            to: ForwardPath::Mailbox(a),
            ..
        }) => (a.local().to_owned(), a.domain().to_owned()),
        other => panic!("{s}: {other:?}"),
    };
    assert_eq!(
        to("RCPT TO:<u%evil.test@example.test>"),
        ("u%evil.test".into(), "example.test".into())
    );
    assert_eq!(
        to("RCPT TO:<evil.test!u@example.test>"),
        ("evil.test!u".into(), "example.test".into())
    );
    assert_eq!(
        to("RCPT TO:<\"u@evil.test\"@example.test>"),
        ("u@evil.test".into(), "example.test".into())
    );
    assert_eq!(
        to("RCPT TO:<\"a>b\"@example.test>"),
        ("a>b".into(), "example.test".into())
    );
    assert_eq!(
        to("RCPT TO:<@example.test:u@evil.test>"),
        ("u".into(), "evil.test".into())
    );
    assert_eq!(
        to("RCPT TO:<u@[192.0.2.1]>"),
        ("u".into(), "[192.0.2.1]".into())
    );
}

#[test]
fn auth_forms() {
    assert_eq!(
        parse("AUTH plain AGJvYgBzZWNyZXQ="),
        Ok(Command::Auth {
            mechanism: "PLAIN".into(),
            initial: Some("AGJvYgBzZWNyZXQ=".into())
        })
    );
    assert_eq!(
        parse("AUTH LOGIN"),
        Ok(Command::Auth {
            mechanism: "LOGIN".into(),
            initial: None
        })
    );
    assert_eq!(code("AUTH"), (501, "5.5.4".into()));
    assert_eq!(code("AUTH PLAIN a b"), (501, "5.5.4".into()));
    assert_eq!(code("AUTH PLAIN a*b"), (501, "5.5.4".into()));
    assert_eq!(
        code("AUTH THIS-NAME-IS-WAY-TOO-LONG"),
        (501, "5.5.4".into())
    );
}

#[test]
fn bdat_forms() {
    assert_eq!(
        parse("BDAT 100 LAST"),
        Ok(Command::Bdat {
            size: 100,
            last: true
        })
    );
    assert_eq!(
        parse("bdat 0"),
        Ok(Command::Bdat {
            size: 0,
            last: false
        })
    );
    assert_eq!(code("BDAT"), (501, "5.5.4".into()));
    assert_eq!(code("BDAT x"), (501, "5.5.4".into()));
    assert_eq!(code("BDAT 1 FIRST"), (501, "5.5.4".into()));
}

#[test]
fn unknown_empty_and_binary() {
    assert_eq!(code("XYZZY"), (500, "5.5.1".into()));
    assert_eq!(code("MAILFROM:<a@b>"), (500, "5.5.1".into()));
    assert_eq!(code(""), (500, "5.5.2".into()));
    assert_eq!(code("   "), (500, "5.5.2".into()));
    assert_eq!(
        Command::parse(b"EHLO \xff").unwrap_err(),
        SyntaxError::NotUtf8
    );
}

#[test]
fn smtputf8_addresses_parse_for_the_session_to_judge() {
    let Ok(Command::Mail {
        from: ReversePath::Mailbox(a),
        params,
    }) = parse("MAIL FROM:<jürgen@bücher.test> SMTPUTF8")
    else {
        panic!("should parse")
    };
    assert!(a.is_utf8());
    assert!(params.smtputf8);
}

#[test]
fn display_is_canonical() {
    for (input, canonical) in [
        (
            "mail from: <A@B.TEST> body=7bit size=5",
            "MAIL FROM:<A@b.test> SIZE=5 BODY=7BIT",
        ),
        ("rcpt to:<postmaster>", "RCPT TO:<Postmaster>"),
        (
            "rcpt to:<@r.test:\"x y\"@b.test>",
            "RCPT TO:<\"x y\"@b.test>",
        ),
        ("auth login dXNlcg==", "AUTH LOGIN dXNlcg=="),
        ("bdat 5 last", "BDAT 5 LAST"),
        ("noop x", "NOOP"),
        ("help me", "HELP me"),
    ] {
        assert_eq!(parse(input).unwrap().to_string(), canonical);
    }
}

fn command_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "(EHLO|HELO|VRFY|EXPN|HELP|NOOP|AUTH|BDAT|DATA|RSET|QUIT|STARTTLS) [ -~]{0,30}",
        "(MAIL FROM:|RCPT TO:)<[a-z\"@.%!:,\\[\\]0-9 ]{0,30}>( [A-Z0-9=]{1,12}){0,3}",
        "\\PC{0,40}",
    ]
}

proptest! {
    #[test]
    fn parse_display_parse_round_trip(line in command_line()) {
        if let Ok(cmd) = parse(&line) {
            let text = cmd.to_string();
            prop_assert_eq!(parse(&text), Ok(cmd), "via {:?}", text);
        }
    }
}
