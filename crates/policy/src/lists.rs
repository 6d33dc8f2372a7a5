//! Named network lists: `client_in NAME` checks the client address against one.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::access::logical_lines;
use crate::error::Problem;
use crate::facts::canonical_ip;

/// A list of networks, as declared in the policy's `[lists]` table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NetList {
    pub(crate) name: String,
    /// Line of the declaration in the policy file.
    pub(crate) line: usize,
    pub(crate) nets: Vec<IpNet>,
    /// The list takes `config:lan_networks`.
    pub(crate) uses_config: bool,
}

impl NetList {
    /// Whether the (canonical) client address is in one of the networks.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// One element of a list declaration.
pub(crate) enum Item {
    Net(IpNet),
    Config,
    File(PathBuf),
}

/// Parses one element: a network, an address, `config:lan_networks` or `file:PATH`.
pub(crate) fn parse_item(text: &str) -> Result<Item, String> {
    let text = text.trim();
    if let Some(key) = text.strip_prefix("config:") {
        return match key {
            "lan_networks" => Ok(Item::Config),
            _ => Err(format!(
                "`config:{key}`: the only configuration list is `config:lan_networks`"
            )),
        };
    }
    if let Some(path) = text.strip_prefix("file:") {
        if path.is_empty() {
            return Err("`file:` needs a path".into());
        }
        return Ok(Item::File(PathBuf::from(path)));
    }
    parse_net(text).map(Item::Net)
}

/// `192.0.2.0/24`, `2001:db8::/32` or a single address.
pub(crate) fn parse_net(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(|ip| IpNet::from(canonical_ip(ip)))
        .map_err(|_| format!("`{text}` is not an IP address or CIDR network"))
}

/// Reads a network file (Postfix `mynetworks` file style): networks separated by whitespace
/// or commas, `#` comments.
pub(crate) fn parse_net_file(path: &Path, bytes: &[u8]) -> Result<Vec<IpNet>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut nets = Vec::new();
    for (line, text) in logical_lines(path, bytes, &mut problems) {
        let text = text.split('#').next().unwrap_or("");
        for word in text.split([' ', '\t', ',']).filter(|w| !w.is_empty()) {
            match parse_net(word) {
                Ok(n) => nets.push(n),
                Err(m) => problems.push(Problem::new(path, Some(line), m)),
            }
        }
    }
    if problems.is_empty() {
        Ok(nets)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_files() {
        assert!(matches!(
            parse_item("config:lan_networks"),
            Ok(Item::Config)
        ));
        assert!(parse_item("config:nope").is_err());
        assert!(matches!(parse_item("file:nets"), Ok(Item::File(_))));
        assert!(parse_item("file:").is_err());
        let Ok(Item::Net(n)) = parse_item("192.0.2.77/24") else {
            panic!()
        };
        assert_eq!(n.to_string(), "192.0.2.0/24");
        let Ok(Item::Net(n)) = parse_item("::ffff:192.0.2.1") else {
            panic!()
        };
        assert_eq!(n.to_string(), "192.0.2.1/32");
        assert!(parse_item("192.0.2.300").is_err());
        let nets = parse_net_file(
            Path::new("f"),
            b"# lan\n10.0.0.0/8, 192.0.2.1\n\n2001:db8::/32 # v6\n",
        )
        .unwrap();
        assert_eq!(nets.len(), 3);
        let err = parse_net_file(Path::new("f"), b"10.0.0.0/8\nbogus\n").unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "f:2: error: `bogus` is not an IP address or CIDR network"
        );
    }

    #[test]
    fn contains_canonicalises() {
        let l = NetList {
            name: "l".into(),
            line: 1,
            nets: vec![parse_net("192.0.2.0/24").unwrap()],
            uses_config: false,
        };
        assert!(l.contains("::ffff:192.0.2.9".parse().unwrap()));
        assert!(!l.contains("192.0.3.9".parse().unwrap()));
    }
}
