//! Scoring a message against [`Rules`], and the report headers.

use std::fmt::Write as _;

use crate::message::Content;
use crate::rules::{Rule, Rules, Target};

/// One rule that fired.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The rule's name (`GTUBE`, `BAYES_99`, or a rule file's name).
    pub name: String,
    /// Points it added.
    pub points: f64,
    /// What it means.
    pub description: String,
}

/// Every rule that fired on one message, with its points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScoreReport {
    /// The rules that fired, in rule-file order (GTUBE first, the classifier last).
    pub hits: Vec<Hit>,
    /// The message is the GTUBE test message.
    pub gtube: bool,
}

impl ScoreReport {
    /// The sum of the points of every hit.
    pub fn total(&self) -> f64 {
        // A fold from +0.0, not `sum()`: the sum of no floats is -0.0, shown as "-0.0".
        self.hits.iter().fold(0.0, |total, h| total + h.points)
    }

    /// Adds a hit from another score source (the classifier, spamd, DNS lists).
    pub fn add(&mut self, name: &str, points: f64, description: &str) {
        self.hits.push(Hit {
            name: name.to_owned(),
            points,
            description: description.to_owned(),
        });
    }

    /// Adds the classifier's contribution for spam probability `probability`, from the
    /// rule file's `[[bayes]]` bands; nothing when no band covers it.
    pub fn add_bayes(&mut self, rules: &Rules, probability: f64) {
        if let Some(band) = rules.bayes_band(probability) {
            let description = format!("Bayesian spam probability is {probability:.3}");
            self.add(&band.name, band.score, &description);
        }
    }

    /// The hit that added the most points: the root cause recorded with a false-positive
    /// report.
    pub fn top_hit(&self) -> Option<&Hit> {
        self.hits
            .iter()
            .filter(|h| h.points > 0.0)
            .max_by(|a, b| a.points.total_cmp(&b.points))
    }

    /// The three report header fields, SpamAssassin-style, for a message tagged at
    /// `required` points: `X-Spam-Score`, `X-Spam-Status` and `X-Spam-Report` (one hit per
    /// folded line, RFC 5322 §2.2.3). Values contain no CR or LF other than folding.
    pub fn headers(&self, required: f64) -> Vec<(&'static str, String)> {
        let total = self.total();
        let names: Vec<&str> = self.hits.iter().map(|h| h.name.as_str()).collect();
        let status = format!(
            "{}, score={total:.1} required={required:.1} tests={}",
            if total >= required { "Yes" } else { "No" },
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(",")
            }
        );
        let mut report = format!("score={total:.1}");
        for h in &self.hits {
            let _ = write!(
                report,
                "\r\n\t* {:5.1} {} {}",
                h.points,
                h.name,
                clean(&h.description)
            );
        }
        vec![
            ("X-Spam-Score", format!("{total:.1}")),
            ("X-Spam-Status", status),
            ("X-Spam-Report", report),
        ]
    }

    /// The headers of [`ScoreReport::headers`] as text to prepend to a message
    /// (`Name: value\r\n` each).
    pub fn header_block(&self, required: f64) -> String {
        self.headers(required)
            .into_iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect()
    }
}

/// Descriptions come from the operator's file, but never let them break a header.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Scores `content` against `rules`: GTUBE, then every rule in file order. Each rule fires at
/// most once, however many times it matches.
pub fn score(rules: &Rules, content: &Content) -> ScoreReport {
    let mut report = ScoreReport::default();
    if crate::gtube::is_gtube(content) {
        report.gtube = true;
        report.add(
            "GTUBE",
            rules.gtube_score,
            "the GTUBE anti-spam test string",
        );
    }
    for rule in &rules.rules {
        if fires(rule, content) {
            report.add(&rule.name, rule.score, &rule.description);
        }
    }
    report
}

fn fires(rule: &Rule, content: &Content) -> bool {
    let matches = |text: &str| rule.pattern.as_ref().is_some_and(|p| p.is_match(text));
    match &rule.target {
        Target::Header(name) => content.header(name).any(matches),
        Target::HeaderMissing(name) => content.header(name).next().is_none(),
        Target::Body => matches(&content.body),
        Target::Url => content.urls.iter().any(|u| matches(u)),
        Target::Attachment => content.attachments.iter().any(|a| matches(a)),
    }
}

#[cfg(test)]
mod tests;
