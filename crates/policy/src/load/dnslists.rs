//! Loading `[dnsbl.NAME]` and `[dnswl.NAME]` tables.

use std::collections::BTreeMap;

use toml::Spanned;

use super::raw::{RawDnsList, RawPolicy};
use super::{Loader, MAX_SCORE, check_name};
use crate::dnsbl::{
    DEFAULT_CODES, DnsList, DnsListKind, DnsblTarget, OnFailure, check_zone, parse_codes,
};

impl Loader<'_> {
    /// Every declared DNS list, block lists first. A name may be used once over both tables,
    /// since answers come back keyed by name.
    pub(super) fn dns_lists(&mut self, raw: &RawPolicy) -> Vec<DnsList> {
        let mut out: Vec<DnsList> = Vec::new();
        let tables: [(&BTreeMap<String, Spanned<RawDnsList>>, DnsListKind); 2] = [
            (&raw.dnsbl, DnsListKind::Block),
            (&raw.dnswl, DnsListKind::Allow),
        ];
        for (table, kind) in tables {
            for (name, list) in table {
                if out.iter().any(|l| &l.name == name) {
                    let msg = format!("DNS list name `{name}` is used by both [dnsbl] and [dnswl]");
                    self.problem(list.span(), msg);
                    continue;
                }
                if let Some(l) = self.dns_list(name, kind, list) {
                    out.push(l);
                }
            }
        }
        out
    }

    fn dns_list(
        &mut self,
        name: &str,
        kind: DnsListKind,
        raw: &Spanned<RawDnsList>,
    ) -> Option<DnsList> {
        let before = self.problems.len();
        let what = format!("{} `{name}`", kind.as_str());
        if let Err(m) = check_name(name) {
            self.problem(raw.span(), m);
        }
        let r = raw.get_ref();
        if let Err(m) = check_zone(r.zone.get_ref()) {
            self.problem(r.zone.span(), format!("{what}: {m}"));
        }
        let target = match &r.target {
            None => DnsblTarget::Client,
            Some(t) => DnsblTarget::parse(t.get_ref()).unwrap_or_else(|| {
                let m = format!(
                    "{what}: unknown target `{}`; targets: client, sender_domain, helo",
                    t.get_ref()
                );
                self.problem(t.span(), m);
                DnsblTarget::Client
            }),
        };
        let weight = r.weight.as_ref().map_or(1.0, |w| {
            let v = *w.get_ref();
            if !(v.is_finite() && (0.0..=MAX_SCORE).contains(&v)) {
                self.problem(
                    w.span(),
                    format!("{what}: weight must be between 0 and {MAX_SCORE}"),
                );
            }
            v
        });
        let codes = self.dns_codes(&what, r.codes.as_ref());
        let on_failure = match r
            .on_failure
            .as_ref()
            .map(|s| (s.get_ref().as_str(), s.span()))
        {
            None | Some(("not_listed", _)) => OnFailure::NotListed,
            Some(("undecided", _)) => OnFailure::Undecided,
            Some((other, span)) => {
                let m =
                    format!("{what}: unknown on_failure `{other}`; use not_listed or undecided");
                self.problem(span, m);
                OnFailure::NotListed
            }
        };
        (self.problems.len() == before).then(|| DnsList {
            name: name.to_owned(),
            line: self.lines.line(raw.span().start),
            zone: r.zone.get_ref().trim_end_matches('.').to_ascii_lowercase(),
            target,
            kind,
            weight,
            codes,
            on_failure,
        })
    }

    fn dns_codes(
        &mut self,
        what: &str,
        codes: Option<&Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
        let Some(codes) = codes else {
            return vec![DEFAULT_CODES];
        };
        let mut out = Vec::new();
        for c in codes.get_ref() {
            match parse_codes(c.get_ref()) {
                Ok(range) => out.push(range),
                Err(m) => self.problem(c.span(), format!("{what}: {m}")),
            }
        }
        if codes.get_ref().is_empty() {
            // An empty filter would make the list never match: surely a mistake.
            let m = format!(
                "{what}: `codes` is empty; leave it out to accept 127.0.0.2-127.255.254.255"
            );
            self.problem(codes.span(), m);
        }
        out
    }
}
