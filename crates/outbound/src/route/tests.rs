use super::*;

fn hop(host: &str, port: Option<u16>, mx_lookup: bool) -> Transport {
    Transport::Smtp(Some(NextHop {
        host: host.into(),
        port,
        mx_lookup,
        tls: TlsPolicy::May,
        auth: None,
    }))
}

const MAP: &str = "\
# cut-over map
example.com      smtp:[mx.example.com]:2525
.example.com     relay:[10.0.0.5]
Old.Example.ORG  relay:old-mx.internal:25   # MX of old-mx.internal
local.test       local
moving.test      disabled
dead.test        error:this domain is closed
secure.test      smtp:[127.0.0.2]:2525 tls=verify
";

#[test]
fn postfix_transport_lines_are_understood() {
    let routes = Routes::parse(MAP, "transport").unwrap();
    assert_eq!(routes.len(), 7);
    assert_eq!(
        routes.lookup("example.com"),
        hop("mx.example.com", Some(2525), false)
    );
    assert_eq!(
        routes.lookup("EXAMPLE.com."),
        hop("mx.example.com", Some(2525), false)
    );
    assert_eq!(
        routes.lookup("a.b.example.com"),
        hop("10.0.0.5", None, false)
    );
    assert_eq!(
        routes.lookup("old.example.org"),
        hop("old-mx.internal", Some(25), true)
    );
    assert_eq!(routes.lookup("local.test"), Transport::Local);
    assert_eq!(routes.lookup("moving.test"), Transport::Disabled);
    assert_eq!(
        routes.lookup("dead.test"),
        Transport::Error("this domain is closed".into())
    );
    let Transport::Smtp(Some(secure)) = routes.lookup("secure.test") else {
        panic!("secure.test");
    };
    assert_eq!(secure.tls, TlsPolicy::Verify);
}

#[test]
fn unmatched_domains_use_the_wildcard_then_the_relay_host_then_mx() {
    let routes = Routes::parse(MAP, "t").unwrap();
    // `example.com` is exact only; its parent rule covers subdomains, not other domains.
    assert_eq!(routes.lookup("notexample.com"), Transport::Smtp(None));
    let relay = NextHop {
        host: "smarthost.test".into(),
        port: Some(587),
        mx_lookup: false,
        tls: TlsPolicy::Encrypt,
        auth: None,
    };
    let with_relay = routes.clone().with_relay_host(Some(relay.clone()));
    assert_eq!(with_relay.lookup("other.net"), Transport::Smtp(Some(relay)));
    assert_eq!(with_relay.lookup("local.test"), Transport::Local);
    let wild = Routes::parse("* relay:[hub.test]\n", "t").unwrap();
    assert_eq!(wild.lookup("any.where"), hop("hub.test", None, false));
}

#[test]
fn disabled_refuses_with_450_so_senders_retry() {
    let reply = Transport::Disabled.rcpt_refusal().unwrap();
    assert_eq!(reply.code, 450);
    assert_eq!(reply.enhanced, Some(EnhancedCode::new(4, 3, 2)));
    assert!(hop("h", None, true).rcpt_refusal().is_none());
    assert!(Transport::Local.rcpt_refusal().is_none());
}

#[test]
fn bad_lines_name_file_and_line() {
    let cases = [
        ("example.com\n", "expected"),
        ("a.test smtp:[h:25\n", "missing `]`"),
        ("a.test smtp:[h]25\n", "expected `:port`"),
        ("a.test smtp:[h]:0\n", "not a port"),
        ("a.test smtp:h:99999\n", "not a port"),
        ("a.test pipe:x\n", "unknown transport"),
        ("a.test smtp:[h] tls=maybe\n", "unknown option"),
        ("user@a.test smtp:\n", "address patterns"),
        ("a..test smtp:\n", "a..test"),
        ("a.test smtp:[bad!host]\n", "bad!host"),
    ];
    for (text, want) in cases {
        let err = Routes::parse(&format!("# c\n{text}"), "routes").unwrap_err();
        assert_eq!(err.line, 2, "{text}");
        assert!(err.to_string().starts_with("routes:2: "), "{err}");
        assert!(err.message.contains(want), "{text}: {err}");
    }
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let err = Routes::load(Path::new("does/not/exist")).unwrap_err();
    assert_eq!(err.line, 0);
    assert!(err.file.contains("exist"));
}

#[test]
fn ip_literal_nexthops_and_options_without_host() {
    let routes = Routes::parse(
        "a.test smtp:[127.0.0.1]:2525\nb.test smtp: tls=encrypt\n",
        "t",
    )
    .unwrap();
    assert_eq!(routes.lookup("a.test"), hop("127.0.0.1", Some(2525), false));
    let Transport::Smtp(Some(b)) = routes.lookup("b.test") else {
        panic!("b.test");
    };
    assert_eq!(
        (b.host.as_str(), b.mx_lookup, b.tls),
        ("", true, TlsPolicy::Encrypt)
    );
}

#[test]
fn auth_names_a_credential_and_implies_tls() {
    let routes = Routes::parse("isp.test relay:[smtp.isp.test]:587 auth=isp\n", "r").unwrap();
    let Transport::Smtp(Some(hop)) = routes.lookup("isp.test") else {
        panic!("isp.test");
    };
    assert_eq!(hop.auth.as_deref(), Some("isp"));
    assert_eq!(hop.tls, TlsPolicy::Encrypt, "auth= raises tls=may");
    let verify = Routes::parse("v.test relay:[h.test] tls=verify auth=isp\n", "r").unwrap();
    let Transport::Smtp(Some(hop)) = verify.lookup("v.test") else {
        panic!("v.test");
    };
    assert_eq!(hop.tls, TlsPolicy::Verify, "tls=verify is kept");
    for bad in [
        "a.test relay:[h.test] auth=isp tls=none\n",
        "a.test relay:[h.test] auth=\n",
        "a.test smtp: auth=isp\n",
    ] {
        let e = Routes::parse(bad, "r").unwrap_err();
        assert_eq!(e.line, 1, "{bad}: {e}");
    }
}

#[test]
fn missing_credentials_are_listed() {
    use crate::credentials::RelayCredentials;
    let text = "a.test relay:[h.test] auth=isp\nb.test relay:[h.test] auth=hub\n\
                c.test relay:[h.test] auth=isp\n";
    let routes = Routes::parse(text, "r").unwrap();
    assert_eq!(routes.missing_credentials(), ["hub", "isp"]);
    let creds = RelayCredentials::parse("isp u p\n", "c").unwrap();
    let routes = routes.with_credentials(creds);
    assert_eq!(routes.missing_credentials(), ["hub"]);
    assert_eq!(routes.credential("isp").unwrap().username(), "u");
    let relay = Routes::parse("* relay:[r.test] auth=relay\n", "r").unwrap();
    let relay = Routes::default().with_relay_host(match relay.lookup("x.test") {
        Transport::Smtp(hop) => hop,
        _ => None,
    });
    assert_eq!(relay.missing_credentials(), ["relay"]);
}
