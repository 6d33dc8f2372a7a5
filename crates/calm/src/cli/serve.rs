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
use crate::backend::CalmBackend;
use crate::control::Control;
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
    let data = &config.server.data_dir;
    calm_maildir::create_dir_durable(data)
        .with_context(|| format!("creating the data directory {}", data.display()))?;
    let data =
        std::fs::canonicalize(data).with_context(|| format!("resolving {}", data.display()))?;
    if builtin {
        println!(
            "calm {}: running on built-in defaults (no --config given)",
            env!("CARGO_PKG_VERSION")
        );
    }
    println!("calm: data directory {}", data.display());
    let dev_user = if builtin {
        super::devuser::ensure(&config)?
    } else {
        None
    };
    super::devuser::ensure_users_file(&config)?;
    let events = EventLog::open(&config.event_log())
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
    let policy = crate::gate::load(&config)?;
    println!(
        "calm: policy {} ({} rules)",
        policy.path().display(),
        policy.rule_count()
    );
    let shadow = crate::gate::load_shadow(&config)?;
    if let Some(shadow) = &shadow {
        println!(
            "calm: shadow policy {} ({} rules), acting on nothing",
            shadow.path().display(),
            shadow.rule_count()
        );
    }
    let gate = Arc::new(crate::gate::Gate::new(policy, shadow, events.clone()));
    let spool = open_spool(&config, &data, directory.clone(), events.clone())?;
    let backend = Arc::new(CalmBackend::new(
        &config,
        directory.clone(),
        gate.clone(),
        spool,
        events.clone(),
    ));
    let control = Arc::new(Control::new(
        config_path,
        config.clone(),
        gate,
        directory,
        events.clone(),
    ));
    if let Some(version) = control.record_start()? {
        println!("calm: configuration version {version} (calm config versions lists them)");
    }
    let socket = crate::control::socket_path(&data);
    tokio::spawn(control.clone().serve(socket.clone()));
    println!("calm: control socket {}", socket.display());
    let server = Arc::new(Server::new(Arc::new(settings(&config, tls)), backend));
    let mut tasks = tokio::task::JoinSet::new();
    for listener in &config.listeners {
        let socket = tokio::net::TcpListener::bind(listener.address)
            .await
            .with_context(|| {
                format!(
                    "listener {}: cannot listen on {}",
                    listener.name, listener.address
                )
            })?;
        println!(
            "calm: listening {} {} (role {})",
            listener.name,
            socket.local_addr()?,
            role_text(listener.role)
        );
        let (server, name, role) = (
            server.clone(),
            listener.name.clone(),
            smtp_role(listener.role),
        );
        tasks.spawn(async move { server.run(name, role, socket).await });
    }
    if let Some((user, password)) = dev_user {
        println!("calm: development user {user} password {password}");
    }
    events.log(&serde_json::json!({"event": "started", "version": env!("CARGO_PKG_VERSION"), "builtin": builtin}));
    println!("calm: ready");
    wait(tasks, &control).await
}

fn open_spool(
    config: &Config,
    data: &Path,
    directory: Arc<LiveDirectory>,
    events: EventLog,
) -> Result<Spool> {
    let router = Arc::new(DirectoryRouter {
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
        Role::Mx => calm_smtp_server::Role::Mx,
        Role::Submission => calm_smtp_server::Role::Submission,
        Role::Submissions => calm_smtp_server::Role::Submissions,
    }
}

fn role_text(role: Role) -> &'static str {
    match role {
        Role::Mx => "mx, STARTTLS offered, no AUTH",
        Role::Submission => "submission, STARTTLS then AUTH required",
        Role::Submissions => "submissions, implicit TLS, AUTH required",
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
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
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
