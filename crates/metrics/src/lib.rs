//! # Brief overview
//!
//! `calm-metrics` serves calm's Prometheus `/metrics` and `/healthz` on the admin listener.
//! The numbers are derived from the event log itself: every line the event log writes is also
//! handed to [`Metrics::observe_line`], so the counters and the log can never disagree. The
//! queue's shape (depth, age P50/P95/max overall and for the top domains, spool disk usage)
//! comes from a periodic scan of the outbound queue ([`scan_queue`], run by [`serve`]).
//!
//! Key types: [`Metrics`] (the registry; cheap to share in an `Arc`), [`QueueSnapshot`] (one
//! scan's result), and the [`serve`] function (axum: `GET /metrics`, `GET /healthz`).
//!
//! Events counted (by their `event` field): `connect` (by role), `accepted`, `reject` (by
//! stage and 4xx/5xx), `auth_failure`, `verdict` (by stage, verdict, rule), `shadow_diff`,
//! `delivered`, `duplicate_suppressed`, `delivery_deferred`, `unroutable`, `delivery_attempt`,
//! `delivered_remote` (and, with `attempts > 1`, retry successes), `deferred` (by reply code and
//! top domain), `bounced` (by RFC 3463 class.subject). Other events are ignored.
//!
//! Labels stay low-cardinality: domains get their own label only when they are among the
//! [`TOP_DOMAINS`] by pending recipients in the last scan (else `other`), and every other label
//! value taken from a line is capped in length, character set and number of distinct values.
//!
//! Wiring, in the binary: open the event log with
//! `calm_eventlog::EventLog::open_observed(path, Box::new(move |line| m.observe_line(line)))`
//! and spawn `calm_metrics::serve(admin_listener, metrics, data_dir.join("spool/outbound"))`.
//!
//! What it deliberately does not do: read or tail the event-log file (the binary passes lines
//! in), keep per-message state, or authenticate scrapers (bind the admin listener to loopback).
//!
//! ```
//! let metrics = calm_metrics::Metrics::new();
//! metrics.observe_line(br#"{"ts":"2026-01-01T00:00:00.000Z","event":"connect","listener":"mx","role":"mx","client_ip":"192.0.2.1","tls":false}"#);
//! assert!(metrics.render().contains(r#"calm_connections_total{role="mx"} 1"#));
//! ```

mod events;
mod gauges;
mod http;
mod labels;
mod queue;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use prometheus_client::registry::Registry;

pub use http::{CONTENT_TYPE, ServeOptions, serve, serve_with};
pub use queue::{AgeStats, DomainStats, QueueSnapshot, TOP_DOMAINS, disk_usage, scan_queue};

/// calm's metrics: counters fed by event-log lines, gauges fed by queue scans.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    counters: events::Counters,
    gauges: gauges::QueueGauges,
    guard: labels::LabelGuard,
    /// The domains that have their own label, from the last queue scan.
    top_domains: RwLock<HashSet<String>>,
    /// Held while the queue gauges are replaced and while rendering, so a scrape never sees a
    /// half-updated queue.
    snapshot_lock: Mutex<()>,
}

impl Metrics {
    /// A registry with every calm metric registered and at zero.
    pub fn new() -> Arc<Metrics> {
        let counters = events::Counters::default();
        let gauges = gauges::QueueGauges::default();
        let mut registry = Registry::default();
        counters.register(&mut registry);
        gauges.register(&mut registry);
        Arc::new(Metrics {
            registry,
            counters,
            gauges,
            guard: labels::LabelGuard::default(),
            top_domains: RwLock::new(HashSet::new()),
            snapshot_lock: Mutex::new(()),
        })
    }

    /// Counts one event-log line (one JSON object, with or without its trailing newline).
    /// Called from the event log's writer thread: cheap, never panics, ignores unknown events;
    /// a line that is not a JSON object is counted in `calm_metrics_unparsed_lines_total`.
    pub fn observe_line(&self, line: &[u8]) {
        let top = |domain: &str| {
            let d = labels::plain_domain(domain)?;
            let set = self.top_domains.read().unwrap_or_else(|e| e.into_inner());
            set.contains(&d).then_some(d)
        };
        self.counters.observe(line, &self.guard, &top);
    }

    /// Replaces the queue gauges with `snapshot`, and the set of domains that have their own
    /// label in the deferral counters with its top domains.
    pub fn set_queue(&self, snapshot: QueueSnapshot) {
        let _held = self.snapshot_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.gauges.set(&snapshot);
        let top: HashSet<String> = snapshot
            .domains
            .iter()
            .map(|d| d.domain.clone())
            .filter(|d| d != labels::OTHER)
            .collect();
        *self.top_domains.write().unwrap_or_else(|e| e.into_inner()) = top;
    }

    /// The OpenMetrics text exposition of every metric (serve it with [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let _held = self.snapshot_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would leave a partial body,
        // which the scraper rejects, so there is nothing better to do with it.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests;
