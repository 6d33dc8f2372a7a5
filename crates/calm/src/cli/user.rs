//! `calm user add|passwd|del|list`: edit the users file (Dovecot passwd-file format).

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use calm_accounts::UsersFile;
use clap::Subcommand;

/// User operations.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user (the password is hashed with argon2id).
    Add {
        #[command(flatten)]
        credentials: Credentials,
        /// The user's own storage limit, overriding `accounts.quota_bytes`, in Dovecot's
        /// units: `512M`, `2G` (1024-based; a bare number is kilobytes); `0` is no limit.
        /// Written as `userdb_quota_rule=*:storage=<QUOTA>`, which Dovecot reads too.
        #[arg(long)]
        quota: Option<String>,
    },
    /// Change a user's password.
    Passwd(Credentials),
    /// Delete a user (their mailbox is left on disk).
    Del {
        /// The user's address, e.g. bob@example.test.
        address: String,
    },
    /// List users.
    List,
}

/// An address and a password.
#[derive(clap::Args)]
pub struct Credentials {
    /// The user's address, e.g. bob@example.test.
    address: String,
    /// The password. Without it, the first line of standard input is used (so it stays out of
    /// shell history and process listings).
    #[arg(long)]
    password: Option<String>,
}

pub fn run(command: UserCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    let path = config.users_file();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = UsersFile::new(&path);
    match command {
        UserCommand::Add {
            credentials: c,
            quota,
        } => {
            let password = password(c.password)?;
            match quota {
                Some(storage) => file.add_with_quota(&c.address, &password, &storage)?,
                None => file.add(&c.address, &password)?,
            }
            println!("added {} to {}", c.address, path.display());
        }
        UserCommand::Passwd(c) => {
            let password = password(c.password)?;
            file.passwd(&c.address, &password)?;
            println!("changed the password of {}", c.address);
        }
        UserCommand::Del { address } => {
            file.delete(&address)?;
            println!("deleted {address} (mailbox left on disk)");
        }
        UserCommand::List => file.list()?.iter().for_each(|u| println!("{u}")),
    }
    Ok(ExitCode::SUCCESS)
}

fn password(given: Option<String>) -> Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprint!("password (echoed): ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("empty password");
    }
    Ok(password)
}
