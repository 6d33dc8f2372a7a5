use super::*;

fn b64(s: &[u8]) -> String {
    encode(s)
}

fn done(user: &str, pass: &str) -> Result<Step, SaslError> {
    Ok(Step::Done(Credentials {
        username: user.into(),
        password: pass.into(),
    }))
}

#[test]
fn mechanism_names() {
    assert_eq!(Mechanism::from_name("plain"), Some(Mechanism::Plain));
    assert_eq!(Mechanism::from_name("LoGiN"), Some(Mechanism::Login));
    assert_eq!(Mechanism::from_name("CRAM-MD5"), None);
    assert_eq!(Mechanism::Login.to_string(), "LOGIN");
}

#[test]
fn plain_with_initial_response() {
    let mut a = Authenticator::new(Mechanism::Plain);
    assert_eq!(a.start(Some(&b64(b"\0bob\0secret"))), done("bob", "secret"));
    assert!(a.is_finished());
    assert_eq!(a.step("AA=="), Err(SaslError::Finished));
}

#[test]
fn plain_after_empty_challenge() {
    let mut a = Authenticator::new(Mechanism::Plain);
    assert_eq!(a.start(None), Ok(Step::Challenge(Vec::new())));
    assert_eq!(a.step(&b64(b"bob\0bob\0p w")), done("bob", "p w"));
}

#[test]
fn plain_accepts_missing_padding() {
    let mut a = Authenticator::new(Mechanism::Plain);
    let text = b64(b"\0bob\0secret");
    assert_eq!(
        a.start(Some(text.trim_end_matches('='))),
        done("bob", "secret")
    );
}

#[test]
fn plain_rejects_other_authzid() {
    let mut a = Authenticator::new(Mechanism::Plain);
    assert_eq!(
        a.start(Some(&b64(b"admin\0bob\0secret"))),
        Err(SaslError::AuthzidMismatch)
    );
    assert!(a.is_finished());
}

#[test]
fn plain_malformed_messages() {
    for msg in [
        &b"bobsecret"[..],
        b"\0bob",
        b"\0\0secret",
        b"\0bob\0",
        b"\0bob\0secret\0extra",
    ] {
        let mut a = Authenticator::new(Mechanism::Plain);
        assert_eq!(
            a.start(Some(&b64(msg))),
            Err(SaslError::Malformed(Mechanism::Plain)),
            "{msg:?}"
        );
    }
    let mut a = Authenticator::new(Mechanism::Plain);
    assert_eq!(
        a.start(Some("=")),
        Err(SaslError::Malformed(Mechanism::Plain))
    );
    let mut a = Authenticator::new(Mechanism::Plain);
    assert_eq!(
        a.start(Some(&b64(b"\0b\xffb\0pw"))),
        Err(SaslError::NotUtf8)
    );
    let mut a = Authenticator::new(Mechanism::Plain);
    assert_eq!(a.start(Some("!!notbase64")), Err(SaslError::BadBase64));
}

#[test]
fn login_prompts_and_answers() {
    let mut a = Authenticator::new(Mechanism::Login);
    let Ok(Step::Challenge(c1)) = a.start(None) else {
        panic!("expected a challenge")
    };
    assert_eq!(encode(&c1), "VXNlcm5hbWU6");
    let Ok(Step::Challenge(c2)) = a.step(&b64(b"bob")) else {
        panic!("expected a challenge")
    };
    assert_eq!(encode(&c2), "UGFzc3dvcmQ6");
    assert!(!a.is_finished());
    assert_eq!(a.step(&b64(b"secret")), done("bob", "secret"));
    assert!(a.is_finished());
}

#[test]
fn login_with_username_as_initial_response() {
    let mut a = Authenticator::new(Mechanism::Login);
    assert_eq!(
        a.start(Some(&b64(b"bob"))),
        Ok(Step::Challenge(b"Password:".to_vec()))
    );
    assert_eq!(a.step(&b64(b"secret")), done("bob", "secret"));
}

#[test]
fn login_empty_username_is_malformed() {
    let mut a = Authenticator::new(Mechanism::Login);
    assert!(a.start(None).is_ok());
    assert_eq!(a.step("="), Err(SaslError::Malformed(Mechanism::Login)));
}

#[test]
fn star_cancels_at_every_step() {
    let mut a = Authenticator::new(Mechanism::Login);
    assert!(a.start(None).is_ok());
    assert_eq!(a.step("*"), Err(SaslError::Cancelled));
    assert!(a.is_finished());
    let mut a = Authenticator::new(Mechanism::Login);
    assert!(a.start(None).is_ok());
    assert!(a.step(&b64(b"bob")).is_ok());
    assert_eq!(a.step("*"), Err(SaslError::Cancelled));
    let mut a = Authenticator::new(Mechanism::Plain);
    assert_eq!(a.start(Some("*")), Err(SaslError::Cancelled));
}

#[test]
fn start_twice_is_an_error() {
    let mut a = Authenticator::new(Mechanism::Login);
    assert!(a.start(None).is_ok());
    assert_eq!(a.start(None), Err(SaslError::Finished));
}

#[test]
fn step_before_start_is_an_error() {
    let mut a = Authenticator::new(Mechanism::Plain);
    assert_eq!(a.step("AA=="), Err(SaslError::Finished));
}

#[test]
fn debug_redacts_password() {
    let c = Credentials {
        username: "bob".into(),
        password: "hunter2".into(),
    };
    let text = format!("{c:?}");
    assert!(text.contains("bob"));
    assert!(!text.contains("hunter2"));
}

#[test]
fn hostile_lines_never_panic() {
    let lines = ["", " ", "====", "\0", "é", "A", "AB", "ABC", "*x", "=="];
    for mech in [Mechanism::Plain, Mechanism::Login] {
        for l in lines {
            let mut a = Authenticator::new(mech);
            let _ = a.start(Some(l));
            let _ = a.step(l);
            let _ = a.step(l);
        }
    }
}
