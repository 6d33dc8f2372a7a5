//! An in-process authoritative DNS server on `127.0.0.1`, for tests (feature `test-server`).
//!
//! It serves fixed zones from memory with `hickory-server`, so MX, implicit-MX and null-MX
//! behaviour can be tested end to end without a network or an external process.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use calm_dns::test_server::{TestDnsServer, Zone};
//! let zone = Zone::new("example.test")
//!     .mx("example.test", 10, "mx.example.test")
//!     .a("mx.example.test", "127.0.0.2".parse().unwrap());
//! let dns = TestDnsServer::start(vec![zone]).await?;
//! let resolver = calm_dns::Resolver::new(&dns.settings()).unwrap();
//! # Ok(()) }
//! ```

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::rdata::{A, AAAA, MX, PTR, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};

use crate::ResolverSettings;

/// One zone's records. Names that do not parse are ignored (this is test support).
#[derive(Debug, Clone)]
pub struct Zone {
    origin: Name,
    records: Vec<Record>,
}

const TTL: u32 = 60;

fn name(s: &str) -> Name {
    let mut n = Name::from_utf8(s.trim_end_matches('.')).unwrap_or_else(|_| Name::root());
    n.set_fqdn(true);
    n
}

impl Zone {
    /// A zone with its SOA record.
    pub fn new(origin: &str) -> Zone {
        let origin = name(origin);
        let soa = SOA::new(
            name(&format!("ns.{origin}")),
            name(&format!("hostmaster.{origin}")),
            1,
            3600,
            600,
            86_400,
            TTL,
        );
        let record = Record::from_rdata(origin.clone(), TTL, RData::SOA(soa));
        Zone {
            origin,
            records: vec![record],
        }
    }

    fn with(mut self, owner: &str, data: RData) -> Zone {
        self.records
            .push(Record::from_rdata(name(owner), TTL, data));
        self
    }

    /// Adds `owner MX preference exchange` (`"."` as exchange makes a null MX).
    pub fn mx(self, owner: &str, preference: u16, exchange: &str) -> Zone {
        let exchange = if exchange == "." {
            Name::root()
        } else {
            name(exchange)
        };
        self.with(owner, RData::MX(MX::new(preference, exchange)))
    }

    /// Adds `owner A ip`.
    pub fn a(self, owner: &str, ip: Ipv4Addr) -> Zone {
        self.with(owner, RData::A(A(ip)))
    }

    /// Adds the PTR record of `ip` (the owner is its `in-addr.arpa`/`ip6.arpa` name, which
    /// must fall inside this zone's origin, e.g. `Zone::new("127.in-addr.arpa")`).
    pub fn ptr(self, ip: std::net::IpAddr, target: &str) -> Zone {
        let owner = Name::from(ip);
        let record = Record::from_rdata(owner, TTL, RData::PTR(PTR(name(target))));
        let mut zone = self;
        zone.records.push(record);
        zone
    }

    /// Adds `owner AAAA ip`.
    pub fn aaaa(self, owner: &str, ip: Ipv6Addr) -> Zone {
        self.with(owner, RData::AAAA(AAAA(ip)))
    }

    /// Adds `owner TXT text`, split into character-strings of at most 255 octets
    /// (RFC 1035 §3.3.14), as a DKIM key record of RSA-2048 needs (RFC 6376 §3.6.2.2).
    pub fn txt(self, owner: &str, text: &str) -> Zone {
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(255).collect();
        self.with(owner, RData::TXT(TXT::from_bytes(chunks)))
    }
}

/// A running server; it stops when dropped.
pub struct TestDnsServer {
    addr: SocketAddr,
    _server: Server<Catalog>,
}

impl TestDnsServer {
    /// Serves `zones` over UDP and TCP on `127.0.0.1` (same free port for both).
    pub async fn start(zones: Vec<Zone>) -> io::Result<TestDnsServer> {
        let mut catalog = Catalog::new();
        for zone in zones {
            let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
                zone.origin.clone(),
                ZoneType::Primary,
                AxfrPolicy::Deny,
            );
            for record in zone.records {
                handler.upsert_mut(record, 1);
            }
            catalog.upsert(LowerName::from(&zone.origin), vec![Arc::new(handler)]);
        }
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = tcp.local_addr()?;
        let udp = tokio::net::UdpSocket::bind(addr).await?;
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 4096);
        Ok(TestDnsServer {
            addr,
            _server: server,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Resolver settings pointing at this server, with a short timeout.
    pub fn settings(&self) -> ResolverSettings {
        ResolverSettings {
            upstream: Some(self.addr),
            timeout: Duration::from_secs(2),
            attempts: 1,
        }
    }
}
