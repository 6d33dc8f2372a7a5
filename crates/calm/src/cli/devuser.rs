//! The development user of the built-in defaults: made on first start, printed on every start.

use anyhow::Result;
use calm_accounts::{Users, UsersFile};
use calm_config::Config;
use rand::Rng;

/// The development user's address.
pub const DEV_USER: &str = "dev@example.test";

/// Creates an empty users file (mode 0600) if the configuration names one that does not exist, so
/// the server starts; nobody can log in until `calm user add`.
pub fn ensure_users_file(config: &Config) -> Result<()> {
    let users = config.users_file();
    if !users.exists() {
        crate::tls::write_private(&users, b"")?;
        println!(
            "calm: created an empty users file {} (add users with `calm user add`)",
            users.display()
        );
    }
    Ok(())
}

/// Makes sure the development user exists; returns its address and password, or None when the
/// operator has changed it (then the password is theirs, not ours to print).
pub fn ensure(config: &Config) -> Result<Option<(String, String)>> {
    let users = config.users_file();
    let secret = config.server.data_dir.join("dev-password");
    if !users.exists() {
        let password: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(16)
            .map(char::from)
            .collect();
        UsersFile::new(&users).add(DEV_USER, &password)?;
        crate::tls::write_private(&secret, password.as_bytes())?;
    }
    let Ok(password) = std::fs::read_to_string(&secret) else {
        return Ok(None);
    };
    // Print it only while it is still the password (the operator may have changed it).
    let valid = Users::load(&users)?.verify(DEV_USER, &password).is_some();
    Ok(valid.then(|| (DEV_USER.to_string(), password)))
}
