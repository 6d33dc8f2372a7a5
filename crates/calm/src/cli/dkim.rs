//! `calm dkim keygen DOMAIN`: make a signing key and print the DNS record to publish.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// DKIM operations.
#[derive(Subcommand)]
pub enum DkimCommand {
    /// Make an RSA-2048 key for DOMAIN in the key directory and print its DNS TXT record.
    Keygen {
        domain: String,
        /// The selector (the record is published at SELECTOR._domainkey.DOMAIN).
        #[arg(long, default_value = "calm")]
        selector: String,
    },
}

pub fn run(command: DkimCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    let dir = config
        .dkim
        .keys_dir
        .clone()
        .unwrap_or_else(|| config.server.data_dir.join("dkim"));
    let DkimCommand::Keygen { domain, selector } = command;
    let generated = calm_dkim::keygen(&dir, &domain, &selector)?;
    println!(
        "wrote {} ({:?})",
        generated.path.display(),
        generated.key_type
    );
    println!("publish this TXT record, then restart calm (or reload) to sign with it:");
    println!("{}", generated.zone_line());
    Ok(ExitCode::SUCCESS)
}
