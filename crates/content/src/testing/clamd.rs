//! A real clamd for tests: Debian's `clamd` started on a free loopback
//! TCP port and a Unix socket, with a signature database made on the spot, an EICAR signature
//! in a custom `.ndb` file, so no download is needed. Dropping the [`TestClamd`] stops it.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_up};

/// The signature name clamd reports for [`eicar`] with the database [`TestClamd`] writes.
pub const EICAR_SIGNATURE: &str = "Eicar-Test-Signature.CALM.UNOFFICIAL";

/// The EICAR test file, built from two halves so that no source file is itself "infected".
pub fn eicar() -> Vec<u8> {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-",
        "ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

/// A running clamd; stopped (killed) on drop.
pub struct TestClamd {
    child: Child,
    tcp: SocketAddr,
    unix: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for TestClamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestClamd {
    /// Starts clamd and waits (up to 60 s) until it answers `PING`. Panics with clamd's log if it
    /// exits or never comes up: the test cannot go on without it.
    pub fn start() -> TestClamd {
        let dir = tempfile::tempdir().expect("temp dir");
        let tcp = free_port();
        let unix = dir.path().join("clamd.sock");
        let conf = write_config(dir.path(), tcp, &unix);
        let child = Command::new(binary())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn clamd");
        let mut clamd = TestClamd {
            child,
            tcp,
            unix,
            dir,
        };
        clamd.wait_up();
        clamd
    }

    /// The TCP address clamd listens on (127.0.0.1).
    pub fn tcp(&self) -> SocketAddr {
        self.tcp
    }

    /// The Unix socket clamd listens on.
    pub fn unix(&self) -> &Path {
        &self.unix
    }

    fn wait_up(&mut self) {
        let (tcp, log) = (self.tcp, self.dir.path().join("clamd.log"));
        wait_up(
            &mut self.child,
            "clamd",
            &log,
            Duration::from_secs(60),
            || ping(tcp),
        );
    }
}

fn binary() -> PathBuf {
    ["/usr/sbin/clamd", "/usr/bin/clamd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("clamd not found: install the Debian package clamav-daemon")
}

/// Writes the signature database and `clamd.conf` under `dir`; returns the config's path.
fn write_config(dir: &Path, tcp: SocketAddr, unix: &Path) -> PathBuf {
    let db = dir.join("db");
    std::fs::create_dir_all(&db).expect("db dir");
    std::fs::create_dir_all(dir.join("tmp")).expect("tmp dir");
    let hex: String = eicar().iter().map(|b| format!("{b:02x}")).collect();
    // .ndb: Name:TargetType:Offset:HexSignature (type 0 = any file, offset * = anywhere)
    let ndb = format!("Eicar-Test-Signature.CALM:0:*:{hex}\n");
    std::fs::write(db.join("calm-eicar.ndb"), ndb).expect("write .ndb");
    let conf = dir.join("clamd.conf");
    let text = format!(
        "DatabaseDirectory {db}\nLocalSocket {unix}\nTCPSocket {port}\nTCPAddr 127.0.0.1\n\
         TemporaryDirectory {tmp}\nLogFile {log}\nForeground yes\nMaxThreads 2\n\
         StreamMaxLength 1M\n",
        db = db.display(),
        unix = unix.display(),
        port = tcp.port(),
        tmp = dir.join("tmp").display(),
        log = dir.join("clamd.log").display(),
    );
    std::fs::File::create(&conf)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("write clamd.conf");
    conf
}

/// `zPING` over TCP: true when clamd answers `PONG`.
fn ping(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut answer = [0u8; 16];
    s.write_all(b"zPING\0").is_ok()
        && s.read(&mut answer)
            .is_ok_and(|n| answer[..n].starts_with(b"PONG"))
}
