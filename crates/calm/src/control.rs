//! The control socket (`<data_dir>/control.sock`): how `calm reload` and `calm rollback` reach
//! the running daemon. One JSON line in (`{"cmd":"reload"}`), one JSON line out
//! (`{"ok":true,"message":"..."}`). SIGHUP runs the same reload.
//!
//! A reload checks the configuration, loads the policy (refusing error-level hazards), runs the
//! configured case file, loads the user directory, and only then swaps them in and records a
//! numbered version. If any step fails nothing changes. Sessions already running keep the
//! policy they started with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use calm_config::{Config, Severity};
use calm_eventlog::EventLog;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::accounts::{LiveDirectory, Sources};
use crate::gate::Gate;
use crate::outbound::RouteTable;
use crate::versions::Versions;
use calm_outbound::Engine;

/// A request on the control socket.
#[derive(Serialize, Deserialize)]
pub struct Request {
    pub cmd: String,
    /// Arguments (queue operations: the operation, the queue id, a reason).
    #[serde(default)]
    pub args: Vec<String>,
}

/// The answer to a request.
#[derive(Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    pub message: String,
}

/// The path of the control socket of a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// What a reload swaps and queue operations reach.
pub struct Live {
    pub quarantine: Arc<calm_quarantine::Store>,
    pub spool: calm_queue::Spool,
    pub gate: Arc<Gate>,
    pub directory: Arc<LiveDirectory>,
    pub routes: Arc<RouteTable>,
    pub engine: Arc<Engine>,
}

/// The daemon side.
pub struct Control {
    config_path: Option<PathBuf>,
    running: Mutex<Config>,
    live: Live,
    versions: Versions,
    events: EventLog,
}

impl Control {
    pub fn new(
        config_path: Option<PathBuf>,
        config: Config,
        live: Live,
        events: EventLog,
    ) -> Control {
        let versions = Versions::new(&config.server.data_dir);
        Control {
            config_path,
            running: Mutex::new(config),
            live,
            versions,
            events,
        }
    }

    /// Records the configuration the daemon started with as a version (if it is new).
    pub fn record_start(&self) -> Result<Option<u32>> {
        let Some(path) = &self.config_path else {
            return Ok(None);
        };
        let policy = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .policy
            .file
            .clone();
        Ok(Some(self.versions.record(path, policy.as_deref())?))
    }

    /// Accepts control connections until the process ends.
    pub async fn serve(self: Arc<Self>, path: PathBuf) -> std::io::Result<()> {
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        loop {
            let (stream, _) = listener.accept().await?;
            let control = self.clone();
            tokio::spawn(async move { control.answer(stream).await });
        }
    }

    async fn answer(&self, stream: UnixStream) {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        if BufReader::new(read).read_line(&mut line).await.is_err() {
            return;
        }
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(r) => self.handle(&r.cmd, &r.args).await,
            Err(e) => Response {
                ok: false,
                message: format!("bad request: {e}"),
            },
        };
        let mut out = serde_json::to_vec(&response).unwrap_or_default();
        out.push(b'\n');
        let _ = write.write_all(&out).await;
    }

    async fn handle(&self, cmd: &str, args: &[String]) -> Response {
        let result = match cmd {
            "reload" => self.reload_blocking().await,
            "rollback" => self.rollback_blocking().await,
            "queue" => self.queue(args).await,
            "release" => self.release(args).await,
            other => Err(anyhow::anyhow!(
                "unknown command {other:?} (known: reload, rollback, queue)"
            )),
        };
        match result {
            Ok(message) => Response { ok: true, message },
            Err(e) => Response {
                ok: false,
                message: format!("{e:#}"),
            },
        }
    }

    /// Releases a quarantined message: the original, unchanged, goes into the spool.
    async fn release(&self, args: &[String]) -> Result<String> {
        let [id] = args else {
            bail!("usage: release ID")
        };
        let id = calm_quarantine::Id::parse(id)
            .with_context(|| format!("{id:?} is not a quarantine id"))?;
        let (envelope, message) = self.live.quarantine.release(&id)?;
        let queue_id = calm_mail_types::QueueId::generate().as_str().to_string();
        let spool_envelope =
            calm_queue::Envelope::new(queue_id.clone(), envelope.sender, envelope.recipients);
        self.live.spool.enqueue(spool_envelope, message).await?;
        self.events.log(&serde_json::json!({"event": "quarantine_released", "quarantine_id": id.to_string(), "queue_id": queue_id}));
        Ok(format!("released {id} as {queue_id}"))
    }

    /// Queue operations go through the running engine so its scheduler sees them at once.
    async fn queue(&self, args: &[String]) -> Result<String> {
        let engine = &self.live.engine;
        let (op, id) = match args {
            [op, id, ..] => (op.as_str(), id.as_str()),
            _ => bail!("usage: queue OPERATION ID [REASON]"),
        };
        let reason = args.get(2).map_or("operator request", String::as_str);
        let shown =
            |e: calm_outbound::QueueEntry| serde_json::to_string_pretty(&e).unwrap_or_default();
        Ok(match op {
            "show" => shown(engine.show(id)?),
            "hold" => format!("held {id}\n{}", shown(engine.hold(id).await?)),
            "release" => format!("released {id}\n{}", shown(engine.release(id).await?)),
            "retry" => format!(
                "{id} will be retried now\n{}",
                shown(engine.retry_now(id).await?)
            ),
            "delete" => engine
                .delete(id, reason)
                .await
                .map(|()| format!("deleted {id} ({reason})"))?,
            "bounce" => engine
                .bounce(id, reason)
                .await
                .map(|()| format!("bounced {id} ({reason})"))?,
            other => bail!("unknown queue operation {other:?}"),
        })
    }

    /// Reload off the async workers: it reads files and runs the case file.
    pub async fn reload_blocking(&self) -> Result<String> {
        tokio::task::block_in_place(|| self.reload())
    }

    async fn rollback_blocking(&self) -> Result<String> {
        tokio::task::block_in_place(|| {
            let number = self.versions.restore_previous()?;
            let message = self
                .reload()
                .with_context(|| format!("restored version {number}, but it does not load"))?;
            Ok(format!("rolled back to version {number}: {message}"))
        })
    }

    /// Check, simulate, swap. Nothing changes unless every step passes.
    pub fn reload(&self) -> Result<String> {
        let Some(path) = &self.config_path else {
            bail!("running on built-in defaults: there is no configuration file to reload")
        };
        let config = Config::load(path)?;
        let errors: Vec<String> = config
            .validate()
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string())
            .collect();
        if !errors.is_empty() {
            bail!(
                "the configuration has errors, nothing changed:\n{}",
                errors.join("\n")
            );
        }
        let policy = crate::gate::load(&config).context("nothing changed")?;
        let shadow = crate::gate::load_shadow(&config).context("nothing changed")?;
        let hazards: Vec<String> = policy
            .hazards()
            .iter()
            .map(|h| h.to_diagnostic())
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string())
            .collect();
        if !hazards.is_empty() {
            bail!(
                "the policy has errors, nothing changed:\n{}",
                hazards.join("\n")
            );
        }
        if let Some(cases) = &config.policy.cases {
            let report = calm_policy::simulate(&policy, &calm_policy::Cases::load(cases)?);
            if !report.is_success() {
                bail!("policy cases fail, nothing changed:\n{report}");
            }
        }
        let sources = Sources::from_config(&config);
        let directory = sources.load().context("nothing changed")?;
        let routes = crate::outbound::load_routes(&config).context("nothing changed")?;
        let version = self.versions.record(path, config.policy.file.as_deref())?;
        let restart = self.restart_needed(&config);
        let rules = policy.rule_count();
        let policy_name = policy.path().display().to_string();
        self.live.gate.replace(policy, shadow);
        self.live.directory.replace(sources, directory);
        self.live.routes.replace(routes.clone());
        self.live.engine.set_routes(routes);
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = config;
        self.events.log(&serde_json::json!({
            "event": "config_reloaded", "version": version, "policy": policy_name, "rules": rules,
            "restart_needed_for": restart,
        }));
        let mut message =
            format!("reloaded: version {version}, policy {policy_name} ({rules} rules)");
        if !restart.is_empty() {
            message.push_str(&format!(
                "; changes to {} take effect only after a restart",
                restart.join(", ")
            ));
        }
        Ok(message)
    }

    /// Settings that a reload cannot change in a running process.
    fn restart_needed(&self, new: &Config) -> Vec<&'static str> {
        let old = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        if old.listeners != new.listeners {
            out.push("[[listener]]");
        }
        if old.tls != new.tls {
            out.push("[tls]");
        }
        if old.server.hostname != new.server.hostname || old.server.data_dir != new.server.data_dir
        {
            out.push("[server] hostname/data_dir");
        }
        if old.limits != new.limits {
            out.push("[limits]");
        }
        if old.spool != new.spool || old.log != new.log {
            out.push("[spool]/[log]");
        }
        out
    }
}

/// The CLI side: sends one command to the daemon of `data_dir` and returns its answer.
pub fn send(data_dir: &Path, cmd: &str, args: &[String]) -> Result<Response> {
    use std::io::{BufRead, Write};
    let path = socket_path(data_dir);
    let mut stream = std::os::unix::net::UnixStream::connect(&path).with_context(|| {
        format!(
            "calm is not running here (no control socket at {})",
            path.display()
        )
    })?;
    let mut line = serde_json::to_vec(&Request {
        cmd: cmd.to_string(),
        args: args.to_vec(),
    })?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    std::io::BufReader::new(stream).read_line(&mut answer)?;
    serde_json::from_str(&answer)
        .with_context(|| format!("unreadable answer from calm: {answer:?}"))
}
