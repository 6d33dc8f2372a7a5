//! `calm serve`: wire configuration, accounts, spool and listeners together and run.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use calm_config::{Config, Role, Severity};
use calm_eventlog::EventLog;
use calm_queue::{Spool, SpoolConfig};
use calm_smtp_server::{Server, Settings};

use crate::accounts::{LiveDirectory, Sources};
use crate::backend::{CalmBackend, DataStage};
use crate::content::ContentPipeline;
use crate::control::Control;
use crate::outbound::RouteTable;
use crate::retrieval::MailboxBackend;
use crate::router::DirectoryRouter;
use crate::tls;

pub fn run(path: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(path)?;
    init_tracing(&config.log.level);
    refuse_invalid(&config)?;
    let path = match path {
        Some(p) => {
            Some(std::fs::canonicalize(p).with_context(|| format!("resolving {}", p.display()))?)
        }
        None => None,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(config, path))?;
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints every diagnostic; stops if any is an error.
fn refuse_invalid(config: &Config) -> Result<()> {
    let diagnostics = config.validate();
    for d in &diagnostics {
        eprintln!("{d}");
    }
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        bail!("the configuration has errors (see above); nothing was started");
    }
    Ok(())
}

async fn serve(config: Config, config_path: Option<std::path::PathBuf>) -> Result<()> {
    let builtin = config_path.is_none();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let data = prepare_data_dir(&config, builtin)?;
    let dev_user = if builtin {
        super::devuser::ensure(&config)?
    } else {
        None
    };
    super::devuser::ensure_users_file(&config)?;
    let metrics = calm_metrics::Metrics::new();
    let observer = {
        let metrics = metrics.clone();
        Box::new(move |line: &[u8]| metrics.observe_line(line))
    };
    let events = EventLog::open_observed(&config.event_log(), observer)
        .with_context(|| format!("opening {}", config.event_log().display()))?;
    let directory = Arc::new(LiveDirectory::new(
        Sources::from_config(&config),
        events.clone(),
    )?);
    let (tls, source) = tls::server_config(
        config.tls.cert.as_deref(),
        config.tls.key.as_deref(),
        &config.tls_dir(),
        &config.server.hostname,
    )?;
    report_tls(&source);
    let gate = Arc::new(load_gate(&config, &events)?);
    let routes = crate::outbound::load_routes(&config)?;
    let table = Arc::new(RouteTable::new(routes.clone()));
    let spool = open_spool(
        &config,
        &data,
        directory.clone(),
        table.clone(),
        events.clone(),
    )?;
    let spool_dir = data.join("spool");
    let engine =
        crate::outbound::start_engine(&config, &spool_dir, routes, spool.clone(), events.clone())?;
    println!(
        "calm: outbound delivery running ({})",
        resolver_text(&config)
    );
    let quarantine = Arc::new(
        calm_quarantine::Store::open(&data.join("quarantine")).context("opening the quarantine")?,
    );
    let dkim_dir = config
        .dkim
        .keys_dir
        .clone()
        .unwrap_or_else(|| data.join("dkim"));
    let dkim = calm_dkim::Keys::load(&dkim_dir)
        .with_context(|| format!("loading DKIM keys from {}", dkim_dir.display()))?;
    if !dkim.is_empty() {
        println!("calm: DKIM signing for {}", dkim.domains().join(", "));
    }
    let content = ContentPipeline::load(&config)?.map(Arc::new);
    let data_stage = DataStage {
        content: content.clone(),
        quarantine: quarantine.clone(),
        dkim,
    };
    let backend = CalmBackend::new(
        &config,
        directory.clone(),
        gate.clone(),
        table.clone(),
        data_stage,
        spool.clone(),
        events.clone(),
    );
    let smtp = Arc::new(Server::new(
        Arc::new(settings(&config, tls.clone())),
        Arc::new(backend),
    ));
    let mailboxes = Arc::new(MailboxBackend {
        directory: directory.clone(),
        mail_base: data.join("mail"),
        events: events.clone(),
        learner: content,
        quota_bytes: config.accounts.quota_bytes,
    });
    // Index 0: passwords only under TLS; 1: plaintext allowed (loopback listeners, if the
    // configuration says so).
    let pop3 = [false, true].map(|plain| {
        let mut settings =
            calm_pop3_server::Settings::new(config.server.hostname.clone(), tls.clone());
        settings.allow_plaintext_auth = plain;
        Arc::new(calm_pop3_server::Server::new(
            Arc::new(settings),
            mailboxes.clone(),
        ))
    });
    let imap = [false, true].map(|plain| {
        let mut settings =
            calm_imap_server::Settings::new(config.server.hostname.clone(), tls.clone());
        settings.allow_plaintext_auth = plain;
        Arc::new(calm_imap_server::Server::new(
            Arc::new(settings),
            mailboxes.clone(),
        ))
    });
    let live = crate::control::Live {
        quarantine,
        spool,
        gate,
        directory,
        routes: table,
        engine,
    };
    let control = Arc::new(Control::new(
        config_path,
        config.clone(),
        live,
        events.clone(),
    ));
    if let Some(version) = control.record_start()? {
        println!("calm: configuration version {version} (calm config versions lists them)");
    }
    let socket = crate::control::socket_path(&data);
    tokio::spawn(control.clone().serve(socket.clone()));
    println!("calm: control socket {}", socket.display());
    start_admin(&config, &data, metrics).await?;
    let servers = Servers { smtp, pop3, imap };
    let tasks = start_listeners(&config, &servers).await?;
    if let Some((user, password)) = dev_user {
        println!("calm: development user {user} password {password}");
    }
    events.log(&serde_json::json!({"event": "started", "version": env!("CARGO_PKG_VERSION"), "builtin": builtin}));
    // Signal handlers before "ready": a SIGHUP that arrives first must reload, not kill.
    let signals = Signals::install()?;
    println!("calm: ready");
    wait(tasks, &control, signals).await
}

/// The signals the server reacts to, installed before it says it is ready.
struct Signals {
    term: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }
}

/// The admin HTTP listener (`/metrics`, `/healthz`), when enabled.
async fn start_admin(
    config: &Config,
    data: &Path,
    metrics: Arc<calm_metrics::Metrics>,
) -> Result<()> {
    if !config.admin.enabled {
        return Ok(());
    }
    let address = config.admin.address;
    let socket = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("admin: cannot listen on {address}"))?;
    println!(
        "calm: admin http://{}/metrics and /healthz",
        socket.local_addr()?
    );
    let options = calm_metrics::ServeOptions {
        outbound_dir: data.join("spool").join("outbound"),
        spool_dir: data.join("spool"),
        scan_interval: std::time::Duration::from_secs(5),
    };
    tokio::spawn(calm_metrics::serve_with(socket, metrics, options));
    Ok(())
}

/// Creates the data directory and says where it is.
fn prepare_data_dir(config: &Config, builtin: bool) -> Result<std::path::PathBuf> {
    let data = &config.server.data_dir;
    let new = !data.exists();
    calm_maildir::create_dir_durable(data)
        .with_context(|| format!("creating the data directory {}", data.display()))?;
    if new {
        // Mail, passwords and keys live here: private to calm's user unless the operator
        // chose otherwise for an existing directory.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", data.display()))?;
    }
    let data =
        std::fs::canonicalize(data).with_context(|| format!("resolving {}", data.display()))?;
    if builtin {
        println!(
            "calm {}: running on built-in defaults (no --config given)",
            env!("CARGO_PKG_VERSION")
        );
    }
    println!("calm: data directory {}", data.display());
    Ok(data)
}

/// The active policy and the shadow, if any, announced.
fn load_gate(config: &Config, events: &EventLog) -> Result<crate::gate::Gate> {
    let policy = crate::gate::load(config)?;
    println!(
        "calm: policy {} ({} rules)",
        policy.path().display(),
        policy.rule_count()
    );
    let shadow = crate::gate::load_shadow(config)?;
    if let Some(shadow) = &shadow {
        let (path, rules) = (shadow.path().display(), shadow.rule_count());
        println!("calm: shadow policy {path} ({rules} rules), acting on nothing");
    }
    let settings = calm_dns::ResolverSettings {
        upstream: config.outbound.resolver,
        timeout: std::time::Duration::from_secs(config.outbound.dns_timeout_secs.max(1)),
        ..calm_dns::ResolverSettings::default()
    };
    let resolver = match config.policy.dns_lookups {
        true => Some(Arc::new(
            calm_dns::Resolver::new(&settings).context("setting up the DNS resolver")?,
        )),
        false => None,
    };
    Ok(crate::gate::Gate::new(
        policy,
        shadow,
        events.clone(),
        resolver,
    ))
}

/// One server per protocol; each listener runs one of them.
struct Servers {
    smtp: Arc<Server<CalmBackend>>,
    pop3: [Arc<calm_pop3_server::Server<MailboxBackend>>; 2],
    imap: [Arc<calm_imap_server::Server<MailboxBackend>>; 2],
}

/// Binds every listener and starts its accept loop.
async fn start_listeners(
    config: &Config,
    servers: &Servers,
) -> Result<tokio::task::JoinSet<std::io::Result<()>>> {
    let mut tasks = tokio::task::JoinSet::new();
    for listener in &config.listeners {
        let (name, address) = (listener.name.clone(), listener.address);
        let socket = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("listener {name}: cannot listen on {address}"))?;
        let role = listener.role;
        let plain =
            usize::from(config.accounts.plaintext_auth_on_loopback && address.ip().is_loopback());
        println!(
            "calm: listening {name} {} (role {})",
            socket.local_addr()?,
            role_text(role)
        );
        match role {
            Role::Mx | Role::Submission | Role::Submissions => {
                let server = servers.smtp.clone();
                tasks.spawn(async move { server.run(name, smtp_role(role), socket).await });
            }
            Role::Pop3 | Role::Pop3s => {
                let server = servers.pop3[plain].clone();
                tasks.spawn(async move { server.run(name, pop3_role(role), socket).await });
            }
            Role::Imap | Role::Imaps => {
                let server = servers.imap[plain].clone();
                let role = if role == Role::Imaps {
                    calm_imap_server::Role::Imaps
                } else {
                    calm_imap_server::Role::Imap
                };
                tasks.spawn(async move { server.run(name, role, socket).await });
            }
        }
    }
    Ok(tasks)
}

fn resolver_text(config: &Config) -> String {
    match config.outbound.resolver {
        Some(addr) => format!("DNS server {addr}"),
        None => "DNS from /etc/resolv.conf".to_string(),
    }
}

fn open_spool(
    config: &Config,
    data: &Path,
    directory: Arc<LiveDirectory>,
    routes: Arc<RouteTable>,
    events: EventLog,
) -> Result<Spool> {
    let router = Arc::new(DirectoryRouter {
        routes,
        directory,
        mail_base: data.join("mail"),
    });
    let spool_config = SpoolConfig {
        dir: data.join("spool"),
        hostname: config.server.hostname.clone(),
        max_batch: config.spool.group_commit_max_batch,
    };
    Spool::open(spool_config, router, Arc::new(move |e| events.log(&e)))
        .context("opening the spool")
}

fn settings(config: &Config, tls: Arc<rustls::ServerConfig>) -> Settings {
    let l = &config.limits;
    Settings {
        hostname: config.server.hostname.clone(),
        max_message_size: l.max_message_size,
        max_recipients: l.max_recipients,
        command_timeout: Duration::from_secs(l.command_timeout_secs),
        data_timeout: Duration::from_secs(l.data_timeout_secs),
        max_errors: l.max_errors,
        max_auth_failures: l.max_auth_failures,
        mx_greeting_delay: Duration::from_millis(l.mx_greeting_delay_ms),
        tls,
    }
}

fn smtp_role(role: Role) -> calm_smtp_server::Role {
    match role {
        Role::Submission => calm_smtp_server::Role::Submission,
        Role::Submissions => calm_smtp_server::Role::Submissions,
        _ => calm_smtp_server::Role::Mx,
    }
}

fn pop3_role(role: Role) -> calm_pop3_server::Role {
    match role {
        Role::Pop3s => calm_pop3_server::Role::Pop3s,
        _ => calm_pop3_server::Role::Pop3,
    }
}

fn role_text(role: Role) -> &'static str {
    match role {
        Role::Mx => "mx, STARTTLS offered, no AUTH",
        Role::Submission => "submission, STARTTLS then AUTH required",
        Role::Submissions => "submissions, implicit TLS, AUTH required",
        Role::Pop3 => "pop3, STLS then login",
        Role::Pop3s => "pop3s, implicit TLS",
        Role::Imap => "imap, STARTTLS then login",
        Role::Imaps => "imaps, implicit TLS",
    }
}

fn report_tls(source: &tls::Source) {
    match source {
        tls::Source::Configured(path) => println!("calm: TLS certificate {}", path.display()),
        tls::Source::SelfSigned { cert, generated } => println!(
            "calm: TLS certificate {} (self-signed{})",
            cert.display(),
            if *generated { ", generated now" } else { "" }
        ),
    }
}

/// Runs until a listener fails or the process is told to stop (Ctrl-C or SIGTERM); SIGHUP
/// reloads the configuration.
async fn wait(
    mut tasks: tokio::task::JoinSet<std::io::Result<()>>,
    control: &Control,
    signals: Signals,
) -> Result<()> {
    let Signals {
        mut term,
        mut hangup,
    } = signals;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => println!("calm: stopping (interrupt)"),
            _ = term.recv() => println!("calm: stopping (SIGTERM)"),
            _ = hangup.recv() => {
                match control.reload_blocking().await {
                    Ok(message) => println!("calm: SIGHUP: {message}"),
                    Err(e) => println!("calm: SIGHUP: reload refused: {e:#}"),
                }
                continue;
            }
            Some(result) = tasks.join_next() => {
                result.context("listener task")?.context("listener stopped")?;
            }
        }
        return Ok(());
    }
}
