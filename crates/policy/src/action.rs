//! What a rule does when its conditions hold, and the actions of access-map entries.

use calm_smtp_proto::{EnhancedCode, Reply};

use crate::facts::Facts;
use crate::template::Template;

/// A rule's action, parsed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    /// Stop this stage; the command goes ahead.
    Accept,
    /// Refuse with a 5xx reply; stop.
    Reject(ReplyTemplate),
    /// Refuse with a 4xx reply; stop.
    Defer(ReplyTemplate),
    /// Add score points and/or a header, and/or file the message in a folder; go on.
    Tag {
        score: f64,
        header: Option<Template>,
        folder: Option<String>,
    },
    /// Accept, but file the message into quarantine; stop.
    Quarantine,
    /// Record that the rule matched; go on.
    Continue,
    /// Do what the matching access-map entry says.
    Map,
}

impl Action {
    /// Whether firing this action ends the stage whatever the facts.
    pub(crate) fn always_stops(&self) -> bool {
        matches!(
            self,
            Action::Accept | Action::Reject(_) | Action::Defer(_) | Action::Quarantine
        )
    }

    /// Whether firing this action can let a command through (accept, quarantine, or an
    /// access-map `OK`).
    pub(crate) fn may_accept(&self) -> bool {
        matches!(self, Action::Accept | Action::Quarantine | Action::Map)
    }

    /// The action's word in policy files.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject(_) => "reject",
            Action::Defer(_) => "defer",
            Action::Tag { .. } => "tag",
            Action::Quarantine => "quarantine",
            Action::Continue => "continue",
            Action::Map => "map",
        }
    }
}

/// A reply code, an enhanced code and a text with fields.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ReplyTemplate {
    pub(crate) code: u16,
    pub(crate) enhanced: EnhancedCode,
    pub(crate) text: Template,
}

impl ReplyTemplate {
    /// The reply for these facts.
    pub(crate) fn render(&self, facts: &Facts<'_>, rule: &str) -> Reply {
        Reply::new(
            self.code,
            Some(self.enhanced),
            self.text.render(facts, rule),
        )
    }

    /// Parses `[CODE [X.Y.Z]] [text]` for a reply of class `class` (4 or 5). Missing parts
    /// take the defaults: `default_code`, `class.7.1` (RFC 3463 §3.8: delivery not
    /// authorized) and `default_text`.
    pub(crate) fn parse(
        rest: &str,
        class: u8,
        default_code: u16,
        default_text: &str,
        fields: bool,
    ) -> Result<ReplyTemplate, String> {
        let (code, rest) = match split_word(rest) {
            (w, tail) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
                (parse_code(w, class)?, tail)
            }
            _ => (default_code, rest),
        };
        let (enhanced, rest) = match split_word(rest) {
            (w, tail) if looks_enhanced(w) => (parse_enhanced(w, class)?, tail),
            _ => (EnhancedCode::new(class, 7, 1), rest),
        };
        let text = if rest.is_empty() { default_text } else { rest };
        let text = if fields {
            Template::parse(text)?
        } else {
            Template::literal(text)
        };
        Ok(ReplyTemplate {
            code,
            enhanced,
            text,
        })
    }
}

fn parse_code(word: &str, class: u8) -> Result<u16, String> {
    let code: u16 = word.parse().map_err(|_| format!("bad reply code {word}"))?;
    let (lo, hi) = (u16::from(class) * 100, u16::from(class) * 100 + 99);
    if !(lo..=hi).contains(&code) {
        let what = if class == 5 { "reject" } else { "defer" };
        return Err(format!(
            "{what} needs a {class}xx reply code, not {code} (RFC 5321 §4.2.1)"
        ));
    }
    Ok(code)
}

fn looks_enhanced(word: &str) -> bool {
    word.contains('.') && word.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn parse_enhanced(word: &str, class: u8) -> Result<EnhancedCode, String> {
    let enhanced =
        EnhancedCode::parse(word).ok_or_else(|| format!("bad enhanced status code {word}"))?;
    if enhanced.class != class {
        return Err(format!(
            "enhanced code {word} does not match a {class}xx reply (RFC 3463 §2: same class)"
        ));
    }
    Ok(enhanced)
}

/// The first whitespace-separated word and the trimmed rest.
pub(crate) fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.split_once(char::is_whitespace) {
        Some((w, rest)) => (w, rest.trim()),
        None => (s, ""),
    }
}

/// Parses a rule's `action` value. `score` and `header` belong to `tag` and are checked by
/// the caller.
pub(crate) fn parse_action(text: &str) -> Result<Action, String> {
    let (word, rest) = split_word(text);
    let no_args = |a: Action| {
        if rest.is_empty() {
            Ok(a)
        } else {
            Err(format!("`{word}` takes no arguments, found `{rest}`"))
        }
    };
    match word.to_ascii_lowercase().as_str() {
        "accept" => no_args(Action::Accept),
        "quarantine" => no_args(Action::Quarantine),
        "continue" => no_args(Action::Continue),
        "map" => no_args(Action::Map),
        "tag" => no_args(Action::Tag {
            score: 0.0,
            header: None,
            folder: None,
        }),
        "reject" => ReplyTemplate::parse(rest, 5, 554, "Rejected by policy rule {rule}", true)
            .map(Action::Reject),
        "defer" => ReplyTemplate::parse(
            rest,
            4,
            450,
            "Deferred by policy rule {rule}, try again later",
            true,
        )
        .map(Action::Defer),
        "" => Err("empty action".into()),
        _ => Err(format!(
            "unknown action `{word}`; actions: accept, reject, defer, tag, quarantine, continue, map"
        )),
    }
}

/// What an entry of a Postfix-style access map says (access(5)).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AccessAction {
    /// `OK` / `PERMIT`.
    Ok,
    /// `REJECT [text]` or `5NN [text]`.
    Reject(ReplyTemplate),
    /// `DEFER [text]` or `4NN [text]`.
    Defer(ReplyTemplate),
    /// `HOLD [text]`: accept into quarantine.
    Hold,
    /// `DUNNO`: as if the key were not there; stop looking in this map.
    Dunno,
}

impl AccessAction {
    /// Parses the right-hand side of an access-map line.
    pub(crate) fn parse(value: &str) -> Result<AccessAction, String> {
        let (word, rest) = split_word(value);
        let upper = word.to_ascii_uppercase();
        match upper.as_str() {
            "OK" | "PERMIT" => Ok(AccessAction::Ok),
            "DUNNO" => Ok(AccessAction::Dunno),
            "HOLD" => Ok(AccessAction::Hold),
            // Postfix defaults: access_map_reject_code = 554, access_map_defer_code = 450.
            "REJECT" => {
                ReplyTemplate::parse(rest, 5, 554, "Access denied", false).map(AccessAction::Reject)
            }
            "DEFER" => ReplyTemplate::parse(rest, 4, 450, "Try again later", false)
                .map(AccessAction::Defer),
            w if w.len() == 3 && w.starts_with('5') => {
                ReplyTemplate::parse(value, 5, 554, "Access denied", false)
                    .map(AccessAction::Reject)
            }
            w if w.len() == 3 && w.starts_with('4') => {
                ReplyTemplate::parse(value, 4, 450, "Try again later", false)
                    .map(AccessAction::Defer)
            }
            "" => Err("missing action (OK, REJECT, DEFER, HOLD, DUNNO, 4NN text, 5NN text)".into()),
            _ => Err(format!(
                "access action `{word}` is not supported; use OK, REJECT, DEFER, HOLD, DUNNO, 4NN text or 5NN text"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(a: &Action) -> (u16, String) {
        match a {
            Action::Reject(r) | Action::Defer(r) => (r.code, r.enhanced.to_string()),
            _ => panic!("not a reply: {a:?}"),
        }
    }

    #[test]
    fn actions_parse_with_defaults() {
        assert_eq!(parse_action("accept"), Ok(Action::Accept));
        assert_eq!(parse_action("Continue"), Ok(Action::Continue));
        assert_eq!(
            reply(&parse_action("reject").unwrap()),
            (554, "5.7.1".into())
        );
        assert_eq!(
            reply(&parse_action("reject 550 5.1.1 no").unwrap()),
            (550, "5.1.1".into())
        );
        assert_eq!(
            reply(&parse_action("reject 550 nope").unwrap()),
            (550, "5.7.1".into())
        );
        assert_eq!(
            reply(&parse_action("defer").unwrap()),
            (450, "4.7.1".into())
        );
        assert_eq!(
            reply(&parse_action("defer 421 4.7.0 busy").unwrap()),
            (421, "4.7.0".into())
        );
    }

    #[test]
    fn bad_actions_are_refused() {
        for bad in [
            "",
            "drop",
            "reject 450",
            "defer 550",
            "reject 550 4.1.1 x",
            "defer 451 5.0.0",
            "reject 99999",
            "reject 550 5.1.1 {oops}",
            "accept now",
            "reject 5.1.1.1 x",
        ] {
            assert!(parse_action(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn access_actions_follow_postfix() {
        assert_eq!(AccessAction::parse("OK"), Ok(AccessAction::Ok));
        assert_eq!(AccessAction::parse("dunno"), Ok(AccessAction::Dunno));
        let AccessAction::Reject(r) = AccessAction::parse("REJECT go away").unwrap() else {
            panic!()
        };
        assert_eq!((r.code, r.enhanced.to_string()), (554, "5.7.1".into()));
        let AccessAction::Reject(r) = AccessAction::parse("550 5.7.27 no mail here").unwrap()
        else {
            panic!()
        };
        assert_eq!((r.code, r.enhanced.to_string()), (550, "5.7.27".into()));
        assert!(matches!(
            AccessAction::parse("451 busy"),
            Ok(AccessAction::Defer(_))
        ));
        for bad in [
            "",
            "DISCARD",
            "FILTER smtp:x",
            "REDIRECT a@b",
            "550 4.1.1 x",
            "2xx",
        ] {
            assert!(AccessAction::parse(bad).is_err(), "{bad:?}");
        }
    }
}
