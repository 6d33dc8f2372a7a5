//! `calm`: one binary for a complete, legible mail service.
//!
//! `main` only parses the command line and hands over to `cli`; each subcommand lives in its own
//! file under `cli/`. This is the only crate that uses `anyhow`: libraries return typed errors,
//! and here they become messages for an operator.

mod accounts;
mod backend;
mod bayes;
mod cli;
mod content;
mod control;
mod gate;
mod outbound;
mod reports;
mod retrieval;
mod router;
mod tls;
mod versions;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
