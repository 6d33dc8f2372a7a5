//! Real scanning daemons for tests (feature `test-daemons`), started on free loopback ports
//! and stopped on drop: Debian's clamd with an EICAR-only signature database, and
//! SpamAssassin's spamd with its packaged rules and no network tests.

mod clamd;
mod spamd;

pub use clamd::{EICAR_SIGNATURE, TestClamd, eicar};
pub use spamd::TestSpamd;

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr")
}
