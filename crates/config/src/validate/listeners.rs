//! `[[listener]]`: there is one, names are usable and unique, sockets can all be bound.

use std::net::SocketAddr;

use super::Checker;

impl Checker<'_> {
    pub(super) fn listeners(&mut self) {
        if self.config.listeners.is_empty() {
            self.error(
                &["listener"],
                "no [[listener]] is configured: calm would accept no mail".to_owned(),
            );
        }
        self.listener_names();
        self.listener_addresses();
    }

    fn listener_names(&mut self) {
        let listeners = &self.config.listeners;
        for (index, listener) in listeners.iter().enumerate() {
            let at = index.to_string();
            let path = ["listener", at.as_str(), "name"];
            let name = &listener.name;
            if name.is_empty() {
                self.error(&path, "listener name is empty".to_owned());
            } else if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                // Names go into log lines and metric labels, so keep them plain.
                self.error(
                    &path,
                    format!(
                        "listener name {name:?} may contain only letters, digits, '-', '_' and '.'"
                    ),
                );
            } else if listeners
                .iter()
                .take(index)
                .any(|earlier| earlier.name == *name)
            {
                self.error(&path, format!("duplicate listener name `{name}`"));
            }
        }
    }

    fn listener_addresses(&mut self) {
        let listeners = &self.config.listeners;
        for (index, listener) in listeners.iter().enumerate() {
            let earlier = listeners.iter().take(index);
            let Some(clash) = earlier
                .into_iter()
                .find(|e| conflicts(e.address, listener.address))
            else {
                continue;
            };
            let at = index.to_string();
            let message = if clash.address == listener.address {
                format!(
                    "duplicate listener address {} (also used by `{}`)",
                    listener.address, clash.name
                )
            } else {
                format!(
                    "listener address {} conflicts with {} of `{}`: both cannot be bound on port {}",
                    listener.address,
                    clash.address,
                    clash.name,
                    listener.address.port()
                )
            };
            self.error(&["listener", at.as_str(), "address"], message);
        }
    }
}

/// Whether two sockets cannot both be bound. Port 0 asks the system for a free port, so it
/// never conflicts. An unspecified address (`0.0.0.0`, `[::]`) takes the port on every
/// address of its family, and `[::]` also on every IPv4 address, because Linux sockets are
/// dual-stack unless IPV6_V6ONLY is set (RFC 3493 §5.3).
fn conflicts(a: SocketAddr, b: SocketAddr) -> bool {
    if a.port() != b.port() || a.port() == 0 {
        return false;
    }
    let covers = |wide: SocketAddr, other: SocketAddr| {
        wide.ip().is_unspecified() && (wide.is_ipv6() || other.is_ipv4())
    };
    a.ip() == b.ip() || covers(a, b) || covers(b, a)
}
