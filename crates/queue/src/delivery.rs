//! The delivery thread: committed messages into Maildirs and the outbound queue, in batches.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use calm_maildir::{Item, Maildir, Outcome};

use crate::outbound::{FailedRecipient, Outbound, QueuedMessage};
use crate::{Envelope, EventSink, QueueEvent, Route, Router, WriteRequest};

/// A committed message waiting for delivery.
pub(crate) struct Job {
    pub(crate) envelope: Envelope,
    pub(crate) data: Arc<[u8]>,
    /// True after a restart or a failed attempt: look for earlier copies before writing.
    pub(crate) redelivery: bool,
}

/// One local copy to write: which job, which user, which mailbox.
struct LocalCopy {
    job: usize,
    rcpt: String,
    user: String,
    dir: PathBuf,
}

/// Everything one job needs beyond local copies.
#[derive(Default)]
struct JobPlan {
    remote: Vec<String>,
    failed: Vec<FailedRecipient>,
    error: Option<String>,
}

pub(crate) struct Deliverer {
    hostname: String,
    router: Arc<dyn Router>,
    outbound: Outbound,
    events: EventSink,
    writer: mpsc::Sender<WriteRequest>,
    maildirs: HashMap<PathBuf, Maildir>,
    retries: Vec<(Instant, u32, Job)>,
}

impl Deliverer {
    pub(crate) fn new(
        hostname: String,
        router: Arc<dyn Router>,
        outbound: Outbound,
        events: EventSink,
        writer: mpsc::Sender<WriteRequest>,
    ) -> Deliverer {
        Deliverer {
            hostname,
            router,
            outbound,
            events,
            writer,
            maildirs: HashMap::new(),
            retries: Vec::new(),
        }
    }

    pub(crate) fn run(mut self, rx: mpsc::Receiver<Job>, max_batch: usize) {
        loop {
            let wait = self
                .retries
                .iter()
                .map(|r| r.0)
                .min()
                .map(|t| t.saturating_duration_since(Instant::now()));
            let first = match wait {
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                Some(d) => rx.recv_timeout(d),
            };
            let mut batch = Vec::new();
            match first {
                Ok(job) => batch.push((0, job)),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push((0, job)),
                    Err(_) => break,
                }
            }
            batch.extend(self.due_retries());
            if !batch.is_empty() {
                self.deliver(batch);
            }
        }
    }

    fn due_retries(&mut self) -> Vec<(u32, Job)> {
        let now = Instant::now();
        let (due, waiting): (Vec<_>, Vec<_>) = self.retries.drain(..).partition(|r| r.0 <= now);
        self.retries = waiting;
        due.into_iter()
            .map(|(_, attempts, job)| (attempts, job))
            .collect()
    }

    /// Delivers a batch; every job ends durable (done record sent) or scheduled for retry.
    fn deliver(&mut self, batch: Vec<(u32, Job)>) {
        let (copies, mut plans) = self.plan(&batch);
        self.write_local(&batch, &copies, &mut plans);
        self.write_remote(&batch, &mut plans);
        for ((attempts, job), plan) in batch.into_iter().zip(plans) {
            match plan.error {
                None => {
                    let _ = self.writer.send(WriteRequest::Done {
                        id: job.envelope.id.clone(),
                    });
                }
                Some(reason) => self.schedule_retry(attempts, job, reason),
            }
        }
    }

    fn schedule_retry(&mut self, attempts: u32, mut job: Job, reason: String) {
        let secs = (1u64 << attempts.min(8)).min(300);
        (self.events)(QueueEvent::DeliveryDeferred {
            queue_id: job.envelope.id.clone(),
            reason,
            retry_in_secs: secs,
        });
        job.redelivery = true;
        self.retries.push((
            Instant::now() + Duration::from_secs(secs),
            attempts + 1,
            job,
        ));
    }

    /// Routes every recipient: local copies (one per user per message) and per-job remote lists.
    fn plan(&self, batch: &[(u32, Job)]) -> (Vec<LocalCopy>, Vec<JobPlan>) {
        let mut copies = Vec::new();
        let mut plans = Vec::with_capacity(batch.len());
        for (i, (_, job)) in batch.iter().enumerate() {
            let mut plan = JobPlan::default();
            let mut users = HashSet::new();
            for rcpt in &job.envelope.rcpt_to {
                for route in self.router.route_envelope(rcpt, &job.envelope) {
                    match route {
                        Route::Mailbox { user, dir } => {
                            if users.insert(user.clone()) {
                                copies.push(LocalCopy {
                                    job: i,
                                    rcpt: rcpt.clone(),
                                    user,
                                    dir,
                                });
                            }
                        }
                        Route::Remote(address) => plan.remote.push(address),
                        Route::Unroutable { reason } => plan.failed.push(FailedRecipient {
                            rcpt: rcpt.clone(),
                            reason,
                        }),
                    }
                }
            }
            plans.push(plan);
        }
        (copies, plans)
    }

    fn write_local(&mut self, batch: &[(u32, Job)], copies: &[LocalCopy], plans: &mut [JobPlan]) {
        let mut prefixes = Vec::with_capacity(copies.len());
        let mut usable = Vec::with_capacity(copies.len());
        for copy in copies {
            match self.maildir(&copy.dir) {
                Ok(_) => {
                    let env = &batch[copy.job].1.envelope;
                    prefixes.push(format!(
                        "Return-Path: <{}>\r\nDelivered-To: {}\r\n",
                        env.mail_from, copy.user
                    ));
                    usable.push(copy);
                }
                Err(e) => plans[copy.job].error = Some(e.to_string()),
            }
        }
        let items: Vec<Item<'_>> = usable
            .iter()
            .zip(&prefixes)
            .map(|(copy, prefix)| self.item(&batch[copy.job].1, copy, prefix))
            .collect();
        let results = calm_maildir::deliver_batch(&items);
        drop(items);
        for (copy, result) in usable.into_iter().zip(results) {
            let queue_id = batch[copy.job].1.envelope.id.clone();
            match result {
                Ok(Outcome::Delivered(path)) => (self.events)(QueueEvent::Delivered {
                    queue_id,
                    rcpt: copy.rcpt.clone(),
                    user: copy.user.clone(),
                    path: path.display().to_string(),
                }),
                Ok(Outcome::AlreadyPresent) => (self.events)(QueueEvent::DuplicateSuppressed {
                    queue_id,
                    user: copy.user.clone(),
                }),
                Err(e) => {
                    self.maildirs.remove(&copy.dir);
                    plans[copy.job].error = Some(e.to_string());
                }
            }
        }
    }

    fn item<'a>(&'a self, job: &'a Job, copy: &LocalCopy, prefix: &'a str) -> Item<'a> {
        let size = (prefix.len() + job.data.len()) as u64;
        let env = &job.envelope;
        let name =
            calm_maildir::unique_name(env.received_at, &env.id, &copy.user, &self.hostname, size);
        Item {
            maildir: &self.maildirs[&copy.dir],
            name,
            prefix: prefix.as_bytes(),
            data: &job.data,
            check_existing: job.redelivery,
        }
    }

    fn maildir(&mut self, dir: &PathBuf) -> Result<&Maildir, calm_maildir::Error> {
        if !self.maildirs.contains_key(dir) {
            let maildir = Maildir::create(dir)?;
            self.maildirs.insert(dir.clone(), maildir);
        }
        Ok(&self.maildirs[dir])
    }

    /// Hands remote and unroutable recipients to the outbound queue.
    fn write_remote(&mut self, batch: &[(u32, Job)], plans: &mut [JobPlan]) {
        let mut items = Vec::new();
        let mut owners = Vec::new();
        for (i, ((_, job), plan)) in batch.iter().zip(plans.iter()).enumerate() {
            if plan.error.is_some() || (plan.remote.is_empty() && plan.failed.is_empty()) {
                continue;
            }
            let env = &job.envelope;
            let message = QueuedMessage {
                id: env.id.clone(),
                mail_from: env.mail_from.clone(),
                rcpt_to: plan.remote.clone(),
                failed: plan.failed.clone(),
                received_at: env.received_at,
                size: job.data.len() as u64,
            };
            items.push((message, &job.data[..]));
            owners.push(i);
        }
        if items.is_empty() {
            return;
        }
        if let Err(e) = self.outbound.write_batch(&items) {
            for i in owners {
                plans[i].error = Some(format!("outbound queue: {e}"));
            }
            return;
        }
        for (message, _) in &items {
            self.report_remote(message);
        }
    }

    fn report_remote(&self, message: &QueuedMessage) {
        for rcpt in &message.rcpt_to {
            (self.events)(QueueEvent::QueuedRemote {
                queue_id: message.id.clone(),
                rcpt: rcpt.clone(),
            });
        }
        for failed in &message.failed {
            (self.events)(QueueEvent::Unroutable {
                queue_id: message.id.clone(),
                rcpt: failed.rcpt.clone(),
                reason: failed.reason.clone(),
            });
        }
    }
}
