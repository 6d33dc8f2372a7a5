//! `calm check`: the configuration and every file it names, with file and line for each problem.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use calm_config::{Config, Severity};

use crate::accounts::Sources;

pub fn run(path: Option<&Path>) -> Result<ExitCode> {
    let (config, builtin) = match super::load_config(path) {
        Ok(loaded) => loaded,
        Err(e) => {
            println!("{e:#}");
            println!("1 error");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut lines = Vec::new();
    let mut errors = 0;
    let mut warnings = 0;
    for d in config.validate() {
        match d.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
        lines.push(d.to_string());
    }
    for (e, w) in [
        check_accounts(&config, builtin, &mut lines),
        check_policy(&config, &mut lines),
    ] {
        errors += e;
        warnings += w;
    }
    for line in &lines {
        println!("{line}");
    }
    let what = if builtin {
        "built-in defaults".to_string()
    } else {
        format!("{}", path.unwrap_or(Path::new("")).display())
    };
    println!("{what}: {errors} errors, {warnings} warnings");
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads the policy as the server would, reports its hazards, and runs the configured case
/// file; returns (errors, warnings).
fn check_policy(config: &Config, lines: &mut Vec<String>) -> (usize, usize) {
    let policy = match crate::gate::load(config) {
        Ok(p) => p,
        Err(e) => {
            lines.push(format!("{e:#}"));
            return (1, 0);
        }
    };
    let (mut errors, mut warnings) = (0, 0);
    for hazard in policy.hazards() {
        let d = hazard.to_diagnostic();
        match d.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
        lines.push(d.to_string());
    }
    if let Some(path) = &config.policy.cases {
        match calm_policy::Cases::load(path) {
            Ok(cases) => {
                let report = calm_policy::simulate(&policy, &cases);
                if !report.is_success() {
                    errors += 1;
                    lines.push(format!(
                        "{}: error: policy cases fail:\n{report}",
                        path.display()
                    ));
                }
            }
            Err(e) => {
                errors += 1;
                lines.push(format!("{e}"));
            }
        }
    }
    (errors, warnings)
}

/// Loads users, aliases and virtual maps as the server would; returns (errors, warnings).
/// A missing users file is already reported by `Config::validate`.
fn check_accounts(config: &Config, builtin: bool, lines: &mut Vec<String>) -> (usize, usize) {
    let users = config.users_file();
    if !users.exists() {
        if builtin {
            lines.push(format!(
                "{}: note: missing; `calm serve` creates it with a development user",
                users.display()
            ));
        }
        return (0, 0);
    }
    match Sources::from_config(config).load() {
        Ok(directory) => {
            let problems = directory.problems();
            for problem in &problems {
                lines.push(format!("{}: warning: {problem}", users.display()));
            }
            (0, problems.len())
        }
        Err(e) => {
            lines.push(format!("{e}"));
            (1, 0)
        }
    }
}
