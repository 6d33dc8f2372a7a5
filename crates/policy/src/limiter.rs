//! [`Limiter`]: in-memory sliding-window counters and concurrency gauges for rate limits and
//! auth-failure throttling. Time is an input; nothing here reads a clock.
//!
//! The caller records what happens (a connection opened or closed, a message or recipient
//! accepted for evaluation, a failed AUTH) and the policy's rate checks read the counts.
//! Recording is separate from evaluation so that a shadow policy can read the same counts
//! without counting twice.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::facts::{Sender, canonical_ip};
use crate::stage::Timestamp;

/// Sizes and shapes of a [`Limiter`]; [`crate::Policy::limiter_settings`] gives the ones a
/// policy needs, and [`LimiterSettings::merge`] covers two policies (active and shadow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimiterSettings {
    /// Events older than this are forgotten (the longest window any rule uses).
    pub max_window: Duration,
    /// Events kept per key and kind (one more than the largest threshold): a count only has
    /// to tell whether it is above the threshold, so older events beyond this are dropped.
    pub max_events: usize,
    /// The IPv4 prefix length that makes a "network" for per-network limits.
    pub ipv4_prefix: u8,
    /// The IPv6 prefix length that makes a "network" for per-network limits.
    pub ipv6_prefix: u8,
    /// Most keys tracked per kind (addresses, networks, senders, users). Beyond it, new keys
    /// are not tracked until [`Limiter::prune`] frees room; per-IP limits still hold then.
    pub max_keys: usize,
}

impl Default for LimiterSettings {
    fn default() -> LimiterSettings {
        LimiterSettings {
            max_window: Duration::from_secs(3600),
            max_events: 1,
            ipv4_prefix: 24,
            ipv6_prefix: 64,
            max_keys: 100_000,
        }
    }
}

impl LimiterSettings {
    /// Settings that serve both `self` and `other` (for an active and a shadow policy sharing
    /// one limiter); the network prefixes are `self`'s.
    #[must_use]
    pub fn merge(self, other: LimiterSettings) -> LimiterSettings {
        LimiterSettings {
            max_window: self.max_window.max(other.max_window),
            max_events: self.max_events.max(other.max_events),
            ipv4_prefix: self.ipv4_prefix,
            ipv6_prefix: self.ipv6_prefix,
            max_keys: self.max_keys.max(other.max_keys),
        }
    }
}

/// What is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Counter {
    Connections = 0,
    Messages = 1,
    Recipients = 2,
    AuthFailures = 3,
}

/// What it is counted per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Per {
    Ip,
    Net,
    Sender,
    User,
}

#[derive(Debug, Default)]
struct Track {
    open: u32,
    events: [VecDeque<u64>; 4],
}

impl Track {
    fn push(&mut self, counter: Counter, now: u64, max_events: usize) {
        let q = &mut self.events[counter as usize];
        q.push_back(now);
        while q.len() > max_events.max(1) {
            q.pop_front();
        }
    }

    fn count(&self, counter: Counter, after: u64) -> u64 {
        let q = &self.events[counter as usize];
        let older = q.partition_point(|&t| t <= after);
        u64::try_from(q.len() - older).unwrap_or(u64::MAX)
    }

    /// Drops events at or before `cutoff`; true when nothing is left.
    fn prune(&mut self, cutoff: u64) -> bool {
        for q in &mut self.events {
            while q.front().is_some_and(|&t| t <= cutoff) {
                q.pop_front();
            }
        }
        self.open == 0 && self.events.iter().all(VecDeque::is_empty)
    }
}

/// Counters and gauges for rate and concurrency limits.
#[derive(Debug)]
pub struct Limiter {
    settings: LimiterSettings,
    ips: HashMap<IpAddr, Track>,
    nets: HashMap<IpNet, Track>,
    senders: HashMap<String, Track>,
    users: HashMap<String, Track>,
}

/// Inserts `key` if there is room (pruning once if not); the track to update, if any.
fn slot<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Track>,
    key: K,
    max_keys: usize,
    cutoff: u64,
) -> Option<&mut Track> {
    if !map.contains_key(&key) && map.len() >= max_keys {
        map.retain(|_, t| !t.prune(cutoff));
        if map.len() >= max_keys {
            return None;
        }
    }
    Some(map.entry(key).or_default())
}

impl Limiter {
    /// An empty limiter.
    pub fn new(settings: LimiterSettings) -> Limiter {
        Limiter {
            settings,
            ips: HashMap::new(),
            nets: HashMap::new(),
            senders: HashMap::new(),
            users: HashMap::new(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> LimiterSettings {
        self.settings
    }

    /// The network of `ip` for per-network limits.
    pub fn network_of(&self, ip: IpAddr) -> IpNet {
        let ip = canonical_ip(ip);
        let prefix = match ip {
            IpAddr::V4(_) => self.settings.ipv4_prefix.min(32),
            IpAddr::V6(_) => self.settings.ipv6_prefix.min(128),
        };
        IpNet::new(ip, prefix).map_or(IpNet::from(ip), |n| n.trunc())
    }

    fn cutoff(&self, now: Timestamp) -> u64 {
        now.before(self.settings.max_window)
    }

    /// A client connected: counts a connection for its address and network, and raises both
    /// concurrency gauges until [`Limiter::connection_closed`].
    pub fn connection_opened(&mut self, client: IpAddr, now: Timestamp) {
        let (ip, net, cutoff) = (
            canonical_ip(client),
            self.network_of(client),
            self.cutoff(now),
        );
        let LimiterSettings {
            max_events,
            max_keys,
            ..
        } = self.settings;
        if let Some(t) = slot(&mut self.ips, ip, max_keys, cutoff) {
            t.open = t.open.saturating_add(1);
            t.push(Counter::Connections, now.as_millis(), max_events);
        }
        if let Some(t) = slot(&mut self.nets, net, max_keys, cutoff) {
            t.open = t.open.saturating_add(1);
            t.push(Counter::Connections, now.as_millis(), max_events);
        }
    }

    /// A connection counted by [`Limiter::connection_opened`] ended.
    pub fn connection_closed(&mut self, client: IpAddr) {
        let (ip, net) = (canonical_ip(client), self.network_of(client));
        if let Some(t) = self.ips.get_mut(&ip) {
            t.open = t.open.saturating_sub(1);
        }
        if let Some(t) = self.nets.get_mut(&net) {
            t.open = t.open.saturating_sub(1);
        }
    }

    /// A message was started (`MAIL FROM`): counts it per client address, sender and user.
    pub fn message(
        &mut self,
        client: IpAddr,
        sender: Sender<'_>,
        user: Option<&str>,
        now: Timestamp,
    ) {
        self.count_event(Counter::Messages, client, Some(sender), user, now);
    }

    /// A recipient was given (`RCPT TO`): counts it per client address, sender and user.
    pub fn recipient(
        &mut self,
        client: IpAddr,
        sender: Sender<'_>,
        user: Option<&str>,
        now: Timestamp,
    ) {
        self.count_event(Counter::Recipients, client, Some(sender), user, now);
    }

    /// An AUTH attempt from `client` failed.
    pub fn auth_failure(&mut self, client: IpAddr, now: Timestamp) {
        self.count_event(Counter::AuthFailures, client, None, None, now);
    }

    fn count_event(
        &mut self,
        counter: Counter,
        client: IpAddr,
        sender: Option<Sender<'_>>,
        user: Option<&str>,
        now: Timestamp,
    ) {
        let cutoff = self.cutoff(now);
        let LimiterSettings {
            max_events,
            max_keys,
            ..
        } = self.settings;
        let at = now.as_millis();
        if let Some(t) = slot(&mut self.ips, canonical_ip(client), max_keys, cutoff) {
            t.push(counter, at, max_events);
        }
        if let Some(s) = sender
            && let Some(t) = slot(&mut self.senders, sender_key(s), max_keys, cutoff)
        {
            t.push(counter, at, max_events);
        }
        if let Some(u) = user
            && let Some(t) = slot(&mut self.users, u.to_ascii_lowercase(), max_keys, cutoff)
        {
            t.push(counter, at, max_events);
        }
    }

    /// Forgets events older than the longest window, and keys with nothing left. Call it
    /// now and then (every few seconds); recording also prunes when a table is full.
    pub fn prune(&mut self, now: Timestamp) {
        let cutoff = self.cutoff(now);
        self.ips.retain(|_, t| !t.prune(cutoff));
        self.nets.retain(|_, t| !t.prune(cutoff));
        self.senders.retain(|_, t| !t.prune(cutoff));
        self.users.retain(|_, t| !t.prune(cutoff));
    }

    /// Keys tracked (addresses, networks, senders and users together).
    pub fn tracked_keys(&self) -> usize {
        self.ips.len() + self.nets.len() + self.senders.len() + self.users.len()
    }

    /// Events of `counter` for the key in the last `window`; `None` when the key does not
    /// exist (no sender yet, not authenticated).
    pub(crate) fn count(
        &self,
        counter: Counter,
        key: Key<'_>,
        window: Duration,
        now: Timestamp,
    ) -> u64 {
        let after = now.before(window);
        self.track(key).map_or(0, |t| t.count(counter, after))
    }

    /// Open connections for the key.
    pub(crate) fn open(&self, key: Key<'_>) -> u64 {
        self.track(key).map_or(0, |t| u64::from(t.open))
    }

    fn track(&self, key: Key<'_>) -> Option<&Track> {
        match key {
            Key::Ip(ip) => self.ips.get(&canonical_ip(ip)),
            Key::Net(ip) => self.nets.get(&self.network_of(ip)),
            Key::Sender(s) => self.senders.get(&sender_key(s)),
            Key::User(u) => self.users.get(&u.to_ascii_lowercase()),
        }
    }
}

/// A key to count by.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Key<'a> {
    Ip(IpAddr),
    Net(IpAddr),
    Sender(Sender<'a>),
    User(&'a str),
}

fn sender_key(s: Sender<'_>) -> String {
    match s {
        Sender::Null => "<>".to_owned(),
        Sender::Address(a) => a.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests;
