//! `calm queue list`: the outbound queue, read from the spool directory.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

/// Queue operations.
#[derive(Subcommand)]
pub enum QueueCommand {
    /// List queued messages, oldest first: id, age, size, sender, recipients.
    List,
}

pub fn run(command: QueueCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    match command {
        QueueCommand::List => list(&config),
    }
}

fn list(config: &calm_config::Config) -> Result<ExitCode> {
    let dir = config.server.data_dir.join("spool").join("outbound");
    let outbound = calm_queue::outbound::Outbound::open(&dir)
        .with_context(|| format!("opening {}", dir.display()))?;
    let entries = outbound
        .list()
        .with_context(|| format!("reading {}", dir.display()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut broken = 0;
    for entry in &entries {
        match entry {
            Ok(m) => {
                let from = if m.mail_from.is_empty() {
                    "<>"
                } else {
                    &m.mail_from
                };
                let age = human_age(now.saturating_sub(m.received_at));
                println!(
                    "{}  {age:>6}  {:>8}  {from}  ->  {}",
                    m.id,
                    m.size,
                    m.rcpt_to.join(", ")
                );
                for f in &m.failed {
                    println!(
                        "{:width$}  failed: {} ({})",
                        "",
                        f.rcpt,
                        f.reason,
                        width = m.id.len()
                    );
                }
            }
            Err(e) => {
                broken += 1;
                println!("unreadable: {e}");
            }
        }
    }
    println!(
        "{} messages{}",
        entries.len(),
        if broken > 0 {
            format!(", {broken} unreadable")
        } else {
            String::new()
        }
    );
    Ok(if broken > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn human_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
