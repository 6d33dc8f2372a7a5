//! A full disk is a local, temporary fault: 452 (never 5xx), nothing lost, and service resumes
//! by itself once space is back. The data directory is a small tmpfs, so this test needs root
//! (as does the whole suite: scripts/test.sh installs packages).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Setup, Smtp};

/// A tmpfs mounted for the length of a test.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes until the filesystem refuses; returns the filler's path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![b'f'; 4096];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
    path
}

#[test]
fn disk_full_gives_452_and_service_resumes() {
    let setup = Setup::new();
    let users = std::fs::read(setup.data().join("users")).unwrap();
    let _mount = Tmpfs::mount(&setup.data(), "4m");
    std::fs::write(setup.data().join("users"), users).unwrap();
    let _server = setup.start();
    let body = "Subject: space\r\n\r\nhello\r\n";

    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail("a@example.org", &["bob@example.test"], body)
        .unwrap();
    setup.wait_for_mail("bob@example.test", 1);

    let filler = fill(&setup.data());
    let big = format!(
        "Subject: big\r\n\r\n{}",
        format!("{}\r\n", "y".repeat(76)).repeat(1000)
    );
    let refused = c
        .send_mail("a@example.org", &["bob@example.test"], &big)
        .unwrap_err();
    assert!(
        refused.1.starts_with("452 4.3.1") || refused.1.starts_with("451 4.3.0"),
        "{refused:?}"
    );

    std::fs::remove_file(filler).unwrap();
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail("a@example.org", &["bob@example.test"], body)
        .unwrap();
    setup.wait_for_mail("bob@example.test", 2);
}
