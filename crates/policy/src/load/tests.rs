//! Loading: every mistake is refused with file and line, and no input panics.

use proptest::prelude::*;

use crate::context::Context;
use crate::stage::Stage;
use crate::testutil::*;

const RULE: &str = "[[rcpt]]\nname = \"r\"\naction = \"accept\"\n";

#[test]
fn a_valid_policy_loads_with_rule_lines() {
    let p = policy(
        "# comment\n\n[[connect]]\nname = \"a\"\naction = \"accept\"\n\n[[rcpt]]\nname = \"b\"\nif = [\n  \"rcpt_known\",\n  \"not tls\",\n]\naction = \"continue\"\n",
    );
    let connect: Vec<_> = p.rules(Stage::Connect).collect();
    assert_eq!(
        (connect[0].name(), connect[0].file(), connect[0].line()),
        ("a", "policy.toml", 3)
    );
    assert_eq!(p.rules(Stage::Rcpt).next().map(|r| r.line()), Some(7));
    assert_eq!(p.rule_count(), 2);
    assert_eq!(p.path(), std::path::Path::new("/etc/calm/policy.toml"));
}

#[test]
fn toml_syntax_errors_name_the_line() {
    assert_eq!(
        load_error("[[rcpt]]\nname = \"r\"\naction = accept\n", &[])
            .lines()
            .next()
            .unwrap()
            .split(": error:")
            .next(),
        Some("/etc/calm/policy.toml:3")
    );
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\nacton = \"accept\"\naction = \"accept\"\n",
        &[],
    );
    assert!(
        e.starts_with("/etc/calm/policy.toml:3: error: unknown field `acton`"),
        "{e}"
    );
    let e = load_error("[[smtp]]\nname = \"r\"\naction = \"accept\"\n", &[]);
    assert!(e.contains("unknown field `smtp`"), "{e}");
    let e = load_error("[[rcpt]]\naction = \"accept\"\n", &[]);
    assert!(e.contains("missing field `name`"), "{e}");
}

#[test]
fn unknown_checks_and_bad_actions_name_their_line() {
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\nif = [\n  \"rcpt_known\",\n  \"rcpt_knwon\",\n]\naction = \"accept\"\n",
        &[],
    );
    assert_eq!(
        e,
        "/etc/calm/policy.toml:5: error: rule `r`: unknown check `rcpt_knwon`; did you mean `rcpt_known`?"
    );
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\nif = \"rcpt_known\"\naction = \"drop\"\n",
        &[],
    );
    assert!(
        e.starts_with("/etc/calm/policy.toml:4: error: rule `r`: unknown action `drop`"),
        "{e}"
    );
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"reject 450 4.7.1 no\"\n",
        &[],
    );
    assert!(e.contains("reject needs a 5xx reply code, not 450"), "{e}");
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"defer 451 5.7.1 no\"\n",
        &[],
    );
    assert!(e.contains("does not match a 4xx reply"), "{e}");
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"reject 550 5.1.1 {who}\"\n",
        &[],
    );
    assert!(e.contains("unknown field {who}"), "{e}");
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"reject 550 5.1.1 a\\r\\n250 ok\"\n",
        &[],
    );
    assert!(e.contains("control characters"), "{e}");
}

#[test]
fn all_problems_are_reported_at_once_in_line_order() {
    let e = load_error(
        "[[helo]]\nname = \"a\"\nif = \"nope\"\naction = \"accept\"\n[[helo]]\nname = \"a\"\naction = \"bogus\"\n",
        &[],
    );
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 3, "{e}");
    assert!(lines[0].starts_with("/etc/calm/policy.toml:3:"));
    assert!(lines[1].starts_with("/etc/calm/policy.toml:6:") && lines[1].contains("used twice"));
    assert!(lines[2].starts_with("/etc/calm/policy.toml:7:"));
}

#[test]
fn names_are_checked() {
    let e = load_error("[[rcpt]]\nname = \"has space\"\naction = \"accept\"\n", &[]);
    assert!(e.contains("bad name `has space`"), "{e}");
    let e = load_error(
        &format!(
            "[[rcpt]]\nname = \"{}\"\naction = \"accept\"\n",
            "x".repeat(65)
        ),
        &[],
    );
    assert!(e.contains("bad name"), "{e}");
}

#[test]
fn tag_fields_belong_to_tag() {
    let e = load_error("[[rcpt]]\nname = \"r\"\naction = \"tag\"\n", &[]);
    assert!(
        e.contains("`tag` needs a `score`, a `header` or a `folder`"),
        "{e}"
    );
    for (folder, why) in [
        ("\"\"", "1 to 100 characters"),
        ("\"INBOX\"", "where mail goes anyway"),
        ("\"../x\"", "not a mailbox name"),
        ("\"a/b\"", "not a mailbox name"),
    ] {
        let e = load_error(
            &format!("[[data]]\nname = \"r\"\naction = \"tag\"\nfolder = {folder}\n"),
            &[],
        );
        assert!(
            e.starts_with("/etc/calm/policy.toml:4:") && e.contains(why),
            "{e}"
        );
    }
    let e = load_error(
        "[[data]]\nname = \"r\"\naction = \"accept\"\nfolder = \"Junk\"\n",
        &[],
    );
    assert!(e.contains("belong to `tag`"), "{e}");
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"accept\"\nscore = 1.0\n",
        &[],
    );
    assert!(
        e.starts_with("/etc/calm/policy.toml:4:") && e.contains("belong to `tag`"),
        "{e}"
    );
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"tag\"\nscore = inf\n",
        &[],
    );
    assert!(e.contains("score must be between"), "{e}");
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"tag\"\nheader = \"NoColon\"\n",
        &[],
    );
    assert!(e.contains("needs the form `Name: value`"), "{e}");
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"tag\"\nheader = \"X-A: b\\r\\nBcc: evil\"\n",
        &[],
    );
    assert!(e.contains("control characters"), "{e}");
    let e = load_error(
        "[[rcpt]]\nname = \"r\"\naction = \"tag\"\nheader = \"X A: b\"\n",
        &[],
    );
    assert!(e.contains("not a header field name"), "{e}");
}

#[test]
fn map_action_needs_one_positive_access_condition() {
    let maps = [("m", "a@b OK\n")];
    for cond in [
        "\"rcpt_known\"",
        "\"not access_rcpt m\"",
        "[\"access_rcpt m\", \"access_sender m\"]",
    ] {
        let e = load_error(
            &format!("[maps]\nm = \"m\"\n[[rcpt]]\nname = \"r\"\nif = {cond}\naction = \"map\"\n"),
            &maps,
        );
        assert!(
            e.contains("`map` takes its action from exactly one access_* condition"),
            "{cond}: {e}"
        );
    }
}

#[test]
fn maps_and_lists_name_their_files_and_lines() {
    let text = "[maps]\nm = \"maps/m\"\n[[rcpt]]\nname = \"r\"\nif = \"access_rcpt m\"\naction = \"map\"\n";
    let e = load_error(text, &[]);
    assert_eq!(
        e,
        "/etc/calm/policy.toml:2: error: map `m`: cannot read /etc/calm/maps/m: No such file or directory"
    );
    let e = load_error(text, &[("maps/m", "a@b OK\nc@d FILTER smtp:x\n")]);
    assert!(
        e.starts_with("/etc/calm/maps/m:2: error: `c@d`: access action `FILTER`"),
        "{e}"
    );
    // A map used only as a list needs no actions.
    let text =
        "[maps]\nm = \"maps/m\"\n[[rcpt]]\nname = \"r\"\nif = \"rcpt_in m\"\naction = \"accept\"\n";
    policy_with(text, &[("maps/m", "a@b\n")]);
    let e = load_error("[lists]\nl = [\"10.0.0.0/8\", \"bogus\"]\n", &[]);
    assert_eq!(
        e,
        "/etc/calm/policy.toml:2: error: list `l`: `bogus` is not an IP address or CIDR network"
    );
    let e = load_error("[lists]\nl = [\"file:nets\"]\n", &[]);
    assert!(e.contains("list `l`: cannot read /etc/calm/nets"), "{e}");
    let e = load_error(
        "[lists]\nl = [\"file:nets\"]\n",
        &[("nets", "10.0.0.0/8\n\nnope\n")],
    );
    assert_eq!(
        e,
        "/etc/calm/nets:3: error: `nope` is not an IP address or CIDR network"
    );
    let e = load_error("[lists]\nl = [\"config:mynetworks\"]\n", &[]);
    assert!(
        e.contains("only configuration list is `config:lan_networks`"),
        "{e}"
    );
}

#[test]
fn lists_take_files_and_config() {
    let p = policy_with(
        "[lists]\nl = [\"file:nets\", \"config:lan_networks\", \"192.0.2.1\"]\n[[connect]]\nname = \"r\"\nif = \"client_in l\"\naction = \"reject\"\n",
        &[("nets", "10.0.0.0/8, 172.16.0.0/12\n")],
    );
    for (client, refused) in [
        ("10.1.2.3", true),
        ("127.0.0.1", true),
        ("192.0.2.1", true),
        ("192.0.2.2", false),
    ] {
        assert_eq!(
            eval(&p, Stage::Connect, &facts(client))
                .verdict
                .is_refusal(),
            refused,
            "{client}"
        );
    }
}

#[test]
fn limits_section() {
    let p = policy(
        "[limits]\nipv4_network_prefix = 16\n[[connect]]\nname = \"r\"\nif = \"connections_per_ip > 99 per 2h\"\naction = \"defer\"\n",
    );
    let s = p.limiter_settings();
    assert_eq!((s.ipv4_prefix, s.ipv6_prefix, s.max_events), (16, 64, 100));
    assert_eq!(s.max_window, std::time::Duration::from_secs(7200));
    let e = load_error("[limits]\nipv4_network_prefix = 33\n", &[]);
    assert!(
        e.starts_with("/etc/calm/policy.toml:2: error: ipv4_network_prefix must be 0-32"),
        "{e}"
    );
    let e = load_error("[limits]\nipv6_network_prefix = -1\n", &[]);
    assert!(e.contains("ipv6_network_prefix must be 0-128"), "{e}");
}

#[test]
fn files_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(dir.path().join("client"), "192.0.2.1 REJECT\n").unwrap();
    std::fs::write(&path, "[maps]\nc = \"client\"\n[[connect]]\nname = \"r\"\nif = \"access_client c\"\naction = \"map\"\n").unwrap();
    let p = crate::Policy::load(&path, &Context::default()).unwrap();
    assert!(
        eval(&p, Stage::Connect, &facts("192.0.2.1"))
            .verdict
            .is_refusal()
    );
    let missing =
        crate::Policy::load(&dir.path().join("nope.toml"), &Context::default()).unwrap_err();
    assert!(
        missing.to_string().contains("nope.toml: cannot read"),
        "{missing}"
    );
    assert!(missing.problems().is_empty());
    std::fs::write(&path, b"\xff\xfe").unwrap();
    let e = crate::Policy::load(&path, &Context::default()).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("policy.toml: error: not valid UTF-8"),
        "{e}"
    );
}

#[test]
fn empty_policy_is_valid_and_passes_everything() {
    let p = policy("");
    assert_eq!(p.rule_count(), 0);
    assert_eq!(
        eval(&p, Stage::Rcpt, &facts("192.0.2.1")).verdict,
        crate::Verdict::Pass
    );
    let _ = RULE;
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = load_with(&text, &[], &Context::default());
    }

    #[test]
    fn policy_shaped_text_never_panics(
        stage in "(connect|helo|mail|rcpt|data|smtp)",
        name in "[a-z -]{0,8}",
        cond in "(not )?[a-z_]{0,22}( [a-z0-9<>=\"]{0,6}){0,4}",
        action in "(accept|reject|defer|tag|map|quarantine|continue|x)( [0-9]{3})?( [0-9.]{5})?( [ -~]{0,12})?",
    ) {
        let text = format!("[maps]\nm = \"m\"\n[lists]\nl = []\n[[{stage}]]\nname = \"{name}\"\nif = {cond:?}\naction = {action:?}\nscore = 1.0\n");
        let _ = load_with(&text, &[("m", "a OK\n")], &Context::default()).map(|p| p.hazards());
    }
}
