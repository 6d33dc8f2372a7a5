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
    /// The configuration versions the server has applied, with what changed in each.
    Versions(super::ConfigArg),
}

pub fn run(command: ConfigCommand) -> Result<ExitCode> {
    match command {
        ConfigCommand::Example => print!("{}", calm_config::example_toml()),
        ConfigCommand::Doc => print!("{}", calm_config::markdown_reference()),
        ConfigCommand::Versions(c) => return versions(c.config.as_deref()),
    }
    Ok(ExitCode::SUCCESS)
}

fn versions(path: Option<&std::path::Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(path)?;
    let versions = crate::versions::Versions::new(&config.server.data_dir).list()?;
    if versions.is_empty() {
        println!(
            "no versions recorded (calm records one each time it starts or reloads from a file)"
        );
    }
    let mut previous = None;
    for v in &versions {
        let when = time::OffsetDateTime::from_unix_timestamp(v.meta.applied_at as i64)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let summary = crate::versions::change_summary(previous, v);
        println!(
            "{:4}  {when}  {}  {summary}",
            v.meta.number,
            v.meta.config_path.display()
        );
        previous = Some(v);
    }
    Ok(ExitCode::SUCCESS)
}
