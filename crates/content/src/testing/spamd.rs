//! A real spamd for tests: SpamAssassin's `spamd` on a free loopback port with the packaged
//! rules, `-L` (local tests only: no DNS block lists, no network), no user configuration.
//! Started as the `debian-spamd` user when running as root (spamd refuses to run as root).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, wait_up};

/// A running spamd; stopped (SIGTERM, so it reaps its children) on drop.
pub struct TestSpamd {
    child: Child,
    tcp: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for TestSpamd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestSpamd {
    /// Starts spamd and waits (up to 120 s: it compiles its rules first) until it answers
    /// `PING`. Panics with spamd's output if it exits or never comes up.
    pub fn start() -> TestSpamd {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home dir");
        let tcp = free_port();
        let mut cmd = Command::new(binary());
        cmd.arg(format!("--listen={tcp}"))
            .args(["--allowed-ips=127.0.0.1", "-L", "--nouser-config"])
            .arg(format!("--helper-home-dir={}", home.display()))
            .args(["--min-children=1", "--max-children=2"])
            .args(["--min-spare=1", "--max-spare=1"])
            .arg(format!(
                "--syslog={}",
                dir.path().join("spamd.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            let _ = Command::new("chown")
                .args(["-R", "debian-spamd"])
                .arg(dir.path())
                .status();
            cmd.args(["-u", "debian-spamd"]);
        }
        let child = cmd.spawn().expect("spawn spamd");
        let mut spamd = TestSpamd { child, tcp, dir };
        spamd.wait_up();
        spamd
    }

    /// The TCP address spamd listens on (127.0.0.1).
    pub fn tcp(&self) -> SocketAddr {
        self.tcp
    }

    fn wait_up(&mut self) {
        let (tcp, log) = (self.tcp, self.dir.path().join("spamd.log"));
        // spamd compiles its rules first.
        wait_up(
            &mut self.child,
            "spamd",
            &log,
            Duration::from_secs(120),
            || ping(tcp),
        );
    }
}

fn binary() -> PathBuf {
    ["/usr/sbin/spamd", "/usr/bin/spamd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("spamd not found: install the Debian packages spamassassin and spamd")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `PING SPAMC/1.5`: true when spamd answers `SPAMD/1.5 0 PONG`.
fn ping(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = Vec::new();
    s.write_all(b"PING SPAMC/1.5\r\n\r\n").is_ok()
        && s.read_to_end(&mut answer).is_ok()
        && String::from_utf8_lossy(&answer).contains("PONG")
}
