//! The labelled corpus under tests/corpus/{spam,ham}: the shipped rules and the classifier on
//! messages written for this purpose. Prints precision and recall (`cargo test -p
//! calm-content --test corpus -- --nocapture`).

use std::path::{Path, PathBuf};

use calm_content::{Bayes, Content, Label, Rules, score};

fn corpus(kind: &str) -> Vec<(PathBuf, Content)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let raw = std::fs::read(&p).unwrap();
            (p, Content::parse(&raw))
        })
        .collect()
}

fn shipped_rules() -> Rules {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/content.toml");
    Rules::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Precision and recall of `is_spam` over the corpus, as (tp, fp, fn, tn).
fn confusion(spam: &[bool], ham: &[bool]) -> (usize, usize, usize, usize) {
    let tp = spam.iter().filter(|s| **s).count();
    let fp = ham.iter().filter(|s| **s).count();
    (tp, fp, spam.len() - tp, ham.len() - fp)
}

fn report(what: &str, (tp, fp, fneg, tn): (usize, usize, usize, usize)) -> (f64, f64) {
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fneg).max(1) as f64;
    println!(
        "{what}: tp={tp} fp={fp} fn={fneg} tn={tn} precision={precision:.2} recall={recall:.2}"
    );
    (precision, recall)
}

#[test]
fn classifier_precision_and_recall_two_fold() {
    let spam = corpus("spam");
    let ham = corpus("ham");
    assert!(spam.len() >= 20 && ham.len() >= 20);
    let mut spam_says = Vec::new();
    let mut ham_says = Vec::new();
    // Two folds: train on even-numbered messages, test on odd ones, then the other way round.
    for fold in 0..2 {
        let mut bayes = Bayes::new();
        for (i, (_, c)) in spam.iter().enumerate().filter(|(i, _)| i % 2 == fold) {
            let _ = i;
            bayes.train(Label::Spam, c);
        }
        for (_, c) in ham
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == fold)
            .map(|(_, x)| x)
        {
            bayes.train(Label::Ham, c);
        }
        for (i, (_, c)) in spam.iter().enumerate().filter(|(i, _)| i % 2 != fold) {
            let p = bayes.probability(c).unwrap();
            println!("fold {fold} spam {i:02} p={p:.3}");
            spam_says.push(p >= 0.8);
        }
        for (i, (_, c)) in ham.iter().enumerate().filter(|(i, _)| i % 2 != fold) {
            let p = bayes.probability(c).unwrap();
            println!("fold {fold} ham  {i:02} p={p:.3}");
            ham_says.push(p >= 0.8);
        }
    }
    let (precision, recall) = report("bayes (p >= 0.8)", confusion(&spam_says, &ham_says));
    // False positives matter as much as spam: no ham may be called spam.
    assert_eq!(precision, 1.0);
    assert!(recall >= 0.6, "recall {recall}");
}

#[test]
fn shipped_rules_precision_and_recall() {
    let rules = shipped_rules();
    let threshold = 3.0;
    let mut spam_says = Vec::new();
    let mut ham_says = Vec::new();
    for (p, c) in corpus("spam") {
        let r = score(&rules, &c);
        println!(
            "{}: {:.1} {:?}",
            p.display(),
            r.total(),
            r.hits.iter().map(|h| &h.name).collect::<Vec<_>>()
        );
        spam_says.push(r.total() >= threshold);
    }
    for (p, c) in corpus("ham") {
        let r = score(&rules, &c);
        assert!(r.total() < 1.0, "ham {} scored {:?}", p.display(), r.hits);
        ham_says.push(r.total() >= threshold);
    }
    let (precision, recall) = report("rules (score >= 3)", confusion(&spam_says, &ham_says));
    assert_eq!(precision, 1.0);
    assert!(recall >= 0.4, "recall {recall}");
}

#[test]
fn rules_and_classifier_together_after_training_on_everything() {
    let rules = shipped_rules();
    let mut bayes = Bayes::new();
    for (_, c) in corpus("spam") {
        bayes.train(Label::Spam, &c);
    }
    for (_, c) in corpus("ham") {
        bayes.train(Label::Ham, &c);
    }
    let (_, spam) = &corpus("spam")[0];
    let mut r = score(&rules, spam);
    r.add_bayes(&rules, bayes.probability(spam).unwrap());
    assert!(r.hits.iter().any(|h| h.name == "BAYES_99"), "{:?}", r.hits);
    let (_, ham) = &corpus("ham")[0];
    let mut r = score(&rules, ham);
    r.add_bayes(&rules, bayes.probability(ham).unwrap());
    assert!(r.hits.iter().any(|h| h.name == "BAYES_00"), "{:?}", r.hits);
    assert!(r.total() < 0.0);
}
