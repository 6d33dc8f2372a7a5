//! Helpers shared by the unit tests.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::error::PolicyError;
use crate::facts::{Facts, Rcpt, RcptStatus, Role, Tables};
use crate::policy::Policy;
use crate::session::Session;
use crate::stage::{Stage, Timestamp};
use crate::trace::Decision;

/// Loads `text` as `/etc/calm/policy.toml`, with in-memory files (paths relative to
/// `/etc/calm`).
pub(crate) fn load_with(
    text: &str,
    files: &[(&str, &str)],
    ctx: &Context,
) -> Result<Policy, PolicyError> {
    let files: HashMap<PathBuf, Vec<u8>> = files
        .iter()
        .map(|(p, t)| (Path::new("/etc/calm").join(p), t.as_bytes().to_vec()))
        .collect();
    let mut read = |p: &Path| {
        files
            .get(p)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    };
    Policy::from_text(Path::new("/etc/calm/policy.toml"), text, ctx, &mut read)
}

/// Loads `text` (which must be valid) with the built-in context.
pub(crate) fn policy(text: &str) -> Policy {
    policy_with(text, &[])
}

/// Loads `text` (which must be valid) with files.
pub(crate) fn policy_with(text: &str, files: &[(&str, &str)]) -> Policy {
    load_with(text, files, &Context::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The first problem of a policy that must fail to load.
pub(crate) fn load_error(text: &str, files: &[(&str, &str)]) -> String {
    match load_with(text, files, &Context::default()) {
        Ok(_) => panic!("policy should not load:\n{text}"),
        Err(e) => e.to_string(),
    }
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Facts of an `mx` connection from `client`.
pub(crate) fn facts(client: &str) -> Facts<'static> {
    Facts::new(ip(client), Role::Mx)
}

/// Facts with a recipient.
pub(crate) fn rcpt(address: &'static str, status: RcptStatus<'static>) -> Facts<'static> {
    let mut f = facts("203.0.113.1");
    f.rcpt = Some(Rcpt {
        address,
        status,
        tables: Tables::ALL,
    });
    f
}

/// Evaluates one stage with a fresh session and limiter.
pub(crate) fn eval(p: &Policy, stage: Stage, f: &Facts<'_>) -> Decision {
    p.evaluate(
        stage,
        f,
        &mut Session::new(),
        &p.new_limiter(),
        Timestamp::from_secs(1000),
    )
}
