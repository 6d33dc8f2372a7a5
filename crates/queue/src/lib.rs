//! # Brief overview
//!
//! `calm-queue` is where an accepted message lives from the moment calm says `250` until it is in a
//! mailbox or handed to the outbound queue. It keeps calm's central promise: **a message that got
//! 250 is durable and is delivered exactly once**, across crashes.
//!
//! Key types:
//! - [`Spool`]: [`Spool::enqueue`] appends the envelope and message to the journal and returns only
//!   after they are fsynced. Sessions finishing DATA at about the same time share one fsync (group
//!   commit); each still gets its reply only after the flush that covers its message.
//! - [`Router`] and [`Route`]: how the binary tells the spool where each recipient goes (a local
//!   Maildir, the outbound queue, or nowhere, with a reason).
//! - [`QueueEvent`]: what the spool reports (deliveries, suppressed duplicates, remote hand-offs).
//! - [`outbound`]: the outbound queue files for non-local recipients and their listing.
//!
//! How it works: a writer thread owns the journal ([`journal`] module: append-only segment files of
//! checksummed records). After each flush it passes the committed messages to a delivery thread,
//! which writes them into Maildirs in batches (see `calm-maildir`) and into the outbound queue, then
//! appends a `done` record. On start-up [`Spool::open`] replays the journal and redelivers every
//! message without a `done` record; Maildir names derived from the queue id make that redelivery
//! find its own earlier copy instead of writing a second one.
//!
//! What it deliberately does not do: SMTP, policy, or outbound delivery attempts (the outbound
//! queue files wait for the outbound transport).
//!
//! ```no_run
//! # async fn f(router: std::sync::Arc<dyn calm_queue::Router>) -> Result<(), calm_queue::SpoolError> {
//! use calm_queue::{Envelope, Spool, SpoolConfig};
//! let config = SpoolConfig { dir: "calm-data/spool".into(), hostname: "mx.example.test".into(), max_batch: 256 };
//! let spool = Spool::open(config, router, std::sync::Arc::new(|_event| {}))?;
//! let envelope = Envelope::new("Q1".into(), "a@example.org".into(), vec!["bob@example.test".into()]);
//! spool.enqueue(envelope, b"Subject: hi\r\n\r\nhello\r\n".to_vec()).await?; // durable now
//! # Ok(()) }
//! ```

mod delivery;
mod journal;
pub mod outbound;

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// How many journal batches' worth of messages one delivery batch may take.
const DELIVERY_BATCH_FACTOR: usize = 16;

/// The envelope of an accepted message, as recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Queue id (filesystem-safe, unique).
    pub id: String,
    /// Reverse path; empty for the null sender `<>`.
    pub mail_from: String,
    /// Forward paths as given in RCPT TO.
    pub rcpt_to: Vec<String>,
    /// Unix time of acceptance.
    pub received_at: u64,
    /// The mailbox local copies go to instead of INBOX (a policy `tag` rule's `folder`, e.g.
    /// `Junk`); absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

impl Envelope {
    /// An envelope received now.
    pub fn new(id: String, mail_from: String, rcpt_to: Vec<String>) -> Envelope {
        Envelope {
            id,
            mail_from,
            rcpt_to,
            received_at: unix_now(),
            folder: None,
        }
    }
}

/// Where one recipient's copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Into the Maildir at `dir`, for the local user `user`.
    Mailbox {
        /// Canonical user address (used for `Delivered-To:` and the file name).
        user: String,
        /// The Maildir root.
        dir: PathBuf,
    },
    /// To the outbound queue, for a remote address.
    Remote(String),
    /// Nowhere: the recipient no longer exists. The reason is logged and the copy kept in the
    /// outbound queue as failed, so nothing is silently dropped.
    Unroutable {
        /// Why.
        reason: String,
    },
}

/// Resolves recipients at delivery time. Implemented by the binary over its user directory.
pub trait Router: Send + Sync {
    /// The routes of one envelope recipient (aliases may give several).
    fn route(&self, rcpt: &str) -> Vec<Route>;

    /// The routes of one recipient of this envelope: by default [`Router::route`]; a router
    /// that knows folders puts local copies into `envelope.folder`.
    fn route_envelope(&self, rcpt: &str, envelope: &Envelope) -> Vec<Route> {
        let _ = envelope;
        self.route(rcpt)
    }
}

/// What the spool reports, for the event log.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum QueueEvent {
    /// A copy is durable in a local Maildir.
    Delivered {
        /// Queue id.
        queue_id: String,
        /// Envelope recipient.
        rcpt: String,
        /// Mailbox owner.
        user: String,
        /// The file written.
        path: String,
    },
    /// A redelivery after restart found the earlier copy; nothing was written.
    DuplicateSuppressed {
        /// Queue id.
        queue_id: String,
        /// Mailbox owner.
        user: String,
    },
    /// A copy is durable in the outbound queue.
    QueuedRemote {
        /// Queue id.
        queue_id: String,
        /// Remote recipient.
        rcpt: String,
    },
    /// A recipient could not be routed; the copy is kept in the outbound queue as failed.
    Unroutable {
        /// Queue id.
        queue_id: String,
        /// Envelope recipient.
        rcpt: String,
        /// Why.
        reason: String,
    },
    /// A delivery failed for a local reason and will be retried.
    DeliveryDeferred {
        /// Queue id.
        queue_id: String,
        /// The error.
        reason: String,
        /// Seconds until the next try.
        retry_in_secs: u64,
    },
    /// Start-up found accepted messages that were not finished.
    Recovered {
        /// How many.
        messages: usize,
        /// Bytes of unacknowledged torn records cut from the journal.
        truncated_bytes: u64,
    },
}

/// Receives [`QueueEvent`]s.
pub type EventSink = Arc<dyn Fn(QueueEvent) + Send + Sync>;

/// Settings of the spool.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    /// The spool directory (journal in `journal/`, outbound queue in `outbound/`).
    pub dir: PathBuf,
    /// This host's name, for Maildir file names.
    pub hostname: String,
    /// Most messages committed by one fsync.
    pub max_batch: usize,
}

/// Why a message could not be accepted. Always a temporary (4xx) condition for the client.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The disk is full (or a quota was hit).
    #[error("no space left in the spool: {0}")]
    NoSpace(io::Error),
    /// Any other local I/O failure.
    #[error("spool write failed: {0}")]
    Io(io::Error),
    /// The spool's writer has stopped (shutdown in progress).
    #[error("the spool is shutting down")]
    Closed,
}

impl SpoolError {
    /// Classifies `e` (ENOSPC and EDQUOT are "no space") for each of several waiting clients.
    fn copy_of(e: &io::Error) -> SpoolError {
        let copy = io::Error::new(e.kind(), e.to_string());
        if matches!(e.raw_os_error(), Some(28) | Some(122)) {
            SpoolError::NoSpace(copy)
        } else {
            SpoolError::Io(copy)
        }
    }
}

/// A request to the journal writer.
pub(crate) enum WriteRequest {
    Append {
        envelope: Envelope,
        data: Arc<[u8]>,
        reply: oneshot::Sender<Result<(), SpoolError>>,
    },
    Done {
        id: String,
    },
}

/// The durable ingress spool. Cheap to clone.
#[derive(Clone)]
pub struct Spool {
    writer: mpsc::Sender<WriteRequest>,
}

impl Spool {
    /// Opens the spool, replays its journal, and starts the writer and delivery threads.
    /// Messages found unfinished are redelivered before new ones.
    pub fn open(
        config: SpoolConfig,
        router: Arc<dyn Router>,
        events: EventSink,
    ) -> Result<Spool, SpoolError> {
        let recovered = journal::recover(&config.dir.join("journal")).map_err(SpoolError::Io)?;
        let outbound =
            outbound::Outbound::open(&config.dir.join("outbound")).map_err(SpoolError::Io)?;
        let (writer_tx, writer_rx) = mpsc::channel();
        let (deliver_tx, deliver_rx) = mpsc::channel();
        if !recovered.pending.is_empty() || recovered.truncated_bytes > 0 {
            events(QueueEvent::Recovered {
                messages: recovered.pending.len(),
                truncated_bytes: recovered.truncated_bytes,
            });
        }
        for (envelope, body) in recovered.pending {
            let _ = deliver_tx.send(delivery::Job {
                envelope,
                data: body.into(),
                redelivery: true,
            });
        }
        let mut segments = recovered.segments;
        segments.finish(&[]);
        let max_batch = config.max_batch.max(1);
        spawn("calm-spool-writer", move || {
            writer_loop(writer_rx, segments, deliver_tx, max_batch)
        })?;
        let deliverer =
            delivery::Deliverer::new(config.hostname, router, outbound, events, writer_tx.clone());
        // A delivery batch may be larger than a journal batch: each costs two syncfs calls, so
        // everything accepted while one runs should ride on the next.
        let delivery_batch = max_batch * DELIVERY_BATCH_FACTOR;
        spawn("calm-delivery", move || {
            deliverer.run(deliver_rx, delivery_batch)
        })?;
        Ok(Spool { writer: writer_tx })
    }

    /// Makes the message durable; returns once its journal record is fsynced.
    pub async fn enqueue(&self, envelope: Envelope, data: Vec<u8>) -> Result<(), SpoolError> {
        let (reply, rx) = oneshot::channel();
        let request = WriteRequest::Append {
            envelope,
            data: data.into(),
            reply,
        };
        self.writer.send(request).map_err(|_| SpoolError::Closed)?;
        rx.await.map_err(|_| SpoolError::Closed)?
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), SpoolError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(|_| ())
        .map_err(SpoolError::Io)
}

/// The journal writer: batches whatever requests are waiting into one write and one fsync.
fn writer_loop(
    rx: mpsc::Receiver<WriteRequest>,
    mut segments: journal::Segments,
    deliver: mpsc::Sender<delivery::Job>,
    max_batch: usize,
) {
    let mut buf = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        buf.clear();
        let mut done = Vec::new();
        for request in &batch {
            match request {
                WriteRequest::Append { envelope, data, .. } => {
                    journal::encode_message(&mut buf, envelope, data)
                }
                WriteRequest::Done { id } => {
                    journal::encode_done(&mut buf, id);
                    done.push(id.clone());
                }
            }
        }
        let appended = batch.iter().filter_map(|r| match r {
            WriteRequest::Append { envelope, .. } => Some(envelope.id.clone()),
            WriteRequest::Done { .. } => None,
        });
        let result = segments.append_durable(&buf, appended);
        if result.is_ok() {
            segments.finish(&done);
        }
        answer(batch, &result, &deliver);
    }
}

/// Replies to every append of a flushed batch and hands committed messages to delivery.
fn answer(
    batch: Vec<WriteRequest>,
    result: &io::Result<()>,
    deliver: &mpsc::Sender<delivery::Job>,
) {
    for request in batch {
        let WriteRequest::Append {
            envelope,
            data,
            reply,
        } = request
        else {
            continue;
        };
        match result {
            Ok(()) => {
                let _ = deliver.send(delivery::Job {
                    envelope,
                    data,
                    redelivery: false,
                });
                let _ = reply.send(Ok(()));
            }
            Err(e) => {
                let _ = reply.send(Err(SpoolError::copy_of(e)));
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
