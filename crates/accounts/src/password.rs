//! Password hashes as Dovecot writes them: `{SCHEME}hash` or a bare crypt string.
//!
//! Verification is deliberately sync and CPU-heavy (that is the point of a password hash);
//! async callers run it in `spawn_blocking`.

use std::fmt;
use std::str::FromStr;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha_crypt::ShaCrypt;

use crate::AccountsError;

/// Largest Argon2 memory cost (KiB) we accept from a users file. Argon2 allocates `m` KiB for
/// every verification; a typo like `m=4194304000` would make every login abort the process on
/// allocation failure, so refuse it at load time. Dovecot's default is 65536 (64 MiB).
const ARGON2_MAX_M_COST: u32 = 1024 * 1024;

/// A password hash scheme calm can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Argon2id, PHC string `$argon2id$...` (Dovecot `{ARGON2ID}`). What calm writes.
    Argon2id,
    /// Argon2i, PHC string `$argon2i$...` (Dovecot `{ARGON2I}`).
    Argon2i,
    /// SHA-512 crypt, `$6$...` (Dovecot `{SHA512-CRYPT}`).
    Sha512Crypt,
    /// SHA-256 crypt, `$5$...` (Dovecot `{SHA256-CRYPT}`).
    Sha256Crypt,
    /// bcrypt, `$2y$`/`$2b$`/`$2a$` (Dovecot `{BLF-CRYPT}`).
    Bcrypt,
    /// Clear text, `{PLAIN}`/`{CLEAR}`/`{CLEARTEXT}`. Accepted, but weak.
    Plain,
    /// Empty password field: the user receives mail but cannot log in.
    Disabled,
}

impl Scheme {
    /// The Dovecot scheme name, as written between braces.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Argon2id => "ARGON2ID",
            Scheme::Argon2i => "ARGON2I",
            Scheme::Sha512Crypt => "SHA512-CRYPT",
            Scheme::Sha256Crypt => "SHA256-CRYPT",
            Scheme::Bcrypt => "BLF-CRYPT",
            Scheme::Plain => "PLAIN",
            Scheme::Disabled => "DISABLED",
        }
    }

    /// Recognises a bare crypt string by its prefix.
    fn from_crypt(hash: &str) -> Option<Scheme> {
        // "$argon2i$" cannot match "$argon2id$": the character after "argon2i" differs.
        const PREFIXES: [(&str, Scheme); 7] = [
            ("$argon2id$", Scheme::Argon2id),
            ("$argon2i$", Scheme::Argon2i),
            ("$6$", Scheme::Sha512Crypt),
            ("$5$", Scheme::Sha256Crypt),
            ("$2y$", Scheme::Bcrypt),
            ("$2b$", Scheme::Bcrypt),
            ("$2a$", Scheme::Bcrypt),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| hash.starts_with(prefix))
            .map(|&(_, scheme)| scheme)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a password field could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidHash(String);

/// A stored password: its scheme and the field exactly as it stands in the users file.
///
/// `Debug` shows the scheme only, so a hash (or a `{PLAIN}` password) never lands in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    scheme: Scheme,
    stored: String,
    /// Byte offset of the hash proper inside `stored` (after any `{SCHEME}` prefix).
    start: usize,
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHash")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl PasswordHash {
    /// Parses a users-file password field and checks the hash is well formed, so that a broken
    /// hash is a load error rather than a user who silently cannot log in.
    pub fn parse(field: &str) -> Result<PasswordHash, InvalidHash> {
        if field.is_empty() {
            return Ok(PasswordHash {
                scheme: Scheme::Disabled,
                stored: String::new(),
                start: 0,
            });
        }
        let (scheme, start) = match field.strip_prefix('{') {
            Some(rest) => prefixed_scheme(field, rest)?,
            None => (bare_scheme(field)?, 0),
        };
        let hash = field.get(start..).unwrap_or_default();
        validate(scheme, hash)?;
        Ok(PasswordHash {
            scheme,
            stored: field.to_owned(),
            start,
        })
    }

    /// Hashes a new password as argon2id with a random salt, in Dovecot's form
    /// `{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$...`.
    ///
    /// The parameters are the argon2 crate's defaults, which are OWASP's recommended minimum for
    /// argon2id (19 MiB, 2 passes, 1 lane): strong, yet a login costs tens of milliseconds.
    pub fn generate(password: &str) -> Result<PasswordHash, AccountsError> {
        let phc = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| AccountsError::Hash(e.to_string()))?;
        let stored = format!("{{ARGON2ID}}{phc}");
        Ok(PasswordHash {
            scheme: Scheme::Argon2id,
            start: "{ARGON2ID}".len(),
            stored,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// True for schemes that store the password recoverably (`{PLAIN}`/`{CLEAR}`), so
    /// `calm check` can warn about them.
    pub fn is_weak(&self) -> bool {
        self.scheme == Scheme::Plain
    }

    /// The password field exactly as written in the users file.
    pub fn as_stored(&self) -> &str {
        &self.stored
    }

    /// Checks `password` against the hash. Slow by design; never panics.
    ///
    /// The final comparison is constant-time in every scheme (the hash crates compare with
    /// `subtle`-style equality; `{PLAIN}` uses a fold over XORed bytes).
    pub fn verify(&self, password: &str) -> bool {
        let hash = self.stored.get(self.start..).unwrap_or_default();
        let password = password.as_bytes();
        match self.scheme {
            Scheme::Argon2id | Scheme::Argon2i => verify_argon2(password, hash),
            Scheme::Sha512Crypt | Scheme::Sha256Crypt => {
                ShaCrypt::default().verify_password(password, hash).is_ok()
            }
            Scheme::Bcrypt => bcrypt::verify(password, hash).unwrap_or(false),
            Scheme::Plain => ct_eq(password, hash.as_bytes()),
            Scheme::Disabled => false,
        }
    }
}

/// The smallest allocation for argon2's working memory, in 1 KiB blocks: above 32 MiB, glibc's
/// largest dynamic mmap threshold. A 19 MiB block freed after every check raised that threshold
/// to 19 MiB, so later blocks came from malloc's heaps, were split up by connection state there
/// and never returned: calm's RSS grew by hundreds of MiB after a few hundred IMAP logins. A
/// larger allocation is always mmapped and unmapped on free, leaving the threshold alone; only
/// the pages argon2 touches become resident.
const ARGON2_MIN_CAPACITY: usize = 33 * 1024;

/// Argon2 verification as `PasswordVerifier` does it (parameters, salt and output length from
/// the PHC string, constant-time comparison), with the memory allocated as described at
/// [`ARGON2_MIN_CAPACITY`].
fn verify_argon2(password: &[u8], hash: &str) -> bool {
    let Ok(phc) = argon2::PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let algorithm = argon2::Algorithm::try_from(phc.algorithm.as_str());
    let version = phc.version.map_or(Ok(argon2::Version::default()), |v| {
        argon2::Version::try_from(v)
    });
    let (Ok(algorithm), Ok(version), Ok(params)) =
        (algorithm, version, argon2::Params::try_from(&phc))
    else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let mut memory = Vec::with_capacity(blocks.max(ARGON2_MIN_CAPACITY));
    memory.resize(blocks, argon2::Block::default());
    let hashed = argon2.hash_password_into_with_memory(password, salt, &mut out, &mut memory);
    hashed.is_ok() && ct_eq(&out, expected.as_bytes())
}

/// `{SCHEME}hash`: `rest` is everything after the `{`.
fn prefixed_scheme(field: &str, rest: &str) -> Result<(Scheme, usize), InvalidHash> {
    let Some((name, hash)) = rest.split_once('}') else {
        return Err(InvalidHash(
            "password field starts with '{' but has no closing '}'".into(),
        ));
    };
    let start = field.len() - hash.len();
    let scheme = match name.to_ascii_uppercase().as_str() {
        "PLAIN" | "CLEAR" | "CLEARTEXT" => return Ok((Scheme::Plain, start)),
        // Dovecot's {CRYPT} hands the string to crypt(3), which picks the algorithm by prefix.
        "CRYPT" => return Ok((bare_scheme(hash)?, start)),
        "ARGON2ID" => Scheme::Argon2id,
        "ARGON2I" => Scheme::Argon2i,
        "SHA512-CRYPT" => Scheme::Sha512Crypt,
        "SHA256-CRYPT" => Scheme::Sha256Crypt,
        "BLF-CRYPT" => Scheme::Bcrypt,
        _ => {
            return Err(InvalidHash(format!(
                "unsupported password scheme {{{name}}} (calm verifies ARGON2ID, ARGON2I, \
                 SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, CRYPT with those, and PLAIN)"
            )));
        }
    };
    match Scheme::from_crypt(hash) {
        Some(found) if found == scheme => Ok((scheme, start)),
        _ => Err(InvalidHash(format!(
            "{{{name}}} is not followed by a {} hash",
            scheme.name()
        ))),
    }
}

/// A bare crypt string, recognised by its `$id$` prefix.
fn bare_scheme(hash: &str) -> Result<Scheme, InvalidHash> {
    Scheme::from_crypt(hash).ok_or_else(|| {
        let id = hash.split('$').nth(1).filter(|_| hash.starts_with('$'));
        InvalidHash(match id {
            Some(id) => format!("unsupported crypt hash ${id}$ (calm verifies $argon2id$, $argon2i$, $6$, $5$, $2y$/$2b$/$2a$)"),
            None => "unrecognised password field (expected {SCHEME}hash or a $id$ crypt string; \
                     write clear text as {PLAIN}password)"
                .to_owned(),
        })
    })
}

/// Structural checks per scheme, cheap (no hashing), so loading a large file stays fast.
fn validate(scheme: Scheme, hash: &str) -> Result<(), InvalidHash> {
    match scheme {
        Scheme::Argon2id | Scheme::Argon2i => validate_argon2(hash),
        Scheme::Sha512Crypt => validate_sha_crypt(hash, 86),
        Scheme::Sha256Crypt => validate_sha_crypt(hash, 43),
        Scheme::Bcrypt => validate_bcrypt(hash),
        Scheme::Plain | Scheme::Disabled => Ok(()),
    }
}

fn validate_argon2(hash: &str) -> Result<(), InvalidHash> {
    let bad = |what: &str| InvalidHash(format!("malformed argon2 hash: {what}"));
    let phc = argon2::PasswordHash::new(hash).map_err(|e| bad(&e.to_string()))?;
    let params = argon2::Params::try_from(&phc).map_err(|e| bad(&e.to_string()))?;
    if phc.salt.is_none() || phc.hash.is_none() {
        return Err(bad("salt or hash missing"));
    }
    if params.m_cost() > ARGON2_MAX_M_COST {
        return Err(bad("memory cost above 1 GiB (m=1048576)"));
    }
    Ok(())
}

/// `$5$[rounds=N$]salt$hash` or `$6$...`, as glibc crypt(3) writes them.
fn validate_sha_crypt(hash: &str, hash_len: usize) -> Result<(), InvalidHash> {
    let bad = |what: &str| InvalidHash(format!("malformed SHA-crypt hash: {what}"));
    let mut fields: Vec<&str> = hash.split('$').skip(2).collect();
    if fields.len() == 3 {
        let rounds = fields.remove(0);
        // glibc clamps rounds to 1000..=999999999 and writes the clamped value, so a hash
        // it produced never holds anything else.
        sha_crypt::Params::from_str(rounds).map_err(|_| bad("bad rounds= field"))?;
    }
    let [salt, digest] = fields[..] else {
        return Err(bad("expected $id$[rounds=N$]salt$hash"));
    };
    // glibc truncates salts to 16 characters before hashing and writes the truncated salt.
    if salt.len() > 16 {
        return Err(bad("salt longer than 16 characters"));
    }
    if digest.len() != hash_len || !digest.bytes().all(is_crypt_base64) {
        return Err(bad("hash part has the wrong length or characters"));
    }
    Ok(())
}

fn validate_bcrypt(hash: &str) -> Result<(), InvalidHash> {
    let parts = bcrypt::HashParts::from_str(hash)
        .map_err(|e| InvalidHash(format!("malformed bcrypt hash: {e}")))?;
    // bcrypt defines costs 4..=31; the crate refuses others at verification time.
    if !(4..=31).contains(&parts.get_cost()) {
        return Err(InvalidHash("bcrypt cost outside 4..=31".into()));
    }
    Ok(())
}

/// The crypt(3) base-64 alphabet: `./0-9A-Za-z`.
fn is_crypt_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'/'
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// The length of a `{PLAIN}` password may leak; the scheme is flagged weak anyway.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests;
