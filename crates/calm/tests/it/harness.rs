//! Starting calm as a real process on free loopback ports, and a small blocking SMTP client.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use calm_dns::test_server::{TestDnsServer, Zone};

/// The calm binary under test.
pub fn calm_bin() -> &'static str {
    env!("CARGO_BIN_EXE_calm")
}

/// The test DNS server of this test process (started on first use, runs until it exits):
/// `example.org` and `example.test` resolve to 127.0.0.1; names under `nx.example` do not exist.
pub fn test_dns() -> SocketAddr {
    static DNS: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();
    *DNS.get_or_init(|| dns_with(test_zones()))
}

/// Another test DNS server (for the rest of the test process) with these zones.
pub fn dns_with(zones: Vec<Zone>) -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let server = TestDnsServer::start(zones).await.unwrap();
            tx.send(server.addr()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

/// A zone for `d` with an MX at `mx.d` on 127.0.0.1.
pub fn served(d: &str) -> Zone {
    Zone::new(d)
        .mx(d, 10, &format!("mx.{d}"))
        .a(&format!("mx.{d}"), "127.0.0.1".parse().unwrap())
}

fn test_zones() -> Vec<Zone> {
    // A DNS block list that lists 127.0.0.1 (RFC 5782 §5: 127.0.0.2 is "listed").
    let list = Zone::new("bl.example").a("1.0.0.127.bl.example", "127.0.0.2".parse().unwrap());
    vec![
        served("example.org"),
        served("example.test"),
        Zone::new("nx.example"),
        list,
    ]
}

/// Runs `calm ARGS`, returning (status ok, stdout, stderr).
pub fn calm(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(calm_bin()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A calm configuration in a temporary directory, with one user `bob@example.test` / `secret`.
pub struct Setup {
    pub dir: tempfile::TempDir,
    /// Listener name → port, learned from calm's start-up lines (the config asks for port 0,
    /// so no two tests can race for a port).
    ports: std::cell::RefCell<std::collections::HashMap<String, u16>>,
}

impl Setup {
    pub fn new() -> Setup {
        Self::build("127.0.0.2/32", "", "")
    }

    /// `lan` is the relay network list; `server_extra` goes into `[server]`, `extra` after it.
    pub fn build(lan: &str, server_extra: &str, extra: &str) -> Setup {
        Self::build_with_outbound(lan, server_extra, "", extra)
    }

    /// Like `new`, with `policy_text` as the policy file (`policy.toml` beside the config).
    pub fn with_policy(policy_text: &str) -> Setup {
        let setup = Self::build("127.0.0.2/32", "", "[policy]\nfile = \"policy.toml\"\n");
        std::fs::write(setup.dir.path().join("policy.toml"), policy_text).unwrap();
        setup
    }

    /// Like `build`, with more keys for the `[outbound]` section.
    pub fn build_with_outbound(
        lan: &str,
        server_extra: &str,
        outbound_extra: &str,
        extra: &str,
    ) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let dns = test_dns();
        let config = format!(
            r#"[server]
hostname = "mx.example.test"
data_dir = "data"
local_domains = ["example.test", "localhost"]
lan_networks = ["{lan}"]
{server_extra}

[[listener]]
name = "mx"
role = "mx"
address = "127.0.0.1:0"

[[listener]]
name = "submission"
role = "submission"
address = "127.0.0.1:0"

[[listener]]
name = "submissions"
role = "submissions"
address = "127.0.0.1:0"

[[listener]]
name = "pop3"
role = "pop3"
address = "127.0.0.1:0"

[[listener]]
name = "pop3s"
role = "pop3s"
address = "127.0.0.1:0"

[[listener]]
name = "imap"
role = "imap"
address = "127.0.0.1:0"

[[listener]]
name = "imaps"
role = "imaps"
address = "127.0.0.1:0"

[limits]
mx_greeting_delay_ms = 0

[admin]
address = "127.0.0.1:0"

[outbound]
# Tests never query a real DNS server: the test process serves a few fixed zones on
# loopback; other domains get no usable answer, so remote mail defers instead of leaving.
resolver = "{dns}"
dns_timeout_secs = 1
{outbound_extra}
{extra}
"#
        );
        std::fs::write(dir.path().join("calm.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let setup = Setup {
            dir,
            ports: Default::default(),
        };
        let (ok, out, err) = calm(&[
            "user",
            "add",
            "bob@example.test",
            "--password",
            "secret",
            "--config",
            &setup.config(),
        ]);
        assert!(ok, "user add failed: {out} {err}");
        setup
    }

    /// Sends `body` from `a@example.org` to bob over the MX listener as `client.example.org`
    /// and returns the delivered copy (bob's mailbox must be empty before).
    pub fn deliver_to_bob(&self, body: &str) -> String {
        let (mut c, _) = Smtp::connect(self.mx());
        c.cmd("EHLO client.example.org");
        c.send_mail("a@example.org", &["bob@example.test"], body)
            .unwrap();
        let files = self.wait_for_mail("bob@example.test", 1);
        std::fs::read_to_string(&files[0]).unwrap()
    }

    /// Points the configuration at another DNS server (see [`dns_with`]).
    pub fn use_dns(&self, dns: SocketAddr) {
        let path = self.config();
        let text = std::fs::read_to_string(&path).unwrap();
        let old = format!("resolver = \"{}\"", test_dns());
        assert!(text.contains(&old));
        std::fs::write(&path, text.replace(&old, &format!("resolver = \"{dns}\""))).unwrap();
    }

    pub fn config(&self) -> String {
        self.dir.path().join("calm.toml").display().to_string()
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Files in `new/` and `cur/` of a user's Maildir.
    pub fn mailbox_files(&self, user: &str) -> Vec<PathBuf> {
        self.folder_files(user, "INBOX")
    }

    /// The messages in one of the user's folders (`INBOX`, `Junk`, ...).
    pub fn folder_files(&self, user: &str, folder: &str) -> Vec<PathBuf> {
        let (local, domain) = user.split_once('@').unwrap();
        let mut root = self.data().join("mail").join(domain).join(local);
        if folder != "INBOX" {
            root = root.join(format!(".{folder}"));
        }
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(root.join(sub)) {
                files.extend(entries.map(|e| e.unwrap().path()));
            }
        }
        files
    }

    /// Waits until the user's INBOX holds `n` messages (or panics after 20 s).
    pub fn wait_for_mail(&self, user: &str, n: usize) -> Vec<PathBuf> {
        self.wait_for_mail_in(user, "INBOX", n)
    }

    /// Waits until one of the user's folders holds `n` messages (or panics after 20 s).
    pub fn wait_for_mail_in(&self, user: &str, folder: &str, n: usize) -> Vec<PathBuf> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let files = self.folder_files(user, folder);
            if files.len() >= n || Instant::now() > deadline {
                assert_eq!(files.len(), n, "{folder} of {user}");
                return files;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn start(&self) -> Server {
        let server = Server::start(&["serve", "--config", &self.config()], self.dir.path());
        let mut ports = self.ports.borrow_mut();
        for line in &server.stdout {
            // "calm: listening NAME 127.0.0.1:PORT (role ...)", "calm: admin http://ADDR/metrics ..."
            if let Some(rest) = line.strip_prefix("calm: admin http://") {
                let port = rest.split('/').next().and_then(|a| a.rsplit(':').next());
                if let Some(port) = port.and_then(|p| p.parse().ok()) {
                    ports.insert("admin".to_string(), port);
                }
                continue;
            }
            let mut words = line.split_whitespace().skip(2);
            let (name, addr) = (words.next(), words.next());
            let port = addr
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.parse().ok());
            if let (Some(name), Some(port)) = (name, port) {
                ports.insert(name.to_string(), port);
            }
        }
        server
    }

    /// The port of a listener of the running server (after `start`).
    pub fn port(&self, listener: &str) -> u16 {
        *self
            .ports
            .borrow()
            .get(listener)
            .unwrap_or_else(|| panic!("no listener {listener}"))
    }

    pub fn mx(&self) -> u16 {
        self.port("mx")
    }

    pub fn submission(&self) -> u16 {
        self.port("submission")
    }

    pub fn submissions(&self) -> u16 {
        self.port("submissions")
    }

    /// Waits until the event log has an event of this kind (the log is written by its own
    /// thread, a moment after the fact), then returns all events.
    pub fn wait_for_event(&self, kind: &str) -> Vec<serde_json::Value> {
        self.wait_for_count(kind, 1)
    }

    /// Waits (up to 10 s) until the log has at least `n` events of this kind; returns them all.
    pub fn wait_for_count(&self, kind: &str, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.events();
            let seen = events.iter().filter(|e| e["event"] == kind).count();
            if seen >= n || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to 10 s) until `done` holds for the event log; returns the events either way.
    pub fn wait_until(
        &self,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.events();
            if done(&events) || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn events(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.data().join("events.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A running calm process; killed on drop.
pub struct Server {
    pub child: Child,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Server {
    /// Starts calm and waits for its `ready` line.
    pub fn start(args: &[&str], cwd: &Path) -> Server {
        let mut child = Command::new(calm_bin())
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            out.lines()
                .map_while(Result::ok)
                .for_each(|l| drop(tx2.send((true, l))))
        });
        let err = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            err.lines()
                .map_while(Result::ok)
                .for_each(|l| drop(tx.send((false, l))))
        });
        let mut server = Server {
            child,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok((true, line)) => {
                    let ready = line.contains("calm: ready");
                    server.stdout.push(line);
                    if ready {
                        return server;
                    }
                }
                Ok((false, line)) => server.stderr.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        panic!(
                            "calm exited with {status}: {:?} {:?}",
                            server.stdout, server.stderr
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!(
            "calm did not become ready: {:?} {:?}",
            server.stdout, server.stderr
        );
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking SMTP client for tests (plaintext only).
pub struct Smtp {
    reader: BufReader<TcpStream>,
}

/// A reply: code and full text (all lines joined by `\n`).
pub type Reply = (u16, String);

impl Smtp {
    /// Connects and reads the greeting.
    pub fn connect(port: u16) -> (Smtp, Reply) {
        Self::try_connect(port).expect("connect to calm")
    }

    /// Like `connect`, but None when nothing listens (the server was killed).
    pub fn try_connect(port: u16) -> Option<(Smtp, Reply)> {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut smtp = Smtp {
            reader: BufReader::new(stream),
        };
        let greeting = smtp.read_reply();
        Some((smtp, greeting))
    }

    /// Writes raw bytes; a write error shows up as code 0 on the next read.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.reader.get_mut().write_all(bytes);
    }

    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    pub fn read_reply(&mut self) -> Reply {
        let mut text = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                return (0, text.join("\n"));
            }
            let line = line.trim_end().to_string();
            let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            let more = line.as_bytes().get(3) == Some(&b'-');
            text.push(line);
            if !more {
                return (code, text.join("\n"));
            }
        }
    }

    /// One whole transaction; Ok(queue id) on 250 after DATA.
    pub fn send_mail(&mut self, from: &str, rcpts: &[&str], body: &str) -> Result<String, Reply> {
        let r = self.cmd(&format!("MAIL FROM:<{from}>"));
        if r.0 != 250 {
            return Err(r);
        }
        for rcpt in rcpts {
            let r = self.cmd(&format!("RCPT TO:<{rcpt}>"));
            if r.0 != 250 {
                self.cmd("RSET");
                return Err(r);
            }
        }
        let r = self.cmd("DATA");
        if r.0 != 354 {
            return Err(r);
        }
        self.send_raw(body.as_bytes());
        let r = self.cmd(".");
        if r.0 != 250 {
            return Err(r);
        }
        Ok(r.1.rsplit(' ').next().unwrap_or_default().to_string())
    }
}
