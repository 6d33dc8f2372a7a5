use super::*;
use proptest::prelude::*;

fn map(text: &str) -> AccessMap {
    let mut m = AccessMap::parse("m", Path::new("maps/m"), 1, text.as_bytes()).unwrap();
    assert!(m.parse_actions().is_empty());
    m
}

fn hit(e: Option<&Entry>) -> Option<usize> {
    e.map(|e| e.line)
}

#[test]
fn client_lookup_order_follows_postfix() {
    let m = map("\
# comment
spammer.example REJECT
192.0.2.7 OK
192.0.2 REJECT truncated
198.51.100.0/24 DEFER
198.51.0.0/16 REJECT wide
2001:db8::/32 REJECT v6
");
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(hit(m.lookup_client(ip("192.0.2.7"), None)), Some(3));
    assert_eq!(hit(m.lookup_client(ip("192.0.2.8"), None)), Some(4));
    assert_eq!(hit(m.lookup_client(ip("::ffff:192.0.2.8"), None)), Some(4));
    assert_eq!(hit(m.lookup_client(ip("198.51.100.9"), None)), Some(5));
    assert_eq!(hit(m.lookup_client(ip("198.51.7.9"), None)), Some(6));
    assert_eq!(hit(m.lookup_client(ip("2001:db8::1"), None)), Some(7));
    assert_eq!(hit(m.lookup_client(ip("203.0.113.1"), None)), None);
    // The verified host name (and its parents) comes first.
    assert_eq!(
        hit(m.lookup_client(ip("192.0.2.7"), Some("mx.Spammer.example."))),
        Some(2)
    );
}

#[test]
fn domain_and_address_lookups() {
    let m = map("\
example.com OK
.sub.example.net REJECT
bob@example.org REJECT
postmaster@ OK
<> DEFER
");
    assert_eq!(hit(m.lookup_domain("EXAMPLE.com")), Some(1));
    assert_eq!(hit(m.lookup_domain("a.b.example.com")), Some(1));
    assert_eq!(hit(m.lookup_domain("sub.example.net")), None);
    assert_eq!(hit(m.lookup_domain("x.sub.example.net")), Some(2));
    assert_eq!(hit(m.lookup_address("Bob@example.org")), Some(3));
    assert_eq!(hit(m.lookup_address("alice@example.org")), None);
    assert_eq!(hit(m.lookup_address("postmaster@anywhere.test")), Some(4));
    assert_eq!(hit(m.lookup_address("carol@x.example.com")), Some(1));
    assert_eq!(hit(m.lookup_address("<>")), Some(5));
    assert_eq!(hit(m.lookup_address("no-at-sign")), None);
    assert_eq!(hit(m.lookup_domain("[192.0.2.1]")), None);
}

#[test]
fn continuation_lines_and_crlf() {
    let m = map("a.example REJECT this is\r\n   a long text\r\n\r\n#x\r\nb.example OK\r\n");
    let e = m.lookup_domain("a.example").unwrap();
    assert_eq!(e.value, "REJECT this is a long text");
    assert_eq!(e.line, 1);
    assert_eq!(hit(m.lookup_domain("b.example")), Some(5));
    assert_eq!(m.len(), 2);
}

#[test]
fn dunno_counts_as_absent() {
    let m = map("192.0.2.1 DUNNO\n");
    assert!(
        m.lookup_client("192.0.2.1".parse().unwrap(), None)
            .unwrap()
            .is_dunno()
    );
}

#[test]
fn mistakes_name_file_and_line() {
    let err = |text: &[u8]| {
        let mut problems = match AccessMap::parse("m", Path::new("maps/m"), 1, text) {
            Ok(mut m) => m.parse_actions(),
            Err(p) => p,
        };
        assert!(!problems.is_empty(), "{text:?} should fail");
        problems.remove(0).to_string()
    };
    assert_eq!(
        err(b"  indented first\n"),
        "maps/m:1: error: continuation line (starts with whitespace) with nothing to continue"
    );
    assert_eq!(
        err(b"ok.example OK\n\xff\xfe REJECT\n"),
        "maps/m:2: error: not valid UTF-8"
    );
    assert!(
        err(b"a OK\nb OK\nA REJECT\n")
            .starts_with("maps/m:3: error: duplicate key `a` (first at line 1)")
    );
    assert!(err(b"192.0.2.0/33 OK\n").starts_with("maps/m:1: error: `192.0.2.0/33` is neither"));
    assert!(err(b"x\ny DISCARD\n").starts_with("maps/m:1: error: `x`: missing action"));
    assert!(err(b"x OK\ny DISCARD\n").starts_with("maps/m:2: error: `y`: access action `DISCARD`"));
    assert!(err(b"a\0 OK\n").contains("NUL"));
}

#[test]
fn maps_used_as_lists_need_no_actions() {
    let m = AccessMap::parse(
        "m",
        Path::new("m"),
        1,
        b"alice@example.test\nbob@example.test x\n",
    )
    .unwrap();
    assert_eq!(hit(m.lookup_address("alice@example.test")), Some(1));
}

proptest! {
    #[test]
    fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(mut m) = AccessMap::parse("m", Path::new("m"), 1, &bytes) {
            let _ = m.parse_actions();
            let _ = m.lookup_address("a@b.c");
            let _ = m.lookup_client("192.0.2.1".parse().unwrap(), Some("x.y"));
        }
    }

    #[test]
    fn never_panics_on_map_like_text(text in "([a-z0-9./:@<>\\[\\] ]{0,20}( (OK|REJECT|DEFER|HOLD|DUNNO|4[0-9]{2}|5[0-9]{2})( [ -~]{0,20})?)?\n){0,8}") {
        if let Ok(mut m) = AccessMap::parse("m", Path::new("m"), 1, text.as_bytes()) {
            let _ = m.parse_actions();
            let _ = m.lookup_domain("a.b.c");
        }
    }
}
