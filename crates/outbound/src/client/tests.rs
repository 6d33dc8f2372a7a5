//! The AUTH exchanges byte for byte, against a scripted peer on 127.0.0.1 (plaintext here:
//! the TLS requirement is enforced by the deliverer, tested in tests/it/auth.rs).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;

/// A peer that greets, then answers each line it reads with the next of `answers`,
/// recording the lines.
async fn peer(answers: &'static [&'static str]) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = lines.clone();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = BufReader::new(stream);
        stream.get_mut().write_all(b"220 peer\r\n").await.unwrap();
        for answer in answers {
            let mut line = String::new();
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            seen.lock().unwrap().push(line.trim_end().to_owned());
            let out = format!("{answer}\r\n");
            stream.get_mut().write_all(out.as_bytes()).await.unwrap();
        }
    });
    (addr, lines)
}

fn credential() -> Credential {
    Credential::new("user@example.test", "pa#ss").unwrap()
}

#[tokio::test]
async fn plain_sends_one_line_with_the_initial_response() {
    let (addr, lines) = peer(&["235 2.7.0 ok"]).await;
    let (mut conn, _) = SmtpConn::connect(addr, "peer", &Timeouts::default())
        .await
        .unwrap();
    let reply = conn
        .authenticate(Mechanism::Plain, &credential())
        .await
        .unwrap();
    assert_eq!(reply.code, 235);
    let expected = BASE64.encode("\0user@example.test\0pa#ss");
    assert_eq!(*lines.lock().unwrap(), [format!("AUTH PLAIN {expected}")]);
}

#[tokio::test]
async fn login_answers_both_challenges() {
    let (addr, lines) = peer(&["334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "235 ok"]).await;
    let (mut conn, _) = SmtpConn::connect(addr, "peer", &Timeouts::default())
        .await
        .unwrap();
    let reply = conn
        .authenticate(Mechanism::Login, &credential())
        .await
        .unwrap();
    assert_eq!(reply.code, 235);
    let got = lines.lock().unwrap().clone();
    assert_eq!(
        got,
        [
            "AUTH LOGIN".to_owned(),
            BASE64.encode("user@example.test"),
            BASE64.encode("pa#ss")
        ]
    );
}

#[tokio::test]
async fn login_withholds_the_password_unless_asked() {
    let (addr, lines) = peer(&["334 VXNlcm5hbWU6", "535 5.7.8 no such user", "250 x"]).await;
    let (mut conn, _) = SmtpConn::connect(addr, "peer", &Timeouts::default())
        .await
        .unwrap();
    let reply = conn
        .authenticate(Mechanism::Login, &credential())
        .await
        .unwrap();
    assert_eq!(reply.code, 535);
    let got = lines.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(!got.contains(&BASE64.encode("pa#ss")));
}

#[tokio::test]
async fn a_challenge_after_plain_is_cancelled() {
    let (addr, lines) = peer(&["334 ", "501 5.7.0 cancelled"]).await;
    let (mut conn, _) = SmtpConn::connect(addr, "peer", &Timeouts::default())
        .await
        .unwrap();
    let reply = conn
        .authenticate(Mechanism::Plain, &credential())
        .await
        .unwrap();
    assert_eq!(reply.code, 334, "not a success");
    assert_eq!(lines.lock().unwrap().get(1).map(String::as_str), Some("*"));
    assert!(!conn.is_tls());
}

#[test]
fn plain_is_preferred_and_login_is_the_fallback() {
    let offered = |m: &[&str]| m.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let pick = |m: &[&str]| Mechanism::choose(&offered(m));
    assert_eq!(pick(&["LOGIN", "PLAIN"]), Some(Mechanism::Plain));
    assert_eq!(pick(&["CRAM-MD5", "LOGIN"]), Some(Mechanism::Login));
    assert_eq!(pick(&["CRAM-MD5", "XOAUTH2"]), None);
    assert_eq!(pick(&[]), None);
    assert_eq!(Mechanism::Login.name(), "LOGIN");
}
