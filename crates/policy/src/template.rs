//! Reply and header texts with `{rcpt}`-style fields filled in from the facts.
//!
//! Field values come from the client (addresses, HELO names), so they are cleaned before
//! they reach a reply or a header: control characters become `?` (no CR/LF injection into the
//! SMTP dialogue or the message header) and each value is cut to a bounded length.

use crate::facts::Facts;

/// Longest text one field contributes, in characters.
const MAX_FIELD: usize = 256;

/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the code and CRLF;
/// leave room for `550 5.1.1 ` and the line end.
pub(crate) const MAX_TEXT: usize = 490;

/// A field a text may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Rcpt,
    Sender,
    Client,
    Helo,
    User,
    Reason,
    Rule,
    Malware,
    SpamScore,
}

const FIELDS: [(&str, Field); 9] = [
    ("rcpt", Field::Rcpt),
    ("sender", Field::Sender),
    ("client", Field::Client),
    ("helo", Field::Helo),
    ("user", Field::User),
    ("reason", Field::Reason),
    ("rule", Field::Rule),
    ("malware", Field::Malware),
    ("spam_score", Field::SpamScore),
];

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(Box<str>),
    Field(Field),
}

/// A parsed text: literal pieces and fields.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// A text without fields (used for access-map replies, which are taken literally).
    pub(crate) fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Text(text.into())],
        }
    }

    /// Parses `text`; `{{` and `}}` stand for braces.
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            lit.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
                lit.push_str(&tail[..1]);
                rest = after;
                continue;
            }
            let Some(after) = tail.strip_prefix('{') else {
                return Err("a lone `}` (write `}}` for a brace)".into());
            };
            let Some((name, after)) = after.split_once('}') else {
                return Err("a `{` without its `}` (write `{{` for a brace)".into());
            };
            let field = FIELDS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f);
            let Some(field) = field else {
                return Err(format!(
                    "unknown field {{{name}}}; known: {{rcpt}}, {{sender}}, {{client}}, {{helo}}, {{user}}, {{reason}}, {{rule}}, {{malware}}, {{spam_score}}"
                ));
            };
            if !lit.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut lit).into()));
            }
            parts.push(Part::Field(field));
            rest = after;
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Text(lit.into()));
        }
        Ok(Template { parts })
    }

    /// The text with fields filled in from `facts`; never longer than [`MAX_TEXT`] bytes and
    /// free of control characters.
    pub(crate) fn render(&self, facts: &Facts<'_>, rule: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => push_clean(&mut out, t, usize::MAX),
                Part::Field(f) => push_clean(&mut out, &field_value(*f, facts, rule), MAX_FIELD),
            }
        }
        truncate(&mut out, MAX_TEXT);
        out
    }
}

fn field_value(field: Field, facts: &Facts<'_>, rule: &str) -> String {
    let or_none = |v: Option<&str>| v.unwrap_or("").to_string();
    match field {
        Field::Rcpt => or_none(facts.rcpt.map(|r| r.address)),
        Field::Sender => facts.sender.map(|s| s.to_string()).unwrap_or_default(),
        Field::Client => facts.client_ip().to_string(),
        Field::Helo => or_none(facts.helo),
        Field::User => or_none(facts.auth_user),
        Field::Reason => match facts.rcpt.map(|r| r.status) {
            Some(crate::facts::RcptStatus::Failed(reason)) => reason.to_string(),
            _ => String::new(),
        },
        Field::Rule => rule.to_string(),
        Field::Malware => match facts.scan {
            Some(crate::verdicts::Scan::Infected(name)) => name.to_string(),
            _ => String::new(),
        },
        Field::SpamScore => facts
            .spam_score
            .map(|s| format!("{s:.1}"))
            .unwrap_or_default(),
    }
}

/// Appends `text` with control characters replaced, at most `max` characters of it.
fn push_clean(out: &mut String, text: &str, max: usize) {
    out.extend(
        text.chars()
            .take(max)
            .map(|c| if c.is_control() { '?' } else { c }),
    );
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Rcpt, RcptStatus, Role, Tables};

    fn facts() -> Facts<'static> {
        let mut f = Facts::new("192.0.2.1".parse().unwrap(), Role::Mx);
        f.rcpt = Some(Rcpt {
            address: "bob@example.test",
            status: RcptStatus::Failed("alias loop\r\n250 fake"),
            tables: Tables::ALL,
        });
        f
    }

    #[test]
    fn fields_are_filled_in() {
        let t = Template::parse("<{rcpt}> from {client}: {reason} ({rule}) {{x}}").unwrap();
        assert_eq!(
            t.render(&facts(), "r1"),
            "<bob@example.test> from 192.0.2.1: alias loop??250 fake (r1) {x}"
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(
            Template::parse("{nope}")
                .unwrap_err()
                .contains("unknown field {nope}")
        );
        assert!(Template::parse("a { b").is_err());
        assert!(Template::parse("a } b").is_err());
        assert!(Template::parse("{rcpt").is_err());
    }

    #[test]
    fn long_values_are_bounded() {
        let long = "x".repeat(5000);
        let mut f = facts();
        f.helo = Some(&long);
        let t = Template::parse("{helo}{helo}{helo}").unwrap();
        let out = t.render(&f, "r");
        assert!(out.len() <= MAX_TEXT);
        let mut s = "é".repeat(400);
        truncate(&mut s, 3);
        assert_eq!(s, "é");
    }
}
