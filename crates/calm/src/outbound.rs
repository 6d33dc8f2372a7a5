//! Outbound delivery wiring: the route table shared by RCPT checks, delivery routing and the
//! outbound engine, the engine itself, and DSNs fed back into the spool.
//!
//! Per-domain cut-over: a domain in `local_domains` whose route is `relay:[old-host]` is
//! accepted for any recipient and forwarded whole to the old host; `disabled` answers 450 at
//! RCPT so senders keep the mail; no route means local delivery. Flipping a domain is one line
//! in the routes file and one `calm reload`.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use calm_config::Config;
use calm_eventlog::EventLog;
use calm_mail_types::QueueId;
use calm_outbound::{
    Dsn, DsnSink, Engine, NextHop, OutboundConfig, RelayCredentials, RetryPolicy, Routes,
    SystemClock, Transport,
};
use calm_queue::{Envelope, Spool};
use calm_smtp_proto::{EnhancedCode, Reply};

/// What a route says about mail for one domain at RCPT time.
pub enum Cutover {
    /// Deliver here (or, for a remote domain, relay as usual).
    Normal,
    /// A local domain forwarded whole to another host (the old server during a migration).
    Forward,
    /// Refuse the recipient with this reply.
    Refuse(Reply),
}

/// The routes file plus the relay host, swappable on reload.
pub struct RouteTable {
    routes: RwLock<Routes>,
}

/// Reads `outbound.routes_file` and `outbound.relay_host`.
pub fn load_routes(config: &Config) -> Result<Routes> {
    let routes = match &config.outbound.routes_file {
        Some(path) => Routes::load(path)?,
        None => Routes::default(),
    };
    let routes = routes.with_relay_host(relay_host(config)?);
    let routes = match &config.outbound.relay_credentials {
        Some(path) => routes.with_credentials(RelayCredentials::load(path)?),
        None => routes,
    };
    let missing = routes.missing_credentials();
    if !missing.is_empty() {
        return Err(anyhow!(
            "routes name relay credentials that outbound.relay_credentials does not have: {}",
            missing.join(", ")
        ));
    }
    Ok(routes)
}

fn relay_host(config: &Config) -> Result<Option<NextHop>> {
    let Some(text) = &config.outbound.relay_host else {
        return Ok(None);
    };
    // Parsed by the routes parser so both accept exactly the same syntax.
    let one = Routes::parse(&format!("* relay:{text}"), "outbound.relay_host")?;
    match one.lookup("relay-host.invalid") {
        Transport::Smtp(Some(hop)) => Ok(Some(hop)),
        _ => Err(anyhow!(
            "outbound.relay_host: {text:?} is not a host (write it as \"[host]:port\")"
        )),
    }
}

impl RouteTable {
    pub fn new(routes: Routes) -> RouteTable {
        RouteTable {
            routes: RwLock::new(routes),
        }
    }

    pub fn replace(&self, routes: Routes) {
        *self.routes.write().unwrap_or_else(|e| e.into_inner()) = routes;
    }

    fn lookup(&self, domain: &str) -> Transport {
        self.routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .lookup(domain)
    }

    /// The RCPT-time meaning of the route of `domain` (`local` says whether it is ours).
    pub fn cutover(&self, domain: &str, local: bool) -> Cutover {
        match self.lookup(domain) {
            Transport::Disabled => Cutover::Refuse(Reply::new(
                450,
                EnhancedCode::parse("4.3.2"),
                format!("Mail for {domain} is paused during maintenance, try again later"),
            )),
            Transport::Error(text) => {
                Cutover::Refuse(Reply::new(550, EnhancedCode::parse("5.7.1"), text))
            }
            Transport::Smtp(Some(hop)) if local && Some(&hop) != self.relay_host().as_ref() => {
                Cutover::Forward
            }
            _ => Cutover::Normal,
        }
    }

    fn relay_host(&self) -> Option<NextHop> {
        match self.lookup("no-such-domain.invalid") {
            Transport::Smtp(hop) => hop,
            _ => None,
        }
    }
}

/// Hands DSNs to the spool, from the null sender, like any other accepted message.
struct SpoolDsn(Spool);

impl DsnSink for SpoolDsn {
    fn submit(&self, dsn: Dsn) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let envelope = Envelope::new(
                QueueId::generate().as_str().to_string(),
                String::new(),
                vec![dsn.rcpt_to],
            );
            self.0
                .enqueue(envelope, dsn.data)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Starts the outbound engine over the spool's outbound queue.
pub fn start_engine(
    config: &Config,
    spool_dir: &Path,
    routes: Routes,
    spool: Spool,
    events: EventLog,
) -> Result<Arc<Engine>> {
    let o = &config.outbound;
    let mut oc = OutboundConfig::new(&config.server.hostname);
    oc.resolver.upstream = o.resolver;
    oc.resolver.timeout = Duration::from_secs(o.dns_timeout_secs.max(1));
    oc.port = o.port;
    oc.routes = routes;
    oc.retry = RetryPolicy {
        initial: Duration::from_secs(o.retry_initial_secs),
        max_interval: Duration::from_secs(o.retry_max_interval_secs),
        lifetime: Duration::from_secs(o.max_lifetime_secs),
        warn_after: (o.warn_after_secs > 0).then(|| Duration::from_secs(o.warn_after_secs)),
    };
    oc.destination_concurrency = o.destination_concurrency;
    oc.messages_per_connection = o.messages_per_connection;
    let sink = Arc::new(move |event| events.log(&event));
    let engine = Engine::new(
        oc,
        &spool_dir.join("outbound"),
        Arc::new(SystemClock),
        sink,
        Arc::new(SpoolDsn(spool)),
    )
    .context("starting outbound delivery")?;
    let engine = Arc::new(engine);
    engine.start();
    Ok(engine)
}
