//! # Brief overview
//!
//! `calm-eventlog` writes calm's structured event log: one JSON object per line, each with a
//! `ts` field (RFC 3339, UTC, milliseconds) followed by the event's own fields. It is the source
//! every report and summary reads, so it records decisions, never passwords or message bodies.
//!
//! Key type: [`EventLog`], cheap to clone, shared by every listener and worker. Writes go through
//! a channel to one writer thread, so logging never blocks a session on the disk. Lines are
//! flushed as soon as the channel is empty; the log is not fsynced (it is an audit trail, not
//! the mail itself).
//!
//! What it deliberately does not do: rotate files (use logrotate with `copytruncate`, or the
//! `reopen` signal of a later version), or aggregate anything.
//!
//! ```no_run
//! #[derive(serde::Serialize)]
//! struct Started<'a> { event: &'a str, version: &'a str }
//! let log = calm_eventlog::EventLog::open("events.jsonl".as_ref())?;
//! log.log(&Started { event: "started", version: "0.1.0" });
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::mpsc;

use serde::Serialize;

/// A handle to the event log. Clone it freely.
#[derive(Clone, Debug)]
pub struct EventLog {
    tx: mpsc::Sender<Vec<u8>>,
}

impl EventLog {
    /// Opens (appending, creating if needed) the log file and starts its writer thread.
    pub fn open(path: &Path) -> io::Result<EventLog> {
        Self::open_observed(path, Box::new(|_| {}))
    }

    /// Like [`EventLog::open`], and every line is also handed to `observer` (on the writer
    /// thread, never on a session's path): how metrics are derived from the same events.
    pub fn open_observed(path: &Path, observer: Observer) -> io::Result<EventLog> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        // Owner-only, like the spool: the log names every sender, recipient and client.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        Ok(Self::spawn(Box::new(file), observer))
    }

    /// An event log that writes to any sink (standard output, a test buffer).
    pub fn to_writer(sink: Box<dyn Write + Send>) -> EventLog {
        Self::spawn(sink, Box::new(|_| {}))
    }

    fn spawn(sink: Box<dyn Write + Send>, observer: Observer) -> EventLog {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        std::thread::Builder::new()
            .name("calm-eventlog".into())
            .spawn(move || write_loop(rx, sink, observer))
            .expect("spawning the event log thread");
        EventLog { tx }
    }

    /// Records one event. `event` must serialise to a JSON object.
    pub fn log<E: Serialize + ?Sized>(&self, event: &E) {
        if let Some(line) = render(event, &now_rfc3339()) {
            // A closed channel means the process is shutting down; nothing to do.
            let _ = self.tx.send(line);
        }
    }
}

/// Sees every line written (one JSON object and its newline).
pub type Observer = Box<dyn Fn(&[u8]) + Send>;

fn write_loop(rx: mpsc::Receiver<Vec<u8>>, sink: Box<dyn Write + Send>, observer: Observer) {
    let mut out = BufWriter::new(sink);
    while let Ok(line) = rx.recv() {
        let _ = out.write_all(&line);
        observer(&line);
        while let Ok(line) = rx.try_recv() {
            let _ = out.write_all(&line);
            observer(&line);
        }
        let _ = out.flush();
    }
}

/// `{"ts":"...",<the event's fields>}\n`, or None if the event is not a JSON object.
fn render<E: Serialize + ?Sized>(event: &E, ts: &str) -> Option<Vec<u8>> {
    let body = serde_json::to_vec(event).ok()?;
    let rest = body.strip_prefix(b"{")?;
    let mut line = Vec::with_capacity(body.len() + 40);
    line.extend_from_slice(b"{\"ts\":\"");
    line.extend_from_slice(ts.as_bytes());
    line.extend_from_slice(if rest == b"}" { b"\"" } else { b"\"," });
    line.extend_from_slice(rest);
    line.push(b'\n');
    Some(line)
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(tag = "event", rename_all = "snake_case")]
    enum Ev {
        Accepted { queue_id: String, size: u64 },
        Stopped {},
    }

    #[test]
    fn lines_start_with_timestamp_then_fields() {
        let line = render(
            &Ev::Accepted {
                queue_id: "Q1".into(),
                size: 5,
            },
            "T",
        )
        .unwrap();
        assert_eq!(
            line,
            b"{\"ts\":\"T\",\"event\":\"accepted\",\"queue_id\":\"Q1\",\"size\":5}\n"
        );
        let empty = render(&serde_json::json!({}), "T").unwrap();
        assert_eq!(empty, b"{\"ts\":\"T\"}\n");
        assert!(render(&5u32, "T").is_none());
        assert!(render(&Ev::Stopped {}, "T").is_some());
    }

    #[test]
    fn the_observer_sees_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let observer: Observer = Box::new(move |line| drop(tx.send(line.to_vec())));
        let log = EventLog::open_observed(&dir.path().join("e.jsonl"), observer).unwrap();
        log.log(&Ev::Accepted {
            queue_id: "Q7".into(),
            size: 1,
        });
        let line = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["queue_id"], "Q7");
    }

    #[test]
    fn file_gets_one_parseable_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/events.jsonl");
        let log = EventLog::open(&path).unwrap();
        for i in 0..50 {
            log.log(&Ev::Accepted {
                queue_id: format!("Q{i}"),
                size: i,
            });
        }
        drop(log);
        let mut text = String::new();
        for _ in 0..100 {
            text = std::fs::read_to_string(&path).unwrap();
            if text.lines().count() == 50 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 50);
        assert_eq!(lines[49]["queue_id"], "Q49");
        assert!(lines[0]["ts"].as_str().unwrap().ends_with('Z'));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}
