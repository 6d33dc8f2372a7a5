use super::*;
use proptest::prelude::*;

fn addr(s: &str) -> Address {
    Address::parse(s, false).unwrap()
}

#[test]
fn plain_mailbox() {
    let a = addr("Bob.Smith@Example.TEST");
    assert_eq!(a.local(), "Bob.Smith", "local part keeps its case");
    assert_eq!(a.domain(), "example.test");
    assert!(!a.is_ip_literal());
    assert_eq!(a.to_string(), "Bob.Smith@example.test");
}

#[test]
fn percent_hack_and_bang_path_stay_in_local_part() {
    let a = addr("u%other.example@example.test");
    assert_eq!(a.local(), "u%other.example");
    assert_eq!(a.domain(), "example.test");
    let b = addr("other!u@example.test");
    assert_eq!(b.local(), "other!u");
    assert_eq!(b.domain(), "example.test");
    // A bang path with no @domain is not a mailbox at all.
    assert_eq!(
        Address::parse("other.example!u", false),
        Err(AddressError::MissingDomain)
    );
}

#[test]
fn quoted_local_part_is_kept_literally() {
    let a = addr("\"u@other.example\"@example.test");
    assert_eq!(a.local(), "u@other.example");
    assert_eq!(a.domain(), "example.test");
    assert_eq!(a.to_string(), "\"u@other.example\"@example.test");
    let b = addr(r#""a\"b\\c d"@x.test"#);
    assert_eq!(b.local(), r#"a"b\c d"#);
    assert_eq!(b.to_string(), r#""a\"b\\c d"@x.test"#);
    // Quoting a plain dot-string is not semantic.
    assert_eq!(addr("\"bob\"@x.test"), addr("bob@x.test"));
    assert_eq!(addr("\"bob\"@x.test").to_string(), "bob@x.test");
}

#[test]
fn quoted_local_part_errors() {
    assert_eq!(
        Address::parse("\"abc@x.test", false),
        Err(AddressError::UnterminatedQuote)
    );
    assert_eq!(
        Address::parse("\"a\\", false),
        Err(AddressError::UnterminatedQuote)
    );
    assert_eq!(
        Address::parse("\"a\tb\"@x.test", false),
        Err(AddressError::BadLocalPart)
    );
    assert_eq!(
        Address::parse("\"a\"b@x.test", false),
        Err(AddressError::MissingDomain)
    );
    assert_eq!(
        Address::parse("\"\"@x.test", false),
        Err(AddressError::EmptyLocalPart)
    );
}

#[test]
fn source_route_is_dropped() {
    let a = addr("@relay.one,@relay.two:u@c.example");
    assert_eq!(a.local(), "u");
    assert_eq!(a.domain(), "c.example");
    assert_eq!(a.to_string(), "u@c.example");
    for bad in ["@relay.one", "@:u@c.example", "@a,b:u@c.example", "@a.:u@c"] {
        assert_eq!(
            Address::parse(bad, false),
            Err(AddressError::BadSourceRoute),
            "{bad}"
        );
    }
}

#[test]
fn ip_literals() {
    let a = addr("u@[192.0.2.1]");
    assert!(a.is_ip_literal());
    assert_eq!(a.domain(), "[192.0.2.1]");
    assert_eq!(a.host(), &Host::Literal("192.0.2.1".parse().unwrap()));
    let b = addr("u@[ipv6:2001:DB8::1]");
    assert_eq!(b.domain(), "[IPv6:2001:db8::1]");
    for bad in [
        "u@[192.0.2]",
        "u@[1.2.3.4",
        "u@[x:abc]",
        "u@[IPv6:1.2.3.4]",
        "u@[2001:db8::1]",
        "u@[]",
    ] {
        assert_eq!(
            Address::parse(bad, false),
            Err(AddressError::BadAddressLiteral),
            "{bad}"
        );
    }
}

#[test]
fn trailing_dot_says_so() {
    let e = Address::parse("u@example.test.", false).unwrap_err();
    assert_eq!(e, AddressError::Domain(DomainError::TrailingDot));
    assert_eq!(
        e.to_string(),
        "invalid domain: domain must not end with a dot"
    );
}

#[test]
fn dot_string_errors() {
    for bad in [
        ".u@x.test",
        "u.@x.test",
        "u..v@x.test",
        "u v@x.test",
        "u<@x.test",
        "u\0@x.test",
    ] {
        assert_eq!(
            Address::parse(bad, false),
            Err(AddressError::BadLocalPart),
            "{bad:?}"
        );
    }
    assert_eq!(Address::parse("", false), Err(AddressError::Empty));
    assert_eq!(
        Address::parse("@x.test", false),
        Err(AddressError::BadSourceRoute)
    );
    assert_eq!(Address::parse("u", false), Err(AddressError::MissingDomain));
    assert_eq!(
        Address::parse("u@", false),
        Err(AddressError::Domain(DomainError::Empty))
    );
    assert_eq!(
        Address::parse("u@a@b", false),
        Err(AddressError::Domain(DomainError::BadCharacter('@')))
    );
}

#[test]
fn length_limits() {
    let local64 = "a".repeat(64);
    assert!(Address::parse(&format!("{local64}@x.test"), false).is_ok());
    assert_eq!(
        Address::parse(&format!("a{local64}@x.test"), false),
        Err(AddressError::LocalPartTooLong)
    );
    let label = "b".repeat(63);
    let long_domain = [label.as_str(); 3].join(".");
    assert_eq!(
        Address::parse(&format!("{local64}@{long_domain}.cc"), false),
        Err(AddressError::TooLong)
    );
}

#[test]
fn utf8_requires_opt_in() {
    assert_eq!(
        Address::parse("jürgen@x.test", false),
        Err(AddressError::Utf8NotAllowed)
    );
    assert_eq!(
        Address::parse("\"jürgen\"@x.test", false),
        Err(AddressError::Utf8NotAllowed)
    );
    assert_eq!(
        Address::parse("j@bücher.de", false),
        Err(AddressError::Domain(DomainError::Utf8NotAllowed))
    );
    let a = Address::parse("jürgen@bücher.de", true).unwrap();
    assert!(a.is_utf8());
    assert_eq!(a.to_string(), "jürgen@bücher.de");
    assert!(!addr("j@x.test").is_utf8());
}

#[test]
fn new_checks_local_content() {
    let d = Domain::parse("x.test", false).unwrap();
    let a = Address::new("has space", d.clone()).unwrap();
    assert_eq!(a.to_string(), "\"has space\"@x.test");
    assert_eq!(
        Address::new("", d.clone()),
        Err(AddressError::EmptyLocalPart)
    );
    assert_eq!(
        Address::new("a\nb", d.clone()),
        Err(AddressError::BadLocalPart)
    );
    assert_eq!(
        Address::new(&"a".repeat(65), d),
        Err(AddressError::LocalPartTooLong)
    );
}

#[test]
fn reverse_path() {
    assert_eq!(ReversePath::parse("", false), Ok(ReversePath::Null));
    assert_eq!(ReversePath::Null.to_string(), "<>");
    let rp = ReversePath::parse("a@x.test", false).unwrap();
    assert_eq!(rp.to_string(), "<a@x.test>");
    assert_eq!(rp.address().map(Address::local), Some("a"));
    let json = serde_json::to_string(&rp).unwrap();
    assert_eq!(json, "\"<a@x.test>\"");
    assert_eq!(serde_json::from_str::<ReversePath>(&json).unwrap(), rp);
    assert_eq!(
        serde_json::from_str::<ReversePath>("\"<>\"").unwrap(),
        ReversePath::Null
    );
}

#[test]
fn address_serde() {
    let a = addr("\"a b\"@x.test");
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(json, r#""\"a b\"@x.test""#);
    assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
    assert!(serde_json::from_str::<Address>("\"nodomain\"").is_err());
}

fn local_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-zA-Z0-9_-]{1,8}){0,2}",
        "[ -~]{1,20}",
        "[a-zé]{1,10}",
    ]
}

proptest! {
    #[test]
    fn display_parse_round_trip(local in local_strategy(), domain in "[a-z0-9]{1,10}(\\.[a-z]{2,5}){0,2}") {
        let d = Domain::parse(&domain, true).unwrap();
        if let Ok(a) = Address::new(&local, d) {
            let text = a.to_string();
            let back = Address::parse(&text, true);
            prop_assert_eq!(back, Ok(a));
        }
    }

    #[test]
    fn parse_never_panics_and_display_reparses(s in "\\PC{0,80}") {
        if let Ok(a) = Address::parse(&s, true) {
            prop_assert_eq!(Address::parse(&a.to_string(), true), Ok(a));
        }
    }
}
