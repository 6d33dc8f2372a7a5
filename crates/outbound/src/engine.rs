//! The scheduler: finds due recipients in the outbound queue, groups them by destination,
//! and runs deliveries within the per-destination concurrency limit.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use calm_dns::{Resolver, ResolverSettings};
use calm_queue::outbound::{Outbound, QueueEntry};
use rustls::RootCertStore;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::client::Timeouts;
use crate::deliver::{Answer, Deliverer, Destination, Outcome, Verdict, Work};
use crate::dsn::DsnSink;
use crate::event::{EventSink, OutboundEvent, domain_of};
use crate::retry::{Clock, RetryPolicy};
use crate::route::{NextHop, Routes, Transport};
use crate::tls::TlsConfigs;

/// Below this many due messages per destination, one connection carries them all.
const MIN_MESSAGES_PER_CONNECTION: usize = 10;

/// Everything the engine needs to know. [`OutboundConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Our name: EHLO argument, `Reporting-MTA` and the DSN `From:` domain.
    pub hostname: String,
    /// How to reach DNS.
    pub resolver: ResolverSettings,
    /// Destination port when the route does not say (RFC 5321 §4.5.4: 25).
    pub port: u16,
    /// The transport map and relay host.
    pub routes: Routes,
    /// Backoff, lifetime, delay warning.
    pub retry: RetryPolicy,
    /// SMTP stage timeouts.
    pub timeouts: Timeouts,
    /// Most simultaneous connections to one destination.
    pub destination_concurrency: usize,
    /// Most messages sent over one connection before reconnecting.
    pub messages_per_connection: usize,
    /// How often the queue directory is scanned for new and due messages.
    pub scan_interval: Duration,
    /// Trusted roots for routes with `tls=verify`; such routes defer without them.
    pub tls_roots: Option<Arc<RootCertStore>>,
}

impl OutboundConfig {
    /// Defaults: port 25, MX routing, Postfix-like backoff, 5-day lifetime, RFC 5321 timeouts,
    /// 10 connections per destination, 100 messages per connection, a 1-second scan.
    pub fn new(hostname: &str) -> OutboundConfig {
        OutboundConfig {
            hostname: hostname.to_owned(),
            resolver: ResolverSettings::default(),
            port: 25,
            routes: Routes::default(),
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            destination_concurrency: 10,
            messages_per_connection: 100,
            scan_interval: Duration::from_secs(1),
            tls_roots: None,
        }
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboundError {
    /// The queue directory could not be opened.
    #[error("outbound queue: {0}")]
    Queue(#[from] io::Error),
    /// The resolver could not be built.
    #[error("{0}")]
    Dns(#[from] calm_dns::DnsError),
    /// The TLS client configuration could not be built.
    #[error("TLS client setup: {0}")]
    Tls(#[from] rustls::Error),
}

/// Recipients of one message for one destination: (queue id, recipients).
type Share = (String, Vec<String>);
/// Due work by destination key.
type Batches = HashMap<String, (Destination, Vec<Share>)>;

/// When a message is next due, as the scheduler remembers it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub next: u64,
    pub held: bool,
}

pub(crate) struct Inner {
    pub queue: Outbound,
    pub hostname: String,
    pub retry: RetryPolicy,
    pub concurrency: usize,
    pub per_connection: usize,
    pub scan_interval: Duration,
    pub routes: RwLock<Arc<Routes>>,
    pub deliverer: Deliverer,
    pub clock: Arc<dyn Clock>,
    pub events: EventSink,
    pub dsn: Arc<dyn DsnSink>,
    /// Every known message's next due time (the queue files are the truth; this saves
    /// re-reading them on each scan).
    pub slots: Mutex<HashMap<String, Slot>>,
    /// Running batches per destination key.
    pub running: Mutex<HashMap<String, usize>>,
    /// (queue id, destination key) pairs being delivered now.
    pub busy: Mutex<HashSet<(String, String)>>,
    /// Serialises state-file updates (two destinations of one message may finish together).
    pub apply_lock: tokio::sync::Mutex<()>,
    pub wake: Notify,
}

/// The outbound delivery engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// An SMTP route's destination, with the credential its `auth=` names; a name the
/// credentials file lacks defers the recipient without contacting anyone.
fn destination(
    routes: &Routes,
    domain: String,
    nexthop: Option<NextHop>,
) -> Result<Destination, Answer> {
    let name = nexthop.as_ref().and_then(|h| h.auth.as_deref());
    let credential = match name {
        Some(name) => match routes.credential(name) {
            Some(c) => Some(c.clone()),
            // RFC 3463: 4.3.5 "system incorrectly configured".
            None => {
                let why = format!(
                    "route needs the relay credential {name:?}, which the credentials file does not define"
                );
                return Err(Answer::local(Verdict::Transient, "4.3.5", why));
            }
        },
        None => None,
    };
    Ok(Destination {
        domain,
        nexthop,
        credential,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these maps inconsistent beyond one entry; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Opens the queue at `queue_dir` (the spool's `outbound/` directory) and prepares the
    /// resolver and TLS. Must be called inside a tokio runtime. Delivers nothing until
    /// [`Engine::start`] or [`Engine::run_once`].
    pub fn new(
        config: OutboundConfig,
        queue_dir: &Path,
        clock: Arc<dyn Clock>,
        events: EventSink,
        dsn: Arc<dyn DsnSink>,
    ) -> Result<Engine, OutboundError> {
        let queue = Outbound::open(queue_dir)?;
        let deliverer = Deliverer {
            resolver: Resolver::new(&config.resolver)?,
            tls: TlsConfigs::new(config.tls_roots.clone())?,
            timeouts: config.timeouts.clone(),
            hostname: config.hostname.clone(),
            port: config.port,
            messages_per_connection: config.messages_per_connection.max(1),
            events: events.clone(),
        };
        let inner = Inner {
            queue,
            hostname: config.hostname,
            retry: config.retry,
            concurrency: config.destination_concurrency.max(1),
            per_connection: config.messages_per_connection.max(1),
            scan_interval: config.scan_interval,
            routes: RwLock::new(Arc::new(config.routes)),
            deliverer,
            clock,
            events,
            dsn,
            slots: Mutex::default(),
            running: Mutex::default(),
            busy: Mutex::default(),
            apply_lock: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
        };
        Ok(Engine {
            inner: Arc::new(inner),
        })
    }

    /// Replaces the routes (after `calm reload`); deliveries already running keep theirs.
    pub fn set_routes(&self, routes: Routes) {
        *self.inner.routes.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(routes);
    }

    /// The route for `domain` now; the binary uses it at RCPT time
    /// ([`Transport::rcpt_refusal`]).
    pub fn route(&self, domain: &str) -> Transport {
        self.routes().lookup(domain)
    }

    fn routes(&self) -> Arc<Routes> {
        self.inner
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs the scheduler until the task is aborted: a pass every `scan_interval`, or sooner
    /// when a delivery finishes or an operator asks for a retry.
    pub fn start(&self) -> JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            loop {
                let _ = engine.dispatch_due();
                let wait = tokio::time::sleep(engine.inner.scan_interval);
                tokio::select! {
                    () = wait => {}
                    () = engine.inner.wake.notified() => {}
                }
            }
        })
    }

    /// One pass that waits for every delivery it started (tests, `calm queue flush`).
    pub async fn run_once(&self) {
        for task in self.dispatch_due() {
            let _ = task.await;
        }
    }

    /// Starts deliveries for everything due now; returns their tasks.
    pub fn dispatch_due(&self) -> Vec<JoinHandle<()>> {
        let now = self.inner.clock.now();
        let mut tasks = Vec::new();
        let mut batches: Batches = HashMap::new();
        for id in self.due_ids(now) {
            let entry = match self.inner.queue.entry(&id) {
                Ok(entry) => entry,
                Err(e) => {
                    self.forget_if_gone(&id, &e);
                    continue;
                }
            };
            if entry.state.held {
                self.remember(&entry);
                continue;
            }
            let local = self.plan(&entry, now, &mut batches);
            self.remember(&entry);
            if !local.is_empty() || entry.pending().next().is_none() {
                tasks.push(self.spawn_apply(id, local));
            }
        }
        for (key, (dest, work)) in batches {
            tasks.extend(self.spawn_batches(key, dest, work));
        }
        tasks
    }

    /// Ids due at `now`, after picking up new files and dropping removed ones.
    fn due_ids(&self, now: u64) -> Vec<String> {
        let ids = match self.inner.queue.ids() {
            Ok(ids) => ids,
            Err(e) => {
                self.queue_error(None, &e);
                return Vec::new();
            }
        };
        let mut slots = lock(&self.inner.slots);
        let present: HashSet<&String> = ids.iter().collect();
        slots.retain(|id, _| present.contains(id));
        let mut due: Vec<(u64, String)> = Vec::new();
        for id in &ids {
            // New files are due at once; their real schedule is learnt when they are read.
            let slot = slots.entry(id.clone()).or_insert(Slot {
                next: 0,
                held: false,
            });
            if !slot.held && slot.next <= now {
                due.push((slot.next, id.clone()));
            }
        }
        due.sort();
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// Sorts the due recipients of `entry` into destination batches; answers those whose
    /// route does not deliver by SMTP at once (returned).
    fn plan(&self, entry: &QueueEntry, now: u64, batches: &mut Batches) -> Vec<Outcome> {
        let routes = self.routes();
        let mut local = Vec::new();
        let mut mine: HashMap<String, (Destination, Vec<String>)> = HashMap::new();
        for r in entry.pending().filter(|r| r.next_attempt <= now) {
            let domain = domain_of(&r.rcpt);
            let answer = match routes.lookup(&domain) {
                Transport::Smtp(nexthop) => match destination(&routes, domain, nexthop) {
                    Ok(dest) => {
                        mine.entry(dest.key())
                            .or_insert_with(|| (dest, Vec::new()))
                            .1
                            .push(r.rcpt.clone());
                        continue;
                    }
                    Err(answer) => answer,
                },
                // RFC 3463: 4.3.2 "system not accepting network messages".
                Transport::Disabled => Answer::local(
                    Verdict::Transient,
                    "4.3.2",
                    "route disabled by the operator",
                ),
                // 4.3.5 "system incorrectly configured": a local domain's mail is here.
                Transport::Local => Answer::local(
                    Verdict::Transient,
                    "4.3.5",
                    "route is local but the recipient was queued for remote delivery",
                ),
                Transport::Error(text) => Answer::local(Verdict::Permanent, "5.1.2", text),
            };
            local.push(Outcome {
                id: entry.id().to_owned(),
                rcpt: r.rcpt.clone(),
                answer,
            });
        }
        let busy = lock(&self.inner.busy);
        for (key, (dest, rcpts)) in mine {
            if busy.contains(&(entry.id().to_owned(), key.clone())) {
                continue;
            }
            let batch = batches.entry(key).or_insert_with(|| (dest, Vec::new()));
            batch.1.push((entry.id().to_owned(), rcpts));
        }
        local
    }

    /// Splits one destination's work into connections, within its concurrency limit.
    fn spawn_batches(
        &self,
        key: String,
        dest: Destination,
        work: Vec<Share>,
    ) -> Vec<JoinHandle<()>> {
        let running = lock(&self.inner.running).get(&key).copied().unwrap_or(0);
        let free = self.inner.concurrency.saturating_sub(running);
        if free == 0 {
            return Vec::new();
        }
        // Spread over as many connections as allowed, but give each at least a few messages:
        // a handshake per message costs more than it gains in parallelism.
        let floor = MIN_MESSAGES_PER_CONNECTION.min(self.inner.per_connection);
        let per_batch = work
            .len()
            .div_ceil(free)
            .clamp(floor, self.inner.per_connection);
        let mut tasks = Vec::new();
        let mut rest = work;
        while !rest.is_empty() && tasks.len() < free {
            let tail = rest.split_off(per_batch.min(rest.len()));
            let batch = std::mem::replace(&mut rest, tail);
            tasks.push(self.spawn_delivery(key.clone(), dest.clone(), batch));
        }
        tasks
    }

    fn spawn_delivery(&self, key: String, dest: Destination, batch: Vec<Share>) -> JoinHandle<()> {
        let guard = Busy::mark(self.clone(), &key, &batch);
        let engine = self.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let work = engine.load_work(batch);
            let outcomes = engine.inner.deliverer.deliver(&dest, work).await;
            engine.apply_all(outcomes).await;
            engine.inner.wake.notify_one();
        })
    }

    fn spawn_apply(&self, id: String, outcomes: Vec<Outcome>) -> JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move { engine.apply(&id, outcomes).await })
    }

    /// Reads the bodies of a batch; a message that vanished (deleted meanwhile) is skipped.
    fn load_work(&self, batch: Vec<Share>) -> Vec<Work> {
        let mut work = Vec::with_capacity(batch.len());
        for (id, rcpts) in batch {
            match self.inner.queue.read_message(&id) {
                Ok((entry, body)) => work.push(Work {
                    id,
                    mail_from: entry.message.mail_from,
                    rcpts,
                    body,
                }),
                Err(e) => self.forget_if_gone(&id, &e),
            }
        }
        work
    }

    async fn apply_all(&self, outcomes: Vec<Outcome>) {
        let mut by_id: HashMap<String, Vec<Outcome>> = HashMap::new();
        for o in outcomes {
            by_id.entry(o.id.clone()).or_default().push(o);
        }
        for (id, list) in by_id {
            self.apply(&id, list).await;
        }
    }

    pub(crate) fn remember(&self, entry: &QueueEntry) {
        let now = self.inner.clock.now();
        // Owed DSNs that could not be handed over are tried again a minute later.
        let next = entry.next_attempt().unwrap_or(now + 60);
        lock(&self.inner.slots).insert(
            entry.id().to_owned(),
            Slot {
                next,
                held: entry.state.held,
            },
        );
    }

    pub(crate) fn forget(&self, id: &str) {
        lock(&self.inner.slots).remove(id);
    }

    fn forget_if_gone(&self, id: &str, e: &io::Error) {
        if e.kind() == io::ErrorKind::NotFound {
            self.forget(id);
        } else {
            self.queue_error(Some(id), e);
            // Do not spin on a broken file: look again after the normal scan delay.
            let next = self.inner.clock.now() + self.inner.scan_interval.as_secs().max(60);
            lock(&self.inner.slots).insert(id.to_owned(), Slot { next, held: false });
        }
    }

    pub(crate) fn queue_error(&self, id: Option<&str>, e: &io::Error) {
        (self.inner.events)(OutboundEvent::QueueError {
            queue_id: id.map(str::to_owned),
            error: e.to_string(),
        });
    }
}

/// Marks a batch as running for its lifetime, so a panic cannot leave it marked.
struct Busy {
    engine: Engine,
    key: String,
    pairs: Vec<(String, String)>,
}

impl Busy {
    fn mark(engine: Engine, key: &str, batch: &[Share]) -> Busy {
        let pairs: Vec<(String, String)> = batch
            .iter()
            .map(|(id, _)| (id.clone(), key.to_owned()))
            .collect();
        lock(&engine.inner.busy).extend(pairs.iter().cloned());
        *lock(&engine.inner.running)
            .entry(key.to_owned())
            .or_insert(0) += 1;
        Busy {
            engine,
            key: key.to_owned(),
            pairs,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut busy = lock(&self.engine.inner.busy);
        for pair in &self.pairs {
            busy.remove(pair);
        }
        let mut running = lock(&self.engine.inner.running);
        if let Some(n) = running.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.key);
            }
        }
    }
}
