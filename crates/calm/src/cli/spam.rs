//! `calm spam explain|train`: the content score of a message and the policy's data-stage
//! verdict on it, offline (the network facts supplied on the command line), and Bayes training.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use calm_content::{Bayes, Content, Label};
use calm_policy::{
    AuthResult, ContentFacts, DmarcPolicy, Facts, MalwareScan, Role, Session, Stage, Timestamp,
};
use clap::Subcommand;

/// Spam filter operations.
#[derive(Subcommand)]
pub enum SpamCommand {
    /// Print the score breakdown of a message file under the current rules, and what the
    /// policy's data stage does with it (offline; supply the network facts you want assumed).
    Explain {
        message: PathBuf,
        #[command(flatten)]
        facts: SuppliedFacts,
    },
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

/// Facts `calm spam explain` cannot find out offline; each one left out is unknown, and a
/// rule that needs an unknown fact does not fire.
#[derive(clap::Args)]
pub struct SuppliedFacts {
    /// The client address the message came from.
    #[arg(long, default_value = "192.0.2.1")]
    client: std::net::IpAddr,
    /// SPF result: pass, fail, softfail, neutral, none, temperror, permerror.
    #[arg(long)]
    spf: Option<String>,
    /// DKIM result (same words).
    #[arg(long)]
    dkim: Option<String>,
    /// DMARC result (same words).
    #[arg(long)]
    dmarc: Option<String>,
    /// The From domain's DMARC policy: none, quarantine, reject.
    #[arg(long)]
    dmarc_policy: Option<String>,
    /// ARC result (same words as SPF).
    #[arg(long)]
    arc: Option<String>,
    /// The malware scan: `clean`, `infected NAME` or `unavailable`.
    #[arg(long)]
    scan: Option<String>,
}

impl SuppliedFacts {
    fn content_facts(&self, report: &calm_content::ScoreReport) -> Result<ContentFacts> {
        let auth = |name: &str, v: &Option<String>| -> Result<Option<AuthResult>> {
            v.as_deref()
                .map(|w| AuthResult::parse(w).with_context(|| format!("--{name} {w:?}: use pass, fail, softfail, neutral, none, temperror or permerror")))
                .transpose()
        };
        Ok(ContentFacts {
            spam_score: Some(report.total()),
            gtube: Some(report.gtube),
            scan: self
                .scan
                .as_deref()
                .map(|s| {
                    MalwareScan::parse(s).with_context(|| {
                        format!("--scan {s:?}: use clean, infected NAME or unavailable")
                    })
                })
                .transpose()?,
            spf: auth("spf", &self.spf)?,
            dkim: auth("dkim", &self.dkim)?,
            dmarc: auth("dmarc", &self.dmarc)?,
            arc: auth("arc", &self.arc)?,
            dmarc_policy: self
                .dmarc_policy
                .as_deref()
                .map(|p| {
                    DmarcPolicy::parse(p).with_context(|| {
                        format!("--dmarc-policy {p:?}: use none, quarantine or reject")
                    })
                })
                .transpose()?,
            spamd_unavailable: None,
        })
    }
}

fn explain(config: &calm_config::Config, message: &Path, supplied: &SuppliedFacts) -> Result<()> {
    let bytes = std::fs::read(message).with_context(|| format!("reading {}", message.display()))?;
    let rules = crate::content::load_rules(config)?;
    let content = Content::parse(&bytes);
    let mut report = calm_content::score(&rules, &content);
    let bayes_file = crate::content::bayes_path(config);
    if let Some(p) = Bayes::load(&bayes_file)?.probability(&content) {
        report.add_bayes(&rules, p);
    }
    let content_facts = supplied.content_facts(&report)?;
    println!("Content score");
    for hit in &report.hits {
        println!("{:>6.1}  {:24} {}", hit.points, hit.name, hit.description);
    }
    println!(
        "{:>6.1}  total (tag threshold {})",
        report.total(),
        config.content.tag_threshold
    );
    let policy = crate::gate::load(config)?;
    let mut facts = Facts::new(supplied.client, Role::Mx);
    facts.message = Some(&bytes);
    content_facts.apply(&mut facts);
    let limiter = policy.new_limiter();
    let mut session = Session::new();
    let d = policy.evaluate(
        Stage::Data,
        &facts,
        &mut session,
        &limiter,
        Timestamp::from_secs(0),
    );
    println!(
        "\nPolicy, data stage (facts not supplied are unknown; rules needing them do not fire)"
    );
    for tag in &d.tags {
        println!(
            "{:>+6.1}  tag {} ({}:{})",
            tag.score,
            tag.rule.name(),
            tag.rule.file(),
            tag.rule.line()
        );
    }
    match &d.rule {
        Some(_) => println!("  {}", d.explain()),
        None => println!("  no rule decided: the message is accepted"),
    }
    Ok(())
}

pub fn run(command: SpamCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    match command {
        SpamCommand::Explain { message, facts } => explain(&config, &message, &facts)?,
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
                "trained {n} messages as {label:?} into {} (a running server uses it from its next message)",
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
