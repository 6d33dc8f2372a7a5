//! Drives the sans-IO session and the DATA decoder with arbitrary client bytes.
//!
//! Input layout: byte 0 chooses the role (bits 0-1: mx, submission, submissions) and the size
//! of the chunks the rest is fed in (bits 2-7: 1 to 64 octets); the rest is what the client
//! sends. Properties: nothing panics; every reply is well-formed CRLF text; a delivered body
//! has CRLF line ends only; the DATA decoder round-trips through dot-stuffing.
#![no_main]

use calm_smtp_proto::{
    Action, Answer, DataDecoder, DataStatus, RcptVerdict, Reply, Role, Session, SessionConfig,
    dot_stuff,
};
use libfuzzer_sys::fuzz_target;

/// Every LF is preceded by CR and every CR followed by LF.
fn crlf_only(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'\n' => i > 0 && bytes[i - 1] == b'\r',
        b'\r' => bytes.get(i + 1) == Some(&b'\n'),
        _ => true,
    })
}

fn answer(s: &mut Session, action: Action) {
    let answer = match action {
        Action::Reply(r) => {
            let wire = r.to_string();
            assert!(crlf_only(wire.as_bytes()), "{wire:?}");
            assert_eq!(wire.matches("\r\n").count(), r.lines.len().max(1));
            return;
        }
        Action::StartTls => return s.tls_established(),
        Action::Close(_) => return,
        Action::CheckHello(name) if name.starts_with('x') => {
            Answer::Hello(Err(Reply::new(550, None, "helo refused")))
        }
        Action::CheckHello(_) => Answer::Hello(Ok(())),
        Action::CheckSender(from) => match from.address() {
            Some(a) if a.local().starts_with('x') => {
                Answer::Sender(Err(Reply::sender_not_owned("no")))
            }
            _ => Answer::Sender(Ok(())),
        },
        Action::CheckRecipient(a) if a.domain().ends_with("example.test") => {
            Answer::Recipient(RcptVerdict::Accept)
        }
        Action::CheckRecipient(_) => {
            Answer::Recipient(RcptVerdict::Reject(Reply::relay_denied("no")))
        }
        Action::Authenticate { credentials, .. } => {
            Answer::Auth((credentials.password == "secret").then_some(credentials.username))
        }
        Action::Deliver { body, .. } => {
            assert!(crlf_only(&body), "delivered body with bare CR/LF");
            Answer::Delivery(Reply::queued("ID"))
        }
    };
    s.answer(answer).expect("the session asked this question");
}

fn session(role: Role, chunk: usize, input: &[u8]) {
    let mut config = SessionConfig::new("mx.example.test", role);
    config.max_message_size = 4096;
    config.max_recipients = 5;
    let mut s = Session::new(config);
    s.greet();
    for piece in input.chunks(chunk) {
        while let Some(action) = s.poll() {
            answer(&mut s, action);
        }
        s.receive(piece);
    }
    while let Some(action) = s.poll() {
        answer(&mut s, action);
    }
    s.timeout();
    while let Some(action) = s.poll() {
        answer(&mut s, action);
    }
    assert!(s.is_closed());
}

fn data_decoder(chunk: usize, input: &[u8]) {
    let mut d = DataDecoder::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for piece in input.chunks(chunk) {
        match d.decode(piece, Some(&mut out)) {
            Err(_) => return,
            Ok(DataStatus::NeedMore) => fed += piece.len(),
            Ok(DataStatus::Done { consumed }) => {
                assert!(consumed <= piece.len());
                let used = &input[..fed + consumed];
                assert!(used.ends_with(b".\r\n") && crlf_only(used));
                assert_eq!(d.size(), out.len() as u64);
                // Stuffing the decoded body and decoding again gives the same body.
                let mut again = Vec::new();
                let status = DataDecoder::new().decode(&dot_stuff(&out), Some(&mut again));
                assert!(matches!(status, Ok(DataStatus::Done { .. })));
                assert_eq!(again, out);
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, input)) = data.split_first() else {
        return;
    };
    let role = match head & 3 {
        1 => Role::Submission,
        2 => Role::Submissions,
        _ => Role::Mx,
    };
    let chunk = usize::from(head >> 2) + 1;
    session(role, chunk, input);
    data_decoder(chunk, input);
});
