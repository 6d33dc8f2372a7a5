//! [`Context`]: what the policy needs from the server configuration.

use calm_config::Config;
use ipnet::IpNet;

use crate::facts::Tables;

/// The parts of calm's configuration the policy refers to. A [`crate::Policy`] is loaded
/// against one context: lists can take `config:lan_networks`, `helo_is_ours` compares with the
/// hostname, and the checker warns about rules that depend on something this context lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// `server.hostname`: our own name, which no client may claim in HELO.
    pub hostname: String,
    /// `server.local_domains`, lowercase.
    pub local_domains: Vec<String>,
    /// `server.lan_networks`, for lists that say `config:lan_networks`.
    pub lan_networks: Vec<IpNet>,
    /// The recipient tables the configuration loads (users always; aliases and virtual when
    /// their files are set). Recipient validation requires these unless a rule names others.
    pub tables: Tables,
    /// `limits.max_message_size`: larger messages never reach the policy.
    pub max_message_size: Option<u64>,
}

impl Context {
    /// The context of a calm configuration.
    pub fn from_config(config: &Config) -> Context {
        let mut tables = Tables::USERS;
        if config.accounts.aliases_file.is_some() {
            tables = tables.union(Tables::ALIASES);
        }
        if config.accounts.virtual_file.is_some() {
            tables = tables.union(Tables::VIRTUAL);
        }
        Context {
            hostname: config.server.hostname.to_ascii_lowercase(),
            local_domains: config
                .server
                .local_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            lan_networks: config.server.lan_networks.clone(),
            tables,
            max_message_size: Some(config.limits.max_message_size),
        }
    }

    /// Whether `domain` is one of ours (case-insensitive).
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }
}

impl Default for Context {
    /// The context of calm's built-in configuration.
    fn default() -> Context {
        Context::from_config(&Config::builtin())
    }
}
