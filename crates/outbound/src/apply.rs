//! Applying delivery outcomes to the queue: per-recipient state, retry times, bounces and
//! DSNs, and removal of finished messages.

use calm_queue::outbound::{QueueEntry, RecipientState, RecipientStatus};

use crate::deliver::{Outcome, Verdict};
use crate::dsn::{DsnInput, DsnKind, DsnRecipient, build_dsn};
use crate::engine::Engine;
use crate::event::{OutboundEvent, domain_of};

impl Engine {
    /// Records `outcomes` for message `id`, then settles it (DSNs, removal). Outcomes for a
    /// message that is gone (deleted by the operator meanwhile) are dropped.
    pub(crate) async fn apply(&self, id: &str, outcomes: Vec<Outcome>) {
        let _serial = self.inner.apply_lock.lock().await;
        let mut entry = match self.inner.queue.entry(id) {
            Ok(entry) => entry,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return self.forget(id),
            Err(e) => return self.queue_error(Some(id), &e),
        };
        let now = self.inner.clock.now();
        let mut bounced = false;
        for outcome in &outcomes {
            bounced |= self.record(&mut entry, outcome, now);
        }
        // Bounced recipients are written before their DSN is made: a crash in between sends
        // the DSN after restart instead of trying the recipient again.
        if bounced && !self.save(&entry) {
            return;
        }
        self.settle(entry, now).await;
    }

    /// Updates one recipient; true when it failed permanently.
    fn record(&self, entry: &mut QueueEntry, outcome: &Outcome, now: u64) -> bool {
        let received_at = entry.message.received_at;
        let Some(r) = entry
            .state
            .recipients
            .iter_mut()
            .find(|r| r.rcpt == outcome.rcpt && r.status == RecipientStatus::Pending)
        else {
            return false;
        };
        let a = &outcome.answer;
        r.attempts += 1;
        r.last_attempt = Some(now);
        r.last_reply = Some(a.text.clone());
        r.status_code = Some(a.status.clone());
        r.remote_host = a.host.clone();
        match a.verdict {
            Verdict::Delivered => {
                r.status = RecipientStatus::Delivered;
                let event = OutboundEvent::DeliveredRemote {
                    queue_id: outcome.id.clone(),
                    rcpt: r.rcpt.clone(),
                    domain: domain_of(&r.rcpt),
                    host: a.host.clone().unwrap_or_default(),
                    reply: a.text.clone(),
                    attempts: r.attempts,
                    delay_secs: now.saturating_sub(received_at),
                };
                (self.inner.events)(event);
                false
            }
            // RFC 5321 §4.2.1: a 5yz reply is never retried.
            Verdict::Permanent => {
                self.fail(&entry.message.mail_from, &outcome.id, r, a.code);
                true
            }
            Verdict::Transient => match self.inner.retry.next_attempt(received_at, r.attempts, now)
            {
                Some(next) => {
                    r.next_attempt = next;
                    let event = OutboundEvent::Deferred {
                        queue_id: outcome.id.clone(),
                        rcpt: r.rcpt.clone(),
                        domain: domain_of(&r.rcpt),
                        code: a.code,
                        status: a.status.clone(),
                        reason: a.text.clone(),
                        attempts: r.attempts,
                        retry_in_secs: next.saturating_sub(now),
                    };
                    (self.inner.events)(event);
                    false
                }
                // The lifetime is over: the transient failure becomes a bounce, with its own
                // (4.x.x) status, as RFC 3464 §2.3.3 allows for `Action: failed`.
                None => {
                    self.fail(&entry.message.mail_from, &outcome.id, r, a.code);
                    true
                }
            },
        }
    }

    fn fail(&self, sender: &str, id: &str, r: &mut RecipientState, code: Option<u16>) {
        r.status = RecipientStatus::Failed;
        // Never a bounce to the null sender (RFC 5321 §4.5.5): nothing is owed.
        r.dsn_done = sender.is_empty();
        let status = r.status_code.clone().unwrap_or_else(|| "5.0.0".into());
        let (class, subject) = class_and_subject(&status);
        (self.inner.events)(OutboundEvent::Bounced {
            queue_id: id.to_owned(),
            rcpt: r.rcpt.clone(),
            domain: domain_of(&r.rcpt),
            code,
            status,
            class,
            subject,
            reason: r.last_reply.clone().unwrap_or_default(),
            dsn: !sender.is_empty(),
        });
    }

    /// Sends owed DSNs and the delay warning, then removes the message or saves its state.
    pub(crate) async fn settle(&self, mut entry: QueueEntry, now: u64) {
        let owed: Vec<usize> = (0..entry.state.recipients.len())
            .filter(|&i| {
                entry
                    .state
                    .recipients
                    .get(i)
                    .is_some_and(|r| r.status == RecipientStatus::Failed && !r.dsn_done)
            })
            .collect();
        let handed_over = entry.message.mail_from.is_empty()
            || owed.is_empty()
            || self.send_dsn(&entry, &owed, DsnKind::Failure, now).await;
        if handed_over {
            for i in &owed {
                if let Some(r) = entry.state.recipients.get_mut(*i) {
                    r.dsn_done = true;
                    // Recipients the spool could not route were never attempted here; count
                    // their bounce now so the bounce classes stay complete.
                    if r.attempts == 0 {
                        let (sender, id) =
                            (entry.message.mail_from.clone(), entry.message.id.clone());
                        self.report_unrouted(&sender, &id, r);
                    }
                }
            }
        }
        self.maybe_warn(&mut entry, now).await;
        if entry.is_finished() {
            match self.inner.queue.remove(entry.id()) {
                Ok(()) => self.forget(entry.id()),
                Err(e) => self.queue_error(Some(entry.id()), &e),
            }
        } else if self.save(&entry) {
            self.remember(&entry);
        }
    }

    fn report_unrouted(&self, sender: &str, id: &str, r: &RecipientState) {
        let status = r.status_code.clone().unwrap_or_else(|| "5.1.1".into());
        let (class, subject) = class_and_subject(&status);
        (self.inner.events)(OutboundEvent::Bounced {
            queue_id: id.to_owned(),
            rcpt: r.rcpt.clone(),
            domain: domain_of(&r.rcpt),
            code: None,
            status,
            class,
            subject,
            reason: r.last_reply.clone().unwrap_or_default(),
            dsn: !sender.is_empty(),
        });
    }

    /// RFC 3464 "delayed" DSN, once, after `warn_after`, while recipients are still pending.
    async fn maybe_warn(&self, entry: &mut QueueEntry, now: u64) {
        let Some(after) = self.inner.retry.warn_after else {
            return;
        };
        let waited = now.saturating_sub(entry.message.received_at);
        if entry.state.warned || entry.message.mail_from.is_empty() || waited < after.as_secs() {
            return;
        }
        let pending: Vec<usize> = (0..entry.state.recipients.len())
            .filter(|&i| {
                entry
                    .state
                    .recipients
                    .get(i)
                    .is_some_and(|r| r.status == RecipientStatus::Pending && r.attempts > 0)
            })
            .collect();
        if !pending.is_empty() && self.send_dsn(entry, &pending, DsnKind::Delay, now).await {
            entry.state.warned = true;
        }
    }

    /// Builds and hands over a DSN for the recipients at `indices`; true once it is durable.
    async fn send_dsn(
        &self,
        entry: &QueueEntry,
        indices: &[usize],
        kind: DsnKind,
        now: u64,
    ) -> bool {
        let id = entry.id().to_owned();
        let original = match self.inner.queue.read_message(&id) {
            Ok((_, body)) => body,
            Err(e) => {
                self.queue_error(Some(&id), &e);
                return false;
            }
        };
        let recipients: Vec<DsnRecipient> = indices
            .iter()
            .filter_map(|&i| entry.state.recipients.get(i))
            .map(dsn_recipient)
            .collect();
        let input = DsnInput {
            reporting_mta: &self.inner.hostname,
            queue_id: &id,
            sender: &entry.message.mail_from,
            received_at: entry.message.received_at,
            original: &original,
            recipients: &recipients,
            kind,
            retry_until: Some(self.inner.retry.expires_at(entry.message.received_at)),
            now,
        };
        let Some(dsn) = build_dsn(&input) else {
            return true;
        };
        let to = dsn.rcpt_to.clone();
        match self.inner.dsn.submit(dsn).await {
            Ok(()) => {
                let event = OutboundEvent::DsnQueued {
                    queue_id: id,
                    kind: kind.name(),
                    to,
                    recipients: recipients.len(),
                };
                (self.inner.events)(event);
                true
            }
            Err(reason) => {
                (self.inner.events)(OutboundEvent::DsnFailed {
                    queue_id: id,
                    reason,
                });
                false
            }
        }
    }

    /// Writes the state; false (and an event) when the disk refuses.
    pub(crate) fn save(&self, entry: &QueueEntry) -> bool {
        match self.inner.queue.write_state(entry.id(), &entry.state) {
            Ok(()) => true,
            Err(e) => {
                self.queue_error(Some(entry.id()), &e);
                false
            }
        }
    }
}

fn dsn_recipient(r: &RecipientState) -> DsnRecipient {
    DsnRecipient {
        rcpt: r.rcpt.clone(),
        status: r.status_code.clone().unwrap_or_else(|| "5.0.0".into()),
        diagnostic: r.last_reply.clone(),
        remote_reply: r.remote_host.is_some()
            && r.last_reply.as_deref().is_some_and(starts_with_code),
        remote_mta: r.remote_host.clone(),
        last_attempt: r.last_attempt,
    }
}

fn starts_with_code(text: &str) -> bool {
    text.len() >= 3 && text.bytes().take(3).all(|b| b.is_ascii_digit())
}

/// RFC 3463 `class.subject.detail` → (class, subject); unknown parts are 5 and 0.
pub(crate) fn class_and_subject(status: &str) -> (u8, u16) {
    let mut parts = status.split('.');
    let class = parts.next().and_then(|c| c.parse().ok()).unwrap_or(5);
    let subject = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (class, subject)
}
