use super::*;

fn load(text: &str) -> Result<Rules, RulesError> {
    Rules::from_text(Path::new("content.toml"), text)
}

fn problems(text: &str) -> Vec<String> {
    match load(text) {
        Err(RulesError::Invalid { problems }) => problems.iter().map(ToString::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn every_kind_of_rule_loads() {
    let r = load(
        "gtube_score = 50\n\
         [[rule]]\nname = \"H\"\nheader = \"Subject\"\npattern = \"x\"\nscore = 1\n\
         [[rule]]\nname = \"M\"\nheader = \"Date\"\nmissing = true\nscore = 1\n\
         [[rule]]\nname = \"B\"\nbody = \"x\"\nscore = -1\n\
         [[rule]]\nname = \"U\"\nurl = \"x\"\nscore = 1\n\
         [[rule]]\nname = \"A\"\nattachment = \"x\"\nscore = 1\n\
         [[bayes]]\nname = \"BAYES_99\"\nmin = 0.99\nscore = 3\n",
    )
    .unwrap();
    assert_eq!(r.gtube_score, 50.0);
    let names: Vec<_> = r.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["H", "M", "B", "U", "A"]);
    assert!(matches!(r.rules[1].target, Target::HeaderMissing(ref h) if h == "Date"));
    assert_eq!(r.rules[2].line, 12);
    assert_eq!(r.bayes_band(1.0).map(|b| b.name.as_str()), Some("BAYES_99"));
    assert_eq!(r.bayes_band(0.5), None);
}

#[test]
fn mistakes_are_named_by_file_and_line() {
    let p = problems(
        "[[rule]]\nname = \"A\"\nbody = \"(\"\nscore = 1\n\
         [[rule]]\nname = \"A2\"\nheader = \"Subject\"\nscore = 1\n\
         [[rule]]\nname = \"A3\"\nbody = \"x\"\nurl = \"y\"\nscore = 1\n\
         [[rule]]\nname = \"A4\"\nbody = \"x\"\nscore = 1\n\
         [[rule]]\nname = \"A4\"\nbody = \"x\"\nscore = 1\n",
    );
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(
        p[0].starts_with("content.toml:1: rule A: bad pattern"),
        "{p:?}"
    );
    assert!(
        p[1].starts_with("content.toml:5: rule A2: header rules need a pattern"),
        "{p:?}"
    );
    assert!(
        p[2].starts_with("content.toml:9: rule A3: give exactly one"),
        "{p:?}"
    );
    assert!(
        p[3].starts_with("content.toml:18: rule A4 is defined twice"),
        "{p:?}"
    );
}

#[test]
fn syntax_errors_and_unknown_keys_have_lines() {
    let p = problems("[[rule]]\nname = \"A\"\nbody = \"x\"\nscore = 1\nweight = 2\n");
    assert!(p[0].starts_with("content.toml:"), "{p:?}");
    assert!(p[0].contains("weight"), "{p:?}");
    let p = problems("[[rule]\n");
    assert!(p[0].starts_with("content.toml:1:"), "{p:?}");
}

#[test]
fn hostile_values_are_refused() {
    for (text, want) in [
        (
            "[[rule]]\nname = \"bad name\"\nbody = \"x\"\nscore = 1\n",
            "rule name",
        ),
        (
            "[[rule]]\nname = \"N\"\nbody = \"x\"\nscore = nan\n",
            "score out of range",
        ),
        (
            "[[rule]]\nname = \"N\"\nbody = \"x\"\nscore = 1e9\n",
            "score out of range",
        ),
        (
            "[[rule]]\nname = \"N\"\nbody = \"x\"\nmissing = true\nscore = 1\n",
            "needs header",
        ),
        (
            "[[rule]]\nname = \"N\"\nbody = \"x\"\npattern = \"y\"\nscore = 1\n",
            "pattern is for header",
        ),
        (
            "[[rule]]\nname = \"N\"\nheader = \"D\"\nmissing = true\npattern = \"y\"\nscore = 1\n",
            "takes no pattern",
        ),
        (
            "[[rule]]\nname = \"N\"\nbody = \"(a{1000}){1000}\"\nscore = 1\n",
            "bad pattern",
        ),
        (
            "[[bayes]]\nname = \"B\"\nmin = 0.9\nmax = 0.5\nscore = 1\n",
            "min < max",
        ),
        ("gtube_score = inf\n", "gtube_score"),
    ] {
        let p = problems(text);
        assert!(p[0].contains(want), "{text:?}: {p:?}");
    }
}

#[test]
fn load_reads_files_and_reports_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    assert!(matches!(Rules::load(&path), Err(RulesError::Read { .. })));
    std::fs::write(&path, b"[[rule]]\nname = \"A\"\nbody = \"x\"\nscore = 1\n").unwrap();
    assert_eq!(Rules::load(&path).unwrap().rules.len(), 1);
    std::fs::write(&path, b"\xff\xfe").unwrap();
    assert!(
        Rules::load(&path)
            .unwrap_err()
            .to_string()
            .contains("UTF-8")
    );
}
