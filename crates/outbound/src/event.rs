//! [`OutboundEvent`]: what the engine reports, for the event log.
//!
//! The operator's numbers are computed from these lines: deferred reasons by reply code and
//! domain (`deferred`), bounce classes (`bounced`, RFC 3463 class and subject), retry success
//! after a first deferral (`delivered_remote` with `attempts > 1`).

use std::sync::Arc;

use serde::Serialize;

/// One thing that happened in outbound delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OutboundEvent {
    /// A connection attempt to one host for some messages.
    DeliveryAttempt {
        /// The destination (a domain, or a route's nexthop).
        destination: String,
        /// The host name.
        host: String,
        /// The address connected to.
        ip: String,
        /// How many messages wait for this destination in this batch.
        messages: usize,
    },
    /// A remote server accepted a recipient.
    DeliveredRemote {
        /// Queue id.
        queue_id: String,
        /// The recipient.
        rcpt: String,
        /// The recipient's domain.
        domain: String,
        /// The host that accepted.
        host: String,
        /// Its reply to the end of data.
        reply: String,
        /// Attempts including this one.
        attempts: u32,
        /// Seconds from acceptance to delivery.
        delay_secs: u64,
    },
    /// A recipient failed temporarily and will be retried.
    Deferred {
        /// Queue id.
        queue_id: String,
        /// The recipient.
        rcpt: String,
        /// The recipient's domain.
        domain: String,
        /// The remote reply code, if a server answered.
        code: Option<u16>,
        /// RFC 3463 status.
        status: String,
        /// The reply or local reason.
        reason: String,
        /// Attempts so far.
        attempts: u32,
        /// Seconds until the next attempt.
        retry_in_secs: u64,
    },
    /// A recipient failed permanently.
    Bounced {
        /// Queue id.
        queue_id: String,
        /// The recipient.
        rcpt: String,
        /// The recipient's domain.
        domain: String,
        /// The remote reply code, if a server answered.
        code: Option<u16>,
        /// RFC 3463 status, e.g. `5.1.1`.
        status: String,
        /// RFC 3463 class (4 when the lifetime ran out, 5 otherwise).
        class: u8,
        /// RFC 3463 subject (1 address, 2 mailbox, 3 system, 4 network, 5 protocol, 6 content,
        /// 7 policy).
        subject: u16,
        /// The reply or local reason.
        reason: String,
        /// Whether a DSN goes to the sender (never for the null sender).
        dsn: bool,
    },
    /// A DSN was handed to the spool.
    DsnQueued {
        /// Queue id of the original message.
        queue_id: String,
        /// `failure` or `delay`.
        kind: &'static str,
        /// The original sender, who receives it.
        to: String,
        /// How many recipients it reports.
        recipients: usize,
    },
    /// The DSN could not be handed over; it is tried again on the next pass.
    DsnFailed {
        /// Queue id of the original message.
        queue_id: String,
        /// Why.
        reason: String,
    },
    /// An operator changed a queued message.
    QueueOperation {
        /// `hold`, `release`, `retry`, `delete` or `bounce`.
        operation: &'static str,
        /// Queue id.
        queue_id: String,
        /// The reason given, if any.
        reason: Option<String>,
    },
    /// A queue file could not be read or written.
    QueueError {
        /// Queue id, when known.
        queue_id: Option<String>,
        /// The error.
        error: String,
    },
}

/// Receives [`OutboundEvent`]s (the binary writes them to the event log).
pub type EventSink = Arc<dyn Fn(OutboundEvent) + Send + Sync>;

/// The domain of an address (after the last `@`), lowercase.
pub(crate) fn domain_of(rcpt: &str) -> String {
    rcpt.rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}
