//! Counting event-log lines: each known `event` name bumps its counters; anything else is
//! ignored. Field names follow the event enums of the crates that write them (see lib.rs).

use std::borrow::Cow;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Deserialize;

use crate::labels::{self, LabelGuard, OTHER};

/// The fields any counted event may carry. Unknown fields are ignored; a known field with the
/// wrong type makes the whole line unparsed (counted, never a panic).
#[derive(Debug, Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stage: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    verdict: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    rule: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    domain: Option<Cow<'a, str>>,
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    class: Option<u8>,
    #[serde(default)]
    subject: Option<u16>,
    #[serde(default)]
    attempts: Option<u32>,
    #[serde(default)]
    size: Option<u64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabels {
    role: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    stage: String,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    stage: String,
    verdict: String,
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeferLabels {
    code: String,
    domain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BounceLabels {
    class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
}

/// Every counter derived from the event log.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    connections: Family<RoleLabels, Counter>,
    accepted: Counter,
    accepted_bytes: Counter,
    rejects: Family<RejectLabels, Counter>,
    auth_failures: Counter,
    verdicts: Family<VerdictLabels, Counter>,
    shadow_diffs: Family<StageLabels, Counter>,
    local_deliveries: Counter,
    duplicates: Counter,
    local_deferrals: Counter,
    unroutable: Counter,
    outbound_attempts: Counter,
    remote_deliveries: Counter,
    retry_successes: Counter,
    deferrals: Family<DeferLabels, Counter>,
    bounces: Family<BounceLabels, Counter>,
    unparsed: Counter,
}

impl Counters {
    /// Registers every counter (the encoder appends `_total`).
    pub(crate) fn register(&self, r: &mut Registry) {
        let plain: [(&str, &str, &Counter); 11] = [
            (
                "calm_messages_accepted",
                "Messages accepted (250 after DATA)",
                &self.accepted,
            ),
            (
                "calm_messages_accepted_bytes",
                "Octets of accepted messages",
                &self.accepted_bytes,
            ),
            (
                "calm_auth_failures",
                "Refused credentials (SMTP, POP3, IMAP)",
                &self.auth_failures,
            ),
            (
                "calm_local_deliveries",
                "Copies written to local mailboxes",
                &self.local_deliveries,
            ),
            (
                "calm_duplicates_suppressed",
                "Redeliveries that found their earlier copy",
                &self.duplicates,
            ),
            (
                "calm_local_deferrals",
                "Local deliveries deferred for a local reason",
                &self.local_deferrals,
            ),
            (
                "calm_unroutable_recipients",
                "Recipients that could not be routed",
                &self.unroutable,
            ),
            (
                "calm_outbound_attempts",
                "Outbound connection attempts",
                &self.outbound_attempts,
            ),
            (
                "calm_remote_deliveries",
                "Recipients accepted by a remote server",
                &self.remote_deliveries,
            ),
            (
                "calm_retry_successes",
                "Remote deliveries that succeeded after at least one deferral",
                &self.retry_successes,
            ),
            (
                "calm_metrics_unparsed_lines",
                "Event-log lines that were not a JSON event",
                &self.unparsed,
            ),
        ];
        for (name, help, counter) in plain {
            r.register(name, help, counter.clone());
        }
        self.register_families(r);
    }

    fn register_families(&self, r: &mut Registry) {
        let connections = self.connections.clone();
        r.register(
            "calm_connections",
            "Connections accepted, by listener role",
            connections,
        );
        let rejects = self.rejects.clone();
        r.register(
            "calm_smtp_rejects",
            "SMTP 4xx/5xx replies, by command stage and code class",
            rejects,
        );
        let verdicts = self.verdicts.clone();
        r.register(
            "calm_policy_verdicts",
            "Policy decisions, by stage, verdict and deciding rule",
            verdicts,
        );
        let diffs = self.shadow_diffs.clone();
        r.register(
            "calm_policy_shadow_diffs",
            "Decisions where the shadow policy differed, by stage",
            diffs,
        );
        let deferrals = self.deferrals.clone();
        r.register(
            "calm_outbound_deferrals",
            "Temporary outbound failures, by reply code and top domain",
            deferrals,
        );
        let bounces = self.bounces.clone();
        r.register(
            "calm_outbound_bounces",
            "Permanent outbound failures, by RFC 3463 class.subject",
            bounces,
        );
    }

    /// Counts one event-log line. `is_top_domain` says whether a domain has its own label.
    pub(crate) fn observe(
        &self,
        line: &[u8],
        guard: &LabelGuard,
        is_top_domain: &dyn Fn(&str) -> Option<String>,
    ) {
        let Ok(ev) = serde_json::from_slice::<Line<'_>>(line.trim_ascii()) else {
            self.unparsed.inc();
            return;
        };
        if !self.observe_inbound(&ev, guard) {
            self.observe_delivery(&ev, is_top_domain);
        }
    }

    /// SMTP, POP3, IMAP and policy events; false if `ev` is none of them.
    fn observe_inbound(&self, ev: &Line<'_>, guard: &LabelGuard) -> bool {
        let text = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or(OTHER).to_string();
        match &*ev.event {
            "connect" => {
                let role = labels::role(ev.role.as_deref().unwrap_or(OTHER));
                self.connections.get_or_create(&RoleLabels { role }).inc();
            }
            "accepted" => {
                self.accepted.inc();
                self.accepted_bytes.inc_by(ev.size.unwrap_or(0));
            }
            "reject" => {
                let labels = RejectLabels {
                    stage: guard.admit("reject_stage", &text(&ev.stage).to_ascii_uppercase()),
                    class: labels::code_class(ev.code),
                };
                self.rejects.get_or_create(&labels).inc();
            }
            "auth_failure" => {
                self.auth_failures.inc();
            }
            "verdict" => {
                let labels = VerdictLabels {
                    stage: guard.admit("verdict_stage", &text(&ev.stage)),
                    verdict: guard.admit("verdict", &text(&ev.verdict)),
                    rule: guard.admit("rule", &text(&ev.rule)),
                };
                self.verdicts.get_or_create(&labels).inc();
            }
            "shadow_diff" => {
                let stage = guard.admit("verdict_stage", &text(&ev.stage));
                self.shadow_diffs
                    .get_or_create(&StageLabels { stage })
                    .inc();
            }
            _ => return false,
        }
        true
    }

    /// Spool and outbound events; anything else is ignored.
    fn observe_delivery(&self, ev: &Line<'_>, is_top_domain: &dyn Fn(&str) -> Option<String>) {
        let counter = match &*ev.event {
            "delivered" => &self.local_deliveries,
            "duplicate_suppressed" => &self.duplicates,
            "delivery_deferred" => &self.local_deferrals,
            "unroutable" => &self.unroutable,
            "delivery_attempt" => &self.outbound_attempts,
            "delivered_remote" => {
                // `attempts` includes this one, so more than one means an earlier deferral.
                if ev.attempts.is_some_and(|a| a > 1) {
                    self.retry_successes.inc();
                }
                &self.remote_deliveries
            }
            "deferred" => {
                let domain = ev.domain.as_deref().and_then(is_top_domain);
                let labels = DeferLabels {
                    code: labels::reply_code(ev.code),
                    domain: domain.unwrap_or_else(|| OTHER.to_string()),
                };
                self.deferrals.get_or_create(&labels).inc();
                return;
            }
            "bounced" => {
                let class = labels::status_class(ev.class, ev.subject);
                self.bounces.get_or_create(&BounceLabels { class }).inc();
                return;
            }
            _ => return,
        };
        counter.inc();
    }
}
