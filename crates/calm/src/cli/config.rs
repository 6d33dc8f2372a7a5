//! `calm config example|doc`: documentation generated from the configuration types.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// What to print.
#[derive(Subcommand)]
pub enum ConfigCommand {
    /// A complete configuration file with every setting, its default and its documentation.
    Example,
    /// The configuration reference in Markdown (the source of docs/config.md).
    Doc,
}

pub fn run(command: ConfigCommand) -> Result<ExitCode> {
    match command {
        ConfigCommand::Example => print!("{}", calm_config::example_toml()),
        ConfigCommand::Doc => print!("{}", calm_config::markdown_reference()),
    }
    Ok(ExitCode::SUCCESS)
}
