//! `calm policy show`: the policy text in force, so the built-in default is never hidden.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

/// Policy operations.
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Print the policy file in force (the built-in default when `policy.file` is unset).
    Show,
}

pub fn run(command: PolicyCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    match command {
        PolicyCommand::Show => match &config.policy.file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                println!("# {}", path.display());
                print!("{text}");
            }
            None => {
                println!(
                    "# {} (policy.file is unset)",
                    crate::gate::DEFAULT_POLICY_NAME
                );
                print!("{}", crate::gate::DEFAULT_POLICY);
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}
