//! `calm simulate`: run the policy against a case file, offline; or compare two configurations.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use calm_policy::Cases;

/// Arguments of `calm simulate`.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The case file (TOML): known-good and known-bad sessions with their expected verdicts.
    /// Defaults to the configuration's `policy.cases`.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Compare two configurations instead: list the cases whose verdict changes from OLD to NEW.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
    diff: Option<Vec<PathBuf>>,
}

pub fn run(args: SimulateArgs, config: Option<&Path>) -> Result<ExitCode> {
    if let Some(pair) = &args.diff {
        return diff(&pair[0], &pair[1], args.cases.as_deref());
    }
    let (config, _) = super::load_config(config)?;
    let cases_path = args
        .cases
        .or_else(|| config.policy.cases.clone())
        .context("no case file: give --cases FILE or set policy.cases in the configuration")?;
    let policy = crate::gate::load(&config)?;
    let cases = Cases::load(&cases_path)?;
    let report = calm_policy::simulate(&policy, &cases);
    print_block(&report.to_string());
    Ok(if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn diff(old: &Path, new: &Path, cases: Option<&Path>) -> Result<ExitCode> {
    let (old_config, _) = super::load_config(Some(old))?;
    let (new_config, _) = super::load_config(Some(new))?;
    let cases_path = cases
        .map(Path::to_path_buf)
        .or_else(|| new_config.policy.cases.clone())
        .context("no case file: give --cases FILE or set policy.cases in the new configuration")?;
    let cases = Cases::load(&cases_path)?;
    let report = calm_policy::diff(
        &crate::gate::load(&old_config)?,
        &crate::gate::load(&new_config)?,
        &cases,
    );
    print_block(&report.to_string());
    Ok(ExitCode::SUCCESS)
}

fn print_block(text: &str) {
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
}
