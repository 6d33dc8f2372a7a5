//! The example in docs/policy.md's "Content rules" section is a valid rule file.

use std::path::Path;

use calm_content::{Content, Rules, score};

#[test]
fn the_manuals_content_rule_example_loads_and_scores() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md");
    let manual = std::fs::read_to_string(path).unwrap();
    let section = manual
        .split("## Content rules")
        .nth(1)
        .expect("section missing");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("no toml example");
    let rules = Rules::from_text(Path::new("policy.md"), example).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.rules.len(), 5);
    assert_eq!(rules.bayes.len(), 1);
    let c = Content::parse(
        b"Subject: BUY CHEAP VIAGRA NOW\r\n\r\ncheap viagra at http://192.0.2.1/x\r\n",
    );
    let names: Vec<String> = score(&rules, &c).hits.into_iter().map(|h| h.name).collect();
    assert_eq!(
        names,
        [
            "SUBJ_ALL_CAPS",
            "MISSING_DATE",
            "BODY_PHARMA",
            "URL_IP_HOST"
        ]
    );
}
