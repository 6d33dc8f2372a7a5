//! `calm spam explain|train`: the content score of a message, offline, and Bayes training.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use calm_content::{Bayes, Content, Label};
use clap::Subcommand;

/// Spam filter operations.
#[derive(Subcommand)]
pub enum SpamCommand {
    /// Print the score breakdown of a message file under the current rules (offline).
    Explain { message: PathBuf },
    /// Train the Bayesian classifier with message files or Maildir folders.
    Train {
        /// The files are spam.
        #[arg(long, conflicts_with = "ham", required_unless_present = "ham")]
        spam: bool,
        /// The files are ham (wanted mail).
        #[arg(long)]
        ham: bool,
        /// Message files, or Maildir directories (their cur/ and new/ are read).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

pub fn run(command: SpamCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    match command {
        SpamCommand::Explain { message } => {
            let bytes = std::fs::read(&message)
                .with_context(|| format!("reading {}", message.display()))?;
            let rules = crate::content::load_rules(&config)?;
            let content = Content::parse(&bytes);
            let mut report = calm_content::score(&rules, &content);
            let bayes_file = crate::content::bayes_path(&config);
            let bayes = if bayes_file.exists() {
                Some(Bayes::load(&bayes_file)?)
            } else {
                None
            };
            if let Some(p) = bayes.and_then(|b| b.probability(&content)) {
                report.add_bayes(&rules, p);
            }
            for hit in &report.hits {
                println!("{:>6.1}  {:24} {}", hit.points, hit.name, hit.description);
            }
            println!(
                "{:>6.1}  total (tag threshold {})",
                report.total(),
                config.content.tag_threshold
            );
        }
        SpamCommand::Train { spam, paths, .. } => {
            let label = if spam { Label::Spam } else { Label::Ham };
            let file = crate::content::bayes_path(&config);
            let mut bayes = if file.exists() {
                Bayes::load(&file)?
            } else {
                Bayes::new()
            };
            let mut n = 0;
            for path in message_files(&paths)? {
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                bayes.train(label, &Content::parse(&bytes));
                n += 1;
            }
            bayes.save(&file)?;
            println!(
                "trained {n} messages as {label:?} into {} (the server reads it at start)",
                file.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Files as given; for a directory, the files in its cur/ and new/ (a Maildir) or in it.
fn message_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        let dirs = [path.join("cur"), path.join("new")];
        let dirs: Vec<&Path> = if dirs[0].is_dir() {
            dirs.iter().map(PathBuf::as_path).collect()
        } else {
            vec![path]
        };
        for dir in dirs {
            for entry in
                std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?
            {
                let p = entry?.path();
                if p.is_file() {
                    out.push(p);
                }
            }
        }
    }
    Ok(out)
}
