//! Precision and recall of the classifier and the rules on a labelled corpus, by k-fold
//! cross-validation: train on all folds but one, test on that one.
//!
//! ```text
//! cargo run -p calm-content --example corpus_report -- [CORPUS_DIR] [RULES_FILE] [FOLDS]
//! ```
//!
//! `CORPUS_DIR` holds `spam/` and `ham/` directories of one message per file (default: this
//! crate's `tests/corpus`); `RULES_FILE` defaults to `policy/content.toml`.

use std::path::{Path, PathBuf};

use calm_content::{Bayes, Content, Label, Rules, score};

fn load(dir: &Path) -> Vec<Content> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .map(|raw| Content::parse(&raw))
        .collect()
}

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fneg: usize,
    tn: usize,
}

impl Counts {
    fn add(&mut self, is_spam: bool, says_spam: bool) {
        match (is_spam, says_spam) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fneg += 1,
            (false, false) => self.tn += 1,
        }
    }

    fn print(&self, what: &str) {
        let precision = self.tp as f64 / (self.tp + self.fp).max(1) as f64;
        let recall = self.tp as f64 / (self.tp + self.fneg).max(1) as f64;
        println!(
            "{what:<28} precision {precision:.3}  recall {recall:.3}  (tp {} fp {} fn {} tn {})",
            self.tp, self.fp, self.fneg, self.tn
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = args
        .get(1)
        .map_or_else(|| here.join("tests/corpus"), PathBuf::from);
    let rules = args
        .get(2)
        .map_or_else(|| here.join("../../policy/content.toml"), PathBuf::from);
    let folds: usize = args.get(3).and_then(|f| f.parse().ok()).unwrap_or(2).max(2);
    let rules = match Rules::load(&rules) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let spam = load(&corpus.join("spam"));
    let ham = load(&corpus.join("ham"));
    println!(
        "corpus {}: {} spam, {} ham, {folds} folds",
        corpus.display(),
        spam.len(),
        ham.len()
    );
    let (mut bayes_counts, mut rule_counts, mut both) =
        (Counts::default(), Counts::default(), Counts::default());
    for fold in 0..folds {
        let mut bayes = Bayes::new();
        let train = |i: &usize| i % folds != fold;
        spam.iter()
            .enumerate()
            .filter(|(i, _)| train(i))
            .for_each(|(_, c)| bayes.train(Label::Spam, c));
        ham.iter()
            .enumerate()
            .filter(|(i, _)| train(i))
            .for_each(|(_, c)| bayes.train(Label::Ham, c));
        let labelled = spam
            .iter()
            .map(|c| (true, c))
            .enumerate()
            .chain(ham.iter().map(|c| (false, c)).enumerate());
        for (is_spam, c) in labelled.filter(|(i, _)| !train(i)).map(|(_, x)| x) {
            let p = bayes.probability(c).unwrap_or(0.5);
            let mut report = score(&rules, c);
            rule_counts.add(is_spam, report.total() >= 5.0);
            bayes_counts.add(is_spam, p >= 0.8);
            report.add_bayes(&rules, p);
            both.add(is_spam, report.total() >= 5.0);
        }
    }
    bayes_counts.print("bayes (p >= 0.8)");
    rule_counts.print("rules (score >= 5)");
    both.print("rules + bayes (score >= 5)");
}
