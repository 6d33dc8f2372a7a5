//! `[server]` and the address-related parts of `[accounts]`: domain syntax, relay networks,
//! catch-all targets.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use ipnet::{IpNet, Ipv6Net};

use super::Checker;
use crate::domain::domain_problem;
use crate::model::Role;

impl Checker<'_> {
    pub(super) fn server(&mut self) {
        let hostname = &self.config.server.hostname;
        if let Some(problem) = domain_problem(hostname) {
            // RFC 5321 §4.1.1.1 and §4.1.3: the greeting and EHLO name is a domain.
            self.error(
                &["server", "hostname"],
                format!("hostname {hostname:?} {problem}"),
            );
        }
        self.local_domains();
        self.lan_networks();
    }

    fn local_domains(&mut self) {
        let domains = &self.config.server.local_domains;
        if domains.is_empty() {
            self.warning(
                &["server", "local_domains"],
                "local_domains is empty: no mail can be delivered to a local mailbox".to_owned(),
            );
        }
        let mut seen = BTreeSet::new();
        for (index, domain) in domains.iter().enumerate() {
            let at = index.to_string();
            let path = ["server", "local_domains", at.as_str()];
            if let Some(problem) = domain_problem(domain) {
                self.error(&path, format!("local domain {domain:?} {problem}"));
            } else if !seen.insert(domain.to_ascii_lowercase()) {
                // Domains compare case-insensitively (RFC 1035 §2.3.3).
                self.warning(&path, format!("local domain `{domain}` is listed twice"));
            }
        }
    }

    fn lan_networks(&mut self) {
        for (index, net) in self.config.server.lan_networks.iter().enumerate() {
            if net.addr() != net.network() {
                let at = index.to_string();
                self.warning(
                    &["server", "lan_networks", at.as_str()],
                    format!(
                        "lan network {net} has host bits set; it means {}",
                        net.trunc()
                    ),
                );
            }
        }
    }

    /// A relay network covering the whole Internet, on an `mx` listener that the Internet can
    /// reach, lets anyone relay without AUTH: an open relay (RFC 5321 §7.1, RFC 2505 §2).
    pub(super) fn open_relay(&mut self) {
        let exposed = self
            .config
            .listeners
            .iter()
            .find(|l| l.role == Role::Mx && !l.address.ip().is_loopback());
        let Some(listener) = exposed else { return };
        for (index, net) in self.config.server.lan_networks.iter().enumerate() {
            if covers_everyone(net) {
                let at = index.to_string();
                let message = format!(
                    "lan_networks contains {net}, so anyone may relay through mx listener `{}` \
                     on {} without AUTH: this is an open relay",
                    listener.name, listener.address
                );
                self.error(&["server", "lan_networks", at.as_str()], message);
            }
        }
    }

    pub(super) fn catch_all(&mut self) {
        let local: BTreeSet<String> = self
            .config
            .server
            .local_domains
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect();
        for (domain, target) in &self.config.accounts.catch_all {
            let path = ["accounts", "catch_all", domain.as_str()];
            if !local.contains(&domain.to_ascii_lowercase()) {
                self.error(
                    &path,
                    format!("catch_all for `{domain}`, which is not in server.local_domains: it can never apply"),
                );
            }
            if let Some(problem) = address_problem(target) {
                self.error(&path, format!("catch_all target {target:?} {problem}"));
            }
        }
    }

    /// The spam report addresses must be addresses in a local domain: calm takes them at RCPT.
    pub(super) fn report_addresses(&mut self) {
        let content = &self.config.content;
        let addresses = [
            ("not_spam_address", &content.not_spam_address),
            ("spam_address", &content.spam_address),
        ];
        for (key, address) in addresses {
            let Some(address) = address else { continue };
            let path = ["content", key];
            if let Some(problem) = address_problem(address) {
                self.error(&path, format!("{key} {address:?} {problem}"));
                continue;
            }
            let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
            let local = self.config.server.local_domains.iter();
            if !local.clone().any(|d| d.eq_ignore_ascii_case(domain)) {
                self.error(
                    &path,
                    format!(
                        "{key} {address:?} is not in server.local_domains: no report could reach it"
                    ),
                );
            }
        }
        if content.not_spam_address.is_some() && content.not_spam_address == content.spam_address {
            self.error(
                &["content", "spam_address"],
                "spam_address and not_spam_address are the same address".to_owned(),
            );
        }
    }
}

/// A network that contains every IPv4 or every IPv6 address. `::ffff:0:0/96` counts: on a
/// dual-stack socket every IPv4 client appears inside it (RFC 4291 §2.5.5.2).
fn covers_everyone(net: &IpNet) -> bool {
    let mapped = Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);
    match net {
        IpNet::V4(v4) => v4.prefix_len() == 0,
        IpNet::V6(v6) => v6.prefix_len() == 0 || v6.contains(&mapped),
    }
}

/// Why `address` is not a `local@domain` mail address, or `None`.
fn address_problem(address: &str) -> Option<String> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Some("is not an address (local@domain)".to_owned());
    };
    if local.is_empty() || local.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Some("has an empty or unusable local part".to_owned());
    }
    domain_problem(domain).map(|problem| format!("has a domain that {problem}"))
}
