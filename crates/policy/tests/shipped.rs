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
