//! Transcript tests: client bytes in, server text out, with a scripted driver answering.

use super::*;

/// A scripted driver: bob/secret authenticates, the maildrop holds `messages`.
struct Driver {
    session: Session,
    messages: Vec<(u32, Vec<u8>)>,
    maildrop: Result<(), MaildropError>,
    retrieve: Result<(), RetrieveError>,
    tls_started: bool,
    closed: Option<CloseReason>,
    updates: Vec<(Vec<u32>, Vec<u32>)>,
    auths: Vec<(AuthMethod, String)>,
}

const MSG1: &[u8] = b"Subject: one\r\n\r\nfirst\r\n.dot\r\n";
const MSG2: &[u8] = b"Subject: two\n\nl1\nl2\nl3\n";

fn driver(config: SessionConfig) -> Driver {
    let mut session = Session::new(config);
    session.greet();
    Driver {
        session,
        messages: vec![(11, MSG1.to_vec()), (12, MSG2.to_vec())],
        maildrop: Ok(()),
        retrieve: Ok(()),
        tls_started: false,
        closed: None,
        updates: Vec::new(),
        auths: Vec::new(),
    }
}

fn plain() -> Driver {
    driver(SessionConfig::new("pop.test", Role::Pop3))
}

fn tls() -> Driver {
    driver(SessionConfig::new("pop.test", Role::Pop3s))
}

fn octets(data: &[u8]) -> u64 {
    let lf = data.iter().filter(|&&b| b == b'\n').count();
    let crlf = data.windows(2).filter(|w| w == b"\r\n").count();
    (data.len() + lf - crlf) as u64
}

impl Driver {
    /// Sends `input`, runs every action, returns what the server wrote.
    fn talk(&mut self, input: &str) -> String {
        self.session.receive(input.as_bytes());
        let mut out = Vec::new();
        while let Some(action) = self.session.poll() {
            self.act(action, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    fn act(&mut self, action: Action, out: &mut Vec<u8>) {
        let answer = match action {
            Action::Send(bytes) => return out.extend(bytes),
            Action::StartTls => {
                self.tls_started = true;
                return self.session.tls_established();
            }
            Action::Close(reason) => return self.closed = Some(reason),
            Action::Authenticate {
                method,
                credentials,
            } => {
                self.auths.push((method, credentials.username.clone()));
                let ok = credentials.username == "bob" && credentials.password == "secret";
                Answer::Auth(ok.then(|| "bob@example.test".to_owned()))
            }
            Action::OpenMaildrop { user } => {
                assert_eq!(user, "bob@example.test");
                Answer::Maildrop(self.maildrop.map(|()| self.listings()))
            }
            Action::Retrieve { .. } => Answer::Retrieve(self.retrieve),
            Action::SendMessage {
                status,
                id,
                mut encoder,
                ..
            } => {
                out.extend(status);
                let data = &self.messages.iter().find(|(i, _)| *i == id).unwrap().1;
                // Feed byte by byte: chunking must not matter.
                for b in data.chunks(1) {
                    encoder.push(b, out);
                }
                return encoder.finish(out);
            }
            Action::Update { delete, seen } => {
                self.updates.push((delete, seen));
                Answer::Update(true)
            }
        };
        self.session.answer(answer).unwrap();
    }

    fn listings(&self) -> Vec<Listing> {
        self.messages
            .iter()
            .map(|(id, data)| Listing {
                id: *id,
                octets: octets(data),
                uidl: format!("u{id}"),
            })
            .collect()
    }

    fn login(&mut self) -> String {
        self.talk("USER bob\r\nPASS secret\r\n")
    }
}

#[test]
fn greeting_and_capabilities_before_and_after_tls() {
    let mut d = plain();
    let caps = d.talk("CAPA\r\n");
    assert!(caps.starts_with(
        "+OK pop.test POP3 ready.\r\n+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\n"
    ));
    assert!(
        caps.contains("\r\nSTLS\r\n")
            && caps.contains("RESP-CODES\r\n")
            && caps.ends_with("\r\n.\r\n")
    );
    assert!(
        !caps.contains("USER") && !caps.contains("SASL"),
        "no plaintext auth offered: {caps}"
    );
    assert_eq!(d.talk("STLS\r\n"), "+OK Begin TLS negotiation now.\r\n");
    assert!(d.tls_started && d.session.is_tls());
    let caps = d.talk("CAPA\r\n");
    assert!(
        caps.contains("USER\r\nSASL PLAIN LOGIN\r\n") && !caps.contains("STLS"),
        "{caps}"
    );
}

#[test]
fn plaintext_auth_refused_before_tls_unless_allowed() {
    let mut d = plain();
    d.talk("");
    let refused = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n";
    assert_eq!(d.talk("USER bob\r\n"), refused);
    assert_eq!(d.talk("PASS secret\r\n"), refused);
    assert_eq!(d.talk("AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n"), refused);
    assert!(d.auths.is_empty());
    let mut config = SessionConfig::new("pop.test", Role::Pop3);
    config.allow_plaintext_auth = true;
    let mut d = driver(config);
    d.talk("");
    assert_eq!(
        d.login(),
        "+OK\r\n+OK Logged in, 2 messages (57 octets).\r\n"
    );
}

#[test]
fn stls_discards_pipelined_plaintext() {
    let mut d = plain();
    d.talk("");
    // CVE-2011-0411 class: commands sent before the handshake must not run inside TLS.
    let out = d.talk("STLS\r\nUSER bob\r\nPASS secret\r\n");
    assert_eq!(out, "+OK Begin TLS negotiation now.\r\n");
    assert!(d.auths.is_empty());
    assert_eq!(
        d.talk("STAT\r\n"),
        "-ERR STAT is not valid before authentication\r\n"
    );
    assert_eq!(d.talk("STLS\r\n"), "-ERR TLS is already active\r\n");
}

#[test]
fn session_with_stat_list_uidl_retr_top_dele_rset_quit() {
    let mut d = tls();
    d.talk("");
    d.login();
    assert_eq!(d.auths, [(AuthMethod::UserPass, "bob".to_owned())]);
    assert_eq!(d.session.user(), Some("bob@example.test"));
    assert_eq!(d.talk("STAT\r\n"), "+OK 2 57\r\n");
    assert_eq!(
        d.talk("LIST\r\n"),
        "+OK 2 messages\r\n1 29\r\n2 28\r\n.\r\n"
    );
    assert_eq!(d.talk("LIST 2\r\n"), "+OK 2 28\r\n");
    assert_eq!(
        d.talk("UIDL\r\n"),
        "+OK 2 messages\r\n1 u11\r\n2 u12\r\n.\r\n"
    );
    assert_eq!(d.talk("UIDL 1\r\n"), "+OK 1 u11\r\n");
    assert_eq!(
        d.talk("RETR 1\r\n"),
        "+OK 29 octets\r\nSubject: one\r\n\r\nfirst\r\n..dot\r\n.\r\n"
    );
    assert_eq!(
        d.talk("TOP 2 1\r\n"),
        "+OK Top of message follows\r\nSubject: two\r\n\r\nl1\r\n.\r\n"
    );
    assert_eq!(d.talk("DELE 1\r\n"), "+OK Marked to be deleted.\r\n");
    assert_eq!(d.talk("DELE 1\r\n"), "-ERR No such message\r\n");
    assert_eq!(d.talk("RETR 1\r\n"), "-ERR No such message\r\n");
    assert_eq!(d.talk("LIST\r\n"), "+OK 1 messages\r\n2 28\r\n.\r\n");
    assert_eq!(d.talk("STAT\r\n"), "+OK 1 28\r\n");
    assert_eq!(d.talk("RSET\r\n"), "+OK 2 messages\r\n");
    assert_eq!(d.talk("STAT\r\n"), "+OK 2 57\r\n");
    d.talk("DELE 2\r\n");
    assert_eq!(
        d.talk("QUIT\r\n"),
        "+OK Logging out, 1 messages deleted.\r\n"
    );
    // RETR'd message 1 was not deleted: it is marked seen; TOP does not mark.
    assert_eq!(d.updates, [(vec![12], vec![11])]);
    assert_eq!(d.closed, Some(CloseReason::Quit));
    assert_eq!(d.talk("NOOP\r\n"), "", "nothing is read after close");
}

#[test]
fn quit_before_login_and_lost_connections_delete_nothing() {
    let mut d = tls();
    d.talk("");
    assert_eq!(d.talk("QUIT\r\n"), "+OK Logging out.\r\n");
    assert!(d.updates.is_empty());
    let mut d = tls();
    d.talk("");
    d.login();
    d.talk("DELE 1\r\n");
    d.session.timeout();
    assert_eq!(d.talk(""), "-ERR Autologout; idle for too long\r\n");
    assert_eq!(d.closed, Some(CloseReason::Timeout));
    assert!(
        d.updates.is_empty(),
        "RFC 1939 §3: no UPDATE after a timeout"
    );
}

#[test]
fn locked_maildrop_answers_in_use_and_stays_in_authorization() {
    let mut d = tls();
    d.talk("");
    d.maildrop = Err(MaildropError::InUse);
    assert_eq!(
        d.login(),
        "+OK\r\n-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n"
    );
    assert_eq!(d.session.user(), None);
    assert_eq!(
        d.talk("STAT\r\n"),
        "-ERR STAT is not valid before authentication\r\n"
    );
    d.maildrop = Err(MaildropError::Unavailable);
    assert!(
        d.login()
            .ends_with("-ERR [SYS/TEMP] Unable to open the mailbox\r\n")
    );
    d.maildrop = Ok(());
    assert!(
        d.login()
            .ends_with("+OK Logged in, 2 messages (57 octets).\r\n")
    );
}

#[test]
fn failed_logins_are_counted_and_close_the_connection() {
    let mut d = tls();
    d.talk("");
    assert_eq!(
        d.talk("PASS secret\r\n"),
        "-ERR No user name given; send USER first\r\n"
    );
    assert_eq!(
        d.talk("USER bob\r\nPASS wrong\r\n"),
        "+OK\r\n-ERR [AUTH] Authentication failed.\r\n"
    );
    assert_eq!(
        d.talk("PASS secret\r\n"),
        "-ERR No user name given; send USER first\r\n",
        "USER again after a failure"
    );
    d.talk("USER bob\r\nPASS wrong\r\n");
    let out = d.talk("USER bob\r\nPASS wrong\r\nUSER bob\r\n");
    assert_eq!(
        out,
        "+OK\r\n-ERR [AUTH] Authentication failed.\r\n-ERR Too many authentication failures, closing\r\n"
    );
    assert_eq!(d.closed, Some(CloseReason::TooManyAuthFailures));
}

#[test]
fn auth_plain_with_and_without_initial_response_and_login() {
    let mut d = tls();
    d.talk("");
    assert_eq!(d.talk("AUTH\r\n"), "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n");
    assert_eq!(
        d.talk("AUTH CRAM-MD5\r\n"),
        "-ERR Unsupported authentication mechanism\r\n"
    );
    assert_eq!(d.talk("AUTH PLAIN\r\n"), "+ \r\n");
    assert_eq!(d.talk("*\r\n"), "-ERR Authentication cancelled\r\n");
    assert_eq!(d.talk("AUTH PLAIN\r\n"), "+ \r\n");
    assert_eq!(
        d.talk("!!notbase64\r\n"),
        "-ERR [AUTH] Authentication failed: response is not valid base64\r\n"
    );
    assert_eq!(d.talk("AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
    assert_eq!(d.talk("Ym9i\r\n"), "+ UGFzc3dvcmQ6\r\n");
    assert_eq!(
        d.talk("c2VjcmV0\r\n"),
        "+OK Logged in, 2 messages (57 octets).\r\n"
    );
    assert_eq!(
        d.auths.last(),
        Some(&(AuthMethod::Sasl(Mechanism::Login), "bob".to_owned()))
    );
    let mut d = tls();
    d.talk("");
    assert_eq!(
        d.talk("AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n"),
        "+OK Logged in, 2 messages (57 octets).\r\n"
    );
}

#[test]
fn commands_in_the_wrong_state_and_bad_input_get_err_with_a_reason() {
    let mut d = tls();
    d.talk("");
    assert_eq!(
        d.talk("RETR 1\r\n"),
        "-ERR RETR is not valid before authentication\r\n"
    );
    assert_eq!(d.talk("XYZZY\r\n"), "-ERR Unknown command\r\n");
    assert_eq!(d.talk("RETR\r\n"), "-ERR Message number required\r\n");
    d.login();
    assert_eq!(
        d.talk("USER bob\r\n"),
        "-ERR USER is not valid after authentication\r\n"
    );
    assert_eq!(
        d.talk("STLS\r\n"),
        "-ERR STLS is only valid before authentication\r\n"
    );
    assert_eq!(d.talk("RETR 0\r\n"), "-ERR No such message\r\n");
    assert_eq!(d.talk("RETR 3\r\n"), "-ERR No such message\r\n");
    assert_eq!(d.talk("RETR 4294967295\r\n"), "-ERR No such message\r\n");
    assert_eq!(
        d.talk("TOP 1\r\n"),
        "-ERR TOP needs a message number and a line count\r\n"
    );
    assert_eq!(d.talk("RETR \u{e9}\r\n"), "-ERR Invalid message number\r\n");
    let long = format!("NOOP {}\r\n", "x".repeat(300));
    assert_eq!(d.talk(&long), "-ERR Command line too long\r\n");
    let huge = format!("NOOP {}\r\nNOOP\r\n", "x".repeat(100_000));
    assert_eq!(d.talk(&huge), "-ERR Command line too long\r\n+OK\r\n");
}

#[test]
fn too_many_protocol_errors_close_the_connection() {
    let mut d = tls();
    d.talk("");
    let out = d.talk(&"BOGUS\r\n".repeat(20));
    assert_eq!(out.matches("-ERR").count(), 10);
    assert!(out.ends_with("-ERR Unknown command; too many errors, closing\r\n"));
    assert_eq!(d.closed, Some(CloseReason::TooManyErrors));
}

#[test]
fn retrieve_failures_are_reported() {
    let mut d = tls();
    d.talk("");
    d.login();
    d.retrieve = Err(RetrieveError::Gone);
    assert_eq!(
        d.talk("RETR 1\r\n"),
        "-ERR Message was removed by another session\r\n"
    );
    d.retrieve = Err(RetrieveError::Unavailable);
    assert_eq!(
        d.talk("TOP 1 0\r\n"),
        "-ERR [SYS/TEMP] Unable to read the message\r\n"
    );
    d.retrieve = Ok(());
    d.talk("QUIT\r\n");
    assert_eq!(
        d.updates,
        [(vec![], vec![])],
        "a failed RETR does not mark the message seen"
    );
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let mut d = tls();
    d.talk("");
    let out = d.talk("USER bob\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nNOOP\r\n");
    assert_eq!(
        out,
        "+OK\r\n+OK Logged in, 2 messages (57 octets).\r\n+OK 2 57\r\n+OK 1 29\r\n+OK\r\n"
    );
}

#[test]
fn answers_that_do_not_match_are_driver_errors() {
    let mut s = Session::new(SessionConfig::new("pop.test", Role::Pop3s));
    s.greet();
    assert_eq!(
        s.answer(Answer::Auth(None)),
        Err(SessionError::UnexpectedAnswer)
    );
    s.receive(b"USER bob\r\nPASS x\r\n");
    while let Some(Action::Send(_)) = s.poll() {}
    assert_eq!(
        s.answer(Answer::Update(true)),
        Err(SessionError::UnexpectedAnswer)
    );
    assert_eq!(s.answer(Answer::Auth(None)), Ok(()));
}

proptest::proptest! {
    /// Arbitrary client bytes never panic the session, whatever state they reach.
    #[test]
    fn arbitrary_input_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..8)) {
        let mut d = tls();
        d.talk("");
        d.login();
        for chunk in chunks {
            d.session.receive(&chunk);
            let mut out = Vec::new();
            while let Some(action) = d.session.poll() {
                d.act(action, &mut out);
            }
        }
    }
}
