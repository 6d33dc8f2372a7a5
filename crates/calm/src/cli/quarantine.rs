//! `calm quarantine list|show|release|delete`: messages the policy kept out of mailboxes.
//! Release goes through the running server (it puts the original, unchanged, into the spool).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use calm_quarantine::{Id, Store};
use clap::Subcommand;

/// Quarantine operations.
#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// List quarantined messages: id, age, score, rule, sender, recipients.
    List,
    /// Show one message's record (envelope, verdict, every rule that fired) and its headers.
    Show { id: String },
    /// Deliver the original message, unchanged, to its recipients.
    Release { id: String },
    /// Delete a quarantined message.
    Delete { id: String },
}

pub fn run(command: QuarantineCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    let dir = config.server.data_dir.join("quarantine");
    let store = Store::open(&dir).with_context(|| format!("opening {}", dir.display()))?;
    let parse = |id: &str| Id::parse(id).with_context(|| format!("{id:?} is not a quarantine id"));
    match command {
        QuarantineCommand::List => {
            let records = store.list()?;
            for r in &records {
                let score = r
                    .verdict
                    .score
                    .map_or_else(|| "-".to_string(), |s| format!("{s:.1}"));
                let from = if r.envelope.sender.is_empty() {
                    "<>"
                } else {
                    &r.envelope.sender
                };
                println!(
                    "{}  {:>6}  {}  {from} -> {}",
                    r.id,
                    score,
                    r.verdict.rule,
                    r.envelope.recipients.join(", ")
                );
            }
            println!("{} quarantined messages", records.len());
        }
        QuarantineCommand::Show { id } => {
            let (record, message) = store.show(&parse(&id)?)?;
            println!("{}", serde_json::to_string_pretty(&record)?);
            let text = String::from_utf8_lossy(&message);
            println!(
                "--- headers ---\n{}",
                text.split("\r\n\r\n").next().unwrap_or("")
            );
        }
        QuarantineCommand::Release { id } => {
            let response = crate::control::send(&config.server.data_dir, "release", &[id])?;
            println!("{}", response.message);
            return Ok(if response.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        QuarantineCommand::Delete { id } => {
            store.delete(&parse(&id)?)?;
            println!("deleted {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
