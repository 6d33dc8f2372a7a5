//! The policy file's TOML shape, with spans so that every mistake can name its line.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use crate::stage::Stage;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    #[serde(default)]
    pub(crate) lists: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(crate) maps: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(crate) limits: Option<RawLimits>,
    #[serde(default)]
    pub(crate) dnsbl: BTreeMap<String, Spanned<RawDnsList>>,
    #[serde(default)]
    pub(crate) dnswl: BTreeMap<String, Spanned<RawDnsList>>,
    #[serde(default)]
    connect: Vec<Spanned<RawRule>>,
    #[serde(default)]
    helo: Vec<Spanned<RawRule>>,
    #[serde(default)]
    mail: Vec<Spanned<RawRule>>,
    #[serde(default)]
    rcpt: Vec<Spanned<RawRule>>,
    #[serde(default)]
    data: Vec<Spanned<RawRule>>,
}

impl RawPolicy {
    pub(crate) fn stage(&self, stage: Stage) -> &[Spanned<RawRule>] {
        match stage {
            Stage::Connect => &self.connect,
            Stage::Helo => &self.helo,
            Stage::Mail => &self.mail,
            Stage::Rcpt => &self.rcpt,
            Stage::Data => &self.data,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub(crate) ipv4_network_prefix: Option<Spanned<i64>>,
    pub(crate) ipv6_network_prefix: Option<Spanned<i64>>,
}

/// `[dnsbl.NAME]` or `[dnswl.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDnsList {
    pub(crate) zone: Spanned<String>,
    pub(crate) target: Option<Spanned<String>>,
    pub(crate) weight: Option<Spanned<f64>>,
    pub(crate) codes: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) on_failure: Option<Spanned<String>>,
    /// Free text for the reader; not used by the engine.
    #[allow(dead_code)]
    pub(crate) description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub(crate) name: Spanned<String>,
    #[serde(rename = "if", default)]
    pub(crate) conditions: Option<Spanned<Conditions>>,
    pub(crate) action: Spanned<String>,
    pub(crate) score: Option<Spanned<f64>>,
    pub(crate) header: Option<Spanned<String>>,
    pub(crate) folder: Option<Spanned<String>>,
    /// Free text for the reader; not used by the engine.
    #[allow(dead_code)]
    pub(crate) description: Option<String>,
}

impl RawRule {
    /// Each condition's text and where it is.
    pub(crate) fn condition_texts(&self) -> Vec<(String, Range<usize>)> {
        match &self.conditions {
            None => Vec::new(),
            Some(c) => match c.get_ref() {
                Conditions::One(text) => vec![(text.clone(), c.span())],
                Conditions::Many(items) => items
                    .iter()
                    .map(|i| (i.get_ref().clone(), i.span()))
                    .collect(),
            },
        }
    }
}

/// `if = "cond"` or `if = ["cond", "cond"]`.
pub(crate) enum Conditions {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for Conditions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Conditions, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Conditions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a condition string or an array of condition strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Conditions, E> {
                Ok(Conditions::One(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Conditions, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(Conditions::Many(items))
            }
        }
        d.deserialize_any(V)
    }
}
