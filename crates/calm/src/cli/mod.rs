//! The command line. One file per subcommand; this file only declares them.

mod check;
mod config;
mod devuser;
mod dkim;
mod policy;
mod quarantine;
mod queue;
mod report;
mod serve;
mod shadow;
mod simulate;
mod spam;
mod user;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// calm: a mail server you can reason about.
#[derive(Parser)]
#[command(name = "calm", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the mail server (on built-in defaults when no --config is given).
    Serve(ConfigArg),
    /// Check a configuration and the files it names; every problem names file and line.
    Check(ConfigArg),
    /// Print a fully commented example configuration, or the configuration reference.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Manage users in the users file.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Look at the queue of mail waiting for remote delivery.
    Queue {
        #[command(subcommand)]
        command: queue::QueueCommand,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Run the policy against a case file (offline), or compare two configurations (--diff).
    Simulate {
        #[command(flatten)]
        args: simulate::SimulateArgs,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show the policy in force.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Tell the running server to check, simulate and swap in its configuration file again.
    Reload(ConfigArg),
    /// Tell the running server to return to the previous configuration version.
    Rollback(ConfigArg),
    /// The shadow policy's differences from the active one, from the event log.
    Shadow {
        #[command(subcommand)]
        command: shadow::ShadowCommand,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Summaries of the event log: the weekly review (`calm report weekly`).
    Report {
        #[command(subcommand)]
        command: Option<report::ReportCommand>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Not implemented yet: check the runbook situations against live data.
    Doctor(Unbuilt),
    /// Not implemented yet: DNS hygiene checks (FCrDNS, MX, SPF, DKIM, DMARC).
    Dns(Unbuilt),
    /// Not implemented yet: import Postfix maps or Dovecot users.
    Import(Unbuilt),
    /// List, show, release and delete quarantined mail.
    Quarantine {
        #[command(subcommand)]
        command: quarantine::QuarantineCommand,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Make DKIM signing keys.
    Dkim {
        #[command(subcommand)]
        command: dkim::DkimCommand,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Explain a message's spam score; train the Bayesian classifier.
    Spam {
        #[command(subcommand)]
        command: spam::SpamCommand,
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// `--config FILE`, optional everywhere: without it calm uses its built-in defaults.
#[derive(clap::Args, Clone)]
pub struct ConfigArg {
    /// The configuration file (TOML). Without it: the built-in defaults.
    #[arg(long, short = 'c', global = true)]
    pub config: Option<PathBuf>,
}

/// Arguments of a command that is not built yet (accepted so the message can be plain).
#[derive(clap::Args)]
struct Unbuilt {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _args: Vec<String>,
}

/// Runs the command line and turns errors into a message and exit status 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = command_name(&cli.command);
    let result = match cli.command {
        Command::Serve(c) => serve::run(c.config.as_deref()),
        Command::Check(c) => check::run(c.config.as_deref()),
        Command::Config(c) => config::run(c),
        Command::User { command, config } => user::run(command, config.config.as_deref()),
        Command::Queue { command, config } => queue::run(command, config.config.as_deref()),
        Command::Simulate { args, config } => simulate::run(args, config.config.as_deref()),
        Command::Policy { command, config } => policy::run(command, config.config.as_deref()),
        Command::Shadow { command, config } => shadow::run(command, config.config.as_deref()),
        Command::Quarantine { command, config } => {
            quarantine::run(command, config.config.as_deref())
        }
        Command::Spam { command, config } => spam::run(command, config.config.as_deref()),
        Command::Report {
            command: Some(command),
            config,
        } => report::run(command, config.config.as_deref()),
        Command::Dkim { command, config } => dkim::run(command, config.config.as_deref()),
        Command::Reload(c) => control(c.config.as_deref(), "reload"),
        Command::Rollback(c) => control(c.config.as_deref(), "rollback"),
        _ => return unbuilt(name),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("calm {name}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Serve(_) => "serve",
        Command::Check(_) => "check",
        Command::Config(_) => "config",
        Command::User { .. } => "user",
        Command::Queue { .. } => "queue",
        Command::Simulate { .. } => "simulate",
        Command::Policy { .. } => "policy",
        Command::Shadow { .. } => "shadow",
        Command::Reload(_) => "reload",
        Command::Rollback(_) => "rollback",
        Command::Report { .. } => "report",
        Command::Doctor(_) => "doctor",
        Command::Dns(_) => "dns",
        Command::Import(_) => "import",
        Command::Quarantine { .. } => "quarantine",
        Command::Spam { .. } => "spam",
        Command::Dkim { .. } => "dkim",
    }
}

/// Sends a command to the running daemon over its control socket.
fn control(config: Option<&Path>, cmd: &str) -> Result<ExitCode> {
    let (config, _) = load_config(config)?;
    let response = crate::control::send(&config.server.data_dir, cmd, &[])?;
    println!("{}", response.message);
    Ok(if response.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn unbuilt(name: &str) -> ExitCode {
    if name == "report" {
        eprintln!(
            "calm report: the daily summary (`calm report --since ...`) is not implemented yet; `calm report weekly` is."
        );
        return ExitCode::from(2);
    }
    eprintln!(
        "calm {name}: not implemented yet. This version has: serve, check, config, user, queue, simulate, policy show, reload, rollback, config versions, shadow report, report weekly, quarantine, spam, dkim keygen."
    );
    ExitCode::from(2)
}

/// Loads the configuration file, or the built-in defaults; the flag says which.
pub fn load_config(path: Option<&Path>) -> Result<(calm_config::Config, bool)> {
    match path {
        Some(p) => Ok((calm_config::Config::load(p)?, false)),
        None => Ok((calm_config::Config::builtin(), true)),
    }
}
