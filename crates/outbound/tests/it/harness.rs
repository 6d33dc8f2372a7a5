//! Test support: a fixed clock, an in-process DNS server, scripted SMTP receivers on
//! 127.0.0.x, and an engine over a temporary queue.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calm_dns::test_server::{TestDnsServer, Zone};
use calm_outbound::{Dsn, Engine, ManualClock, OutboundConfig, OutboundEvent, Timeouts};
use calm_queue::outbound::{Outbound, QueuedMessage};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;

/// The test epoch: messages are received at `T0`, the clock starts there.
pub const T0: u64 = 1_700_000_000;

/// What a scripted receiver does for one command.
pub enum Act {
    /// Send this reply (CRLF added to each line).
    Reply(String),
    /// Close the connection.
    Close,
    /// Never answer.
    Hang,
}

pub fn reply(s: &str) -> Act {
    Act::Reply(s.to_owned())
}

/// `(connection number from 0, command)` → what to do. The greeting is asked as `CONNECT`
/// and the end of data as `DOT`.
pub type Script = Arc<dyn Fn(usize, &str) -> Act + Send + Sync>;

/// A message a receiver accepted.
#[derive(Debug, Clone)]
pub struct Got {
    pub from: String,
    pub rcpts: Vec<String>,
    pub data: Vec<u8>,
}

/// The usual answers of a well-behaved server (with PIPELINING).
pub fn accept(_conn: usize, cmd: &str) -> Act {
    let verb = cmd
        .split([' ', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    match verb.as_str() {
        "CONNECT" => reply("220 sink.test ESMTP"),
        "EHLO" => reply("250-sink.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME"),
        "HELO" | "RSET" | "NOOP" => reply("250 ok"),
        "MAIL" => reply("250 2.1.0 ok"),
        "RCPT" => reply("250 2.1.5 ok"),
        "DATA" => reply("354 go ahead"),
        "DOT" => reply("250 2.0.0 queued"),
        "QUIT" => reply("221 2.0.0 bye"),
        _ => reply("502 5.5.2 unknown"),
    }
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub got: Arc<Mutex<Vec<Got>>>,
    pub connections: Arc<AtomicUsize>,
    pub max_parallel: Arc<AtomicUsize>,
    pub commands: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }
}

/// A receiver on `ip:port` (port 0: any) following `script`.
pub async fn receiver(ip: &str, port: u16, script: Script) -> Receiver {
    let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), port))
        .await
        .unwrap();
    let r = Receiver {
        addr: listener.local_addr().unwrap(),
        got: Arc::default(),
        connections: Arc::default(),
        max_parallel: Arc::default(),
        commands: Arc::default(),
    };
    let (got, conns, max, cmds) = (
        r.got.clone(),
        r.connections.clone(),
        r.max_parallel.clone(),
        r.commands.clone(),
    );
    let active = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let n = conns.fetch_add(1, Ordering::SeqCst);
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            let (script, got, cmds, active) =
                (script.clone(), got.clone(), cmds.clone(), active.clone());
            tokio::spawn(async move {
                let _ = serve(stream, n, &script, &got, &cmds).await;
                active.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    r
}

async fn act(stream: &mut BufReader<TcpStream>, a: Act) -> std::io::Result<bool> {
    match a {
        Act::Reply(text) => {
            let mut out = text.replace("\r\n", "\n").replace('\n', "\r\n");
            out.push_str("\r\n");
            stream.get_mut().write_all(out.as_bytes()).await?;
            Ok(true)
        }
        Act::Close => Ok(false),
        Act::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(false)
        }
    }
}

async fn serve(
    stream: TcpStream,
    n: usize,
    script: &Script,
    got: &Mutex<Vec<Got>>,
    cmds: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    if !act(&mut stream, script(n, "CONNECT")).await? {
        return Ok(());
    }
    let mut current = Got {
        from: String::new(),
        rcpts: vec![],
        data: vec![],
    };
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        cmds.lock().unwrap().push(cmd.clone());
        let upper = cmd.to_ascii_uppercase();
        // RFC 2920 §3.1: DATA after every RCPT failed is refused, as real servers do.
        let a = if upper == "DATA" && current.rcpts.is_empty() {
            reply("554 5.5.1 no valid recipients")
        } else {
            script(n, &cmd)
        };
        let positive = matches!(&a, Act::Reply(t) if t.starts_with('2') || t.starts_with('3'));
        if upper.starts_with("MAIL FROM:") && positive {
            current = Got {
                from: strip(&cmd[10..]),
                rcpts: vec![],
                data: vec![],
            };
        } else if upper.starts_with("RCPT TO:") && positive {
            current.rcpts.push(strip(&cmd[8..]));
        }
        let quit = upper == "QUIT";
        if !act(&mut stream, a).await? || quit {
            return Ok(());
        }
        if upper == "DATA" && positive {
            current.data = read_data(&mut stream).await?;
            let a = script(n, "DOT");
            if matches!(&a, Act::Reply(t) if t.starts_with('2')) {
                got.lock().unwrap().push(current.clone());
            }
            if !act(&mut stream, a).await? {
                return Ok(());
            }
        }
    }
}

fn strip(path: &str) -> String {
    let path = path.trim();
    let end = path.find('>').unwrap_or(path.len());
    path.get(1..end).unwrap_or("").to_owned()
}

/// Reads to `.` and undoes dot-stuffing (RFC 5321 §4.5.2).
async fn read_data(stream: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return Ok(data);
        }
        if line == b".\r\n" {
            return Ok(data);
        }
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}

/// The engine under test and everything around it.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
    pub events: Arc<Mutex<Vec<OutboundEvent>>>,
    pub dsns: UnboundedReceiver<Dsn>,
    pub queue: Outbound,
    pub _dns: TestDnsServer,
}

/// The test zone: `example.test` has MX 10 → 127.0.0.2; more via `extra`.
pub fn zone() -> Zone {
    Zone::new("test")
        .mx("example.test", 10, "mx1.example.test")
        .a("mx1.example.test", "127.0.0.2".parse().unwrap())
        .mx("null.test", 0, ".")
}

/// Fast timeouts so failure tests finish quickly.
pub fn quick_timeouts() -> Timeouts {
    let s = Duration::from_millis(500);
    Timeouts {
        connect: s,
        greeting: s,
        mail: s,
        rcpt: s,
        data_init: s,
        data_block: s,
        data_end: s,
    }
}

pub async fn setup(zone: Zone, port: u16, tweak: impl FnOnce(&mut OutboundConfig)) -> Setup {
    let dns = TestDnsServer::start(vec![zone]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = OutboundConfig::new("calm.test");
    config.resolver = dns.settings();
    config.port = port;
    config.timeouts = quick_timeouts();
    tweak(&mut config);
    let clock = Arc::new(ManualClock::new(T0));
    let events: Arc<Mutex<Vec<OutboundEvent>>> = Arc::default();
    let sink = events.clone();
    let (tx, dsns) = tokio::sync::mpsc::unbounded_channel();
    let qdir = dir.path().join("outbound");
    let engine = Engine::new(
        config,
        &qdir,
        clock.clone(),
        Arc::new(move |e| sink.lock().unwrap().push(e)),
        Arc::new(tx),
    )
    .unwrap();
    let queue = Outbound::open(&qdir).unwrap();
    Setup {
        dir,
        clock,
        engine,
        events,
        dsns,
        queue,
        _dns: dns,
    }
}

impl Setup {
    pub fn enqueue(&self, id: &str, from: &str, rcpts: &[&str], body: &[u8]) {
        let message = QueuedMessage {
            id: id.into(),
            mail_from: from.into(),
            rcpt_to: rcpts.iter().map(|r| r.to_string()).collect(),
            failed: vec![],
            received_at: T0,
            size: body.len() as u64,
        };
        self.queue.write_batch(&[(message, body)]).unwrap();
    }

    pub fn events(&self) -> Vec<OutboundEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn count(&self, kind: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| serde_json::to_value(e).unwrap()["event"] == kind)
            .count()
    }

    pub fn ids(&self) -> Vec<String> {
        let mut ids = self.queue.ids().unwrap();
        ids.sort();
        ids
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

pub const BODY: &[u8] = b"From: a@sender.test\r\nTo: b@example.test\r\nSubject: hello there\r\n\r\n.leading dot\r\nbody\r\n";

/// A second engine over the queue of `s` (a restart), with its own clock at `T0`.
pub async fn setup_over(s: &Setup, port: u16) -> Setup {
    let mut fresh = setup(zone(), port, |_| {}).await;
    let qdir = s.dir.path().join("outbound");
    let mut config = OutboundConfig::new("calm.test");
    config.resolver = fresh._dns.settings();
    config.port = port;
    config.timeouts = quick_timeouts();
    let sink = fresh.events.clone();
    let (tx, dsns) = tokio::sync::mpsc::unbounded_channel();
    fresh.engine = Engine::new(
        config,
        &qdir,
        fresh.clock.clone(),
        Arc::new(move |e| sink.lock().unwrap().push(e)),
        Arc::new(tx),
    )
    .unwrap();
    fresh.dsns = dsns;
    fresh.queue = Outbound::open(&qdir).unwrap();
    fresh
}

/// `s` with its engine rebuilt around another DSN sink.
pub async fn setup_with_sink(
    mut s: Setup,
    port: u16,
    sink: Arc<dyn calm_outbound::DsnSink>,
) -> Setup {
    let qdir = s.dir.path().join("outbound");
    let mut config = OutboundConfig::new("calm.test");
    config.resolver = s._dns.settings();
    config.port = port;
    config.timeouts = quick_timeouts();
    let events = s.events.clone();
    s.engine = Engine::new(
        config,
        &qdir,
        s.clock.clone(),
        Arc::new(move |e| events.lock().unwrap().push(e)),
        sink,
    )
    .unwrap();
    s
}
