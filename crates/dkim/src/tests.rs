use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use calm_dns::test_server::{TestDnsServer, Zone};
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator};

use super::*;

const MESSAGE: &str = "From: Alice <alice@example.test>\r\n\
To: bob@example.org\r\n\
Subject: quarterly numbers\r\n\
Date: Sun, 29 Nov 2026 22:00:00 +0000\r\n\
Message-ID: <1@example.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello Bob,\r\n\
the numbers are in.\r\n";

fn signed(signer: &Signer, message: &str) -> Vec<u8> {
    let header = signer.sign(message.as_bytes()).unwrap();
    let mut out = header.into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

fn tag<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .map(|t| t.trim())
        .find_map(|t| t.strip_prefix(name)?.trim_start().strip_prefix('='))
}

/// A verifier asking only the test DNS server that publishes `generated`.
async fn verifier(generated: &Generated) -> (TestDnsServer, MessageAuthenticator) {
    let zone = Zone::new("example.test").txt(&generated.name, &generated.value);
    let dns = TestDnsServer::start(vec![zone]).await.unwrap();
    let mut udp = ConnectionConfig::udp();
    udp.port = dns.addr().port();
    let server = NameServerConfig::new(dns.addr().ip(), true, vec![udp]);
    let mut options = ResolverOpts::default();
    options.timeout = Duration::from_secs(2);
    options.attempts = 1;
    let auth = MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), options)
        .unwrap();
    (dns, auth)
}

async fn verify(auth: &MessageAuthenticator, message: &[u8]) -> Vec<DkimResult> {
    let parsed = AuthenticatedMessage::parse(message).unwrap();
    let outputs = auth.verify_dkim(&parsed).await;
    outputs.iter().map(|o| o.result().clone()).collect()
}

fn generate(key_type: KeyType) -> (tempfile::TempDir, Generated, Keys) {
    let dir = tempfile::tempdir().unwrap();
    let generated = keygen_with(dir.path(), "example.test", "sel1", key_type).unwrap();
    let keys = Keys::load(dir.path()).unwrap();
    (dir, generated, keys)
}

async fn sign_verify_tamper(key_type: KeyType) {
    let (_dir, generated, keys) = generate(key_type);
    let signer = keys.signer_for("example.test").unwrap();
    let message = signed(signer, MESSAGE);
    let (_dns, auth) = verifier(&generated).await;
    assert_eq!(verify(&auth, &message).await, vec![DkimResult::Pass]);

    let tampered = String::from_utf8(message)
        .unwrap()
        .replace("are in", "are out");
    let results = verify(&auth, tampered.as_bytes()).await;
    // mail-auth reports a body hash mismatch as neutral (RFC 6376 §3.7: the signature does
    // not verify), never as pass.
    assert!(
        matches!(
            results.as_slice(),
            [DkimResult::Neutral(mail_auth::Error::Dkim(
                mail_auth::dkim::DkimError::FailedBodyHashMatch
            ))]
        ),
        "{results:?}"
    );
}

#[tokio::test]
async fn rsa_signature_verifies_through_dns_and_body_tampering_fails() {
    sign_verify_tamper(KeyType::Rsa).await;
}

#[tokio::test]
async fn ed25519_signature_verifies_through_dns_and_body_tampering_fails() {
    sign_verify_tamper(KeyType::Ed25519).await;
}

#[tokio::test]
async fn a_changed_subject_fails_and_a_refolded_header_still_passes() {
    let (_dir, generated, keys) = generate(KeyType::Rsa);
    let message = signed(keys.signer_for("example.test").unwrap(), MESSAGE);
    let (_dns, auth) = verifier(&generated).await;
    let text = String::from_utf8(message).unwrap();
    let subject = text.replace("quarterly numbers", "quarterly Numbers");
    assert!(matches!(
        verify(&auth, subject.as_bytes()).await.as_slice(),
        [DkimResult::Fail(_)]
    ));
    // Relaxed header canonicalization (RFC 6376 §3.4.2) ignores refolding and case of names.
    let refolded = text.replace("To: bob@example.org", "to:\r\n   bob@example.org");
    assert_eq!(
        verify(&auth, refolded.as_bytes()).await,
        vec![DkimResult::Pass]
    );
}

#[test]
fn signature_header_has_the_expected_tags() {
    let (_dir, _generated, keys) = generate(KeyType::Rsa);
    let header = keys
        .signer_for("example.test")
        .unwrap()
        .sign(MESSAGE.as_bytes())
        .unwrap();
    assert!(header.starts_with("DKIM-Signature:"), "{header}");
    assert!(header.ends_with("\r\n"), "{header:?}");
    let unfolded: String = header.split("\r\n").map(str::trim_start).collect();
    assert_eq!(tag(&unfolded, "d"), Some("example.test"));
    assert_eq!(tag(&unfolded, "s"), Some("sel1"));
    assert_eq!(tag(&unfolded, "a"), Some("rsa-sha256"));
    assert_eq!(tag(&unfolded, "c"), Some("relaxed/relaxed"));
    let h = tag(&unfolded, "h").unwrap().to_ascii_lowercase();
    for name in [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
    ] {
        assert!(h.split(':').any(|x| x == name), "{name} missing from h={h}");
    }
}

#[test]
fn a_message_without_from_is_refused() {
    let (_dir, _generated, keys) = generate(KeyType::Ed25519);
    let signer = keys.signer_for("example.test").unwrap();
    let no_from = "To: bob@example.org\r\nSubject: x\r\n\r\nFrom: in the body\r\n";
    assert!(matches!(
        signer.sign(no_from.as_bytes()),
        Err(DkimError::NoFrom)
    ));
    assert!(matches!(signer.sign(b""), Err(DkimError::NoFrom)));
    assert!(matches!(
        signer.sign(b"\xff\xfe\x00garbage"),
        Err(DkimError::NoFrom)
    ));
    // Obsolete syntax (RFC 5322 §4.5.3) and bare LF line ends are still found.
    assert!(signer.sign(b"FROM : a@example.test\n\nbody\n").is_ok());
}

#[test]
fn hostile_messages_do_not_panic() {
    let (_dir, _generated, keys) = generate(KeyType::Rsa);
    let signer = keys.signer_for("example.test").unwrap();
    let long = format!(
        "From: a@example.test\r\nSubject: {}\r\n\r\n",
        "x".repeat(100_000)
    );
    let inputs: [&[u8]; 5] = [
        b"From: a@example.test",
        b"From:\xff\xfe\r\n\r\n\xff",
        b"From: a\r\n\tcontinued\r\n no blank line",
        b"From: a\r\n\r\n\r\n\r\n",
        long.as_bytes(),
    ];
    for input in inputs {
        let _ = signer.sign(input);
    }
}

#[test]
fn keygen_writes_a_0600_key_that_loads_and_a_record_to_publish() {
    let dir = tempfile::tempdir().unwrap();
    let keydir = dir.path().join("dkim");
    let generated = keygen(&keydir, "Example.COM", "calm1").unwrap();
    assert_eq!(generated.path, keydir.join("example.com.calm1.key"));
    assert_eq!(generated.name, "calm1._domainkey.example.com");
    assert!(
        generated.value.starts_with("v=DKIM1; k=rsa; p=MIIB"),
        "{}",
        generated.value
    );
    let mode = std::fs::metadata(&generated.path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(&keydir).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let pem = std::fs::read_to_string(&generated.path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");

    let keys = Keys::load(&keydir).unwrap();
    assert_eq!(keys.domains(), vec!["example.com"]);
    let signer = keys.signer_for("EXAMPLE.com.").unwrap();
    assert_eq!(
        (signer.selector(), signer.key_type()),
        ("calm1", KeyType::Rsa)
    );
    // Exact domain only: a parent's key does not sign for its subdomains.
    assert!(keys.signer_for("sub.example.com").is_none());
    assert!(keys.signer_for("com").is_none());
    // Nothing but the key is left behind (no temporary file).
    assert_eq!(std::fs::read_dir(&keydir).unwrap().count(), 1);
}

#[test]
fn keygen_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let first = keygen(dir.path(), "example.com", "s").unwrap();
    let before = std::fs::read(&first.path).unwrap();
    for key_type in [KeyType::Rsa, KeyType::Ed25519] {
        let again = keygen_with(dir.path(), "example.com", "s", key_type);
        assert!(matches!(again, Err(DkimError::Exists(ref p)) if *p == first.path));
    }
    assert_eq!(std::fs::read(&first.path).unwrap(), before);
    // Another selector for the same domain is written, but the two cannot both load.
    keygen(dir.path(), "example.com", "t").unwrap();
    assert!(matches!(
        Keys::load(dir.path()),
        Err(DkimError::DuplicateDomain { ref domain, .. }) if domain == "example.com"
    ));
}

#[test]
fn keygen_refuses_names_that_are_not_dns_names() {
    let dir = tempfile::tempdir().unwrap();
    for (domain, selector) in [
        ("../etc", "s"),
        ("example.com/x", "s"),
        ("example.com", "a.b"),
        ("example.com", "../s"),
        ("example.com", ""),
        ("", "s"),
        ("localhost", "s"),
        ("-bad.example", "s"),
    ] {
        let result = keygen(dir.path(), domain, selector);
        assert!(
            matches!(result, Err(DkimError::InvalidName { .. })),
            "{domain:?} {selector:?}: {result:?}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn ed25519_record_carries_the_raw_public_key() {
    let (_dir, generated, keys) = generate(KeyType::Ed25519);
    let p = generated
        .value
        .strip_prefix("v=DKIM1; k=ed25519; p=")
        .unwrap();
    // RFC 8463 §4.2: 32 octets are 44 base64 characters.
    assert_eq!(p.len(), 44, "{p}");
    let header = keys
        .signer_for("example.test")
        .unwrap()
        .sign(MESSAGE.as_bytes())
        .unwrap();
    assert!(header.contains("a=ed25519-sha256"), "{header}");
}

#[test]
fn load_missing_directory_is_no_keys_and_other_files_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Keys::load(&dir.path().join("absent")).unwrap().is_empty());
    std::fs::write(dir.path().join("README"), "not a key").unwrap();
    std::fs::write(dir.path().join("example.com.old.key.bak"), "junk").unwrap();
    std::fs::write(dir.path().join(".example.com.s.key.tmp1"), "junk").unwrap();
    assert!(Keys::load(dir.path()).unwrap().is_empty());
}

fn load_error(name: &str, contents: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "good.example", "s").unwrap();
    std::fs::write(dir.path().join(name), contents).unwrap();
    let err = Keys::load(dir.path()).unwrap_err();
    assert!(matches!(err, DkimError::BadKeyFile { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(name), "error does not name the file: {text}");
    text
}

#[test]
fn a_bad_key_file_is_an_error_naming_it() {
    load_error("example.com.s.key", b"not pem at all");
    load_error("example.com.s.key", b"");
    load_error(
        "example.com.s.key",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    load_error("example.com.s.key", &vec![b'A'; 100_000]);
    load_error("nodots.key", b"x");
    load_error("bad_domain!.s.key", b"x");
    load_error("example..com.s.key", b"x");
}

#[test]
fn a_pkcs1_rsa_key_from_opendkim_genkey_loads() {
    let Some(pem) = openssl(&["genrsa", "-traditional", "2048"]) else {
        eprintln!("openssl not available; skipped");
        return;
    };
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.net.mail.key"), pem).unwrap();
    let keys = Keys::load(dir.path()).unwrap();
    let signer = keys.signer_for("example.net").unwrap();
    assert_eq!(signer.key_type(), KeyType::Rsa);
    assert!(signer.sign(MESSAGE.as_bytes()).is_ok());
}

fn openssl(args: &[&str]) -> Option<String> {
    let out = Command::new("openssl").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).ok())?
}

const DKIMPY: &str = r#"
import sys, dkim
name, value, path = sys.argv[1], sys.argv[2], sys.argv[3]
def dnsfunc(qname, timeout=5):
    q = qname.decode() if isinstance(qname, bytes) else qname
    return value.encode() if q.rstrip('.') == name else None
msg = open(path, 'rb').read()
print("pass" if dkim.verify(msg, dnsfunc=dnsfunc) else "fail")
"#;

fn dkimpy(generated: &Generated, message: &[u8], dir: &Path) -> Option<String> {
    let python = Path::new("/usr/bin/python3");
    let probe = Command::new(python)
        .args(["-c", "import dkim"])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let path = dir.join("message.eml");
    std::fs::write(&path, message).unwrap();
    let out = Command::new(python)
        .args(["-c", DKIMPY, &generated.name, &generated.value])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn dkimpy_independently_verifies_an_rsa_signature() {
    let (dir, generated, keys) = generate(KeyType::Rsa);
    let message = signed(keys.signer_for("example.test").unwrap(), MESSAGE);
    let Some(verdict) = dkimpy(&generated, &message, dir.path()) else {
        eprintln!("python3-dkim not available; skipped");
        return;
    };
    assert_eq!(verdict, "pass");
    let tampered = String::from_utf8(message).unwrap().replace("Bob", "Eve");
    assert_eq!(
        dkimpy(&generated, tampered.as_bytes(), dir.path()).as_deref(),
        Some("fail")
    );
}

#[test]
fn zone_line_splits_long_records_into_255_octet_strings() {
    let (_dir, generated, _keys) = generate(KeyType::Rsa);
    let line = generated.zone_line();
    assert!(
        line.starts_with("sel1._domainkey.example.test. IN TXT ( \""),
        "{line}"
    );
    let strings: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
    assert!(strings.len() >= 2, "{line}");
    assert!(strings.iter().all(|s| s.len() <= 255));
    assert_eq!(strings.concat(), generated.value);
}
