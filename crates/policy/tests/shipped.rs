//! The shipped default policy and example case file: they load, are hazard-free under the
//! built-in configuration, and every case passes.

use std::path::PathBuf;

use calm_policy::{Cases, ContentFacts, ContentScorer, Context, Policy, simulate, simulate_with};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn default_policy_passes_every_example_case() {
    let policy = Policy::load(&repo("policy/default.toml"), &Context::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let cases = Cases::load(&repo("policy/cases.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let report = simulate(&policy, &cases);
    assert!(report.is_success(), "{report}");
}

#[test]
fn default_policy_has_no_hazards() {
    let policy = Policy::load(&repo("policy/default.toml"), &Context::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let hazards: Vec<String> = policy.hazards().iter().map(ToString::to_string).collect();
    assert!(hazards.is_empty(), "{hazards:#?}");
}

/// calm-content's rules as `calm simulate` will use them.
struct Rules(calm_content::Rules);

impl ContentScorer for Rules {
    fn facts(&self, message: &[u8]) -> ContentFacts {
        let report = calm_content::score(&self.0, &calm_content::Content::parse(message));
        ContentFacts {
            spam_score: Some(report.total()),
            gtube: Some(report.gtube),
            ..ContentFacts::default()
        }
    }
}

#[test]
fn content_cases_pass_when_scored_by_the_shipped_content_rules() {
    let policy = Policy::load(&repo("policy/default.toml"), &Context::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let rules =
        calm_content::Rules::load(&repo("policy/content.toml")).unwrap_or_else(|e| panic!("{e}"));
    let cases = Cases::load(&repo("policy/content-cases.toml")).unwrap_or_else(|e| panic!("{e}"));
    let report = simulate_with(&policy, &cases, Some(&Rules(rules)));
    assert!(report.is_success(), "{report}");
    // The explicit-facts cases pass with the scorer too: facts a case states win.
    let cases = Cases::load(&repo("policy/cases.toml")).unwrap_or_else(|e| panic!("{e}"));
    let rules =
        calm_content::Rules::load(&repo("policy/content.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(simulate_with(&policy, &cases, Some(&Rules(rules))).is_success());
}

/// `policy/default.toml` with its commented DNS list example enabled.
fn default_with_dns_lists() -> Policy {
    let text = std::fs::read_to_string(repo("policy/default.toml")).unwrap();
    let example: String = text
        .lines()
        .skip_while(|l| !l.contains("dnsbl-example-begin"))
        .skip(1)
        .take_while(|l| !l.contains("dnsbl-example-end"))
        .map(|l| {
            format!(
                "{}\n",
                l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#'))
            )
        })
        .collect();
    assert!(example.contains("[dnsbl.example-bl]"), "{example}");
    let path = repo("policy/default.toml");
    let mut read = |p: &std::path::Path| std::fs::read(p);
    Policy::from_text(
        &path,
        &format!("{text}\n{example}"),
        &Context::default(),
        &mut read,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_dns_list_example_is_valid_and_does_what_it_says() {
    let policy = default_with_dns_lists();
    assert_eq!(policy.dnsbl_queries().len(), 3);
    let hazards: Vec<String> = policy.hazards().iter().map(ToString::to_string).collect();
    assert!(hazards.is_empty(), "{hazards:#?}");
    // Every example case still passes: without answers, lists are undecided.
    let cases = Cases::load(&repo("policy/cases.toml")).unwrap_or_else(|e| panic!("{e}"));
    let report = simulate(&policy, &cases);
    assert!(report.is_success(), "{report}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.toml");
    std::fs::write(
        &file,
        r#"
[defaults]
client = "203.0.113.10"
ptr = "mail.sender.example"
helo = "mail.sender.example"
from = "news@sender.example"
to = ["alice@example.test"]
dns = { "mail.sender.example" = ["203.0.113.10"], "sender.example" = ["MX mail.sender.example"] }

[directory]
users = ["alice@example.test"]

[[case]]
name = "listed-on-one"
dnsbl = { example-bl = ["127.0.0.2"] }
expect = "accept"
fired = ["dnsbl-listed"]

[[case]]
name = "listed-on-both"
dnsbl = { example-bl = ["127.0.0.4"], example-dbl = ["127.0.1.2"] }
expect = "reject 554 5.7.1"

[[case]]
name = "listed-on-both-but-whitelisted"
dnsbl = { example-bl = ["127.0.0.4"], example-dbl = ["127.0.1.2"], example-wl = ["127.0.2.1"] }
expect = "accept"
not_fired = ["dnsbl-listed", "dnsbl-reject"]

[[case]]
name = "code-outside-the-filter"
dnsbl = { example-bl = ["127.0.0.12"], example-dbl = ["127.0.1.2"] }
expect = "accept"
fired = ["dnsbl-listed"]
not_fired = ["dnsbl-reject"]

[[case]]
name = "authenticated-submission-is-not-judged-by-lists"
listener = "submission"
auth = "alice@example.test"
from = "alice@example.test"
to = ["someone@elsewhere.example"]
dnsbl = { example-bl = ["127.0.0.2"], example-dbl = ["127.0.1.2"] }
expect = "accept"
not_fired = ["dnsbl-listed", "dnsbl-reject"]
"#,
    )
    .unwrap();
    let cases = Cases::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let report = simulate(&policy, &cases);
    assert!(report.is_success(), "{report}");
    assert_eq!(report.cases.len(), 5);
}
