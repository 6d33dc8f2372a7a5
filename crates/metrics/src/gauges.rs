//! Gauges set from a [`QueueSnapshot`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::queue::{AgeStats, QueueSnapshot};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuantileLabels {
    quantile: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainLabels {
    domain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainQuantileLabels {
    domain: String,
    quantile: &'static str,
}

/// The queue-shape gauges.
#[derive(Debug, Default)]
pub(crate) struct QueueGauges {
    messages: Gauge,
    pending: Gauge,
    held: Gauge,
    unreadable: Gauge,
    age: Family<QuantileLabels, Gauge>,
    domain_pending: Family<DomainLabels, Gauge>,
    domain_age: Family<DomainQuantileLabels, Gauge>,
    spool_bytes: Gauge,
    scans: Counter,
}

/// The quantile label values and their ages; quantile `1` is the maximum.
fn quantiles(a: &AgeStats) -> [(&'static str, u64); 3] {
    [("0.5", a.p50), ("0.95", a.p95), ("1", a.max)]
}

/// Gauges are i64; a u64 beyond that range saturates instead of wrapping negative.
fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl QueueGauges {
    pub(crate) fn register(&self, r: &mut Registry) {
        r.register(
            "calm_queue_messages",
            "Messages in the outbound queue",
            self.messages.clone(),
        );
        r.register(
            "calm_queue_pending_recipients",
            "Recipients in the outbound queue still to deliver",
            self.pending.clone(),
        );
        r.register(
            "calm_queue_held_messages",
            "Messages held by the operator",
            self.held.clone(),
        );
        r.register(
            "calm_queue_unreadable_files",
            "Outbound queue files that could not be read",
            self.unreadable.clone(),
        );
        r.register_with_unit(
            "calm_queue_age",
            "Age of queued messages with pending recipients (quantile 1 = oldest)",
            Unit::Seconds,
            self.age.clone(),
        );
        r.register(
            "calm_queue_domain_pending_recipients",
            "Pending recipients for the top domains (the rest as other)",
            self.domain_pending.clone(),
        );
        r.register_with_unit(
            "calm_queue_domain_age",
            "Age of pending recipients' messages for the top domains (quantile 1 = oldest)",
            Unit::Seconds,
            self.domain_age.clone(),
        );
        r.register_with_unit(
            "calm_spool_disk_usage",
            "Bytes of the files under the spool directory",
            Unit::Bytes,
            self.spool_bytes.clone(),
        );
        r.register(
            "calm_queue_scans",
            "Queue scans completed since start",
            self.scans.clone(),
        );
    }

    /// Replaces every queue gauge with `s`; domains absent from `s` disappear.
    pub(crate) fn set(&self, s: &QueueSnapshot) {
        self.messages.set(clamp(s.messages));
        self.pending.set(clamp(s.pending_recipients));
        self.held.set(clamp(s.held));
        self.unreadable.set(clamp(s.unreadable));
        self.spool_bytes.set(clamp(s.spool_bytes));
        for (quantile, age) in quantiles(&s.age) {
            self.age
                .get_or_create(&QuantileLabels { quantile })
                .set(clamp(age));
        }
        self.domain_pending.clear();
        self.domain_age.clear();
        for d in &s.domains {
            let domain = d.domain.clone();
            self.domain_pending
                .get_or_create(&DomainLabels {
                    domain: domain.clone(),
                })
                .set(clamp(d.pending));
            for (quantile, age) in quantiles(&d.age) {
                let labels = DomainQuantileLabels {
                    domain: domain.clone(),
                    quantile,
                };
                self.domain_age.get_or_create(&labels).set(clamp(age));
            }
        }
        self.scans.inc();
    }
}
