//! Real scanning daemons for tests (feature `test-daemons`), started on free loopback ports
//! and stopped on drop: Debian's clamd with an EICAR-only signature database, and
//! SpamAssassin's spamd with its packaged rules and no network tests.

mod clamd;
mod spamd;

pub use clamd::{EICAR_SIGNATURE, TestClamd, eicar};
pub use spamd::TestSpamd;

/// Waits until `ping` holds; panics with the daemon's log if it exits or `limit` passes.
fn wait_up(
    child: &mut std::process::Child,
    what: &str,
    log: &std::path::Path,
    limit: std::time::Duration,
    ping: impl Fn() -> bool,
) {
    let start = std::time::Instant::now();
    while !ping() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} exited with {status}: {log}");
        }
        assert!(
            start.elapsed() < limit,
            "{what} did not come up in {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr")
}
