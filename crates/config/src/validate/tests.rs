use std::path::{Path, PathBuf};

use super::{Diagnostic, Severity};
use crate::model::Config;

fn parse(text: &str) -> Config {
    match Config::from_str(text, Path::new("calm.toml")) {
        Ok(config) => config,
        Err(err) => panic!("test config does not parse: {err}"),
    }
}

fn check(text: &str) -> Vec<Diagnostic> {
    parse(text).validate()
}

/// The single finding for `text`; fails if there is not exactly one.
fn only(text: &str) -> Diagnostic {
    let mut found = check(text);
    assert_eq!(
        found.len(),
        1,
        "expected one finding for {text:?}, got {found:#?}"
    );
    found.remove(0)
}

fn assert_finding(d: &Diagnostic, severity: Severity, line: usize, needle: &str) {
    assert_eq!((d.severity, d.line), (severity, Some(line)), "{d}");
    assert!(d.message.contains(needle), "{d} should mention {needle:?}");
}

const MX_PUBLIC: &str = "[[listener]]\nname = \"mx\"\nrole = \"mx\"\naddress = \"0.0.0.0:25\"\n";

#[test]
fn the_builtin_and_the_empty_file_are_clean() {
    assert_eq!(Config::builtin().validate(), []);
    assert_eq!(check(""), []);
    assert_eq!(check(&crate::example_toml()), []);
}

#[test]
fn display_is_one_compiler_like_line() {
    let d = only("[server]\nlocal_domains = []\n");
    assert_eq!(
        d.to_string(),
        format!("calm.toml:2: warning: {}", d.message)
    );
    let d = Diagnostic {
        severity: Severity::Error,
        file: PathBuf::from("<built-in>"),
        line: None,
        message: "two\nlines".to_owned(),
    };
    assert_eq!(d.to_string(), "<built-in>: error: two lines");
    assert!(d.is_error());
}

#[test]
fn builtin_findings_have_no_line() {
    let mut config = Config::builtin();
    config.listeners.clear();
    let found = config.validate();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].file, Path::new("<built-in>"));
    assert_eq!(found[0].line, None);
}

#[test]
fn no_listener_is_an_error() {
    let d = only("# no listeners\nlistener = []\n\n[server]\nhostname = \"a.test\"\n");
    assert_finding(&d, Severity::Error, 2, "no [[listener]]");
}

#[test]
fn listener_names_must_be_present_plain_and_unique() {
    let two = |a: &str, b: &str| {
        format!(
            "[[listener]]\nname = {a:?}\nrole = \"mx\"\naddress = \"127.0.0.1:25\"\n\
             [[listener]]\nname = {b:?}\nrole = \"submission\"\naddress = \"127.0.0.1:587\"\n"
        )
    };
    assert_finding(&only(&two("", "b")), Severity::Error, 2, "empty");
    assert_finding(
        &only(&two("a", "a")),
        Severity::Error,
        6,
        "duplicate listener name `a`",
    );
    assert_finding(
        &only(&two("a", "b\nc")),
        Severity::Error,
        6,
        "may contain only",
    );
    assert_finding(
        &only(&two("a b", "b")),
        Severity::Error,
        2,
        "may contain only",
    );
    assert_eq!(check(&two("mx-1", "sub_2.x")), []);
}

#[test]
fn listener_addresses_must_not_clash() {
    let two = |a: &str, b: &str| {
        format!(
            "[[listener]]\nname = \"a\"\nrole = \"mx\"\naddress = {a:?}\n\
             [[listener]]\nname = \"b\"\nrole = \"submission\"\naddress = {b:?}\n"
        )
    };
    let d = only(&two("127.0.0.1:25", "127.0.0.1:25"));
    assert_finding(
        &d,
        Severity::Error,
        8,
        "duplicate listener address 127.0.0.1:25",
    );
    let d = only(&two("0.0.0.0:2525", "127.0.0.1:2525"));
    assert_finding(&d, Severity::Error, 8, "conflicts with 0.0.0.0:2525");
    let d = only(&two("127.0.0.1:2525", "[::]:2525"));
    assert_finding(&d, Severity::Error, 8, "conflicts");
    // Different ports, different addresses, the IPv6 loopback, or port 0: all fine.
    assert_eq!(check(&two("127.0.0.1:25", "127.0.0.1:26")), []);
    assert_eq!(check(&two("127.0.0.1:25", "127.0.0.2:25")), []);
    assert_eq!(check(&two("127.0.0.1:25", "[::1]:25")), []);
    assert_eq!(check(&two("0.0.0.0:0", "127.0.0.1:0")), []);
    // An unspecified IPv4 address does not take the port on IPv6.
    assert_eq!(check(&two("0.0.0.0:25", "[::1]:25")), []);
}

#[test]
fn hostname_and_local_domains_must_be_domains() {
    let d = only("[server]\nhostname = \"mail example\"\n");
    assert_finding(&d, Severity::Error, 2, "hostname \"mail example\"");
    let d = only("[server]\nlocal_domains = [\n  \"example.test\",\n  \"bad..test\",\n]\n");
    assert_finding(&d, Severity::Error, 4, "local domain \"bad..test\"");
    let d = only("[server]\nlocal_domains = [\"a.test\", \"A.TEST\"]\n");
    assert_finding(&d, Severity::Warning, 2, "listed twice");
}

#[test]
fn empty_local_domains_is_a_warning() {
    let d = only("[server]\nlocal_domains = []\n");
    assert_finding(&d, Severity::Warning, 2, "local_domains is empty");
}

#[test]
fn lan_networks_with_host_bits_are_a_warning() {
    let d = only("[server]\nlan_networks = [\"10.1.2.3/8\"]\n");
    assert_finding(&d, Severity::Warning, 2, "it means 10.0.0.0/8");
}

#[test]
fn everyone_in_lan_networks_on_a_public_mx_is_an_open_relay() {
    for net in ["0.0.0.0/0", "::/0", "::ffff:0:0/96", "::ffff:0.0.0.0/95"] {
        let text = format!("[server]\nlan_networks = [\"127.0.0.0/8\", \"{net}\"]\n{MX_PUBLIC}");
        let found: Vec<_> = check(&text).into_iter().filter(|d| d.is_error()).collect();
        assert_eq!(found.len(), 1, "{net}: {found:#?}");
        assert_finding(&found[0], Severity::Error, 2, "open relay");
    }
    // On loopback only, or with ordinary networks, it is not.
    assert_eq!(check("[server]\nlan_networks = [\"0.0.0.0/0\"]\n"), []);
    let text = format!("[server]\nlan_networks = [\"10.0.0.0/8\", \"fd00::/8\"]\n{MX_PUBLIC}");
    assert_eq!(check(&text), []);
    // A submission listener does not relay without AUTH.
    let text = "[server]\nlan_networks = [\"0.0.0.0/0\"]\n[[listener]]\nname = \"s\"\n\
                role = \"submission\"\naddress = \"0.0.0.0:587\"\n";
    assert_eq!(check(text), []);
}

#[test]
fn tls_cert_and_key_come_together() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "x").unwrap();
    let d = only(&format!("[tls]\ncert = {:?}\n", cert.display().to_string()));
    assert_finding(&d, Severity::Error, 2, "tls.cert is set without tls.key");
    let d = only(&format!(
        "[tls]\n\nkey = {:?}\n",
        cert.display().to_string()
    ));
    assert_finding(&d, Severity::Error, 3, "tls.key is set without tls.cert");
    let both = format!(
        "[tls]\ncert = {0:?}\nkey = {0:?}\n",
        cert.display().to_string()
    );
    assert_eq!(check(&both), []);
}

#[test]
fn missing_tls_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.pem").display().to_string();
    let found = check(&format!("[tls]\ncert = {missing:?}\nkey = {missing:?}\n"));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_finding(&found[0], Severity::Error, 2, "does not exist");
    assert_finding(&found[1], Severity::Error, 3, "does not exist");
}

#[test]
fn missing_map_files_are_errors_and_a_missing_users_file_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let missing = |name: &str| dir.path().join(name).display().to_string();
    let text = format!(
        "[accounts]\nusers_file = {:?}\naliases_file = {:?}\nvirtual_file = {:?}\n",
        missing("users"),
        missing("aliases"),
        missing("virtual")
    );
    let found = check(&text);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_finding(&found[0], Severity::Error, 3, "aliases file");
    assert_finding(&found[1], Severity::Error, 4, "virtual file");
    assert_finding(&found[2], Severity::Warning, 2, "users file");
}

#[test]
fn map_files_that_exist_pass_and_directories_do_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aliases"), "postmaster: root\n").unwrap();
    let config_file = dir.path().join("calm.toml");
    // Relative to the config file's directory, not to the current directory.
    let text = "[accounts]\naliases_file = \"aliases\"\n";
    let config = Config::from_str(text, &config_file).unwrap();
    assert_eq!(config.validate(), []);
    let text = format!(
        "[accounts]\nvirtual_file = {:?}\n",
        dir.path().display().to_string()
    );
    assert_finding(&only(&text), Severity::Error, 2, "is a directory");
}

#[test]
fn catch_all_must_be_for_a_local_domain_and_go_to_an_address() {
    let d = only("[accounts.catch_all]\n\"other.test\" = \"postmaster@example.test\"\n");
    assert_finding(&d, Severity::Error, 2, "not in server.local_domains");
    let d = only("[accounts]\ncatch_all = { \"EXAMPLE.test\" = \"postmaster\" }\n");
    assert_finding(&d, Severity::Error, 2, "is not an address");
    let d = only("[accounts.catch_all]\n\"example.test\" = \"@example.test\"\n");
    assert_finding(&d, Severity::Error, 2, "local part");
    let d = only("[accounts.catch_all]\n\"example.test\" = \"a@bad_domain\"\n");
    assert_finding(&d, Severity::Error, 2, "domain");
    assert_eq!(
        check("[accounts.catch_all]\n\"Example.Test\" = \"a@example.test\"\n"),
        []
    );
}

#[test]
fn message_size_zero_is_an_error_and_absurd_a_warning() {
    let d = only("[limits]\nmax_message_size = 0\n");
    assert_finding(&d, Severity::Error, 2, "max_message_size is 0");
    let d = only("[limits]\nmax_message_size = 26214400000\n");
    assert_finding(&d, Severity::Warning, 2, "over 1 GiB");
    assert_eq!(check("[limits]\nmax_message_size = 1073741824\n"), []);
}

#[test]
fn limits_below_the_rfc_minimums() {
    assert_finding(
        &only("[limits]\nmax_recipients = 0\n"),
        Severity::Error,
        2,
        "is 0",
    );
    assert_finding(
        &only("[limits]\nmax_recipients = 99\n"),
        Severity::Warning,
        2,
        "at least 100",
    );
    assert_finding(
        &only("[limits]\ncommand_timeout_secs = 0\n"),
        Severity::Error,
        2,
        "is 0",
    );
    assert_finding(
        &only("[limits]\ncommand_timeout_secs = 60\n"),
        Severity::Warning,
        2,
        "300",
    );
    assert_finding(
        &only("[limits]\ndata_timeout_secs = 0\n"),
        Severity::Error,
        2,
        "is 0",
    );
    assert_finding(
        &only("[limits]\nmax_errors = 0\n"),
        Severity::Error,
        2,
        "at least 1",
    );
    assert_finding(
        &only("[limits]\nmax_auth_failures = 0\n"),
        Severity::Error,
        2,
        "at least 1",
    );
    assert_finding(
        &only("[limits]\nmx_greeting_delay_ms = 300000\n"),
        Severity::Error,
        2,
        "5 minutes",
    );
    assert_finding(
        &only("[spool]\ngroup_commit_max_batch = 0\n"),
        Severity::Error,
        2,
        "is 0",
    );
    assert_eq!(check("[limits]\nmx_greeting_delay_ms = 0\n"), []);
}

#[test]
fn log_level_must_be_a_level_or_a_filter() {
    assert_finding(&only("[log]\nlevel = \"\"\n"), Severity::Error, 2, "empty");
    assert_finding(
        &only("[log]\nlevel = \"infp\"\n"),
        Severity::Error,
        2,
        "unknown log level",
    );
    for ok in ["debug", "WARN", "off", "info,calm_smtp_server=debug"] {
        assert_eq!(check(&format!("[log]\nlevel = {ok:?}\n")), [], "{ok}");
    }
}

#[test]
fn errors_come_first_then_file_order() {
    let text = "[server]\nlocal_domains = []\n[limits]\nmax_errors = 0\nmax_recipients = 0\n";
    let found = check(text);
    let got: Vec<(Severity, Option<usize>)> = found.iter().map(|d| (d.severity, d.line)).collect();
    assert_eq!(
        got,
        [
            (Severity::Error, Some(4)),
            (Severity::Error, Some(5)),
            (Severity::Warning, Some(2))
        ]
    );
}

#[test]
fn a_key_left_at_its_default_points_at_its_table() {
    // `listener` is not written, but the table of the offending value is.
    let mut config = parse("[server]\nhostname = \"a.test\"\n");
    config.server.local_domains.clear();
    let found = config.validate();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].line, Some(1));
}

#[test]
fn spam_report_addresses_must_be_local_and_distinct() {
    let d = only("[content]\nnot_spam_address = \"ham@other.test\"\n");
    assert_finding(&d, Severity::Error, 2, "not in server.local_domains");
    let d = only("[content]\nspam_address = \"spam\"\n");
    assert_finding(&d, Severity::Error, 2, "is not an address");
    let d = only(
        "[content]\nspam_address = \"x@example.test\"\nnot_spam_address = \"x@example.test\"\n",
    );
    assert_finding(&d, Severity::Error, 2, "the same address");
    assert_eq!(
        check(
            "[content]\nspam_address = \"spam@Example.Test\"\nnot_spam_address = \"ham@example.test\"\n"
        ),
        []
    );
}
