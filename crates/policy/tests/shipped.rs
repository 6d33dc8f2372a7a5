//! The shipped default policy and example case file: they load, are hazard-free under the
//! built-in configuration, and every case passes.

use std::path::PathBuf;

use calm_policy::{Cases, Context, Policy, simulate};

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
