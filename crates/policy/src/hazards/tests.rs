//! The checker: each hazard, and the seed incident by name.

use super::*;
use crate::context::Context;
use crate::facts::Tables;
use crate::testutil::*;

/// A relay rule so that policies under test are not flagged as open relays.
const RELAY: &str =
    "[[rcpt]]\nname = \"relay-denied\"\nif = \"rcpt_remote\"\naction = \"reject\"\n";

fn hazards_with(text: &str, files: &[(&str, &str)], ctx: &Context) -> Vec<Hazard> {
    load_with(text, files, ctx)
        .unwrap_or_else(|e| panic!("{e}"))
        .hazards()
}

fn kinds(text: &str) -> Vec<(HazardKind, Option<usize>)> {
    hazards_with(text, &[], &Context::default())
        .iter()
        .map(|h| (h.kind, h.line))
        .collect()
}

/// Context of a configuration that loads users, aliases and a virtual map.
fn all_tables() -> Context {
    Context {
        tables: Tables::ALL,
        ..Context::default()
    }
}

#[test]
fn a_clean_policy_has_no_hazards() {
    let text = format!(
        "[[rcpt]]\nname = \"unknown\"\nif = \"rcpt_unknown\"\naction = \"reject 550 5.1.1 x\"\n{RELAY}"
    );
    assert_eq!(kinds(&text), []);
    assert_eq!(hazards_with(&text, &[], &all_tables()), []);
}

// Seed incident, form 1: recipient validation that does not wait for a map the configuration
// loads. During start-up or a reload the aliases table is not there yet, `rcpt_unknown users`
// is conclusive anyway, and valid alias recipients get 550.
#[test]
fn seed_incident_recipient_validation_before_alias_map_loaded() {
    let text = format!(
        "[[rcpt]]\nname = \"unknown-local\"\nif = \"rcpt_unknown users\"\naction = \"reject 550 5.1.1 no such user\"\n{RELAY}"
    );
    let found = hazards_with(&text, &[], &all_tables());
    assert_eq!(found.len(), 1, "{found:#?}");
    let h = &found[0];
    assert_eq!(
        (h.kind, h.line),
        (HazardKind::ValidationIncomplete, Some(1))
    );
    assert!(
        h.message
            .contains("does not wait for the aliases, virtual table"),
        "{}",
        h.message
    );
    assert_eq!(
        h.to_string().split(": warning: ").next(),
        Some("/etc/calm/policy.toml:1")
    );
    // Without a table list the rule waits for every configured table: no warning.
    let fixed = text.replace("rcpt_unknown users", "rcpt_unknown");
    assert_eq!(hazards_with(&fixed, &[], &all_tables()), []);
}

// Seed incident, form 1 at run time: the same rule never rejects while a table it requires is
// missing from the directory; the recipient falls through to the next rule.
#[test]
fn seed_incident_runtime_unloaded_table_never_rejects() {
    use crate::facts::{Rcpt, RcptStatus};
    use crate::stage::Stage;
    let text = "[[rcpt]]\nname = \"unknown-local\"\nif = \"rcpt_unknown\"\naction = \"reject 550 5.1.1 no\"\n\
                [[rcpt]]\nname = \"not-ready\"\nif = \"rcpt_tables_incomplete\"\naction = \"defer 451 4.3.0 later\"\n";
    let p = load_with(text, &[], &all_tables()).unwrap();
    let mut f = facts("192.0.2.1");
    f.rcpt = Some(Rcpt {
        address: "sales@example.test",
        status: RcptStatus::Unknown,
        tables: Tables::USERS,
    });
    let d = eval(&p, Stage::Rcpt, &f);
    assert_eq!(d.reply().map(|r| r.code), Some(451), "{}", d.explain());
    f.rcpt = Some(Rcpt {
        tables: Tables::ALL,
        ..f.rcpt.unwrap()
    });
    assert_eq!(eval(&p, Stage::Rcpt, &f).reply().map(|r| r.code), Some(550));
}

// Seed incident, form 2: validation that requires a table the configuration never loads can
// never be conclusive.
#[test]
fn seed_incident_validation_requires_unconfigured_table() {
    let text = format!(
        "[[rcpt]]\nname = \"unknown-local\"\nif = \"rcpt_unknown users aliases\"\naction = \"reject\"\n{RELAY}"
    );
    let found = hazards_with(&text, &[], &Context::default());
    assert_eq!(
        found.iter().map(|h| h.kind).collect::<Vec<_>>(),
        [HazardKind::RecipientTableNotLoaded]
    );
    assert!(
        found[0].message.contains("set accounts.aliases_file"),
        "{}",
        found[0].message
    );
    let text = format!(
        "[[rcpt]]\nname = \"wait\"\nif = \"rcpt_tables_incomplete virtual\"\naction = \"defer\"\n{RELAY}"
    );
    let found = hazards_with(&text, &[], &Context::default());
    assert!(
        found[0].message.contains("refused by this rule forever"),
        "{}",
        found[0].message
    );
}

// Seed incident, form 3: validation ordered before the rule whose map makes recipients known.
#[test]
fn seed_incident_validation_ordered_before_recipient_map() {
    let text = format!(
        "[maps]\nextra = \"extra\"\n\
         [[rcpt]]\nname = \"unknown-local\"\nif = \"rcpt_unknown\"\naction = \"reject 550 5.1.1 x\"\n\
         [[rcpt]]\nname = \"extra-recipients\"\nif = \"rcpt_in extra\"\naction = \"accept\"\n{RELAY}"
    );
    let files = [("extra", "list@example.test\n")];
    let found = hazards_with(&text, &files, &Context::default());
    assert_eq!(
        found.iter().map(|h| (h.kind, h.line)).collect::<Vec<_>>(),
        [(HazardKind::ValidationBeforeMap, Some(3))]
    );
    assert!(
        found[0]
            .message
            .contains("Move `extra-recipients` before `unknown-local`"),
        "{}",
        found[0].message
    );
    // In the right order, no warning.
    let text = format!(
        "[maps]\nextra = \"extra\"\n\
         [[rcpt]]\nname = \"extra-recipients\"\nif = \"rcpt_in extra\"\naction = \"accept\"\n\
         [[rcpt]]\nname = \"unknown-local\"\nif = \"rcpt_unknown\"\naction = \"reject 550 5.1.1 x\"\n{RELAY}"
    );
    assert_eq!(hazards_with(&text, &files, &Context::default()), []);
}

#[test]
fn wrong_stage() {
    let text = format!(
        "[[rcpt]]\nname = \"content-at-rcpt\"\nif = \"header Subject spam\"\naction = \"reject\"\n\
         [[mail]]\nname = \"rcpt-at-mail\"\nif = \"rcpt_known\"\naction = \"accept\"\n\
         [[connect]]\nname = \"auth-at-connect\"\nif = \"not authenticated\"\naction = \"tag\"\nscore = 1.0\n{RELAY}"
    );
    let found = hazards_with(&text, &[], &Context::default());
    let wrong: Vec<_> = found
        .iter()
        .filter(|h| h.kind == HazardKind::WrongStage)
        .collect();
    assert_eq!(wrong.len(), 3, "{found:#?}");
    assert!(wrong.iter().any(|h| {
        h.message
            .contains("needs the message content (DATA), which only exists at stage `data`")
    }));
    assert!(
        wrong
            .iter()
            .any(|h| h.message.contains("only exists at stage `rcpt`"))
    );
    assert!(
        wrong
            .iter()
            .any(|h| h.message.contains("only exists from stage `mail` on"))
    );
}

#[test]
fn never_fires() {
    let text = format!(
        "[lists]\nempty = []\n\
         [[connect]]\nname = \"contradiction\"\nif = [\"tls\", \"not tls\"]\naction = \"reject\"\n\
         [[connect]]\nname = \"two-roles\"\nif = [\"listener mx\", \"listener submission\"]\naction = \"reject\"\n\
         [[connect]]\nname = \"empty-list\"\nif = \"client_in empty\"\naction = \"reject\"\n\
         [[data]]\nname = \"too-big\"\nif = \"message_size > 100M\"\naction = \"reject\"\n\
         [[rcpt]]\nname = \"known-and-remote\"\nif = [\"rcpt_known\", \"rcpt_remote\"]\naction = \"reject\"\n\
         [[mail]]\nname = \"null-local\"\nif = [\"sender_null\", \"sender_domain_local\"]\naction = \"reject\"\n{RELAY}"
    );
    let found = hazards_with(&text, &[], &Context::default());
    let never: Vec<_> = found
        .iter()
        .filter(|h| h.kind == HazardKind::NeverFires)
        .map(|h| h.line)
        .collect();
    assert_eq!(
        never,
        [Some(3), Some(7), Some(11), Some(15), Some(19), Some(23)],
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|h| h.message.contains("limits.max_message_size"))
    );
}

#[test]
fn shadowed() {
    let text = format!(
        "[[mail]]\nname = \"all\"\nif = \"messages_per_ip > 10 per 1h\"\naction = \"defer\"\n\
         [[mail]]\nname = \"stricter\"\nif = [\"messages_per_ip > 50 per 1h\", \"not tls\"]\naction = \"reject\"\n\
         [[mail]]\nname = \"different-window\"\nif = \"messages_per_ip > 50 per 1m\"\naction = \"reject\"\n\
         [[helo]]\nname = \"stop\"\naction = \"accept\"\n\
         [[helo]]\nname = \"dead\"\nif = \"helo_invalid\"\naction = \"tag\"\nscore = 1.0\n{RELAY}"
    );
    let found = hazards_with(&text, &[], &Context::default());
    let shadowed: Vec<_> = found
        .iter()
        .filter(|h| h.kind == HazardKind::Shadowed)
        .collect();
    assert_eq!(
        shadowed.iter().map(|h| h.line).collect::<Vec<_>>(),
        [Some(5), Some(16)],
        "{found:#?}"
    );
    assert!(
        shadowed[0]
            .message
            .contains("shadowed by rule `all` (line 1)")
    );
    // Tags and continues never shadow: they do not stop the stage.
    let text = format!(
        "[[helo]]\nname = \"a\"\naction = \"continue\"\n[[helo]]\nname = \"b\"\naction = \"accept\"\n{RELAY}"
    );
    assert_eq!(kinds(&text), []);
}

#[test]
fn missing_config() {
    let ctx = Context {
        lan_networks: vec![],
        local_domains: vec![],
        hostname: String::new(),
        ..Context::default()
    };
    let text = format!(
        "[lists]\nlan = [\"config:lan_networks\"]\n\
         [[connect]]\nname = \"lan\"\nif = \"client_in lan\"\naction = \"accept\"\n\
         [[helo]]\nname = \"ours\"\nif = \"helo_is_ours\"\naction = \"reject\"\n\
         [[rcpt]]\nname = \"known\"\nif = \"rcpt_known\"\naction = \"accept\"\n{RELAY}"
    );
    let found = hazards_with(&text, &[], &ctx);
    let missing: Vec<_> = found
        .iter()
        .filter(|h| h.kind == HazardKind::MissingConfig)
        .collect();
    assert_eq!(missing.len(), 3, "{found:#?}");
    assert!(missing[0].message.contains("server.lan_networks is empty"));
    assert!(missing[1].message.contains("no server.hostname"));
    assert!(missing[2].message.contains("no server.local_domains"));
}

#[test]
fn open_relay() {
    let found = kinds("[[rcpt]]\nname = \"known\"\nif = \"rcpt_known\"\naction = \"accept\"\n");
    assert_eq!(found, [(HazardKind::OpenRelay, Some(1))]);
    let text = format!("[[rcpt]]\nname = \"tls-ok\"\nif = \"tls\"\naction = \"accept\"\n{RELAY}");
    let found = hazards_with(&text, &[], &Context::default());
    assert_eq!(
        found.iter().map(|h| h.kind).collect::<Vec<_>>(),
        [HazardKind::OpenRelay]
    );
    assert!(
        found[0]
            .message
            .contains("before the relay rule `relay-denied` (line 5)")
    );
    // An access map with OK for a foreign domain, ahead of the relay rule.
    let text = format!(
        "[maps]\nr = \"r\"\n[[rcpt]]\nname = \"rcpt-access\"\nif = \"access_rcpt r\"\naction = \"map\"\n{RELAY}"
    );
    let found = hazards_with(
        &text,
        &[("r", "example.test OK\nelsewhere.example OK\n")],
        &Context::default(),
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .message
            .contains("lists `elsewhere.example` (/etc/calm/r:2)"),
        "{}",
        found[0].message
    );
    let clean = hazards_with(
        &text,
        &[("r", "example.test OK\nbob@example.test REJECT\n")],
        &Context::default(),
    );
    assert_eq!(clean, []);
    // A recipient list that names a foreign address relays it.
    let text = format!(
        "[maps]\nr = \"r\"\n[[rcpt]]\nname = \"vip\"\nif = \"rcpt_in r\"\naction = \"accept\"\n{RELAY}"
    );
    let found = hazards_with(
        &text,
        &[("r", "ceo@example.test\nceo@gmail.example\n")],
        &Context::default(),
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("lists `ceo@gmail.example`"),
        "{}",
        found[0].message
    );
}

#[test]
fn unused_lists_and_maps() {
    let text = format!("[lists]\nl = [\"10.0.0.0/8\"]\n[maps]\nm = \"m\"\n{RELAY}");
    let found = hazards_with(&text, &[("m", "")], &Context::default());
    assert_eq!(
        found.iter().map(|h| (h.kind, h.line)).collect::<Vec<_>>(),
        [(HazardKind::Unused, Some(2)), (HazardKind::Unused, Some(4))]
    );
}

#[test]
fn diagnostics_match_calm_check() {
    let found = kinds("");
    assert_eq!(found, [(HazardKind::OpenRelay, Some(1))]);
    let h = &load_with("", &[], &Context::default()).unwrap().hazards()[0];
    let d = h.to_diagnostic();
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.to_string(), h.to_string());
}

#[test]
fn rejecting_on_uncertain_signals_is_a_hazard() {
    let rule = |cond: &str| {
        format!("[[data]]\nname = \"r\"\nif = {cond}\naction = \"reject 554 5.7.1 no\"\n{RELAY}")
    };
    for cond in [
        "\"spam_score >= 8\"",
        "\"spf fail\"",
        "\"dkim fail permerror\"",
        "\"arc fail\"",
        "\"scanner_unavailable\"",
        "\"spamd_unavailable\"",
        "\"dmarc fail\"",
        "[\"dmarc fail\", \"dmarc_policy quarantine\"]",
    ] {
        let found = hazards_with(&rule(cond), &[], &Context::default());
        assert!(
            found
                .iter()
                .any(|h| h.kind == HazardKind::UncertainReject && h.line == Some(1)),
            "{cond}: {found:#?}"
        );
    }
    for cond in [
        "\"spam_score >= 15\"",
        "\"gtube\"",
        "\"malware\"",
        "[\"dmarc fail\", \"dmarc_policy reject\"]",
        "\"spf pass\"",
    ] {
        let found = hazards_with(&rule(cond), &[], &Context::default());
        assert!(
            !found.iter().any(|h| h.kind == HazardKind::UncertainReject),
            "{cond}: {found:#?}"
        );
    }
    // Tagging and quarantining on the same signals is what they are for.
    let text = format!(
        "[[data]]\nname = \"q\"\nif = \"spam_score >= 5\"\naction = \"quarantine\"\n{RELAY}"
    );
    assert!(
        !kinds(&text)
            .iter()
            .any(|(k, _)| *k == HazardKind::UncertainReject)
    );
}

#[test]
fn rejecting_on_one_block_list_is_a_hazard() {
    let lists = "[dnsbl.big]\nzone = \"big.example\"\nweight = 3\n\n\
                 [dnsbl.small]\nzone = \"small.example\"\nweight = 2\n\n\
                 [dnswl.good]\nzone = \"good.example\"\nweight = 5\n";
    let rule = |cond: &str| {
        format!(
            "{lists}\n[[mail]]\nname = \"r\"\nif = {cond}\naction = \"reject 554 5.7.1 no\"\n{RELAY}"
        )
    };
    let uncertain = |cond: &str| {
        hazards_with(&rule(cond), &[], &Context::default())
            .into_iter()
            .filter(|h| h.kind == HazardKind::UncertainReject)
            .map(|h| h.message)
            .collect::<Vec<_>>()
    };
    let one = uncertain("\"dnsbl big\"");
    assert!(
        one.len() == 1 && one[0].contains("one block list"),
        "{one:?}"
    );
    let alone = uncertain("\"dnsbl_score >= 3\"");
    assert!(
        alone.len() == 1 && alone[0].contains("`big` alone"),
        "{alone:?}"
    );
    // Both lists must agree: no hazard. Allow lists never reject, and `not` is no reason.
    assert!(uncertain("\"dnsbl_score >= 5\"").is_empty());
    assert!(uncertain("\"dnsbl_score > 3\"").is_empty());
    assert!(uncertain("[\"dnsbl_score >= 5\", \"not dnswl good\"]").is_empty());
}
