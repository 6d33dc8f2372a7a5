//! Operator queue operations (`calm queue list|show|hold|release|retry|delete|bounce`),
//! applied by the running engine so its schedule follows at once.

use std::io;

use calm_queue::outbound::{ListFilter, QueueEntry, RecipientStatus};

use crate::engine::Engine;
use crate::event::OutboundEvent;

impl Engine {
    /// Entries matching `filter`, oldest first; unreadable files are reported as `Err`.
    pub fn list(&self, filter: &ListFilter) -> io::Result<Vec<Result<QueueEntry, String>>> {
        self.inner.queue.entries(filter, self.inner.clock.now())
    }

    /// One entry: envelope and per-recipient attempts with the last reply.
    pub fn show(&self, id: &str) -> io::Result<QueueEntry> {
        self.inner.queue.entry(id)
    }

    /// Stops attempts for `id` until [`Engine::release`].
    pub async fn hold(&self, id: &str) -> io::Result<QueueEntry> {
        self.set_held(id, true, "hold").await
    }

    /// Resumes attempts for `id` on the normal schedule.
    pub async fn release(&self, id: &str) -> io::Result<QueueEntry> {
        self.set_held(id, false, "release").await
    }

    async fn set_held(
        &self,
        id: &str,
        held: bool,
        operation: &'static str,
    ) -> io::Result<QueueEntry> {
        let _serial = self.inner.apply_lock.lock().await;
        let entry = self.inner.queue.set_held(id, held)?;
        self.remember(&entry);
        self.operation(operation, id, None);
        self.inner.wake.notify_one();
        Ok(entry)
    }

    /// Makes every pending recipient of `id` due now (a held message stays held).
    pub async fn retry_now(&self, id: &str) -> io::Result<QueueEntry> {
        let _serial = self.inner.apply_lock.lock().await;
        let entry = self.inner.queue.retry_now(id)?;
        self.remember(&entry);
        self.operation("retry", id, None);
        self.inner.wake.notify_one();
        Ok(entry)
    }

    /// Removes `id` without any notification to the sender; the reason goes to the event log.
    pub async fn delete(&self, id: &str, reason: &str) -> io::Result<()> {
        let _serial = self.inner.apply_lock.lock().await;
        // Check it exists first, so deleting a wrong id is an error, not a silent no-op.
        self.inner.queue.entry(id)?;
        self.inner.queue.remove(id)?;
        self.forget(id);
        self.operation("delete", id, Some(reason));
        Ok(())
    }

    /// Fails every pending recipient of `id` now and sends the sender a DSN (5.0.0 with the
    /// operator's reason); the message then leaves the queue.
    pub async fn bounce(&self, id: &str, reason: &str) -> io::Result<()> {
        {
            let _serial = self.inner.apply_lock.lock().await;
            let now = self.inner.clock.now();
            let entry = self.inner.queue.update(id, |entry| {
                for r in &mut entry.state.recipients {
                    if r.status == RecipientStatus::Pending {
                        r.status = RecipientStatus::Failed;
                        r.dsn_done = entry.message.mail_from.is_empty();
                        r.status_code = Some("5.0.0".into());
                        r.last_reply = Some(format!("returned by the postmaster: {reason}"));
                        r.remote_host = None;
                        r.last_attempt = Some(now);
                    }
                }
            })?;
            self.operation("bounce", id, Some(reason));
            self.settle(entry, now).await;
        }
        Ok(())
    }

    fn operation(&self, operation: &'static str, id: &str, reason: Option<&str>) {
        (self.inner.events)(OutboundEvent::QueueOperation {
            operation,
            queue_id: id.to_owned(),
            reason: reason.map(str::to_owned),
        });
    }
}
