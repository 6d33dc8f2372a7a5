//! The case file's TOML shape.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCases {
    #[serde(default)]
    pub(super) directory: RawDirectory,
    #[serde(default)]
    pub(super) defaults: Option<Spanned<RawCase>>,
    #[serde(default, rename = "case")]
    pub(super) cases: Vec<Spanned<RawCase>>,
}

/// Who exists, for recipients without an explicit resolution.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirectory {
    #[serde(default)]
    pub(super) users: Vec<String>,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
    #[serde(default, rename = "virtual")]
    pub(super) virtual_map: Vec<String>,
    pub(super) tables: Option<Vec<String>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCase {
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    pub(super) client: Option<String>,
    pub(super) listener: Option<String>,
    pub(super) tls: Option<bool>,
    pub(super) ptr: Option<Ptr>,
    pub(super) helo: Option<String>,
    pub(super) auth: Option<String>,
    pub(super) from: Option<String>,
    pub(super) sender_owned: Option<bool>,
    pub(super) sender_domain_resolves: Option<bool>,
    pub(super) size: Option<u64>,
    pub(super) to: Option<Vec<RawRcpt>>,
    pub(super) tables: Option<Vec<String>>,
    pub(super) message: Option<String>,
    pub(super) message_file: Option<String>,
    pub(super) dns: Option<BTreeMap<String, Vec<String>>>,
    pub(super) prior: Option<RawPrior>,
    pub(super) expect: Option<String>,
    pub(super) stages: Option<BTreeMap<String, String>>,
    pub(super) fired: Option<Vec<String>>,
    pub(super) not_fired: Option<Vec<String>>,
    pub(super) spam_score: Option<f64>,
    pub(super) gtube: Option<bool>,
    pub(super) scan: Option<String>,
    pub(super) spamd_unavailable: Option<bool>,
    pub(super) spf: Option<String>,
    pub(super) dkim: Option<String>,
    pub(super) dmarc: Option<String>,
    pub(super) arc: Option<String>,
    pub(super) dmarc_policy: Option<String>,
    pub(super) expect_score: Option<Vec<f64>>,
    pub(super) dnsbl: Option<BTreeMap<String, RawDnsblAnswer>>,
}

/// A DNS list's fixed answer: its return codes (`[]`: not listed) or `"timeout"`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum RawDnsblAnswer {
    Codes(Vec<String>),
    Word(String),
}

/// `ptr = "name"`, `ptr = ["a", "b"]`, or `ptr = []` for "no PTR record".
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum Ptr {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum RawRcpt {
    Address(String),
    Detailed(RawRcptDetail),
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRcptDetail {
    pub(super) address: String,
    pub(super) resolution: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) expect: Option<String>,
}

/// Events before the case, all one second before it.
#[derive(Deserialize, Default, Clone, Copy, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrior {
    #[serde(default)]
    pub(crate) connections: u32,
    #[serde(default)]
    pub(crate) open_connections: u32,
    #[serde(default)]
    pub(crate) messages: u32,
    #[serde(default)]
    pub(crate) recipients: u32,
    #[serde(default)]
    pub(crate) auth_failures: u32,
    /// Connections (opened and closed) from another address of the client's network.
    #[serde(default)]
    pub(crate) net_connections: u32,
    /// Connections still open from another address of the client's network.
    #[serde(default)]
    pub(crate) net_open_connections: u32,
}

impl RawCase {
    /// This case with every missing field taken from `defaults`.
    pub(super) fn or(self, d: &RawCase) -> RawCase {
        macro_rules! pick {
            ($($f:ident),*) => { RawCase { $($f: self.$f.or_else(|| d.$f.clone())),* } };
        }
        pick!(
            name,
            description,
            client,
            listener,
            tls,
            ptr,
            helo,
            auth,
            from,
            sender_owned,
            sender_domain_resolves,
            size,
            to,
            tables,
            message,
            message_file,
            dns,
            prior,
            expect,
            stages,
            fired,
            not_fired,
            spam_score,
            gtube,
            scan,
            spamd_unavailable,
            spf,
            dkim,
            dmarc,
            arc,
            dmarc_policy,
            expect_score,
            dnsbl
        )
    }
}
